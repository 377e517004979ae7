"""Development diagnostic: AutoencoderImputer variants against scikit-learn's imputers, design rows only.

Not a slice of the report. Seeds are design seeds (below
``benchmarks.slices.REPORT_FIRST_SEED``); the protocol is the imputation
slice's (``benchmarks.imputation.holdout_with_holes``: 80/20 rows, 20% of the
cells hidden completely at random, RMSE on the held-out rows' hidden cells in
standardized units). The tables are the slice's ten plus design tables built
from scikit-learn and the shared datasets (:data:`EXTRA_TABLES`), subsampled
to at most ``--rows`` fixed rows.

Each run records the RMSE of every imputer named by ``--methods`` (a key of
:data:`METHODS`) into a JSONL file (resumed by key), and ``--score-only``
prints, per method, the tables where it is within 5% of the best peer.

    python -m benchmarks.dev.imputer_design --seeds 0 1 --out /tmp/imp.jsonl
    python -m benchmarks.dev.imputer_design --out /tmp/imp.jsonl --score-only
"""

import argparse
import json
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning

from skae import AutoencoderImputer

from .. import imputation
from ..slices import REPORT_FIRST_SEED, default_data_dir

EXTRA_TABLES = ("digits", "letter", "optdigits", "mfeat_pixel")
PEERS = ("SimpleImputer", "KNNImputer", "IterativeImputer")
METHODS = {
    **{name: imputation.IMPUTERS[name] for name in PEERS},
    # Before this study (the network alone), and the blend with the neighbours' fill.
    "AutoencoderImputer": lambda seed: AutoencoderImputer(random_state=seed, blend=False),
    "AE+blend": lambda seed: AutoencoderImputer(random_state=seed),
}


def load(name, data_dir, max_rows):
    if name == "digits":
        X = load_digits().data.astype(np.float64)
    elif name in imputation.BUNDLED:
        X = imputation.BUNDLED[name]().data.astype(np.float64)
    else:
        frame = pd.read_csv(Path(data_dir) / f"{name}.tsv.gz", sep="\t")
        X = frame.drop(columns="target").to_numpy(np.float64)
    if len(X) > max_rows:
        X = X[np.sort(np.random.default_rng(0).choice(len(X), max_rows, replace=False))]
    return X


def run_one(name, seed, mask, method, data_dir, max_rows):
    if seed >= REPORT_FIRST_SEED:
        raise ValueError(f"seed {seed} is a report row; design work uses seeds below {REPORT_FIRST_SEED}.")
    X = load(name, data_dir, max_rows)
    X_train, X_test, X_true, holes = imputation.holdout_with_holes(X, seed, mask)
    imputer = METHODS[method](seed)
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        imputer.fit(X_train)
        filled = imputer.transform(X_test)
    extra = {}
    weights = getattr(imputer, "blend_weights_", None)
    if weights is not None:  # the same network without the blend
        imputer.blend_weights_ = dict.fromkeys(weights, 0.0) | {"network": 1.0}
        alone = imputer.transform(X_test)
        imputer.blend_weights_ = weights
        extra["rmse_network"] = float(np.sqrt(np.mean((alone[holes] - X_true[holes]) ** 2)))
        extra.update({f"weight_{name}": value for name, value in weights.items()})
    return {
        **extra,
        "rmse": float(np.sqrt(np.mean((filled[holes] - X_true[holes]) ** 2))),
        "seconds": time.perf_counter() - start,
        "rows": len(X), "features": X.shape[1],
    }


def score(path):
    rows = pd.DataFrame([json.loads(line) for line in Path(path).read_text().splitlines()])
    if "rmse_network" in rows:  # the blend's own network, without the blend
        alone = rows.dropna(subset=["rmse_network"]).assign(
            method=lambda r: r["method"] + " (its network alone)", rmse=lambda r: r["rmse_network"])
        rows = pd.concat([rows, alone])
    keys = ["dataset", "seed", "mask"]
    peers = [p for p in PEERS if p in set(rows["method"])]
    wide = rows.pivot_table(index=keys, columns="method", values="rmse")
    ratios = {}
    for method in wide.columns.difference(peers):
        cells = wide[[method, *peers]].dropna()  # the splits and masks the method ran on
        means = cells.groupby("dataset").mean()
        ratios[method] = means[method] / means[peers].min(axis=1)
        ratios[f"best peer ({method})"] = means[peers].idxmin(axis=1)
    table = pd.DataFrame(ratios)
    print(table.round(3).to_markdown())
    print()
    for method in wide.columns.difference(peers):
        within = table[method].dropna()
        geo = float(np.exp(np.log(within).mean()))
        print(f"{method}: within 5% of the best peer on {int((within <= 1.05).sum())} of "
              f"{len(within)} tables, worst {within.max():.3f}, geo-mean {geo:.3f}")


def main(argv=None):
    parser = argparse.ArgumentParser()
    parser.add_argument("--tables", nargs="*",
                        default=list(imputation.ISSUE_TABLES + imputation.FRESH_TABLES + EXTRA_TABLES))
    parser.add_argument("--seeds", nargs="*", type=int, default=[0, 1])
    parser.add_argument("--masks", type=int, default=1)
    parser.add_argument("--methods", nargs="*", default=list(METHODS))
    parser.add_argument("--rows", type=int, default=1000)
    parser.add_argument("--data-dir", default=default_data_dir())
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--score-only", action="store_true")
    args = parser.parse_args(argv)
    if args.score_only:
        score(args.out)
        return 0
    done = set()
    if args.out.exists():
        done = {json.dumps({k: r[k] for k in ("dataset", "seed", "mask", "method", "max_rows")})
                for r in map(json.loads, args.out.read_text().splitlines())}
    for name in args.tables:
        for seed in args.seeds:
            for mask in range(args.masks):
                for method in args.methods:
                    key = {"dataset": name, "seed": seed, "mask": mask, "method": method,
                           "max_rows": args.rows}
                    if json.dumps(key) in done:
                        continue
                    result = run_one(name, seed, mask, method, args.data_dir, args.rows)
                    with args.out.open("a") as f:
                        f.write(json.dumps({**key, **result}) + "\n")
                    print(key, f"{result['rmse']:.4f} {result['seconds']:.1f}s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
