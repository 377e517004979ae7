"""Tables, comparison with PCA, targets, plots and the written report."""

import os
import platform
import sys
from pathlib import Path

import pandas as pd

__all__ = ["comparison", "machine_description", "summary", "targets", "write_report"]

METRICS = [
    "mse", "downstream", "trustworthiness", "fit_seconds", "fit_cpu_seconds", "transform_rows_per_s",
]
TARGET_KS = (2, 10)
MNIST_TARGET = {"dataset": "mnist_test", "k": 30, "ratio": 0.22, "seconds": 600.0}


def _ran(table):
    ok = (table["skipped"] == "") & (table["error"] == "")
    return table[ok] if "mse" in table else table.iloc[:0]


def summary(table):
    """Mean and standard deviation over seeds of every metric, per dataset, k and reducer."""
    ran = _ran(table)
    keys = ["dataset", "k", "reducer"]
    if ran.empty:
        return pd.DataFrame(columns=keys + ["family", "seeds"])
    grouped = ran.groupby(keys, sort=False)
    out = grouped[METRICS].agg(["mean", "std"])
    out.columns = [f"{metric}_{stat}" for metric, stat in out.columns]
    out.insert(0, "family", grouped["family"].first())
    out.insert(1, "seeds", grouped.size())
    out = out.reset_index()
    order = {name: i for i, name in enumerate(dict.fromkeys(ran["dataset"]))}
    return out.sort_values(["dataset", "k"], key=lambda c: c.map(order) if c.name == "dataset" else c,
                           kind="stable").reset_index(drop=True)


def comparison(summary_table):
    """Per dataset and k: the best skae reducer (lowest mean MSE) against PCA."""
    rows = []
    for (dataset, k), group in summary_table.groupby(["dataset", "k"], sort=False):
        pca = group[group["reducer"] == "PCA"]
        skae = group[group["family"] == "skae"]
        if pca.empty or skae.empty:
            continue
        pca, best = pca.iloc[0], skae.loc[skae["mse_mean"].idxmin()]
        rows.append(
            {
                "dataset": dataset,
                "k": k,
                "PCA MSE": pca["mse_mean"],
                "best skae": best["reducer"],
                "skae MSE": best["mse_mean"],
                "MSE ratio": best["mse_mean"] / pca["mse_mean"],
                "PCA acc": pca["downstream_mean"],
                "acc diff": best["downstream_mean"] - pca["downstream_mean"],
                "fit time ratio": best["fit_cpu_seconds_mean"] / pca["fit_cpu_seconds_mean"],
                "skae fit CPU s": best["fit_cpu_seconds_mean"],
            }
        )
    return pd.DataFrame(rows)


def targets(comparison_table):
    """The targets of the issue, each with the measured value and whether it holds."""
    rows = []
    for k in TARGET_KS:
        at_k = comparison_table[comparison_table["k"] == k]
        for _, row in at_k.iterrows():
            rows.append(
                {
                    "target": f"MSE ratio < 1 at k={k}",
                    "dataset": row["dataset"],
                    "measured": f"{row['MSE ratio']:.4f} ({row['best skae']})",
                    "holds": bool(row["MSE ratio"] < 1),
                }
            )
    t = MNIST_TARGET
    mnist = comparison_table[
        (comparison_table["dataset"] == t["dataset"]) & (comparison_table["k"] == t["k"])
    ]
    if not mnist.empty:
        row = mnist.iloc[0]
        rows.append(
            {
                "target": f"MSE ratio <= {t['ratio']} at k={t['k']} "
                f"in <= {t['seconds']:.0f} CPU s of training",
                "dataset": t["dataset"],
                "measured": f"{row['MSE ratio']:.3f} in {row['skae fit CPU s']:.0f} CPU s "
                f"({row['best skae']})",
                "holds": bool(row["MSE ratio"] <= t["ratio"] and row["skae fit CPU s"] <= t["seconds"]),
            }
        )
    return pd.DataFrame(rows)


def _mean_std(mean, std, fmt):
    if pd.isna(std):
        return format(mean, fmt)
    return f"{format(mean, fmt)} ± {format(std, fmt)}"


def _display_summary(summary_table):
    s = summary_table
    return pd.DataFrame(
        {
            "dataset": s["dataset"],
            "k": s["k"],
            "reducer": s["reducer"],
            "seeds": s["seeds"],
            "test MSE": [_mean_std(m, d, ".4g") for m, d in zip(s["mse_mean"], s["mse_std"])],
            "test acc": [
                _mean_std(m, d, ".3f") for m, d in zip(s["downstream_mean"], s["downstream_std"])
            ],
            "trust.": s["trustworthiness_mean"].map("{:.3f}".format),
            "fit s": s["fit_seconds_mean"].map("{:.3g}".format),
            "fit CPU s": s["fit_cpu_seconds_mean"].map("{:.3g}".format),
            "transform rows/s": s["transform_rows_per_s_mean"].map("{:.3g}".format),
        }
    )


def _display_comparison(comparison_table):
    c = comparison_table.copy()
    for col, fmt in [
        ("PCA MSE", "{:.4g}"),
        ("skae MSE", "{:.4g}"),
        ("MSE ratio", "{:.3f}"),
        ("PCA acc", "{:.3f}"),
        ("acc diff", "{:+.3f}"),
        ("fit time ratio", "{:.3g}"),
        ("skae fit CPU s", "{:.3g}"),
    ]:
        c[col] = c[col].map(fmt.format)
    return c


def markdown(frame):
    """A markdown table (``tabulate`` when installed, else a plain pipe table)."""
    try:
        return frame.to_markdown(index=False)
    except ImportError:
        header = "| " + " | ".join(map(str, frame.columns)) + " |"
        rule = "|" + "---|" * len(frame.columns)
        body = ["| " + " | ".join(map(str, row)) + " |" for row in frame.itertuples(index=False)]
        return "\n".join([header, rule, *body])


def machine_description():
    """CPU, cores, threads and library versions, for the report header."""
    import sklearn
    import torch

    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return (
        f"{cpu}, {os.cpu_count()} logical cores, {platform.system()} {platform.release()}; "
        f"Python {platform.python_version()}, torch {torch.__version__} "
        f"({torch.get_num_threads()} threads), scikit-learn {sklearn.__version__}; "
        f"OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', 'unset')}"
    )


def plot_mse_vs_k(summary_table, path):
    """One panel per dataset: held-out MSE against k, one line per reducer."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    datasets = list(dict.fromkeys(summary_table["dataset"]))
    reducers = list(dict.fromkeys(summary_table["reducer"]))
    palette = plt.get_cmap("tab10").colors
    colors = {name: palette[i % len(palette)] for i, name in enumerate(reducers)}
    n_cols = min(3, len(datasets))
    n_rows = -(-len(datasets) // n_cols)
    fig, axes = plt.subplots(n_rows, n_cols, figsize=(5 * n_cols, 3.8 * n_rows), squeeze=False)
    for ax, dataset in zip(axes.flat, datasets):
        part = summary_table[summary_table["dataset"] == dataset]
        for reducer, line in part.groupby("reducer", sort=False):
            style = "--" if line["family"].iloc[0] == "baseline" else "-"
            ax.errorbar(
                line["k"], line["mse_mean"], yerr=line["mse_std"].fillna(0), fmt=style + "o",
                label=reducer, markersize=4, capsize=2, color=colors[reducer],
            )
        ax.set(title=dataset, xlabel="k (code size)", ylabel="held-out MSE (scaled)")
        ax.set_xscale("log", base=2)
        ax.set_xticks(sorted(part["k"].unique()), labels=sorted(part["k"].unique()))
        ax.set_yscale("log")
    for ax in list(axes.flat)[len(datasets):]:
        ax.axis("off")
    handles, labels = {}, {}
    for ax in axes.flat:
        for h, lab in zip(*ax.get_legend_handles_labels()):
            handles.setdefault(lab, h)
    fig.legend(handles.values(), handles.keys(), loc="lower center", ncol=4, frameon=False)
    fig.tight_layout(rect=(0, 0.06 + 0.02 * (len(handles) > 4), 1, 1))
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_embedding(codes, summary_table, path, dataset="digits"):
    """The 2-D held-out codes of PCA next to the best autoencoder's, colored by class."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    at_2 = summary_table[
        (summary_table["dataset"] == dataset)
        & (summary_table["k"] == 2)
        & (summary_table["family"] == "skae")
    ]
    if at_2.empty or (dataset, 2, "PCA") not in codes:
        return None
    best = at_2.loc[at_2["mse_mean"].idxmin(), "reducer"]
    if (dataset, 2, best) not in codes:
        return None
    fig, axes = plt.subplots(1, 2, figsize=(11, 5))
    for ax, name in zip(axes, ["PCA", best]):
        Z, y = codes[dataset, 2, name]
        points = ax.scatter(Z[:, 0], Z[:, 1], c=y, cmap="tab10", s=8)
        mse = at_2.loc[at_2["reducer"] == best, "mse_mean"].iloc[0] if name == best else (
            summary_table[
                (summary_table["dataset"] == dataset)
                & (summary_table["k"] == 2)
                & (summary_table["reducer"] == "PCA")
            ]["mse_mean"].iloc[0]
        )
        ax.set(title=f"{name} (held-out MSE {mse:.4g})", xticks=[], yticks=[])
    fig.colorbar(points, ax=axes, label="class")
    fig.suptitle(f"{dataset}: 2-D codes of the held-out rows")
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return best


def write_report(results, out_dir, command, notes=(), extra_sections=()):
    """Write results.csv, summary.csv, report.md and the plots; return the markdown text."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    table = results.table
    table.to_csv(out_dir / "results.csv", index=False)
    summ = summary(table)
    summ.to_csv(out_dir / "summary.csv", index=False)
    comp = comparison(summ)
    comp.to_csv(out_dir / "comparison.csv", index=False)
    targ = targets(comp) if not comp.empty else pd.DataFrame()

    plots = []
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        print("note: no plots (pip install matplotlib)", file=sys.stderr)
    else:
        if not summ.empty:
            plot_mse_vs_k(summ, out_dir / "mse_vs_k.png")
            plots.append("mse_vs_k.png")
            if plot_embedding(results.codes, summ, out_dir / "digits_embedding.png"):
                plots.append("digits_embedding.png")

    lines = [
        "# skae vs PCA: benchmark report",
        "",
        f"Command: `{command}`",
        "",
        f"Machine: {machine_description()}",
        "",
        f"Wall time of the runs: {results.seconds / 60:.1f} min.",
        "",
        *[f"- {note}" for note in notes],
        "",
        "## Best skae autoencoder vs PCA",
        "",
        "MSE ratio = best skae held-out MSE / PCA held-out MSE (below 1: skae reconstructs "
        "better); acc diff = that autoencoder's held-out accuracy minus PCA's; fit time "
        "ratio = its fit CPU seconds / PCA's (CPU time of the process, steadier than wall time "
        "on a shared machine; with one thread it is close to the wall time on a quiet one).",
        "",
        markdown(_display_comparison(comp)) if not comp.empty else "(no comparison)",
        "",
    ]
    if not targ.empty:
        lines += ["## Targets", "", markdown(targ), ""]
    lines += ["## All results (mean ± std over seeds)", "", markdown(_display_summary(summ)), ""]
    problems = table[(table["skipped"] != "") | (table["error"] != "")]
    if not problems.empty:
        grouped = (
            problems.groupby(["dataset", "reducer", "skipped", "error"], sort=False)["k"]
            .apply(lambda ks: ",".join(map(str, sorted(set(ks)))))
            .reset_index()
        )
        lines += ["## Skipped or failed runs", "", markdown(grouped), ""]
    for title, body in extra_sections:
        lines += [f"## {title}", "", body, ""]
    if plots:
        lines += ["## Plots", ""] + [f"![{p}]({p})" for p in plots] + [""]
    text = "\n".join(lines)
    (out_dir / "report.md").write_text(text)
    return text, comp, targ

