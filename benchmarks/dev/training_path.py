"""Development diagnostic: where between the PCA start and the trained network a small-table fit should end.

Not a slice of the report. For AutoencoderTransformer fits of
``benchmarks/small.py`` (design rows only, seeds below 100) it records once:

* for each cross-validation fold, the validation loss after each epoch of the
  network ``start + alpha * (weights - start)`` for every ``alpha`` of
  :data:`ALPHAS` (``alpha = 1``: the fold's network, ``alpha = 0``: its PCA
  start), with the folds' patience of ``skae._budget``;
* the same grid for the refit on all training rows, scored on the held-out
  rows (relative to PCA's held-out error).

Any rule choosing a length and a shrinkage ``alpha`` from the fold grids is
then scored without training again (:func:`pick`).

    python -m benchmarks.dev.training_path --data-dir ../shared/datasets --out paths.jsonl \
        --cells k=d-1 --seeds 3
    python -m benchmarks.dev.training_path --out paths.jsonl --score-only
"""

import argparse
import json
import math
import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from skorch.callbacks import Callback
from sklearn.decomposition import PCA
from sklearn.utils import check_random_state

from skae import AutoencoderTransformer
from skae._budget import refit_epochs
from skae._threads import torch_threads

from .. import small

ALPHAS = tuple(i / 8 for i in range(9))


class PathLosses(Callback):
    """After each epoch, the validation loss of the weights ``start + alpha * (current - start)``."""

    def __init__(self, alphas=ALPHAS):
        self.alphas = alphas

    def on_train_begin(self, net, X_valid=None, **kwargs):
        self.start_ = [p.detach().clone() for p in net.module_.parameters()]
        self.losses_ = []
        if X_valid is not None:
            self.losses_.append([net.evaluate(X_valid)] * len(self.alphas))

    def on_epoch_end(self, net, dataset_valid=None, **kwargs):
        if dataset_valid is None:
            return
        params = list(net.module_.parameters())
        current = [p.detach().clone() for p in params]
        row = []
        with torch.no_grad():
            for alpha in self.alphas:
                for p, s, c in zip(params, self.start_, current):
                    p.copy_(s + alpha * (c - s))
                row.append(net.evaluate(dataset_valid))
            for p, c in zip(params, current):
                p.copy_(c)
        self.losses_.append(row)


def record(run):
    X_train, X_test = small.split(run["dataset"], run["n_train"], run["seed"], run.get("data_dir"))
    k = run["k"]
    pca = PCA(n_components=k, random_state=0).fit(X_train)
    pca_mse = float(np.mean((pca.inverse_transform(pca.transform(X_test)) - X_test) ** 2))
    path = PathLosses()
    estimator = AutoencoderTransformer(k, random_state=run["seed"], callbacks=[("path", path)])
    with warnings.catch_warnings(), torch_threads(1):
        warnings.simplefilter("ignore")
        X = estimator._validate_input(X_train, reset=True, min_samples=2).astype(np.float32)
        budget = estimator._training_budget(len(X), reset=True, early_stopping=True)
        if budget.validation != "cv":
            return None
        seed = check_random_state(estimator.random_state).randint(np.iinfo(np.int32).max)
        # the folds, as _fold_curves trains them, with the path callback
        folds, weights = [], []
        from skae._budget import fold_rows
        from skae._base import _take

        for train_rows, valid_rows in fold_rows(len(X), budget.n_folds,
                                                torch.Generator().manual_seed(int(seed))):
            X_tr, X_va = _take(X, train_rows), _take(X, valid_rows)
            generator = torch.Generator().manual_seed(int(seed))
            torch_seed = int(torch.randint(2**31 - 1, (1,), generator=generator))
            estimator.net_ = estimator._start_engine(X_tr, seed, generator, budget, "valid_loss")
            estimator._train(X_tr, X_va, budget.max_epochs, torch_seed, pretraining=True)
            cb = dict(estimator.net_.callbacks_)["path"]
            folds.append(cb.losses_)
            weights.append(len(valid_rows))
        longest = max(len(f) for f in folds) - 1
        length = refit_epochs(longest, budget.n_fold_rows, len(X), budget.batch_size) + 1
        generator = torch.Generator().manual_seed(int(seed))
        torch_seed = int(torch.randint(2**31 - 1, (1,), generator=generator))
        import dataclasses

        refit = dataclasses.replace(budget, patience=math.inf)
        estimator.net_ = estimator._start_engine(X, seed, generator, refit, "valid_loss")
        estimator._train(X, X_test.astype(np.float32), length, torch_seed, pretraining=True)
        test = np.asarray(dict(estimator.net_.callbacks_)["path"].losses_) / pca_mse
    return {**run, "n_rows": len(X), "n_fold_rows": budget.n_fold_rows,
            "batch_size": budget.batch_size, "folds": folds, "weights": weights,
            "test": test.tolist()}


def plan(cells, seeds, data_dir):
    runs = []
    for name in list(small.BUNDLED) + small._shared_names(data_dir):
        d = small._n_features(name, data_dir)
        entry = {"data_dir": None if name in small.BUNDLED else data_dir}
        if "k=d-1" in cells and d - 1 < 60:
            runs += [{"dataset": name, "n_train": 120, "k": d - 1, "seed": s, **entry}
                     for s in range(seeds)]
        if "slice" in cells or "small" in cells:
            sizes = [None] if name in small.BUNDLED else list(small.TRAIN_SIZES)
            if "small" in cells:  # the bundled tables and the smallest learning-curve size
                sizes = sizes[:1]
            runs += [{"dataset": name, "n_train": n, "k": k, "seed": s, **entry}
                     for s in range(seeds) for n in sizes for k in small.code_sizes(d)]
    return runs


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--cells", default="k=d-1")
    parser.add_argument("--seeds", type=int, default=2)
    parser.add_argument("--first-seed", type=int, default=0)
    args = parser.parse_args(argv)
    assert args.first_seed + args.seeds <= 100, "design rows only"
    done = set()
    if args.out.exists():
        for line in args.out.read_text().splitlines():
            rec = json.loads(line)
            done.add((rec["dataset"], rec["n_train"], rec["k"], rec["seed"]))
    runs = [r for r in plan(args.cells.split(","), args.first_seed + args.seeds, args.data_dir)
            if r["seed"] >= args.first_seed]
    for run in runs:
        key = (run["dataset"], run["n_train"], run["k"], run["seed"])
        if key in done:
            continue
        rec = record(run)
        if rec is not None:
            with args.out.open("a") as file:
                file.write(json.dumps(rec) + "\n")
            print(*key, len(rec["test"]) - 1, file=sys.stderr, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
