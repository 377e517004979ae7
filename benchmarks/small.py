"""Small-tables slice: the autoencoders' defaults against PCA on held-out rows, 100 to 600 rows.

Protocol. scikit-learn's bundled iris, wine, breast_cancer and diabetes
(features only) are split 80/20 by the seed; the shared datasets
(``$SKAE_DATA_DIR`` or ``../shared/datasets``) give learning curves: for each
seed, :data:`TRAIN_SIZES` training rows are drawn at random and up to
:data:`TEST_ROWS` other rows are held out. A ``StandardScaler`` is fitted on the
training rows. Code sizes: k = 2 and min(10, n_features - 1). For each cell the
held-out mean squared error of each method is divided by PCA's (same rows,
same k): below 1 the autoencoder reconstructs unseen rows better than PCA.

Methods, in the same run: ``AutoencoderTransformer`` and ``TabularAE`` with
their defaults, and ``AutoencoderTransformer`` with the training budget skae
had before issue 15 (:data:`PREVIOUS_DEFAULTS`: 256-row batches, a patience of
10 epochs, at most 200 epochs, one 10% validation split), for comparison.

Run ``python -m benchmarks.small [--quick] [--seeds N] [--out DIR]``, or
``python -m benchmarks --only small``.
"""

import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.datasets import load_breast_cancer, load_diabetes, load_iris, load_wine
from sklearn.decomposition import PCA
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

from skae import AutoencoderTransformer, TabularAE

from .slices import main_for

NAME = "small"
DEFAULT_SEEDS = 3

BUNDLED = {
    "iris": load_iris,
    "wine": load_wine,
    "breast_cancer": load_breast_cancer,
    "diabetes": load_diabetes,
}
TRAIN_SIZES = (150, 300, 600)
TEST_ROWS = 1000
TEST_SIZE = 0.2

# What AutoencoderTransformer's defaults were before issue 15.
PREVIOUS_DEFAULTS = {"batch_size": 256, "n_iter_no_change": 10, "max_iter": 200, "early_stopping": True}
METHODS = {
    "AutoencoderTransformer": lambda k, seed: AutoencoderTransformer(k, random_state=seed),
    "TabularAE": lambda k, seed: TabularAE(k, random_state=seed),
    "previous budget": lambda k, seed: AutoencoderTransformer(
        k, random_state=seed, **PREVIOUS_DEFAULTS
    ),
}
QUICK_METHODS = ("AutoencoderTransformer",)

# Targets of issue 15 for the defaults, over every fit of the slice.
WORST_RATIO = 1.02
AT_PCA = 0.999  # a ratio this close to 1 is PCA's solution, untrained
MAX_SHARE_AT_PCA = 0.25
GEO_MEAN = 0.82


def _shared_names(data_dir):
    if not data_dir or not Path(data_dir).is_dir():
        return []
    return sorted(p.name[: -len(".tsv.gz")] for p in Path(data_dir).glob("*.tsv.gz"))


def code_sizes(n_features):
    return sorted({2, min(10, n_features - 1)})


def _features(name, data_dir):
    if name in BUNDLED:
        return BUNDLED[name]().data.astype(np.float64)
    frame = pd.read_csv(Path(data_dir) / f"{name}.tsv.gz", sep="\t")
    return frame.drop(columns="target").to_numpy(np.float64)


def _n_features(name, data_dir):
    if name in BUNDLED:
        return BUNDLED[name]().data.shape[1]
    with open(Path(data_dir) / f"{name}.tsv.gz", "rb") as file:
        header = pd.read_csv(file, sep="\t", nrows=0, compression="gzip")
    return header.shape[1] - 1


def plan(config):
    quick = config.get("quick", False)
    seeds = 1 if quick else config.get("seeds", DEFAULT_SEEDS)
    methods = QUICK_METHODS if quick else tuple(METHODS)
    data_dir = config.get("data_dir")
    cells = [(name, None) for name in BUNDLED]
    if not quick:
        cells += [(name, n) for name in _shared_names(data_dir) for n in TRAIN_SIZES]
    runs = []
    for name, n_train in cells:
        for seed in range(seeds):
            for k in code_sizes(_n_features(name, data_dir)):
                for method in methods:
                    runs.append({"dataset": name, "n_train": n_train, "k": k, "seed": seed,
                                 "method": method, "data_dir": None if name in BUNDLED else data_dir})
    return runs


def split(name, n_train, seed, data_dir=None):
    """Standardized training and held-out rows (scaler fitted on the training rows)."""
    X = _features(name, data_dir)
    if n_train is None:
        X_train, X_test = train_test_split(X, test_size=TEST_SIZE, random_state=seed)
    else:
        rows = np.random.RandomState(seed).permutation(len(X))
        X_train, X_test = X[rows[:n_train]], X[rows[n_train : n_train + TEST_ROWS]]
    scaler = StandardScaler().fit(X_train)
    return scaler.transform(X_train), scaler.transform(X_test)


def _mse(reconstruction, X):
    return float(np.mean((np.asarray(reconstruction, dtype=np.float64) - X) ** 2))


def run_one(run):
    X_train, X_test = split(run["dataset"], run["n_train"], run["seed"], run.get("data_dir"))
    k = run["k"]
    pca = PCA(n_components=k, random_state=0).fit(X_train)
    pca_mse = _mse(pca.inverse_transform(pca.transform(X_test)), X_test)
    estimator = METHODS[run["method"]](k, run["seed"])
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        estimator.fit(X_train)
    fit_seconds = time.perf_counter() - start
    mse = _mse(estimator.inverse_transform(estimator.transform(X_test)), X_test)
    return {
        "n_rows": len(X_train),
        "n_features": X_train.shape[1],
        "pca_mse": pca_mse,
        "mse": mse,
        "ratio": mse / pca_mse,
        "epochs": int(estimator.n_iter_),
        "steps": int(sum(row.get("train_batches", 0) for row in estimator.history_)),
        "fit_seconds": fit_seconds,
    }


def _cell_table(rows):
    """One row per cell: each method's ratio (mean ± std, worst seed), the defaults' budget."""
    keys = ["dataset", "n_rows", "k"]
    cells = pd.MultiIndex.from_frame(rows[keys].drop_duplicates())
    out = pd.DataFrame(index=cells)
    for method in [m for m in METHODS if m in set(rows["method"])]:
        part = rows[rows["method"] == method].groupby(keys)
        stats = pd.DataFrame({"mean": part["ratio"].mean(), "std": part["ratio"].std(),
                              "worst": part["ratio"].max()}).reindex(cells)
        out[method] = [
            "" if np.isnan(m) else f"{m:.3f} ± {0.0 if np.isnan(sd) else sd:.3f} ({w:.3f})"
            for m, sd, w in stats.to_numpy()
        ]
        if method == "AutoencoderTransformer":
            out["epochs"] = part["epochs"].mean().reindex(cells).round(0)
            out["steps"] = part["steps"].mean().reindex(cells).round(0)
            out["fit s"] = part["fit_seconds"].mean().reindex(cells).round(2)
    return out.reset_index().rename(columns={"n_rows": "n_train"})


def _groups(rows):
    """Geometric mean and worst ratio of the defaults by table group and training size."""
    rows = rows.assign(group=np.where(rows["n_train"].isna(), "bundled (80/20)",
                                      "learning curves, " + rows["n_rows"].astype(str) + " rows"))
    rows.loc[rows["n_train"].isna(), "group"] = "bundled (80/20)"
    table = rows.pivot_table(index="group", columns="method", values="ratio",
                             aggfunc=lambda r: float(np.exp(np.log(r).mean())))
    return table[[m for m in METHODS if m in table.columns]].round(3)


def _targets(rows):
    lines = []
    for method in [m for m in METHODS if m in set(rows["method"])]:
        ratio = rows.loc[rows["method"] == method, "ratio"]
        worst, at_pca = float(ratio.max()), float((ratio >= AT_PCA).mean())
        geo = float(np.exp(np.log(ratio).mean()))
        lines.append({
            "method": method,
            "fits": len(ratio),
            f"worst (target <= {WORST_RATIO})": f"{worst:.3f} ({'met' if worst <= WORST_RATIO else 'not met'})",
            f"share at PCA (target <= {MAX_SHARE_AT_PCA:.0%})":
                f"{at_pca:.0%} ({'met' if at_pca <= MAX_SHARE_AT_PCA else 'not met'})",
            f"geo-mean (target <= {GEO_MEAN})": f"{geo:.3f} ({'met' if geo <= GEO_MEAN else 'not met'})",
            "fits > 1.02": int((ratio > WORST_RATIO).sum()),
            "fit s (total)": round(float(rows.loc[rows["method"] == method, "fit_seconds"].sum()), 1),
        })
    return pd.DataFrame(lines)


def report(rows, out_dir):
    seeds = rows["seed"].nunique()
    lines = [
        "## Small tables: held-out MSE relative to PCA",
        "",
        "Protocol: bundled iris, wine, breast_cancer, diabetes split 80/20; shared datasets "
        f"subsampled to {', '.join(map(str, TRAIN_SIZES))} training rows with up to "
        f"{TEST_ROWS} other rows held out; StandardScaler fitted on the training rows; "
        f"k = 2 and min(10, d - 1); {seeds} seeds. Ratio = held-out MSE / PCA's held-out MSE "
        "(mean ± std over seeds; worst = largest over seeds). Epochs and optimizer steps are "
        "those of the final model's training run; fit seconds include any cross-validation "
        "fits (taken on a shared machine: compare within the table only). "
        f"'previous budget' is AutoencoderTransformer with {PREVIOUS_DEFAULTS}, as before issue 15.",
        "",
        "Targets of issue 15 (every fit of the slice):",
        "",
        _targets(rows).to_markdown(index=False),
        "",
        "Geometric mean of the ratio by group:",
        "",
        _groups(rows).to_markdown(),
        "",
        "Every cell: ratio mean ± std over seeds (worst seed); epochs, optimizer steps and fit "
        "seconds of AutoencoderTransformer at its defaults.",
        "",
        _cell_table(rows).to_markdown(index=False),
    ]
    _plot(rows, Path(out_dir))
    if rows["n_train"].notna().any():
        lines += ["", f"![small tables]({NAME}.png)"]
    return "\n".join(lines)


def _plot(rows, out_dir):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    curves = rows[rows["n_train"].notna()]
    if curves.empty:  # the quick run has no learning curves
        return
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.4), sharey=True)
    for ax, which in zip(axes, ("k = 2", "k = min(10, d - 1)")):
        part = curves[(curves["k"] == 2) == (which == "k = 2")]
        for method, style in (("AutoencoderTransformer", "-"), ("previous budget", ":")):
            mean = part[part["method"] == method].groupby(["dataset", "n_train"])["ratio"].mean()
            for i, (name, series) in enumerate(mean.groupby(level=0)):
                ax.plot(series.index.get_level_values(1), series.to_numpy(), style, marker=".",
                        color=f"C{i}", label=name if style == "-" else None)
        ax.axhline(1.0, color="grey", lw=0.8)
        ax.set_xscale("log")
        ax.set_xlabel("training rows")
        ax.set_title(which, fontsize=9)
    axes[0].set_ylabel("held-out MSE / PCA's")
    axes[1].legend(fontsize=6, ncol=2)
    fig.suptitle("defaults (solid) and previous defaults (dotted)", fontsize=9)
    fig.tight_layout()
    out_dir.mkdir(parents=True, exist_ok=True)
    fig.savefig(out_dir / f"{NAME}.png", dpi=110)
    plt.close(fig)


def main(argv=None):
    return main_for(sys.modules[__name__], argv)


if __name__ == "__main__":
    sys.exit(main())
