"""Development diagnostic: is a seed whose held-out ELBO ends below PCA's worse, or a draw of its test rows?

Not a slice of the report. Issue 28's density target asks the held-out mean
ELBO of ``VariationalAE`` to reach ``PCA.score`` on every seed of every cell.
On the small bundled tables a seed's mean is taken over few test rows (36 on
wine, 114 on breast_cancer). For those cells, on design rows only (seeds below
100), this script fits ``VariationalAE(k, random_state=seed)`` and ``PCA(k)``
as ``benchmarks/density.py`` does and gives each seed's mean ELBO minus
``PCA.score`` (nats per row) with a 95% bootstrap interval over its test rows
(paired: each resample takes the same rows for both).

    python -m benchmarks.dev.elbo_seed_noise --seeds 20 --out /tmp/elbo_seed_noise.csv
"""

import dataclasses
import sys
import warnings

import numpy as np
import pandas as pd
from joblib import Parallel, delayed
from sklearn.decomposition import PCA

from skae import VariationalAE

from benchmarks.density import SCALINGS, _datasets
from benchmarks.dev.design_runs import parse_design_args, resampled_rows
from benchmarks.reduction import split_and_scale

CELLS = (("wine", 10), ("breast_cancer", 10), ("wine", 2), ("breast_cancer", 2))


def one_fit(name, scaling, k, seed):
    dataset = dataclasses.replace(_datasets(None)[name], scaling=scaling)
    X_train, X_test, _, _ = split_and_scale(dataset, seed)
    pca = PCA(n_components=k).fit(X_train)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        vae = VariationalAE(n_components=k, random_state=seed).fit(X_train)
    gain = np.asarray(vae.score_samples(X_test), np.float64) - pca.score_samples(X_test)
    low, high = np.quantile(gain[resampled_rows(len(gain), seed)].mean(axis=1), [0.025, 0.975])
    return {"dataset": name, "scaling": scaling, "k": k, "seed": seed, "test_rows": len(gain),
            "gain": gain.mean(), "low": low, "high": high}


def summarize(rows):
    """Per cell: seeds, seeds below PCA, of which below by their interval, the worst seed."""
    below = rows["gain"] < 0
    rows = rows.assign(below=below, worse=below & (rows["high"] < 0))
    return rows.groupby(["dataset", "scaling", "k"]).agg(
        seeds=("gain", "size"), test_rows=("test_rows", "first"), mean_gain=("gain", "mean"),
        below_pca=("below", "sum"), of_which_worse=("worse", "sum"), worst=("gain", "min"),
    )


def main(argv=None):
    args = parse_design_args(__doc__.splitlines()[0], "/tmp/elbo_seed_noise.csv", argv)
    if args.summarize_only:
        rows = pd.read_csv(args.out)
    else:
        rows = pd.DataFrame(Parallel(n_jobs=args.jobs)(
            delayed(one_fit)(name, scaling, k, seed)
            for name, k in CELLS for scaling in SCALINGS for seed in range(args.seeds)
        ))
        rows.to_csv(args.out, index=False)
    print(summarize(rows).to_string(float_format="%.3f"))
    print(rows[rows["gain"] < 0].to_string(float_format="%.3f"))


if __name__ == "__main__":
    sys.exit(main())
