"""Imputation slice: AutoencoderImputer against scikit-learn's imputers on held-out rows.

Protocol. Ten numeric tables: the six of issue 15's target (:data:`ISSUE_TABLES`:
wine, diabetes and breast_cancer bundled with scikit-learn; wine_quality_white,
satimage and magic from the shared datasets folder, those above
:data:`MAX_ROWS` rows subsampled to that many fixed rows), and four small
ones added after issue 15 (:data:`FRESH_TABLES`: iris, and spambase, pendigits and texture subsampled to
:data:`SMALL_ROWS` fixed rows; their design rows too were looked at since). For each seed the rows
are split 80/20 into training and held-out rows; for each of :data:`MASKS`
masks per seed, 20% of the cells are hidden completely at random (MCAR). A
``StandardScaler`` is fitted on the observed cells of the training rows,
after masking, and applied to both parts. Each imputer is fitted on the
training rows (holes included) and fills the held-out rows; the score is the
RMSE over the hidden cells of the held-out rows, in standardized units (1.0 is
about the error of guessing the training mean; lower is better).

Design rows and report rows (issue 28; docs/benchmarks/README.md). Nothing is
fitted or chosen on the reported cells: every imputer runs at its defaults,
and the seeds come from :func:`benchmarks.slices.seeds_for`. Seeds 0-99 are
the design rows: skae's defaults were compared on seeds 0-2 of the ten tables
while they were developed, and the blend of the network's fill with a
nearest-neighbour and a Gaussian fill (``AutoencoderImputer(blend=True)``)
on seeds 0-1 of these tables and of four more built from scikit-learn and the
shared datasets (digits, letter and optdigits; mfeat_pixel on seed 0;
``benchmarks/dev/imputer_design.py``). Seeds 100-102 were read too, before the
split: the committed section of commit cdd6970 showed them, and the imputer's
lowest-mean rule was chosen after it (commit e1dfd45). This slice's report rows
therefore start at :data:`FIRST_REPORT_SEED` (200), run only to produce the
report (``--design`` runs the design rows instead); the section says which rows
it shows.

Imputers, in the same run: ``SimpleImputer(strategy="mean")``,
``KNNImputer()`` and ``IterativeImputer(random_state=seed)`` (scikit-learn's
defaults) and ``AutoencoderImputer(random_state=seed)`` (skae's defaults).

Run ``python -m benchmarks.imputation [--quick] [--seeds N] [--design] [--out DIR]``, or
``python -m benchmarks --only imputation``.
"""

import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.datasets import load_breast_cancer, load_diabetes, load_iris, load_wine
from sklearn.exceptions import ConvergenceWarning
from sklearn.experimental import enable_iterative_imputer  # noqa: F401
from sklearn.impute import IterativeImputer, KNNImputer, SimpleImputer
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

from skae import AutoencoderImputer

from .display import mean_std, pyplot, save_figure
from .slices import REPORT_FIRST_SEED, main_for, rows_statement, seeds_for
from .stats import paired, verdict_mark

NAME = "imputation"
DEFAULT_SEEDS = 5
QUICK_SEEDS = 1
MASKS = 2

BUNDLED = {"wine": load_wine, "diabetes": load_diabetes, "breast_cancer": load_breast_cancer,
           "iris": load_iris}
ISSUE_TABLES = ("wine", "diabetes", "breast_cancer", "wine_quality_white", "satimage", "magic")
FRESH_TABLES = ("iris", "spambase", "pendigits", "texture")
QUICK_TABLES = ("wine", "diabetes")
MISSING_RATE = 0.2
TEST_SIZE = 0.2
MAX_ROWS = 5000
SMALL_ROWS = 500
# An imputer within this fraction of the best RMSE of a table counts as tied with it.
TIE = 0.05
# The report rows' first seed: seeds 100-102 were read while the lowest-mean rule was chosen.
FIRST_REPORT_SEED = 200

IMPUTERS = {
    "SimpleImputer": lambda seed: SimpleImputer(strategy="mean"),
    "KNNImputer": lambda seed: KNNImputer(),
    "IterativeImputer": lambda seed: IterativeImputer(random_state=seed),
    "AutoencoderImputer": lambda seed: AutoencoderImputer(random_state=seed),
}


def load_table(name, data_dir=None):
    """The table's features as float64 (targets dropped; large tables subsampled to fixed rows)."""
    if name in BUNDLED:
        X = BUNDLED[name]().data.astype(np.float64)
    else:
        frame = pd.read_csv(Path(data_dir) / f"{name}.tsv.gz", sep="\t")
        X = frame.drop(columns="target").to_numpy(np.float64)
    limit = SMALL_ROWS if name in FRESH_TABLES else MAX_ROWS
    if len(X) > limit:
        X = X[np.sort(np.random.default_rng(0).choice(len(X), limit, replace=False))]
    return X


def tables(config):
    """The tables of a run configuration: the bundled ones, plus the shared ones when present."""
    if config.get("quick"):
        return list(QUICK_TABLES)
    names = [name for name in ISSUE_TABLES + FRESH_TABLES if name not in BUNDLED]
    found = {
        name for name in names
        if config.get("data_dir") and (Path(config["data_dir"]) / f"{name}.tsv.gz").exists()
    }
    return [name for name in ISSUE_TABLES + FRESH_TABLES if name in BUNDLED or name in found]


def seeds(config, n_seeds):
    """The design rows' seeds (0, 1, ...) or the report rows' (:data:`FIRST_REPORT_SEED`, ...).

    Examples
    --------
    >>> list(seeds({}, 2)), list(seeds({"rows": "design"}, 2))
    ([200, 201], [0, 1])
    """
    shared = seeds_for({**config, "seeds": n_seeds})  # every slice's seeds
    if shared[0] < REPORT_FIRST_SEED:  # the design rows
        return shared
    return range(FIRST_REPORT_SEED, FIRST_REPORT_SEED + n_seeds)


def plan(config):
    n_seeds = config.get("seeds") or (QUICK_SEEDS if config.get("quick") else DEFAULT_SEEDS)
    return [
        {"dataset": name, "seed": seed, "mask": mask, "method": method,
         "data_dir": None if name in BUNDLED else config.get("data_dir")}
        for name in tables(config)
        for seed in seeds(config, n_seeds)
        for mask in range(MASKS)
        for method in IMPUTERS
    ]


def holdout_with_holes(X, seed, mask=0):
    """Training and held-out rows with ``MISSING_RATE`` of their cells hidden, standardized.

    The split depends on ``seed``, the holes on ``seed`` and ``mask``. Returns the
    training rows with holes, the held-out rows with holes, the held-out rows'
    true values and their hole mask, all scaled by a ``StandardScaler`` fitted
    on the observed training cells (after masking).
    """
    holes = np.random.default_rng([seed, mask]).random(X.shape) < MISSING_RATE
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
    X_train, X_test, X_true, holes = holdout_with_holes(X, run["seed"], run.get("mask", 0))
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
        # The returned network's own epochs (n_iter_ also counts the cross-validation folds).
        "epochs": (
            len(imputer.estimator_.loss_curve_) if run["method"] == "AutoencoderImputer" else None
        ),
    }


def mean_rmse(rows):
    """Mean held-out RMSE: one row per table (in the runs' order), one column per imputer."""
    methods = [m for m in IMPUTERS if m in set(rows["method"])]
    names = list(dict.fromkeys(rows["dataset"]))
    return rows.pivot_table(index="dataset", columns="method", values="rmse").loc[names, methods]


def against_best_peer(rows):
    """Per table: AutoencoderImputer against the best peer (by mean RMSE), paired by split and mask."""
    ae = "AutoencoderImputer"
    means = mean_rmse(rows)
    peers = [m for m in means.columns if m != ae]
    out = []
    for name in means.index:
        cell = rows[rows["dataset"] == name].pivot_table(
            index=["seed", "mask"], columns="method", values="rmse")
        best_peer = means.loc[name, peers].idxmin()
        result = paired(cell[ae], cell[best_peer], log=True)
        ratio = means.loc[name, ae] / means.loc[name, [ae, *peers]].min()
        worst = (cell[ae] / cell[best_peer]).max()
        out.append({
            "dataset": name,
            "best peer": best_peer,
            "AE / best (mean RMSE)": f"{ratio:.3f}",
            "AE / best peer, paired [95%]": verdict_mark(
                f"{result['mean']:.3f} [{result['low']:.3f}, {result['high']:.3f}]", result["verdict"]),
            "worst split": f"{worst:.3f}",
            f"within {TIE:.0%}": "yes" if ratio <= 1 + TIE else "no",
            "AE fit s": round(float(rows[(rows.dataset == name) & (rows.method == ae)].fit_seconds.mean()), 1),
            "AE epochs": round(float(rows[(rows.dataset == name) & (rows.method == ae)].epochs.mean())),
        })
    return pd.DataFrame(out)


def report(rows, out_dir):
    rows = rows.copy()
    if "mask" not in rows:
        rows["mask"] = 0
    means = mean_rmse(rows)
    methods, names = list(means.columns), list(means.index)
    table = pd.DataFrame(index=names)
    for method in methods:
        table[method] = [
            mean_std(rows[(rows["dataset"] == name) & (rows["method"] == method)]["rmse"])
            for name in names
        ]
    shapes = rows.groupby("dataset")[["rows", "features"]].first().loc[names]
    table.insert(0, "rows x features", [f"{r}x{f}" for r, f in shapes.to_numpy()])
    table["best"] = means.idxmin(axis=1)
    ae = "AutoencoderImputer"
    n_seeds, n_masks = rows["seed"].nunique(), rows["mask"].nunique()
    lines = [
        f"## Imputation (held-out rows, {MISSING_RATE:.0%} of cells missing at random)",
        "",
        f"Protocol: 80/20 split of the rows per seed; {MISSING_RATE:.0%} of the cells hidden "
        f"completely at random, {n_masks} mask(s) per seed; StandardScaler fitted on the "
        "observed cells of the training rows after masking; each imputer fitted on the "
        "training rows and scored on the hidden cells of the held-out rows (RMSE in "
        f"standardized units, mean ± std over {n_seeds} seeds x {n_masks} masks; lower is "
        f"better). Tables above {MAX_ROWS} rows are subsampled to that many fixed rows; "
        f"{', '.join(FRESH_TABLES[1:])} to {SMALL_ROWS}. Every imputer runs with its defaults.",
        "",
        rows_statement(rows["seed"]) + " skae's defaults were compared on seeds 0-2 of these "
        "tables, and the blend of three fills (`blend=True`) chosen on seeds 0-1 of these and "
        "four more tables (design rows, `benchmarks/dev/imputer_design.py`). Seeds 100-102 "
        "were read before the imputer's lowest-mean rule was chosen, so the report rows of "
        f"this slice start at {FIRST_REPORT_SEED}.",
        "",
        table.to_markdown(),
        "",
    ]
    if ae in methods:
        against = against_best_peer(rows)
        lines += [
            "AutoencoderImputer against the best peer of each table (geometric-mean RMSE ratio "
            "paired by split and mask, 95% t-interval; **bold**: better, _italics_: worse, "
            "plain: a tie; worst split: the largest ratio of one split and mask):",
            "",
            against.to_markdown(index=False),
            "",
        ]
        for label, group in (("issue 15's six tables", ISSUE_TABLES), ("the four later tables", FRESH_TABLES)):
            part = against[against["dataset"].isin(group)]
            if part.empty:
                continue
            wins = int((part[f"within {TIE:.0%}"] == "yes").sum())
            verdict = ""
            if group is ISSUE_TABLES:
                verdict = (" (target: at least 5 of 6, "
                           f"{'met' if wins >= 5 and len(part) == 6 else 'not met' if len(part) == 6 else 'partial run'})")
            lines.append(f"AutoencoderImputer best or within {TIE:.0%} of the best on {label}: "
                         f"**{wins} of {len(part)}**{verdict}.")
            lines.append("")
    plot_rmse_over_best(means, Path(out_dir))
    lines += [f"![imputation RMSE]({NAME}.png)"]
    return "\n".join(lines)


def plot_rmse_over_best(means, out_dir):
    """Bars per table: each imputer's RMSE over the best imputer's of that table."""
    plt = pyplot()
    relative = means.div(means.min(axis=1), axis=0)
    fig, ax = plt.subplots(figsize=(7, 3.2))
    relative.plot.bar(ax=ax, width=0.8)
    ax.axhline(1 + TIE, color="grey", lw=0.8, ls="--")
    ax.set_ylabel("RMSE / best of table")
    ax.set_ylim(0.9, min(2.0, float(relative.max().max()) + 0.05))
    ax.legend(fontsize=7, ncol=2)
    save_figure(fig, out_dir / f"{NAME}.png")


def main(argv=None):
    return main_for(sys.modules[__name__], argv)


if __name__ == "__main__":
    sys.exit(main())
