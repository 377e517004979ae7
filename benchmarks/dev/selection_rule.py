"""Development diagnostic: how cross-validation should pick the training length on small tables.

Not a slice of the report: it produced the figures the autoencoder guide quotes
under *Why the shortest length within two standard errors* (first run at commit
d1b316a, before the rule changed; the curves it records do not depend on the
rule). For every AutoencoderTransformer fit of ``benchmarks/small.py`` it
records, once:

* the validation curve of each fold of 5-fold and of 3-fold cross-validation,
  run with twice the patience of a validation split, so that any shorter
  patience can be simulated by cutting the curves;
* the held-out error (relative to PCA's) of the refit on all training rows
  after each epoch.

Any rule (lowest mean or the shortest within ``z`` standard errors; refit in
epochs or in optimizer steps; fold patience; folds) is then scored without
training again: the held-out ratio at the length it picks. The rules were
chosen on seeds 0-2 and checked on seeds 3-4.

    python -m benchmarks.dev.selection_rule --data-dir ../shared/datasets --out curves.jsonl
    python -m benchmarks.dev.selection_rule --out curves.jsonl --score-only

The first command takes about 40 minutes of one core and resumes where it stopped.
"""

import argparse
import dataclasses
import json
import math
import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from sklearn.decomposition import PCA
from sklearn.utils import check_random_state

from skae import AutoencoderTransformer
from skae._budget import (
    MIN_PATIENCE_EPOCHS,
    PATIENCE_STEPS,
    _batch_size,
    best_epoch,
    n_batches,
    refit_epochs,
)
from skae._threads import torch_threads

from .. import small

TOL = 1e-4  # AutoencoderTransformer's default tol: an improvement smaller than this is none


def record(run):
    """The fold curves and the refit's held-out curve of one fit of the small slice."""
    X_train, X_test = small.split(run["dataset"], run["n_train"], run["seed"], run.get("data_dir"))
    k = run["k"]
    pca = PCA(n_components=k, random_state=0).fit(X_train)
    pca_mse = float(np.mean((pca.inverse_transform(pca.transform(X_test)) - X_test) ** 2))
    estimator = AutoencoderTransformer(k, random_state=run["seed"])
    with warnings.catch_warnings(), torch_threads(1):
        warnings.simplefilter("ignore")
        X = estimator._validate_input(X_train, reset=True, min_samples=2).astype(np.float32)
        budget = estimator._training_budget(len(X), reset=True, early_stopping=True)
        if budget.validation != "cv":
            return None
        seed = check_random_state(estimator.random_state).randint(np.iinfo(np.int32).max)
        generator = torch.Generator().manual_seed(int(seed))
        torch_seed = int(torch.randint(2**31 - 1, (1,), generator=generator))
        steps = n_batches(budget.n_fold_rows, budget.batch_size)
        patience = max(MIN_PATIENCE_EPOCHS, math.ceil(PATIENCE_STEPS / steps))
        long = dataclasses.replace(budget, patience=2 * patience)
        estimator._cv_rule = "shortest_not_worse"  # the folds' own curves, no shrinkage
        paths5, weights5, _ = estimator._fold_curves(X, dataclasses.replace(long, n_folds=5), seed)
        paths3, weights3, _ = estimator._fold_curves(X, dataclasses.replace(long, n_folds=3), seed)
        curves5 = [[row[-1] for row in path] for path in paths5]
        curves3 = [[row[-1] for row in path] for path in paths3]
        length = max(len(curve) for curve in curves5 + curves3) - 1
        refit = dataclasses.replace(budget, patience=math.inf)
        estimator.net_ = estimator._start_engine(X, seed, generator, refit, "valid_loss")
        estimator._train(X, X_test.astype(np.float32), length, torch_seed, pretraining=True)
        test = list(dict(estimator.net_.callbacks_)["early_stopping"].valid_losses_)
    return {**run, "n_rows": len(X), "patience": patience, "c5": curves5, "w5": weights5,
            "c3": curves3, "w3": weights3, "test": [loss / pca_mse for loss in test]}


def _cut(curve, patience):
    """The curve early stopping with ``patience`` (and ``TOL``) would have recorded."""
    threshold, misses = curve[0] - TOL, 0
    for i in range(1, len(curve)):
        if curve[i] < threshold:
            misses, threshold = 0, curve[i] - TOL
        else:
            misses += 1
        if misses >= patience:
            return curve[: i + 1]
    return curve


def pick(rec, *, folds=5, patience_share=1.0, standard_errors=0.0, refit_in_steps=False):
    """The held-out ratio and the refit's epochs of one rule on one recorded fit."""
    curves = [_cut(c, max(1, math.ceil(rec["patience"] * patience_share))) for c in rec[f"c{folds}"]]
    epochs = best_epoch(curves, rec[f"w{folds}"], standard_errors)[0]
    if refit_in_steps:
        n = rec["n_rows"]
        epochs = refit_epochs(epochs, n - math.ceil(n / folds), n, _batch_size("auto", n))
    return rec["test"][min(epochs, len(rec["test"]) - 1)], epochs


RULES = {
    "lowest mean, refit in epochs (before)": {},
    "lowest mean, refit in steps": {"refit_in_steps": True},
    "1 standard error, steps": {"refit_in_steps": True, "standard_errors": 1.0},
    "2 standard errors, steps": {"refit_in_steps": True, "standard_errors": 2.0},
    "2 standard errors, steps, half patience (chosen)": {
        "refit_in_steps": True, "standard_errors": 2.0, "patience_share": 0.5},
    "3 standard errors, steps, half patience": {
        "refit_in_steps": True, "standard_errors": 3.0, "patience_share": 0.5},
    "3 folds, 1 standard error, steps, half patience": {
        "folds": 3, "refit_in_steps": True, "standard_errors": 1.0, "patience_share": 0.5},
}


def score(records):
    """Per rule and seed group: worst fit, fits above 1.02, geometric mean, share at PCA."""
    out = []
    for name, rule in RULES.items():
        ratios = pd.DataFrame([{"seed": r["seed"], "ratio": pick(r, **rule)[0]} for r in records])
        for group, part in [("seeds 0-2", ratios[ratios["seed"] <= 2]),
                            ("seeds 3-4", ratios[ratios["seed"] >= 3])]:
            out.append({"rule": name, "seeds": group, "fits": len(part),
                        "worst": part["ratio"].max(), "fits > 1.02": int((part["ratio"] > 1.02).sum()),
                        "geo-mean": float(np.exp(np.log(part["ratio"]).mean())),
                        "at PCA (>= 0.999)": float((part["ratio"] >= 0.999).mean())})
    return pd.DataFrame(out)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--out", type=Path, required=True, help="JSON lines of recorded fits")
    parser.add_argument("--score-only", action="store_true", help="score the recorded fits only")
    args = parser.parse_args(argv)
    done = {}
    if args.out.exists():
        for line in args.out.read_text().splitlines():
            rec = json.loads(line)
            done[(rec["dataset"], rec["n_train"], rec["k"], rec["seed"])] = rec
    if not args.score_only:
        runs = [r for r in small.plan({"data_dir": args.data_dir, "seeds": 5})
                if r["method"] == "AutoencoderTransformer"]
        for run in runs:
            key = (run["dataset"], run["n_train"], run["k"], run["seed"])
            if key in done:
                continue
            rec = record(run)
            if rec is not None:
                done[key] = rec
                with args.out.open("a") as file:
                    file.write(json.dumps(rec) + "\n")
                print(*key, f"{len(rec['test']) - 1} epochs", file=sys.stderr, flush=True)
    print(score(list(done.values())).to_markdown(index=False, floatfmt=".3f"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
