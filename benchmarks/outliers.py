"""Outlier detection: skae's AutoencoderOutlierDetector beside IsolationForest, LOF, PyOD, others.

The protocol is ADBench's unsupervised setting (Han et al., NeurIPS 2022).
Each table is a set of rows, a few of which (1-10%) are outliers. The rows
are split 70/30 at random, stratified by the outlier label (the only use of
the labels besides scoring: it keeps outliers on both sides). Each detector
is fitted, untouched and without labels, on the 70% *training* rows, which
contain their share of the outliers; a StandardScaler fitted on the same rows
(no labels) scales the data first. Then every detector scores

* the held-out 30% (``test``: ADBench's figure), and
* the training rows themselves (``train``: the transductive setting "fit on
  all rows, score them" that a user cleaning a table is in).

The metrics are ROC-AUC and average precision (AP) of the outlyingness
(``-score_samples``, or the detector's own outlier score), and the seconds
taken by ``fit``.

The tables (``TABLES``: real ones, and ones generated as ADBench does) are
made by :mod:`benchmarks.outlier_tables`. Every table is tagged ``design``,
``check`` or ``fresh``: the detector's first rule was chosen on the design
tables and failed on the check tables; the final ensemble was chosen on both;
the fresh tables, built after it was frozen, test it (its training length and
widths, set afterwards for speed, were checked on design rows of all 40).

Design rows and report rows (issue 28; docs/benchmarks/README.md). The seeds
come from :func:`benchmarks.slices.seeds_for`: the detector's default (the
ensemble) was chosen on the design and check tables at seeds 0-2, design rows;
the report runs seeds 100 and up, new splits (and new draws of the tables that
subsample or generate rows) that no design decision saw (``--design`` runs seeds 0, 1, ... instead). The section
says which rows it shows.

Run ``python -m benchmarks.outliers [--quick] [--seeds N] [--design] [--out DIR]``.
"""

import math
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from .display import format_mean_std, pyplot, save_figure
from .outlier_tables import (  # noqa: F401 (the slice's tables, read here by the tests)
    GENERATED_OUTLIER_FRACTION,
    QUICK_TABLES,
    TABLES,
    available_tables,
    build_table,
    split_and_scale,
)
from .slices import rows_statement, seeds_for
from .stats import paired

NAME = "outliers"
DEFAULT_SEEDS = 5
QUICK_SEEDS = 1
# Fit times are compared across runs (skae against PyOD-AE): runs one at a time.
SEQUENTIAL = True


# ------------------------------------------------------------- detectors
def _pyod_autoencoder(seed):
    # Imported here: the benchmark extra installs pyod, skae does not need it.
    from pyod.models.auto_encoder import AutoEncoder

    return AutoEncoder(verbose=0, random_state=seed)


def _pca_error(X_train):
    """PCA keeping 90% of the variance; outlyingness = squared reconstruction error."""
    from sklearn.decomposition import PCA

    pca = PCA(n_components=0.9, random_state=0).fit(X_train)
    return lambda X: np.sum((X - pca.inverse_transform(pca.transform(X))) ** 2, axis=1)


def fit_detector(method, X_train, seed):
    """Fit ``method`` on ``X_train``; return ``(score, train_score)``, higher = more unusual.

    ``score(X)`` scores new rows, ``train_score()`` the training rows (for LOF
    and PyOD, the scores their ``fit`` computed).
    """
    from sklearn.ensemble import IsolationForest
    from sklearn.neighbors import LocalOutlierFactor
    from sklearn.svm import OneClassSVM

    from skae import AutoencoderOutlierDetector, AutoencoderTransformer, VariationalAE

    if method == "PyOD-AE":
        model = _pyod_autoencoder(seed).fit(X_train)
        return model.decision_function, lambda: model.decision_scores_
    if method == "PCA":
        score = _pca_error(X_train)
        return score, lambda: score(X_train)
    if method == "LOF":
        # novelty=True scores new rows; the training rows keep their own LOF.
        model = LocalOutlierFactor(novelty=True).fit(X_train)
        return lambda X: -model.score_samples(X), lambda: -model.negative_outlier_factor_
    code = max(1, math.ceil(math.sqrt(X_train.shape[1])))  # the VAEs' code size
    models = {
        "skae": lambda: AutoencoderOutlierDetector(random_state=seed),
        "skae-AE(defaults)": lambda: AutoencoderOutlierDetector(
            AutoencoderTransformer(random_state=seed)),
        "skae-VAE": lambda: AutoencoderOutlierDetector(VariationalAE(
            n_components=code, random_state=seed)),
        "skae-VAE(per-feature)": lambda: AutoencoderOutlierDetector(VariationalAE(
            n_components=code, noise_variance="learned_per_feature", random_state=seed)),
        "IForest": lambda: IsolationForest(random_state=seed),
        "OCSVM": lambda: OneClassSVM(),
    }
    model = models[method]().fit(X_train)
    return lambda X: -model.score_samples(X), lambda: -model.score_samples(X_train)


METHODS = (
    "skae", "IForest", "LOF", "OCSVM", "PCA", "PyOD-AE",
    "skae-VAE", "skae-VAE(per-feature)", "skae-AE(defaults)",
)
# skae's other detectors: a wrapped autoencoder's own score (reported, not targets).
SKAE_ALTERNATIVES = ("skae-VAE", "skae-VAE(per-feature)", "skae-AE(defaults)")
PEERS = ("IForest", "LOF", "OCSVM", "PCA", "PyOD-AE")


# ----------------------------------------------------------- the slice
def plan(config):
    """One run per table, seed and detector, the detectors of one table and seed in a row."""
    names = available_tables(config.get("data_dir"))
    if config.get("quick"):
        names = [name for name in QUICK_TABLES if name in names]
    n_seeds = QUICK_SEEDS if config.get("quick") else int(config.get("seeds", DEFAULT_SEEDS))
    data_dir = config.get("data_dir")
    return [
        {"table": name, "seed": seed, "method": method, "data_dir": data_dir}
        for name in names
        for seed in seeds_for({**config, "seeds": n_seeds})
        for method in METHODS
    ]


def run_one(run):
    """Fit one detector on one table's training rows; metrics on the test and the training rows."""
    from sklearn.metrics import average_precision_score, roc_auc_score

    X, is_outlier = build_table(run["table"], run["seed"], run.get("data_dir"))
    X_train, X_test, y_train, y_test = split_and_scale(X, is_outlier, run["seed"])
    start = time.perf_counter()
    score, train_score = fit_detector(run["method"], X_train, run["seed"])
    fit_seconds = time.perf_counter() - start
    test_scores, train_scores = score(X_test), train_score()
    return {
        "roc_auc": roc_auc_score(y_test, test_scores),
        "ap": average_precision_score(y_test, test_scores),
        "roc_auc_train": roc_auc_score(y_train, train_scores),
        "ap_train": average_precision_score(y_train, train_scores),
        "fit_seconds": fit_seconds,
        "n_rows": len(X),
        "n_train": len(X_train),
        "n_features": X.shape[1],
        "outlier_share": float(np.mean(is_outlier)),
    }


# ---------------------------------------------------------------- report
ROLES = {
    "design": "design (round 1)",
    "check": "check of round 1, design of round 2",
    "fresh": "fresh: check of round 2",
}
NEAR_BEST = 0.05


def _kind(table):
    if table.kind == "real":
        return "real: " + table.note
    return f"{table.kind} (ADBench), {table.note}"



@dataclass
class _Scores:
    """What every part of the report reads: per table (rows) and detector (columns), over seeds."""

    methods: list  # the detectors that ran, in METHODS' order
    peers: list  # the peers among them
    tables: list  # the tables that ran, in TABLES' order
    seeds: int
    auc: pd.DataFrame  # mean held-out ROC-AUC
    auc_std: pd.DataFrame
    ap: pd.DataFrame  # mean held-out average precision
    ap_std: pd.DataFrame
    auc_train: pd.DataFrame  # mean ROC-AUC on the training rows
    near: pd.DataFrame  # within NEAR_BEST of the table's best mean ROC-AUC
    roles: pd.Series  # each table's group
    kinds: pd.Series  # each table's kind of outliers ("real", "local", ...)
    seconds: pd.DataFrame  # fit seconds, one row per table and seed
    rows_statement: str  # which seeds: design or report rows


def _mean_and_std_per_table(rows, value):
    grouped = rows.groupby(["table", "method"], sort=False)[value]
    return grouped.mean().unstack(), grouped.std().fillna(0.0).unstack()


def _scores(rows):
    """The :class:`_Scores` of ``rows`` (one row per table, seed and detector)."""
    methods = [m for m in METHODS if m in set(rows.method)]
    tables = [t for t in TABLES if t in set(rows.table)]
    frames = {}
    for value, name in (("roc_auc", "auc"), ("ap", "ap"), ("roc_auc_train", "auc_train")):
        mean, std = _mean_and_std_per_table(rows, value)
        frames[name], frames[f"{name}_std"] = mean.loc[tables, methods], std.loc[tables, methods]
    auc = frames["auc"]
    return _Scores(
        methods=methods, peers=[m for m in PEERS if m in methods], tables=tables,
        seeds=rows.seed.nunique(), auc=auc, auc_std=frames["auc_std"], ap=frames["ap"],
        ap_std=frames["ap_std"], auc_train=frames["auc_train"],
        near=auc.ge(auc.max(axis=1) - NEAR_BEST, axis=0),
        roles=pd.Series({t: TABLES[t].role for t in tables}),
        kinds=pd.Series({t: TABLES[t].kind for t in tables}),
        seconds=rows.pivot_table(index=["table", "seed"], columns="method",
                                 values="fit_seconds"),
        rows_statement=rows_statement(rows.seed),
    )


def _cells(mean, std):
    return pd.DataFrame(
        [[format_mean_std(m, s) for m, s in zip(mean.loc[i], std.loc[i])] for i in mean.index],
        index=mean.index, columns=mean.columns,
    )


def _markdown(frame, index_name="table"):
    frame = frame.copy()
    frame.index.name = index_name
    return frame.to_markdown()


def _paired(rows, method, rival, value="roc_auc"):
    """``method - rival``: per-table mean paired differences and verdicts, and over the tables.

    A table's verdict is ``benchmarks.stats.paired``'s over its seeds (better
    or worse when the 95% interval excludes zero, a tie otherwise); the
    overall one is the same test over the per-table mean differences.
    """
    wide = rows.pivot_table(index=["table", "seed"], columns="method", values=value)
    tables = list(dict.fromkeys(wide.index.get_level_values("table")))
    verdicts = [paired(wide.loc[t, method], wide.loc[t, rival], lower_is_better=False)["verdict"]
                for t in tables]
    means = wide.groupby(level="table", sort=False).mean()
    overall = paired(means[method], means[rival], lower_is_better=False)
    counts = {v: verdicts.count(v) for v in ("better", "tie", "worse")}
    return overall, counts


def plot_roc_auc_per_table(mean, methods, tables, out_dir):
    """Each detector's mean held-out ROC-AUC per table, the tables grouped by their role."""
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(max(8, 0.38 * len(tables)), 4.8))
    markers = "o^svDP*Xh"
    for i, method in enumerate(methods):
        ax.plot(range(len(tables)), mean.loc[tables, method], markers[i % len(markers)],
                label=method, alpha=0.85, markersize=7 if method == "skae" else 5,
                color="black" if method == "skae" else None, zorder=3 if method == "skae" else 2)
    start = 0
    for role in ROLES:
        n = sum(TABLES[t].role == role for t in tables)
        if n:
            shade = "0.93" if role == "check" else "white"
            ax.axvspan(start - 0.5, start + n - 0.5, color=shade, zorder=0)
            ax.text(start + n / 2 - 0.5, 1.02, role, ha="center", va="bottom", fontsize=8,
                    transform=ax.get_xaxis_transform())
            start += n
    ax.set_xticks(range(len(tables)), tables, rotation=70, ha="right", fontsize=7)
    ax.set_ylabel("ROC-AUC, held-out rows (mean over seeds)")
    ax.set_xlim(-0.5, len(tables) - 0.5)
    ax.legend(fontsize=7, ncol=4, loc="lower left")
    return save_figure(fig, Path(out_dir) / "outliers.png").name


def report(rows, out_dir):
    """Markdown section: protocol, suite, summary and targets, per-table tables, plot."""
    scores = _scores(rows)
    out = _protocol(scores) + _summary(scores)
    if "skae" in scores.methods and scores.peers:
        out += _paired_differences(rows, scores) + _targets(scores)
    plot = plot_roc_auc_per_table(scores.auc, scores.methods, scores.tables, out_dir)
    out += [f"![ROC-AUC per table]({plot})", ""]
    out += _suite(rows, scores) + _per_table(rows, scores)
    return "\n".join(out)


def _protocol(scores):
    """The heading, the protocol and the groups of tables."""
    return [
        "## Outlier detection (`benchmarks/outliers.py`)",
        "",
        f"ADBench's unsupervised protocol (Han et al., NeurIPS 2022) on {len(scores.tables)} "
        f"tables, {scores.seeds} seed(s) each. Each table is split 70/30 at random, stratified "
        "by the outlier label (the only use of the labels besides scoring); a StandardScaler and "
        "every detector are fitted on the 70% training rows, which contain their share of the "
        "outliers, without labels; the held-out 30% are scored (ROC-AUC and average precision, "
        "AP). `ROC-AUC (train rows)` scores the training rows themselves (fit on the rows, "
        "score them: a user cleaning a table). A seed sets the split, the table's draw where it "
        "subsamples or generates rows, and the detector's `random_state`. Detectors, each with its defaults: `skae` = "
        "`AutoencoderOutlierDetector(random_state=seed)`; `IForest`, `LOF` "
        "(`novelty=True` for the held-out rows, its own `negative_outlier_factor_` for the "
        "training rows) and `OCSVM` from scikit-learn; `PCA` = squared reconstruction error of a "
        "PCA keeping 90% of the variance; `PyOD-AE` = `pyod.models.auto_encoder.AutoEncoder"
        "(verbose=0, random_state=seed)`; `skae-VAE` = `AutoencoderOutlierDetector(VariationalAE(n_components="
        "ceil(sqrt(d))))`, scored by the negative ELBO in nats (a calibrated density: the "
        "likelihood, a Gaussian with a light Cauchy tail, has a learned variance, one shared "
        "by all features), "
        "`skae-VAE(per-feature)` the same with `noise_variance=\"learned_per_feature\"` "
        "(one variance per feature); `skae-AE(defaults)` = "
        "`AutoencoderOutlierDetector(AutoencoderTransformer())`, the detector's default before "
        "issue 16.",
        "",
        "The tables come in three groups. *design*: the default's first rule (latent + residual "
        "score) was chosen on them; *check*: that rule's check, which it failed (see the user "
        "guide), then, with the design tables, the design set of the final ensemble; *fresh*: "
        "never looked at before the final rule was frozen, its check. Those choices saw seeds "
        "0-2 of the design and check tables; the training length and widths set afterwards "
        "for speed were checked on design rows of all the tables. The seeds below split every "
        "table anew and redraw those that subsample or generate rows.",
        "",
        scores.rows_statement,
        "",
    ]


def _summary(scores):
    """The summary over tables (mean ROC-AUC by group, near-best counts, fit time), by kind."""
    methods, tables, roles, near = scores.methods, scores.tables, scores.roles, scores.near
    summary = pd.DataFrame(index=methods)
    for role in ROLES:
        idx = roles.index[roles == role]
        if len(idx):
            summary[f"ROC-AUC {role}"] = scores.auc.loc[idx].mean()
    summary["ROC-AUC all"] = scores.auc.mean()
    summary["AP all"] = scores.ap.mean()
    summary["ROC-AUC (train rows) all"] = scores.auc_train.mean()
    summary["tables within 0.05 of best"] = [f"{int(near[m].sum())}/{len(tables)}" for m in methods]
    fresh = roles.index[roles == "fresh"]
    if len(fresh):
        summary["fresh tables within 0.05"] = [
            f"{int(near.loc[fresh, m].sum())}/{len(fresh)}" for m in methods
        ]
    summary["median fit s"] = scores.seconds[methods].median()
    if "PyOD-AE" in methods:
        ratio = scores.seconds[methods].div(scores.seconds["PyOD-AE"], axis=0)
        summary["fit time / PyOD-AE (median)"] = ratio.median()
        summary["(worst table)"] = ratio.groupby(level="table").median().max()
    kinds = scores.kinds
    by_kind = scores.auc.groupby(kinds).mean().T
    by_kind.columns = [f"{kind} ({int((kinds == kind).sum())})" for kind in by_kind.columns]
    return ["### Summary (mean over tables of the mean over seeds)", "",
            _markdown(summary.round(3), "detector"), "",
            "### Mean held-out ROC-AUC by outlier type (number of tables)", "",
            _markdown(by_kind.round(3), "detector"), ""]


def _paired_differences(rows, scores):
    """skae minus each peer and alternative, over the tables and table by table."""
    lines = ["### Paired differences, skae minus each peer and each other skae detector "
             "(held-out ROC-AUC)", "",
             "Per table, the paired differences over seeds: won (better) or lost (worse) when "
             "their 95% interval (Student's t) excludes zero, tied otherwise. Over the tables: "
             "the same test on the per-table mean differences.", "",
             "| peer | mean difference over tables [95% interval] | verdict over tables "
             "| tables won / tied / lost |", "|---|---|---|---|"]
    for peer in scores.peers + [m for m in SKAE_ALTERNATIVES if m in scores.methods]:
        overall, counts = _paired(rows, "skae", peer)
        interval = f"{overall['mean']:+.3f} [{overall['low']:+.3f}, {overall['high']:+.3f}]"
        record = f"{counts['better']} / {counts['tie']} / {counts['worse']}"
        lines.append(f"| {peer} | {interval} | {overall['verdict']} | {record} |")
    return lines + [""]


def _targets(scores):
    """Issue 16's targets, on every group of tables that is not all of them, and the fit time."""
    auc, near, roles, tables = scores.auc, scores.near, scores.roles, scores.tables
    verdicts = []
    groups = (
        ("all tables", tables),
        ("design + check tables, the final rule's design set",
         list(roles.index[roles != "fresh"])),
        ("fresh tables, its check", list(roles.index[roles == "fresh"])),
    )
    for label, idx in groups:
        if not idx or (label != "all tables" and len(idx) == len(tables)):
            continue  # no such tables, or the same as all of them
        mine, others = auc.loc[idx, "skae"].mean(), auc.loc[idx, scores.peers].mean()
        met = mine > others.max()
        rival = others.idxmax()
        closest = paired(auc.loc[idx, "skae"], auc.loc[idx, rival], lower_is_better=False)
        interval = f"{closest['mean']:+.3f} [{closest['low']:+.3f}, {closest['high']:+.3f}]"
        verdict = "a tie" if closest["verdict"] == "tie" else closest["verdict"]
        verdicts.append(
            f"- Mean ROC-AUC above every peer's ({label}): **{'met' if met else 'not met'}** "
            f"(skae {mine:.3f}, best peer {rival} {others.max():.3f}; paired over the "
            f"tables {interval}, {verdict}).")
        share = near.loc[idx, "skae"].mean()
        verdicts.append("- Within 0.05 of the best detector on at least 70% of the tables "
                        f"({label}): "
                        f"**{'met' if share >= 0.7 else 'not met'}** "
                        f"({int(near.loc[idx, 'skae'].sum())}/{len(idx)} = {share:.0%}).")
    if "PyOD-AE" in scores.methods:
        seconds = scores.seconds
        ratio = (seconds["skae"] / seconds["PyOD-AE"]).groupby(level="table").median()
        verdicts.append(
            f"- Fit time at most 3x PyOD-AE's: **{'met' if ratio.max() <= 3 else 'not met'}** "
            f"(median over tables {ratio.median():.2f}x, worst table {ratio.idxmax()} "
            f"{ratio.max():.2f}x; runs one after another in one process, on a shared "
            "machine).")
    return ["### Targets (issue 16)", "", *verdicts, ""]


def _suite(rows, scores):
    """The tables: group, kind of outliers, size, outlier share."""
    tables = scores.tables
    suite = pd.DataFrame({
        "group": scores.roles,
        "outliers": [_kind(TABLES[t]) for t in tables],
        "rows x features": [f"{int(rows[rows.table == t].n_rows.iloc[0])} x "
                            f"{int(rows[rows.table == t].n_features.iloc[0])}" for t in tables],
        "outlier share": [f"{rows[rows.table == t].outlier_share.mean():.1%}" for t in tables],
    }, index=tables)
    return ["### The tables", "", _markdown(suite), ""]


def _per_table(rows, scores):
    """Every table's cells: held-out ROC-AUC and AP, training-row ROC-AUC, fit seconds."""
    seeds = scores.seeds
    seconds = rows.groupby(["table", "method"], sort=False).fit_seconds.mean().unstack()
    seconds = seconds.loc[scores.tables, scores.methods]
    return [
        f"### ROC-AUC on the held-out rows (mean ± std over {seeds} seeds)", "",
        _markdown(_cells(scores.auc, scores.auc_std)), "",
        f"### Average precision on the held-out rows (mean ± std over {seeds} seeds)", "",
        _markdown(_cells(scores.ap, scores.ap_std)), "",
        "### ROC-AUC on the training rows (fit and score the same rows; mean over seeds)", "",
        _markdown(scores.auc_train.round(3)), "",
        "### Fit seconds (mean over seeds; shared machine, one torch thread)", "",
        _markdown(seconds.round(2)), "",
    ]


# The user guide's names of the detectors (docs/user_guide/outlier.rst includes doc_figure).
DOC_NAMES = {
    "skae": "``AutoencoderOutlierDetector()``",
    "PyOD-AE": "PyOD ``AutoEncoder()``",
    "IForest": "``IsolationForest()``",
    "LOF": "``LocalOutlierFactor()``",
    "OCSVM": "``OneClassSVM()``",
    "PCA": "PCA reconstruction error",
    "skae-VAE": "``AutoencoderOutlierDetector(VariationalAE(n_components=ceil(sqrt(d))))`` "
                "(negative ELBO)",
    "skae-VAE(per-feature)": "the same, ``noise_variance=\"learned_per_feature\"``",
    "skae-AE(defaults)": "``AutoencoderOutlierDetector(AutoencoderTransformer())`` (the default "
                         "before the ensemble)",
}
DOC_GROUPS = ("real", "generated", "all", "fresh")


def doc_figure(rows):
    """The user guide's table: mean ROC-AUC by group, near-best counts, paired differences, time."""
    scores = _scores(rows)
    kinds, roles = scores.kinds, scores.roles
    groups = {"real": list(kinds.index[kinds == "real"]),
              "generated": list(kinds.index[kinds != "real"]),
              "all": scores.tables, "fresh": list(roles.index[roles == "fresh"])}
    over_pyod = (scores.seconds[scores.methods].div(scores.seconds["PyOD-AE"], axis=0)
                 .groupby(level="table").median().loc[scores.tables])
    lines = _doc_header(scores, groups)
    for method in scores.methods:
        lines += _doc_row(rows, scores, method, groups, over_pyod[method])
    return "\n".join(lines + ["", _doc_targets(rows, scores, over_pyod["skae"]), "",
                               *_doc_reading(rows, scores)]) + "\n"


CHANCE_BAND = 0.6  # a table where no detector's mean ROC-AUC reaches this is "near chance"
VAE_READING = {"skae-VAE": "The VariationalAE detector",
               "skae-VAE(per-feature)": "The VariationalAE detector, one noise variance per feature"}
VERDICT_WORDS = {"better": "the ensemble ahead", "worse": "the ensemble behind", "tie": "a tie"}


def _name(method):
    """A detector's name in the guide's running text."""
    return DOC_NAMES.get(method, method).split(" (")[0]


def _doc_reading(rows, scores):
    """What the table's rows show, each sentence computed: by kind, losses, training rows, VAE."""
    auc, peers = scores.auc, scores.peers
    kinds = scores.kinds
    by_kind = []
    for kind in dict.fromkeys(kinds):
        mean = auc.loc[kinds.index[kinds == kind], ["skae", *peers]].mean()
        best = mean[peers].idxmax()
        by_kind.append(f"{kind} ({int((kinds == kind).sum())} tables): the ensemble "
                       f"{mean['skae']:.3f}, the best peer {_name(best)} {mean[best]:.3f}")
    lines = ["What the rows show, table by table (means over the seeds):", "",
             "* **By outlier type**: " + "; ".join(by_kind) + "."]
    behind = auc[peers].max(axis=1) - auc["skae"]
    losses = behind[behind > NEAR_BEST].sort_values(ascending=False)
    if len(losses):
        lines.append(
            f"* **More than {NEAR_BEST} behind the best peer** on {len(losses)} of "
            f"{len(scores.tables)} tables: " + "; ".join(
                f"{table} ({_name(auc.loc[table, peers].idxmax())} "
                f"{auc.loc[table, peers].max():.3f}, the ensemble {auc.loc[table, 'skae']:.3f})"
                for table in losses.index) + ".")
    weak = auc.index[auc[["skae", *peers]].max(axis=1) < CHANCE_BAND]
    if len(weak):
        lines.append(f"* **No detector reaches {CHANCE_BAND}** on {', '.join(weak)}.")
    if "PyOD-AE" in peers:
        gain = (auc["skae"] - auc["PyOD-AE"]).sort_values(ascending=False)
        lines.append("* **Largest gains over PyOD's** ``AutoEncoder``: " + "; ".join(
            f"{table} ({value:+.3f})" for table, value in gain.head(3).items()) + ".")
    train = scores.auc_train[["skae", *peers]].mean().sort_values(ascending=False)
    lines.append(
        f"* **The training rows** (fit and score the same rows, as when cleaning a table): the "
        f"ensemble {train['skae']:.3f}, ranked {list(train.index).index('skae') + 1} of "
        f"{len(train)}; the best peer {_name(train[peers].idxmax())} {train[peers].max():.3f}.")
    for other, label in VAE_READING.items():
        if other not in scores.methods:
            continue
        overall, _ = _paired(rows, "skae", other)
        seconds = (scores.seconds[other] / scores.seconds["skae"]).groupby(level="table").median()
        lines.append(
            f"* **{label}**: mean {auc[other].mean():.3f}; the ensemble minus it "
            f"{overall['mean']:+.3f} [{overall['low']:+.3f}, {overall['high']:+.3f}] "
            f"({VERDICT_WORDS.get(overall['verdict'], overall['verdict'])}); its fit takes "
            f"{seconds.median():.1f} times the ensemble's (median over tables).")
    return lines


def _doc_header(scores, groups):
    """The sentence above the user guide's table, and its header row."""
    return [
        f"Mean held-out ROC-AUC over the tables (each the mean of {scores.seeds} seeds); the "
        "number of tables where a detector is within 0.05 of the best one (of all the rows "
        "below); the paired difference of ``AutoencoderOutlierDetector()`` minus the detector "
        "over the tables, with its 95% t-interval, and the tables it wins, ties and loses (95% "
        "interval over seeds); the fit time over PyOD's (median over tables, and the worst). "
        + scores.rows_statement,
        "",
        ".. list-table::",
        "   :header-rows: 1",
        "   :widths: 30 9 9 9 9 9 20 14",
        "",
        "   * - detector",
        *(f"     - {len(groups[g])} {g} tables" for g in DOC_GROUPS),
        f"     - within 0.05 of the best (of {len(scores.tables)})",
        "     - skae minus it [95% interval]; won / tied / lost",
        "     - fit time / PyOD's: median (worst)",
    ]


def _doc_row(rows, scores, method, groups, over_pyod):
    """One detector's row; ``over_pyod``: its fit time over PyOD's, per table."""
    if method == "skae":
        difference = "(itself)"
    else:
        overall, counts = _paired(rows, "skae", method)
        difference = (f"{overall['mean']:+.3f} [{overall['low']:+.3f}, {overall['high']:+.3f}]; "
                      f"{counts['better']} / {counts['tie']} / {counts['worse']}")
    return [f"   * - {DOC_NAMES.get(method, method)}",
            *(f"     - {scores.auc.loc[groups[g], method].mean():.3f}" for g in DOC_GROUPS),
            f"     - {int(scores.near[method].sum())}",
            f"     - {difference}",
            f"     - {over_pyod.median():.2f} ({over_pyod.max():.2f})"]


def _doc_targets(rows, scores, pyod):
    """Issue 16's targets in a sentence; ``pyod``: skae's fit time over PyOD's, per table."""
    seconds, near, tables = scores.seconds, scores.near, scores.tables
    iforest = (seconds["skae"] / seconds["IForest"]).groupby(level="table").median()
    mean = scores.auc.mean()
    best_peer = mean[list(PEERS)].idxmax()
    closest, _ = _paired(rows, "skae", best_peer)
    return (
        f"Issue 16's targets on these {len(tables)} tables: a mean ROC-AUC above every peer's: "
        f"{'met' if mean['skae'] > mean[list(PEERS)].max() else 'not met'} "
        f"({mean['skae']:.3f}, the best peer {DOC_NAMES[best_peer]} {mean[best_peer]:.3f}; "
        f"paired, {'a tie' if closest['verdict'] == 'tie' else closest['verdict']}); "
        f"within 0.05 of the best detector on at least 70% of the tables: "
        f"{'met' if near['skae'].mean() >= 0.7 else 'not met'} "
        f"({int(near['skae'].sum())} of {len(tables)}); a fit time at most 3 times PyOD's: "
        f"{'met' if pyod.max() <= 3 else 'not met'} (median {pyod.median():.2f} times, "
        + (f"above 3 on {', '.join(pyod.index[pyod > 3])}" if (pyod > 3).any()
           else f"at most {pyod.max():.2f}")
        + f"). The fit takes {iforest.median():.0f} times IsolationForest's (median over "
        "tables). Times are of runs one after another in one process, one torch thread, on a "
        "shared 2-core machine."
    )


def main(argv=None):
    from .slices import main_for

    return main_for(sys.modules[__name__], argv)


if __name__ == "__main__":
    sys.exit(main())
