"""Density benchmark: VariationalAE's held-out ELBO against probabilistic PCA's log-likelihood.

For every dataset (scikit-learn's bundled digits, wine and breast_cancer, and
the shared PMLB-layout tables, subsampled to 10,000 rows as in the main
benchmark), both scalings (``MinMaxScaler(clip=True)`` and ``StandardScaler``,
fitted on the training rows of an 80/20 split stratified by class), code sizes
k = 2 and 10 (below the number of features) and 5 seeds (seed s sets the split
and ``random_state``), one run fits, on the same training rows:

* ``VariationalAE(n_components=k, random_state=s)``, its defaults untouched
  (learned noise variance, ``init="pca"``, ``early_stopping="auto"``: a 10%
  validation split from about 1,000 training rows, cross-validation below,
  so on wine and breast_cancer), plus a callback that only records the KL
  and the noise variance per epoch;
* ``PCA(n_components=k)``, whose ``score`` is probabilistic PCA's exact mean
  log-likelihood.

On the test rows it records the mean ELBO (``VariationalAE.score``), the
importance-weighted bound with 100 draws (``score(X, n_importance_samples=100)``),
``PCA.score`` (all in nats per row, the log-density of the scaled data), and the
accuracy of ``StandardScaler + LogisticRegression`` trained on the training
rows' codes (the VAE's posterior means, PCA's projections). It also records the
epochs run, the epoch whose weights early stopping kept (0: the PCA start), and
how much the KL term and the noise variance the validation rows call for
(their mean expected squared residual) still moved over the 10 epochs before
that epoch and before training stopped.

Each run also records the median and the worst held-out row of both scores,
and how heavy the held-out rows' tails are: the largest distance of a
held-out entry from its feature's training mean, in units of the training
rows' root-mean-square feature standard deviation (the scale a shared noise
variance sees). A cell is *heavy-tailed* when that distance passes
``HEAVY_TAIL`` (10) on some seed: standardized pixels that were almost
constant on the training rows (``mnist_test`` standard) can reach thousands
(the ``tail`` column shows them), and a few such rows can decide a mean.

Design rows and report rows (issue 28, ``docs/benchmarks/README.md``): the
slice runs seeds ``benchmarks.slices.seeds_for(config)``: by default the
report rows, seeds 100, 101, ..., only ever run to produce the report;
``--design`` runs the design rows, seeds 0, 1, ..., the only ones looked at
while choosing the VAE's likelihood (its Cauchy tail), its defaults and this
slice's cells. The report says which rows it shows; targets are counted from
the rows ("N of M" cells, and runs for the every-seed target). The full run,
5 report seeds (50 cells, 250 runs), takes about 25 minutes with
``--jobs 2`` on 2 cores (an estimate: about 31 minutes of CPU before the
tail, plus the longer standardized MNIST fits it allows, 2 to 4 times the
epochs on the design rows).

Run ``python -m benchmarks.density`` (``--quick``: the bundled datasets, one
seed; ``--design``: the design rows; ``--help`` for options). Set
``OMP_NUM_THREADS=1`` on a shared machine.
"""

import dataclasses
import functools
import math
import sys
import time
import warnings

import numpy as np
import pandas as pd
import torch
from skorch.callbacks import Callback
from sklearn.decomposition import PCA

from . import datasets as ds
from . import display
from .metrics import downstream_model
from .reduction import split_and_scale
from .slices import REPORT_FIRST_SEED, main_for, seeds_for
from .stats import paired

NAME = "density"
DEFAULT_SEEDS = 5
BUNDLED = ("digits", "wine", "breast_cancer")
SCALINGS = ("minmax", "standard")
KS = (2, 10)
IMPORTANCE_SAMPLES = 100
# A quantity has settled when it moved less than this (relative; log-ratio for the
# noise variance) over the SETTLED_WINDOW epochs before the kept epoch.
SETTLED = 0.1
# The settling target of a cell whose runs cross-validated (no validation rows to track).
NOT_TRACKED = "n/a (cross-validated)"
SETTLED_WINDOW = 10
# ELBO and PCA.score closer than this (nats per row) are equal: float32 rounding.
ROUNDING = 1e-3
# A held-out entry this many root-mean-square training standard deviations from its
# feature's training mean makes the cell heavy-tailed.
HEAVY_TAIL = 10.0


@functools.lru_cache(maxsize=None)
def _datasets(data_dir):
    """``{name: Dataset}``: the bundled ones, then the shared ones of ``data_dir``."""
    found = {d.name: d for d in ds.builtin_datasets() if d.name in BUNDLED}
    if data_dir is not None:
        found.update({d.name: d for d in ds.shared_datasets(data_dir)})
    return found


def plan(config):
    """One run per dataset, scaling, k below n_features and seed (``seeds_for(config)``)."""
    data_dir = None if config["quick"] else config["data_dir"]
    seeds = seeds_for({**config, "seeds": 1 if config["quick"] else config["seeds"]})
    runs = []
    for name, dataset in _datasets(data_dir).items():
        for scaling in SCALINGS:
            for k in KS:
                if k >= dataset.shape[1]:
                    continue
                for seed in seeds:
                    run = {"dataset": name, "data_dir": data_dir, "scaling": scaling}
                    runs.append({**run, "k": k, "seed": seed})
    return runs


class TrackKLAndNoise(Callback):
    """Per epoch (0: before training), on the validation rows: the mean KL and their noise variance.

    The latter is the mean expected squared residual of the validation rows
    (the maximum-likelihood noise variance for them), the held-out
    counterpart of the model's own ``noise_variance``, which follows the
    training rows' residual; both are recorded.
    """

    def on_train_begin(self, net, X_valid=None, **kwargs):
        self.X_valid_ = X_valid
        self.kl_, self.valid_noise_variance_, self.noise_variance_ = [], [], []
        self._record(net)

    def on_epoch_end(self, net, **kwargs):
        self._record(net)

    @torch.no_grad()
    def _record(self, net):
        from skae.variational import posterior_expectation

        if self.X_valid_ is None:
            return
        module, X = net.module_, self.X_valid_
        was_training = module.training
        module.eval()
        mean, log_var = module.posterior(X)
        kl = 0.5 * (mean.pow(2) + log_var.exp() - 1.0 - log_var).sum(1).mean()
        residual = posterior_expectation(
            lambda z: (module.decode(z) - X).pow(2).mean(1), mean, log_var
        )
        module.train(was_training)
        self.kl_.append(float(kl))
        self.valid_noise_variance_.append(float(residual.mean()))
        self.noise_variance_.append(float(module.noise_variance.mean()))


def tail_distance(X_train, X_test):
    """The largest distance of a test entry from its feature's training mean, in RMS training sds.

    Examples
    --------
    >>> import numpy as np
    >>> X_train = np.array([[0.0, 0.0], [2.0, 0.0]])  # sds 1 and 0: RMS sd sqrt(1/2)
    >>> round(tail_distance(X_train, np.array([[1.0, 3.0]])), 3)  # 3 / sqrt(1/2)
    4.243
    """
    scale = math.sqrt(float(np.mean(np.var(X_train, axis=0))))
    distance = np.abs(X_test - X_train.mean(axis=0)).max() if X_test.size else 0.0
    return float(distance / scale) if scale > 0 else math.inf


def _settling(values, kept, window, log=False):
    """How much ``values`` moved over the ``window`` epochs before index ``kept`` (relative).

    NaN when nothing was recorded (no validation rows: a cross-validated fit).
    """
    if not values:
        return math.nan
    if kept == 0:
        return 0.0  # the PCA start: the linear optimum, nothing moving
    now, before = values[kept], values[max(kept - window, 0)]
    if log:
        return abs(math.log(now / before))
    return abs(now - before) / max(abs(now), 1e-12)


def _curve(values):
    """A per-epoch curve as one string (a result is a scalar), 5 significant digits."""
    return " ".join(f"{v:.5g}" for v in values)


def run_one(run):
    from skae import VariationalAE

    dataset = _datasets(run["data_dir"])[run["dataset"]]
    dataset = dataclasses.replace(dataset, scaling=run["scaling"])
    X_train, X_test, y_train, y_test = split_and_scale(dataset, run["seed"])
    k, seed = run["k"], run["seed"]
    start = time.perf_counter()
    pca = PCA(n_components=k).fit(X_train)
    pca_seconds = time.perf_counter() - start
    track = TrackKLAndNoise()
    vae = VariationalAE(n_components=k, random_state=seed, callbacks=[("track", track)])
    start, start_cpu = time.perf_counter(), time.process_time()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        vae.fit(X_train)
    fit_seconds, fit_cpu = time.perf_counter() - start, time.process_time() - start_cpu
    elbo_rows, pca_rows = vae.score_samples(X_test), pca.score_samples(X_test)
    track = dict(vae.net_.callbacks_)["track"]  # the copy the fit used
    stopping = dict(vae.net_.callbacks_)["early_stopping"]
    split = bool(track.kl_)  # validation rows were tracked; else cross-validated
    # The epoch kept: early stopping's, or the count chosen on the folds.
    kept = int(stopping.best_epoch_) if split else len(vae.validation_scores_) - 1
    window = SETTLED_WINDOW
    last = len(track.kl_) - 1  # the last epoch recorded before training stopped

    def accuracy(codes_train, codes_test):
        model = downstream_model(dataset.task).fit(codes_train, y_train)
        return float(model.score(codes_test, y_test))

    return {
        "n_train": len(X_train),
        "n_features": X_train.shape[1],
        "elbo": float(np.mean(elbo_rows)),
        "iwae": vae.score(X_test, n_importance_samples=IMPORTANCE_SAMPLES),
        "pca_score": float(pca.score(X_test)),
        "elbo_median": float(np.median(elbo_rows)),
        "pca_median": float(np.median(pca_rows)),
        "elbo_worst": float(np.min(elbo_rows)),
        "pca_worst": float(np.min(pca_rows)),
        "tail": tail_distance(X_train, X_test),
        "accuracy": accuracy(vae.transform(X_train), vae.transform(X_test)),
        "pca_accuracy": accuracy(pca.transform(X_train), pca.transform(X_test)),
        "epochs": len(vae.loss_curve_),
        "kept_epoch": kept,
        "validation": "split" if split else "cross-validation",
        "stopped_early": len(vae.loss_curve_) < vae.max_iter,
        "patience": int(stopping.patience) if split else math.nan,
        "noise_variance": float(np.mean(vae.noise_variance_)),
        "pca_noise_variance": float(pca.noise_variance_),
        # How much they still moved before the kept epoch, and before the stop.
        "noise_change": _settling(track.valid_noise_variance_, kept, window, log=True),
        "kl_change": _settling(track.kl_, kept, window),
        "train_noise_change": _settling(track.noise_variance_, kept, window, log=True),
        "stop_noise_change": _settling(track.valid_noise_variance_, last, window, log=True),
        "stop_kl_change": _settling(track.kl_, last, window),
        "kl": track.kl_[kept] if track.kl_ else math.nan,
        "fit_seconds": fit_seconds,
        "fit_cpu_seconds": fit_cpu,
        # Per epoch (0 = the start): validation ELBO, validation KL, noise variances.
        "valid_curve": _curve(vae.validation_scores_),
        "kl_curve": _curve(track.kl_),
        "valid_noise_curve": _curve(track.valid_noise_variance_),
        "noise_curve": _curve(track.noise_variance_),
        "pca_fit_seconds": pca_seconds,
    }


def _elbo_verdict(elbo, pca_score):
    """Whether the ELBO is at least PCA's: better, a tie (95% paired interval), or equal."""
    result = paired(elbo, pca_score, lower_is_better=False)
    if result["mean"] >= -ROUNDING:
        return "met" if result["verdict"] != "better" else "met (better)"
    return "not met (tie)" if result["verdict"] == "tie" else "not met"  # a lower mean


def _met(holds, n_runs_failing=None):
    if holds:
        return "met"
    return "not met" if n_runs_failing is None else f"not met ({n_runs_failing} runs)"


def cells(rows):
    """One row per dataset, scaling and k: means over seeds and the three targets."""
    mean_std = functools.partial(display.mean_std, one_value_std=None)  # one seed: the mean
    rows = rows.assign(
        elbo_gain=rows["elbo"] - rows["pca_score"],
        accuracy_gain=rows["accuracy"] - rows["pca_accuracy"],
        tracked=rows["stop_noise_change"].notna(),  # a validation split: tracked epoch by epoch
        settled=(rows["stop_noise_change"] < SETTLED) & (rows["stop_kl_change"] < SETTLED),
        moving_at_kept=(rows["noise_change"] >= SETTLED) | (rows["kl_change"] >= SETTLED),
    )
    out = []
    for (dataset, scaling, k), group in rows.groupby(["dataset", "scaling", "k"], sort=False):
        out.append(
            {
                "dataset": dataset,
                "scaling": scaling,
                "k": k,
                "seeds": len(group),
                "ELBO": mean_std(group["elbo"], ".2f"),
                "IWAE-100": mean_std(group["iwae"], ".2f"),
                "PCA.score": mean_std(group["pca_score"], ".2f"),
                "ELBO - PCA": mean_std(group["elbo_gain"], "+.2f"),
                "acc": mean_std(group["accuracy"], ".3f"),
                "PCA acc": mean_std(group["pca_accuracy"], ".3f"),
                "acc - PCA": mean_std(group["accuracy_gain"], "+.3f"),
                "epochs": "/".join(str(int(v)) for v in group["epochs"]),
                "kept": "/".join(str(int(v)) for v in group["kept_epoch"]),
                "fit s": mean_std(group["fit_seconds"], ".1f"),
                "ELBO >= PCA": _elbo_verdict(group["elbo"], group["pca_score"]),
                "acc >= PCA - 0.02": _met(group["accuracy_gain"].mean() >= -0.02),
                "settled at stop": (
                    _met(group.loc[group["tracked"], "settled"].all(),
                         int((group["tracked"] & ~group["settled"]).sum()))
                    if group["tracked"].any() else NOT_TRACKED),
                "moving at kept": int(group["moving_at_kept"].sum()),
                **_row_columns(group),
            }
        )
    return pd.DataFrame(out)


def _row_columns(group):
    """A cell's median and worst rows, its tail and how many seeds reach PCA (recent rows only)."""
    if "elbo_median" not in group:  # rows recorded before these were
        return {}
    at_least = group["elbo"] - group["pca_score"] >= -ROUNDING
    return {
        "median row (PCA)": f"{group['elbo_median'].mean():.1f} ({group['pca_median'].mean():.1f})",
        "worst row (PCA)": f"{group['elbo_worst'].min():.4g} ({group['pca_worst'].min():.4g})",
        "tail": f"{group['tail'].max():.0f}",
        "heavy-tailed": bool(group["tail"].max() > HEAVY_TAIL),
        "seeds ELBO >= PCA": f"{int(at_least.sum())} of {len(group)}",
    }


def rows_statement(seeds):
    """Which rows a table shows: the report rows (seeds 100+), the design rows, or both."""
    seeds = sorted({int(s) for s in seeds})
    listed = f"seed{'s' if len(seeds) > 1 else ''} {', '.join(map(str, seeds))}"
    if seeds and seeds[0] >= REPORT_FIRST_SEED:
        return (f"Rows: the report rows ({listed}), only ever run to produce this report; no "
                "design decision (the VAE's likelihood, its defaults, this slice's cells) saw them.")
    if seeds and seeds[-1] < REPORT_FIRST_SEED:
        return (f"Rows: the design rows ({listed}), the rows looked at while choosing; "
                "shown as design results, not as the report.")
    return f"Rows: design and report rows mixed ({listed}); not a report."


def plot_gains_over_pca(table, path):
    """Bars per cell: the ELBO's gain over ``PCA.score`` and the codes' accuracy gain."""
    plt = display.pyplot()
    rows = table.assign(
        gain=table["elbo"] - table["pca_score"], acc_gain=table["accuracy"] - table["pca_accuracy"]
    )
    cell = ["dataset", "scaling", "k"]
    means = rows.groupby(cell, sort=False)[["gain", "acc_gain"]].mean().reset_index()
    labels = [f"{d} {s[:3]} k={k}" for d, s, k in means[cell].itertuples(index=False)]
    fig, axes = plt.subplots(1, 2, figsize=(12, max(4, 0.22 * len(labels))), sharey=True)
    y = np.arange(len(labels))
    gain = means["gain"].to_numpy()
    colors = np.where(gain >= 0, "tab:blue", "tab:red")
    axes[0].barh(y, np.sign(gain) * np.log1p(np.abs(gain)), color=colors)
    axes[0].set_xlabel("ELBO - PCA.score (nats/row), sign(d) log(1 + |d|)")
    colors = np.where(means["acc_gain"] >= -0.02, "tab:blue", "tab:red")
    axes[1].barh(y, means["acc_gain"], color=colors)
    axes[1].axvline(-0.02, color="gray", linestyle="--")
    axes[1].set_xlabel("accuracy on codes - PCA's")
    axes[0].set_yticks(y, labels, fontsize=7)
    axes[0].invert_yaxis()
    fig.suptitle("VariationalAE (defaults) vs probabilistic PCA, held-out rows, mean over seeds")
    display.save_figure(fig, path)


def report(rows, out_dir):
    table = cells(rows)
    plot_gains_over_pca(rows, f"{out_dir}/density.png")
    targets = ("ELBO >= PCA", "acc >= PCA - 0.02", "settled at stop")
    met = {target: table[target].str.startswith("met") for target in targets}
    lines = [
        "## Density: VariationalAE against probabilistic PCA",
        "",
        (__doc__ or "").split("\n\n", 1)[1].split("\n\nRun ")[0].strip(),
        "",
        "Targets (issue 17), per dataset, scaling and k: mean held-out ELBO >= PCA.score, "
        f"to {ROUNDING:g} nats (float32 rounding): `met (better)` when the 95% paired "
        "t-interval over seeds is above 0, `met` when the mean is at least PCA's but the "
        "interval contains 0, `not met (tie)` when the mean is below and the interval contains "
        "0; "
        "mean accuracy on the codes >= PCA's - 0.02; and no early stop before the KL and the "
        "variance settled (runs with a validation split; below about 1,000 training rows the "
        "training length is cross-validated and the final fit has no validation rows to "
        f"track: `{NOT_TRACKED}`, `kept` the epochs chosen on the folds): in every run, over the last "
        f"{SETTLED_WINDOW} epochs before training stopped, the mean KL of the validation rows and "
        "the noise variance they call for (their mean expected squared residual) moved less than "
        f"{SETTLED:.0%}. `moving at kept` counts the runs whose kept epoch came while they still "
        "moved that much (early stopping waits max(10 epochs, 300 optimizer steps) for a better "
        "validation ELBO; a run that reaches `max_iter` stops there). "
        "`epochs` and `kept` list the seeds' runs (kept 0: the PCA start).",
        "",
        "Heavy tails (issue 28): per cell, `median row (PCA)` is the mean over seeds of the median held-out row's ELBO "
        "(PCA's log-likelihood), `worst row (PCA)` the lowest held-out row over the seeds, `tail` "
        "the largest distance of a held-out entry from its training mean in RMS training "
        f"standard deviations (heavy-tailed: above {HEAVY_TAIL:.0f}), and `seeds ELBO >= PCA` "
        "how many seeds' mean ELBO reaches PCA.score (issue 28's target: every seed of every "
        "cell).",
        "",
        rows_statement(rows["seed"]),
        "",
        table.to_markdown(index=False),
        "",
        "![ELBO and accuracy against PCA](density.png)",
        "",
    ]
    for target in targets:
        applies = table[target] != NOT_TRACKED
        failing = ", ".join(
            f"{r['dataset']} {r['scaling']} k={r['k']}"
            for _, r in table[applies & ~met[target]].iterrows()
        )
        lines.append(
            f"- {target}: met in {int(met[target].sum())} of {int(applies.sum())} cells"
            + (f" ({int((~applies).sum())} cross-validated: no validation rows to track)"
               if (~applies).any() else "")
            + (f"; not met: {failing}." if failing else ".")
        )
    if "elbo_median" in rows:
        at_least = rows["elbo"] - rows["pca_score"] >= -ROUNDING
        lines.append(f"- ELBO >= PCA.score on every seed: {int(at_least.sum())} of {len(rows)} runs"
                     + ("." if at_least.all() else "; not: " + ", ".join(
                         f"{r.dataset} {r.scaling} k={r.k} seed {r.seed}"
                         for r in rows[~at_least].itertuples()) + "."))
        heavy = table[table["heavy-tailed"]]
        lines.append(
            f"- Heavy-tailed cells: {len(heavy)} of {len(table)}"
            + ("; " + "; ".join(
                f"{r['dataset']} {r['scaling']} k={r['k']}: mean ELBO {r['ELBO']} vs PCA "
                f"{r['PCA.score']}, median row {r['median row (PCA)']}, worst row "
                f"{r['worst row (PCA)']}" for _, r in heavy.iterrows()) if len(heavy) else "")
            + ".")
    total = rows["fit_seconds"].sum()
    lines.append(f"- VAE fit time, all runs: {total / 60:.1f} min (wall, on a shared machine).")
    return "\n".join(lines)


def _rows_of_dataset(n_train):
    """The dataset's row count before the 80/20 split that left ``n_train`` training rows."""
    return next(n for n in range(n_train, 2 * n_train + 2) if n - math.ceil(0.2 * n) == n_train)


def doc_figure(rows):
    """The user guide's table (``docs/user_guide/variational.rst`` includes it)."""
    rows = rows.assign(gain=rows["elbo"] - rows["pca_score"],
                       accuracy_gain=rows["accuracy"] - rows["pca_accuracy"])
    seeds = rows.groupby(["dataset", "scaling", "k"])["seed"].nunique()
    lines = [
        f"Mean over {seeds.min()} seeds of the held-out ELBO minus ``PCA(k).score`` (nats per "
        "row; the log-density of the scaled data) and of the accuracy of a logistic regression on "
        "the codes minus that on PCA's codes (``python -m benchmarks.density``; the benchmark "
        "report has every cell with its spread, the importance-weighted bound and the epochs; "
        "-: no such k). " + rows_statement(rows["seed"]),
        "",
        ".. list-table::",
        "   :header-rows: 1",
        "   :widths: 28 12 30 30",
        "",
        "   * - dataset (rows x features)",
        "     - scaling",
        "     - ELBO - PCA.score, k = " + "; ".join(str(k) for k in sorted(rows["k"].unique())),
        "     - accuracy - PCA's, k = " + "; ".join(str(k) for k in sorted(rows["k"].unique())),
    ]
    ks = sorted(rows["k"].unique())
    for (name, scaling), group in rows.groupby(["dataset", "scaling"], sort=False):
        means = group.groupby("k")[["gain", "accuracy_gain"]].mean().reindex(ks)
        n_rows = _rows_of_dataset(int(group["n_train"].iloc[0]))
        lines += [
            f"   * - {name} ({n_rows:,} x {int(group['n_features'].iloc[0])})",
            f"     - {scaling}",
            "     - " + "; ".join("-" if np.isnan(v) else format(v, "+.2f") for v in means["gain"]),
            "     - " + "; ".join("-" if np.isnan(v) else format(v, "+.3f")
                                  for v in means["accuracy_gain"]),
        ]
    table = cells(rows)
    elbo, accuracy = table["ELBO >= PCA"], table["acc >= PCA - 0.02"]
    settled = table["settled at stop"]

    accuracy_gain = rows.groupby(["dataset", "scaling", "k"], sort=False)["accuracy_gain"].mean()

    def listed(mask, column=None):
        return ", ".join(f"{r.dataset} {r.scaling} k = {r.k}"
                         + (f" ({accuracy_gain[(r.dataset, r.scaling, r.k)]:+.3f})" if column else "")
                         for r in table[mask].itertuples())

    n = len(table)
    lines += [
        "",
        f"The mean ELBO is at least PCA's in {int(elbo.str.startswith('met').sum())} of {n} cells "
        f"(better in {int((elbo == 'met (better)').sum())}, by the 95% paired interval over "
        f"seeds; a tie, or equal to {ROUNDING:g} nats, in the others)"
        + (f"; below it in {listed(~elbo.str.startswith('met'))} (a tie by that interval in "
           f"{int((elbo == 'not met (tie)').sum())} of them)."
           if not elbo.str.startswith("met").all() else ".")
        + f" The accuracy on the codes is within 0.02 of PCA's in "
        f"{int((accuracy == 'met').sum())} of {n} cells"
        + (f"; not in {listed(accuracy != 'met', 'acc')}." if (accuracy != "met").any() else ".")
        + f" Training stopped after the KL and the noise variance settled in "
        f"{int((settled == 'met').sum())} of {int((settled != NOT_TRACKED).sum())} cells with a "
        "validation split"
        + (f"; not in {listed((settled != 'met') & (settled != NOT_TRACKED))}."
           if ((settled != "met") & (settled != NOT_TRACKED)).any() else "."),
    ]
    return "\n".join(lines) + "\n"


def main(argv=None):
    return main_for(sys.modules[__name__], argv)


if __name__ == "__main__":
    sys.exit(main())
