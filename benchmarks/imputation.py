"""Imputation benchmark: AutoencoderImputer vs scikit-learn's imputers.

On wine_quality_white, magic and satimage (from the shared datasets folder,
``$SKAE_DATA_DIR`` or ``<repo>/../shared/datasets``), a fraction of the cells
(10% and 30%) is removed completely at random; each imputer fills them, and
the table reports the RMSE over the removed cells only, in standardized units
(every feature is standardized on the complete data first, so 1.0 is the
error of guessing the true mean and SimpleImputer(mean) scores about 1).
Lower is better. Run from the repository root::

    OMP_NUM_THREADS=1 python -m benchmarks.imputation [--max-rows N] [--datasets a b]
"""

import argparse
import os
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.exceptions import ConvergenceWarning
from sklearn.experimental import enable_iterative_imputer  # noqa: F401
from sklearn.impute import IterativeImputer, KNNImputer, SimpleImputer
from sklearn.preprocessing import StandardScaler

from skae import AutoencoderImputer

DATASETS = ("wine_quality_white", "magic", "satimage")
RATES = (0.1, 0.3)

IMPUTERS = {
    "mean": lambda seed: SimpleImputer(strategy="mean"),
    "knn": lambda seed: KNNImputer(n_neighbors=5),
    "iterative": lambda seed: IterativeImputer(max_iter=10, random_state=seed),
    "autoencoder": lambda seed: AutoencoderImputer(random_state=seed),
}


def data_dir():
    default = Path(__file__).resolve().parents[1].parent / "shared" / "datasets"
    return Path(os.environ.get("SKAE_DATA_DIR", default))


def load(name, max_rows=None, seed=0):
    """The dataset's features, standardized, as float64 (targets dropped)."""
    frame = pd.read_csv(data_dir() / f"{name}.tsv.gz", sep="\t")
    X = frame.drop(columns="target").to_numpy(np.float64)
    if max_rows is not None and len(X) > max_rows:
        X = X[np.random.default_rng(seed).choice(len(X), max_rows, replace=False)]
    return StandardScaler().fit_transform(X)


def remove_cells(X, rate, seed):
    """A copy of ``X`` with a fraction ``rate`` of cells set to NaN (MCAR)."""
    holes = np.random.default_rng(seed).random(X.shape) < rate
    X_missing = X.copy()
    X_missing[holes] = np.nan
    return X_missing, holes


def run(datasets=DATASETS, rates=RATES, imputers=tuple(IMPUTERS), max_rows=None, seed=0):
    rows = []
    for name in datasets:
        X = load(name, max_rows, seed)
        for rate in rates:
            X_missing, holes = remove_cells(X, rate, seed)
            for method in imputers:
                start = time.perf_counter()
                with warnings.catch_warnings():  # IterativeImputer's max_iter=10 stop
                    warnings.simplefilter("ignore", ConvergenceWarning)
                    filled = IMPUTERS[method](seed).fit_transform(X_missing)
                seconds = time.perf_counter() - start
                rmse = float(np.sqrt(np.mean((filled[holes] - X[holes]) ** 2)))
                rows.append(
                    dict(dataset=name, missing=rate, method=method, rmse=rmse, seconds=seconds)
                )
                print(f"{name:>20} {rate:4.0%} {method:>12}  rmse {rmse:.4f}  {seconds:7.1f}s",
                      flush=True)
    return pd.DataFrame(rows)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", nargs="+", default=list(DATASETS))
    parser.add_argument("--rates", nargs="+", type=float, default=list(RATES))
    parser.add_argument("--imputers", nargs="+", default=list(IMPUTERS), choices=list(IMPUTERS))
    parser.add_argument("--max-rows", type=int, default=None)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    results = run(args.datasets, args.rates, args.imputers, args.max_rows, args.seed)
    table = results.pivot_table(index=["dataset", "missing"], columns="method", values="rmse")
    table = table[[m for m in args.imputers if m in table.columns]]
    print("\nRMSE of the imputed cells, standardized units (lower is better)")
    print(table.round(4).to_string())
    seconds = results.pivot_table(index=["dataset", "missing"], columns="method", values="seconds")
    print("\nSeconds (fit + transform)")
    print(seconds[table.columns].round(1).to_string())


if __name__ == "__main__":
    main()
