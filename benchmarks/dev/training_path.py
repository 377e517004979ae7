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
    python -m benchmarks.dev.training_path --out paths.jsonl --add-rows rows.jsonl --score-only

The last trains the folds of every recorded fit again (not the refits) to
record each validation row's loss (:func:`record_rows`) and scores the rules
with a per-row standard error too (:func:`surest_gain_rows`).
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
from sklearn.decomposition import PCA
from sklearn.utils import check_random_state
from skorch.callbacks import Callback

from skae import AutoencoderTransformer
from skae._budget import TIE_RTOL, best_epoch, refit_epochs, surest_gain
from skae._shrinkage import PathLosses
from skae._threads import torch_threads

from .. import small

ALPHAS = tuple(i / 8 for i in range(9))
ROW_ALPHAS = (0.25, 0.5, 0.75, 1.0)  # the per-row losses are recorded at these points only


class RowPathLosses(Callback):
    """After each epoch, each validation row's loss at ``start + alpha * (current - start)``.

    Mean squared error per row (the plain loss of ``AutoencoderTransformer``),
    in float64, for each ``alpha`` of :data:`ROW_ALPHAS`; ``losses_[0]`` is
    the start's (every column). The current weights are put back unchanged.
    """

    def __init__(self, estimator, X_valid):
        self.estimator, self.X_valid = estimator, X_valid

    def _row_losses(self, net):
        module = net.module_
        dtype = next(module.parameters()).dtype
        with torch.no_grad():
            X = torch.as_tensor(self.X_valid, dtype=dtype)
            errors = self.estimator._reconstruction_errors(module(X)[0], X)
        return errors.double().mean(1).numpy()

    def on_train_begin(self, net, **kwargs):
        self.start_ = [p.detach().clone() for p in net.module_.parameters()]
        net._set_training(False)
        start = self._row_losses(net)
        self.losses_ = [[start] * len(ROW_ALPHAS)]

    def on_epoch_end(self, net, **kwargs):
        parameters = list(net.module_.parameters())
        current = [p.detach().clone() for p in parameters]
        net._set_training(False)
        row = []
        try:
            for alpha in ROW_ALPHAS:
                with torch.no_grad():
                    for parameter, first, last in zip(parameters, self.start_, current):
                        parameter.copy_(torch.lerp(first, last, float(alpha)))
                row.append(self._row_losses(net))
        finally:
            with torch.no_grad():
                for parameter, value in zip(parameters, current):
                    parameter.copy_(value)
        self.losses_.append(row)


def record_rows(run, recorded):
    """Each fold's per-row validation losses (:class:`RowPathLosses`) for a fit of ``recorded``.

    The folds train again exactly as :func:`record` trained them (same seeds);
    the refit's held-out grid is ``recorded``'s, not trained again. Also
    checks that the folds' mean losses are the recorded ones.
    """
    from skae._base import _take
    from skae._budget import fold_rows

    X_train, _ = small.split(run["dataset"], run["n_train"], run["seed"], run.get("data_dir"))
    estimator = AutoencoderTransformer(run["k"], random_state=run["seed"])
    rows = []
    with warnings.catch_warnings(), torch_threads(1):
        warnings.simplefilter("ignore")
        X = estimator._validate_input(X_train, reset=True, min_samples=2).astype(np.float32)
        budget = estimator._training_budget(len(X), reset=True, early_stopping=True)
        seed = check_random_state(estimator.random_state).randint(np.iinfo(np.int32).max)
        folds = fold_rows(len(X), budget.n_folds, torch.Generator().manual_seed(int(seed)))
        for (train_rows, valid_rows), fold in zip(folds, recorded["folds"]):
            X_tr, X_va = _take(X, train_rows), _take(X, valid_rows)
            generator = torch.Generator().manual_seed(int(seed))
            torch_seed = int(torch.randint(2**31 - 1, (1,), generator=generator))
            estimator.net_ = estimator._start_engine(X_tr, seed, generator, budget, "valid_loss")
            callback = RowPathLosses(estimator, X_va)
            estimator.net_.callbacks_.insert(0, ("row_path", callback))
            estimator._train(X_tr, X_va, budget.max_epochs, torch_seed, pretraining=True)
            # (epochs + 1, len(ROW_ALPHAS), rows), cut to the recorded epochs (record's
            # callback, after early stopping's, missed the epoch training stopped at)
            losses = np.asarray(callback.losses_)[:len(fold)]
            means = losses.mean(2)
            expected = np.asarray(fold)[:, [ALPHAS.index(a) for a in ROW_ALPHAS]]
            if means.shape != expected.shape or not np.allclose(means, expected, rtol=1e-3):
                raise RuntimeError(f"folds of {run} differ from the recorded ones")
            rows.append(losses.astype(np.float32).tolist())
    return {**recorded, "fold_rows": rows}


def surest_gain_rows(fold_rows, standard_errors, alphas=ROW_ALPHAS):
    """``surest_gain`` with a per-row paired standard error instead of a per-fold one.

    ``fold_rows``: per fold, the losses of shape (epochs + 1, len(alphas),
    validation rows); a fold that stopped early keeps its last epoch. Each
    candidate's loss minus the start's is taken row by row over every
    validation row of every fold; the charge is the mean of those differences
    plus ``standard_errors`` times their standard error (std / sqrt(n rows)).
    Returns (epochs, alpha).
    """
    arrays = [np.asarray(f, dtype=np.float64) for f in fold_rows]
    length = max(len(a) for a in arrays)
    padded = np.concatenate(
        [np.concatenate([a, np.repeat(a[-1:], length - len(a), axis=0)]) for a in arrays],
        axis=2)  # (length, n_alphas, n_rows)
    difference = padded - padded[:1, -1:, :]
    n_rows = difference.shape[2]
    charge = difference.mean(2) + standard_errors * difference.std(2, ddof=1) / math.sqrt(n_rows)
    charge[0, :] = 0.0
    tie = TIE_RTOL * float(np.max(np.abs(padded.mean(2))))
    epochs, column = np.argwhere(charge <= charge.min() + tie)[0]
    return int(epochs), (alphas[column] if epochs > 0 else 1.0)


def record(run):
    X_train, X_test = small.split(run["dataset"], run["n_train"], run["seed"], run.get("data_dir"))
    k = run["k"]
    pca = PCA(n_components=k, random_state=0).fit(X_train)
    pca_mse = float(np.mean((pca.inverse_transform(pca.transform(X_test)) - X_test) ** 2))
    path = PathLosses(ALPHAS[1:])
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
            start = dict(estimator.net_.callbacks_)["early_stopping"].valid_losses_[0]
            folds.append([[start] * len(ALPHAS)] + [[start] + row for row in cb.losses_])
            weights.append(len(valid_rows))
        longest = max(len(f) for f in folds) - 1
        length = refit_epochs(longest, budget.n_fold_rows, len(X), budget.batch_size) + 1
        generator = torch.Generator().manual_seed(int(seed))
        torch_seed = int(torch.randint(2**31 - 1, (1,), generator=generator))
        import dataclasses

        refit = dataclasses.replace(budget, patience=math.inf)
        estimator.net_ = estimator._start_engine(X, seed, generator, refit, "valid_loss")
        estimator._train(X, X_test.astype(np.float32), length, torch_seed, pretraining=True)
        cb = dict(estimator.net_.callbacks_)["path"]
        start = dict(estimator.net_.callbacks_)["early_stopping"].valid_losses_[0]
        test = np.asarray([[start] * len(ALPHAS)] + [[start] + row for row in cb.losses_]) / pca_mse
    return {**run, "n_rows": len(X), "n_fold_rows": budget.n_fold_rows,
            "batch_size": budget.batch_size, "folds": folds, "weights": weights,
            "test": test.tolist()}


def plan(cells, seeds, data_dir):
    runs = []
    close = {name: sizes for name, _, sizes in small.close_k_cells(data_dir)}
    for name in list(small.BUNDLED) + small._shared_names(data_dir):
        d = small._n_features(name, data_dir)
        entry = {"data_dir": None if name in small.BUNDLED else data_dir}
        if "k=d-1" in cells and name in close:
            runs += [{"dataset": name, "n_train": small.CLOSE_K_ROWS, "k": d - 1, "seed": s,
                      **entry} for s in range(seeds)]
        if "slice" in cells or "small" in cells:
            sizes = [None] if name in small.BUNDLED else list(small.TRAIN_SIZES)
            if "small" in cells:  # the bundled tables and the smallest learning-curve size
                sizes = sizes[:1]
            runs += [{"dataset": name, "n_train": n, "k": k, "seed": s, **entry}
                     for s in range(seeds) for n in sizes for k in small.code_sizes(d)]
    return runs


def _grids(rec):
    folds = rec["folds"]
    length = max(len(fold) for fold in folds)
    padded = np.array([fold + [fold[-1]] * (length - len(fold)) for fold in folds])  # (F, E, A)
    return padded, rec["weights"], np.asarray(rec["test"])


def pick(rec, rule):
    """The held-out ratio, fold epochs and alpha a rule picks on one recorded fit.

    ``rule``: ``("shortest", z)``, the shortest length within ``z`` standard
    errors of the lowest mean, no shrinkage (``z=2``: the rule before issue 28);
    ``("surest", z, step)``: ``skae._budget.surest_gain`` charging ``z``
    standard errors, on the alphas of :data:`ALPHAS` that are multiples of
    ``step`` (``step=1``: no shrinkage; ``0.25``: the library's rule).
    """
    padded, weights, test = _grids(rec)
    if rule[0] == "rows":
        epochs, alpha = surest_gain_rows(rec["fold_rows"], rule[1])
        column = ALPHAS.index(alpha)
    elif rule[0] == "shortest":
        epochs, alpha, column = best_epoch(list(padded[:, :, -1]), weights, rule[1])[0], 1.0, -1
    else:
        columns = [i for i, a in enumerate(ALPHAS) if a > 0 and (a / rule[2]).is_integer()]
        chosen = surest_gain(list(padded[:, :, columns]), weights,
                             [ALPHAS[i] for i in columns], rule[1])
        epochs, alpha = chosen.epochs, chosen.alpha
        column = ALPHAS.index(alpha)
    refit = min(refit_epochs(epochs, rec["n_fold_rows"], rec["n_rows"], rec["batch_size"]),
                len(test) - 1)
    return float(test[refit, column]), epochs, alpha


RULES = {
    "shortest within 2 SE of the lowest (before)": ("shortest", 2.0),
    "lowest mean": ("shortest", 0.0),
    "surest gain over the start, 2 SE, no shrinkage": ("surest", 2.0, 1.0),
    "surest gain, 2 SE, alpha in halves": ("surest", 2.0, 0.5),
    "surest gain, 2 SE, alpha in quarters (chosen)": ("surest", 2.0, 0.25),
    "surest gain, 2 SE, alpha in eighths": ("surest", 2.0, 0.125),
    "surest gain, 1 SE, alpha in quarters": ("surest", 1.0, 0.25),
    "surest gain, 3 SE, alpha in quarters": ("surest", 3.0, 0.25),
}
ROW_RULES = {
    "surest gain, 2 SE per row, alpha in quarters": ("rows", 2.0),
    "surest gain, 3 SE per row, alpha in quarters": ("rows", 3.0),
}


def score(records):
    """Per rule and group of cells: worst fit, fits above 1.02, geometric mean, share at PCA."""
    out = []
    groups = [("k = d - 1, 120 rows", lambda r: r["n_train"] == 120),
              ("slice cells", lambda r: r["n_train"] != 120), ("all", lambda r: True)]
    rules = dict(RULES)
    if all("fold_rows" in r for r in records):
        rules.update(ROW_RULES)
    for name, rule in rules.items():
        for group, member in groups:
            ratios = np.array([pick(r, rule)[0] for r in records if member(r)])
            if len(ratios) == 0:
                continue
            out.append({"rule": name, "cells": group, "fits": len(ratios), "worst": ratios.max(),
                        "fits > 1.02": int((ratios > 1.02).sum()),
                        "geo-mean": float(np.exp(np.log(ratios).mean())),
                        "at PCA (>= 0.999)": float((ratios >= 0.999).mean())})
    return pd.DataFrame(out)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default=None)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--cells", default="k=d-1")
    parser.add_argument("--seeds", type=int, default=2)
    parser.add_argument("--first-seed", type=int, default=0)
    parser.add_argument("--score-only", action="store_true", help="score the recorded fits only")
    parser.add_argument("--add-rows", type=Path, default=None,
                        help="write --out's fits with the folds' per-row losses (record_rows) "
                             "to this file, then score it")
    args = parser.parse_args(argv)
    assert args.first_seed + args.seeds <= 100, "design rows only"
    done = set()
    if args.out.exists():
        for line in args.out.read_text().splitlines():
            rec = json.loads(line)
            done.add((rec["dataset"], rec["n_train"], rec["k"], rec["seed"]))
    runs = [r for r in plan(args.cells.split(","), args.first_seed + args.seeds, args.data_dir)
            if r["seed"] >= args.first_seed]
    for run in [] if args.score_only else runs:
        key = (run["dataset"], run["n_train"], run["k"], run["seed"])
        if key in done:
            continue
        rec = record(run)
        if rec is not None:
            with args.out.open("a") as file:
                file.write(json.dumps(rec) + "\n")
            print(*key, len(rec["test"]) - 1, file=sys.stderr, flush=True)
    close = {name for name, _, _ in small.close_k_cells(args.data_dir)}
    records = [json.loads(line) for line in args.out.read_text().splitlines()]
    if args.add_rows is not None:
        key = lambda r: (r["dataset"], r["n_train"], r["k"], r["seed"])
        done = set()
        if args.add_rows.exists():
            done = {key(json.loads(line)) for line in args.add_rows.read_text().splitlines()}
        for rec in records:
            if key(rec) in done or (rec["n_train"] == small.CLOSE_K_ROWS
                                    and rec["dataset"] not in close):
                continue
            run = {name: rec[name] for name in ("dataset", "n_train", "k", "seed", "data_dir")}
            with args.add_rows.open("a") as file:
                file.write(json.dumps(record_rows(run, rec)) + "\n")
            print(*key(rec), file=sys.stderr, flush=True)
        records = [json.loads(line) for line in args.add_rows.read_text().splitlines()]
    # The k = d - 1 cells of the slice only (recordings made before it left texture and
    # spambase out include them).
    records = [r for r in records if r["n_train"] != small.CLOSE_K_ROWS or r["dataset"] in close]
    print(score(records).to_markdown(index=False, floatfmt=".3f"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
