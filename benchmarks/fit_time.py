"""Fit times to expect: skae's autoencoder transformers at their defaults, one torch thread.

Two tables, the quick start's: ``AutoencoderTransformer(n_components=10)`` on
data from 1,000 to 100,000 rows, and each autoencoder transformer on one
synthetic 10,000 x 50 table (the detector, imputer and supervised heads are
timed in their own slices). One thread: ``n_jobs=None`` follows
``OMP_NUM_THREADS``, which the report's command sets to 1. Each run fits once and records the epochs run, the median
seconds per epoch (``history_[:, "dur"]``) and the fit's wall and CPU seconds.

The synthetic tables are standardized noisy nonlinear functions of 5 latent
variables; digits and MNIST are pixels scaled to [0, 1]. The 100,000-row fit
stops at ``max_iter=20``: a fit at the defaults runs longer (its seconds per
epoch times the epochs it runs).

    python -m benchmarks.fit_time            # both tables (minutes on 2 cores)
    python -m benchmarks.fit_time --quick    # the small tables only

Runs one at a time, whatever ``--jobs`` says: timings of parallel runs would
disturb each other.
"""

import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.datasets import load_digits
from sklearn.preprocessing import StandardScaler

import skae

NAME = "fit_time"
DEFAULT_SEEDS = 1
SEQUENTIAL = True
N_COMPONENTS = 10

# name -> (rows, features); "digits" and "mnist_test" are loaded, the others generated
SIZES = {"synthetic 1,000 x 20": (1_000, 20), "digits": (1_797, 64),
         "synthetic 10,000 x 50": (10_000, 50), "mnist_test": (10_000, 784),
         "synthetic 100,000 x 100": (100_000, 100)}
QUICK_SIZES = ("synthetic 1,000 x 20", "digits")
ESTIMATORS = {
    "AutoencoderTransformer": {},
    "DenoisingAE": {},
    "SparseAE (kl)": {},
    "SparseAE (l1)": {"sparsity": "l1"},
    "ContractiveAE": {},
    "VariationalAE": {},
    "TabularAE": {},
}
ESTIMATOR_TABLE = "synthetic 10,000 x 50"
LONG_FIT_EPOCHS = {"synthetic 100,000 x 100": 20}


def synthetic(n_rows, n_features, seed=0):
    """Standardized noisy tanh of 5 Gaussian latent variables (float32)."""
    rng = np.random.RandomState(seed)
    Z = rng.normal(size=(n_rows, 5))
    X = np.tanh(Z @ rng.normal(size=(5, n_features)) / 2) + 0.1 * rng.normal(size=(n_rows, n_features))
    return StandardScaler().fit_transform(X).astype(np.float32)


def load(name, data_dir):
    if name == "digits":
        return (load_digits().data / 16.0).astype(np.float32)
    if name == "mnist_test":
        frame = pd.read_csv(Path(data_dir) / "mnist_test.tsv.gz", sep="\t")
        return frame.drop(columns="target").to_numpy(np.float32) / 255.0
    return synthetic(*SIZES[name])


def plan(config):
    sizes = QUICK_SIZES if config["quick"] else tuple(SIZES)
    has_mnist = config.get("data_dir") and (Path(config["data_dir"]) / "mnist_test.tsv.gz").exists()
    runs = [{"table": "sizes", "data": name, "estimator": "AutoencoderTransformer",
             "data_dir": config.get("data_dir") if name == "mnist_test" else None}
            for name in sizes if name != "mnist_test" or has_mnist]
    if not config["quick"]:
        runs += [{"table": "estimators", "data": ESTIMATOR_TABLE, "estimator": name, "data_dir": None}
                 for name in ESTIMATORS]
    return runs


def _class_of(label):
    return getattr(skae, label.split(" ")[0])


def run_one(run):
    X = load(run["data"], run["data_dir"])
    params = {"n_components": N_COMPONENTS, "random_state": 0, **ESTIMATORS[run["estimator"]]}
    if run["data"] in LONG_FIT_EPOCHS:
        params["max_iter"] = LONG_FIT_EPOCHS[run["data"]]
    estimator = _class_of(run["estimator"])(**params)
    wall, cpu = time.perf_counter(), time.process_time()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        estimator.fit(X)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    return {"rows": X.shape[0], "features": X.shape[1], "epochs": len(estimator.loss_curve_),
            "max_iter": params.get("max_iter"),
            "s_per_epoch": float(np.median(estimator.history_[:, "dur"])),
            "fit_seconds": wall, "fit_cpu_seconds": cpu}


def _table(rows):
    return pd.DataFrame({
        "data": rows["data"], "estimator": rows["estimator"], "rows x features":
        [f"{r:,} x {f}" for r, f in zip(rows["rows"], rows["features"])],
        "epochs": [f"{e} (max_iter={m:.0f})" if pd.notna(m) else str(e)
                   for e, m in zip(rows["epochs"], rows["max_iter"])],
        "s/epoch": rows["s_per_epoch"].map("{:.3g}".format),
        "fit s": rows["fit_seconds"].map("{:.3g}".format),
        "fit CPU s": rows["fit_cpu_seconds"].map("{:.3g}".format),
    })


def report(rows, out_dir):
    lines = ["## Fit times at the defaults", "", (__doc__ or "").split("\n\n")[1].replace("\n", " "),
             "", "Rows: one fit per cell (random_state=0): timings, which no default was chosen "
             "on; not split into design and report rows (docs/benchmarks/README.md).",
             "", _table(rows).to_markdown(index=False), ""]
    return "\n".join(lines)


def doc_figure(rows):
    """The quick start's two tables."""
    lines = []
    for table, title, first in [("sizes", "``AutoencoderTransformer`` at its defaults", "data (rows x features)"),
                                ("estimators", f"Every autoencoder at its defaults, {ESTIMATOR_TABLE}", "estimator")]:
        part = _table(rows[rows["table"] == table])
        if part.empty:
            continue
        lines += [f".. list-table:: {title}", "   :header-rows: 1", "",
                  f"   * - {first}", "     - epochs run", "     - seconds per epoch",
                  "     - fit, seconds"]
        for row in part.itertuples(index=False):
            if table == "estimators":
                name, _, variant = row.estimator.partition(" ")
                label = f"``{name}``" + (f" {variant}" if variant else "")
            else:
                label = row.data if row.data.startswith("synthetic") else f"{row.data}, {row[2]}"
            lines += [f"   * - {label}", f"     - {row.epochs}", f"     - {row[4]}",
                      f"     - {row[5]}"]
        lines.append("")
    return "\n".join(lines)


def main(argv=None):
    from .slices import main_for

    return main_for(sys.modules[__name__], argv)


if __name__ == "__main__":
    sys.exit(main())
