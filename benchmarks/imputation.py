"""Imputation slice: AutoencoderImputer against scikit-learn's imputers on held-out rows.

Protocol. Six numeric tables, three small ones bundled with scikit-learn (wine,
diabetes, breast_cancer) and three medium ones from the shared datasets folder
(wine_quality_white, satimage, magic; larger tables are subsampled to
:data:`MAX_ROWS` rows, the same rows for every seed). For each seed, the rows
are split 80/20 into training and held-out rows, and 20% of the cells of every
row are hidden completely at random (MCAR), a new mask per seed. A
``StandardScaler`` is fitted on the observed cells of the training rows and
applied to both parts. Each imputer is fitted on the training rows (holes
included) and fills the held-out rows; the score is the RMSE over the hidden
cells of the held-out rows, in standardized units (1.0 is about the error of
guessing the training mean; lower is better). Nothing is fitted or chosen on
the held-out rows.

Imputers, in the same run: ``SimpleImputer(strategy="mean")``,
``KNNImputer()`` and ``IterativeImputer(random_state=seed)`` (scikit-learn's
defaults) and ``AutoencoderImputer(random_state=seed)`` (skae's defaults).

Run ``python -m benchmarks.imputation [--quick] [--seeds N] [--out DIR]``, or
``python -m benchmarks --only imputation``.
"""

import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.datasets import load_breast_cancer, load_diabetes, load_wine
from sklearn.exceptions import ConvergenceWarning
from sklearn.experimental import enable_iterative_imputer  # noqa: F401
from sklearn.impute import IterativeImputer, KNNImputer, SimpleImputer
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

from skae import AutoencoderImputer

from .slices import main_for

NAME = "imputation"
DEFAULT_SEEDS = 3

BUNDLED = {"wine": load_wine, "diabetes": load_diabetes, "breast_cancer": load_breast_cancer}
SHARED = ("wine_quality_white", "satimage", "magic")
QUICK_TABLES = ("wine", "diabetes")
MISSING_RATE = 0.2
TEST_SIZE = 0.2
MAX_ROWS = 5000
# An imputer within this fraction of the best RMSE of a table counts as tied with it.
TIE = 0.05

IMPUTERS = {
    "SimpleImputer": lambda seed: SimpleImputer(strategy="mean"),
    "KNNImputer": lambda seed: KNNImputer(),
    "IterativeImputer": lambda seed: IterativeImputer(random_state=seed),
    "AutoencoderImputer": lambda seed: AutoencoderImputer(random_state=seed),
}


def load_table(name, data_dir=None):
    """The table's features as float64 (targets dropped; at most ``MAX_ROWS`` fixed rows)."""
    if name in BUNDLED:
        X = BUNDLED[name]().data.astype(np.float64)
    else:
        frame = pd.read_csv(Path(data_dir) / f"{name}.tsv.gz", sep="\t")
        X = frame.drop(columns="target").to_numpy(np.float64)
    if len(X) > MAX_ROWS:
        X = X[np.sort(np.random.default_rng(0).choice(len(X), MAX_ROWS, replace=False))]
    return X


def tables(config):
    """The tables of a run configuration: the bundled ones, plus the shared ones when present."""
    if config.get("quick"):
        return list(QUICK_TABLES)
    found = [
        name for name in SHARED
        if config.get("data_dir") and (Path(config["data_dir"]) / f"{name}.tsv.gz").exists()
    ]
    return list(BUNDLED) + found


def plan(config):
    seeds = 1 if config.get("quick") else config.get("seeds", DEFAULT_SEEDS)
    return [
        {"dataset": name, "seed": seed, "method": method, "data_dir": config.get("data_dir")}
        for name in tables(config)
        for seed in range(seeds)
        for method in IMPUTERS
    ]


def holdout_with_holes(X, seed):
    """Training and held-out rows with ``MISSING_RATE`` of their cells hidden, standardized.

    Returns the training rows with holes, the held-out rows with holes, the
    held-out rows' true values and their hole mask, all scaled by a
    ``StandardScaler`` fitted on the observed training cells.
    """
    holes = np.random.default_rng(seed).random(X.shape) < MISSING_RATE
    X_missing = np.where(holes, np.nan, X)
    train, test = train_test_split(np.arange(len(X)), test_size=TEST_SIZE, random_state=seed)
    scaler = StandardScaler().fit(X_missing[train])  # ignores the NaN cells
    return (
        scaler.transform(X_missing[train]),
        scaler.transform(X_missing[test]),
        scaler.transform(X[test]),
        holes[test],
    )


def run_one(run):
    X = load_table(run["dataset"], run.get("data_dir"))
    X_train, X_test, X_true, holes = holdout_with_holes(X, run["seed"])
    imputer = IMPUTERS[run["method"]](run["seed"])
    start = time.perf_counter()
    with warnings.catch_warnings():  # IterativeImputer's early stop at max_iter
        warnings.simplefilter("ignore", ConvergenceWarning)
        imputer.fit(X_train)
        fit_seconds = time.perf_counter() - start
        filled = imputer.transform(X_test)
    rmse = float(np.sqrt(np.mean((filled[holes] - X_true[holes]) ** 2)))
    return {
        "rows": len(X),
        "features": X.shape[1],
        "rmse": rmse,
        "fit_seconds": fit_seconds,
        "epochs": int(getattr(imputer, "n_iter_", 0)) if run["method"] == "AutoencoderImputer" else None,
    }


def _mean_std(values):
    return f"{values.mean():.3f} ± {values.std(ddof=1) if len(values) > 1 else 0.0:.3f}"


def report(rows, out_dir):
    rows = rows.copy()
    methods = [m for m in IMPUTERS if m in set(rows["method"])]
    names = list(dict.fromkeys(rows["dataset"]))
    means = rows.pivot_table(index="dataset", columns="method", values="rmse").loc[names, methods]
    table = pd.DataFrame(index=names)
    for method in methods:
        table[method] = [
            _mean_std(rows[(rows["dataset"] == name) & (rows["method"] == method)]["rmse"])
            for name in names
        ]
    shapes = rows.groupby("dataset")[["rows", "features"]].first().loc[names]
    table.insert(0, "rows x features", [f"{r}x{f}" for r, f in shapes.to_numpy()])
    best = means.min(axis=1)
    table["best"] = means.idxmin(axis=1)
    ae = "AutoencoderImputer"
    lines = [
        "## Imputation (held-out rows, 20% of cells missing at random)",
        "",
        f"Protocol: 80/20 split of the rows; {MISSING_RATE:.0%} of the cells of every row hidden "
        "at random (a new mask per seed); StandardScaler fitted on the observed cells of the "
        "training rows; each imputer fitted on the training rows and scored on the hidden cells "
        "of the held-out rows (RMSE in standardized units, mean ± std over "
        f"{rows['seed'].nunique()} seeds; lower is better). Tables above {MAX_ROWS} rows are "
        "subsampled to that many (fixed rows). Every imputer runs with its defaults.",
        "",
        table.to_markdown(),
        "",
    ]
    if ae in methods:
        peers = [m for m in methods if m != ae]
        ratio = means[ae] / best
        paired = []
        for name in names:
            cell = rows[rows["dataset"] == name].pivot_table(index="seed", columns="method", values="rmse")
            best_peer = means.loc[name, peers].idxmin()
            diff = cell[ae] - cell[best_peer]
            paired.append((name, best_peer, diff.mean(), diff.std(ddof=1) if len(diff) > 1 else 0.0))
        wins = int((ratio <= 1 + TIE).sum())
        lines += [
            "AutoencoderImputer against the best peer of each table (paired by seed: same "
            "split and mask):",
            "",
            pd.DataFrame(
                [
                    {"dataset": n, "best peer": p, "AE / best": f"{ratio[n]:.3f}",
                     "AE - best peer (RMSE)": f"{m:+.4f} ± {s:.4f}",
                     "AE fit s": f"{rows[(rows.dataset == n) & (rows.method == ae)].fit_seconds.mean():.1f}"}
                    for n, p, m, s in paired
                ]
            ).to_markdown(index=False),
            "",
            f"Target (issue 15): AutoencoderImputer best or within {TIE:.0%} of the best on at "
            f"least 5 tables of 6: **{wins} of {len(names)}** "
            f"({'met' if wins >= 5 and len(names) >= 6 else 'not met' if len(names) >= 6 else 'partial run'}).",
        ]
    _plot(means, Path(out_dir))
    lines += ["", f"![imputation RMSE]({NAME}.png)"]
    return "\n".join(lines)


def _plot(means, out_dir):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    relative = means.div(means.min(axis=1), axis=0)
    fig, ax = plt.subplots(figsize=(7, 3.2))
    relative.plot.bar(ax=ax, width=0.8)
    ax.axhline(1 + TIE, color="grey", lw=0.8, ls="--")
    ax.set_ylabel("RMSE / best of table")
    ax.set_ylim(0.9, min(2.0, float(relative.max().max()) + 0.05))
    ax.legend(fontsize=7, ncol=2)
    fig.tight_layout()
    out_dir.mkdir(parents=True, exist_ok=True)
    fig.savefig(out_dir / f"{NAME}.png", dpi=110)
    plt.close(fig)


def main(argv=None):
    return main_for(sys.modules[__name__], argv)


if __name__ == "__main__":
    sys.exit(main())
