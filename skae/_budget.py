"""The training budget read from the size of the data: batch size, patience, validation.

A budget fixed in epochs means very different things at 100 rows and at a
million: with 256-row batches, 150 rows make one optimizer step per epoch, and
a patience of 10 epochs stops training after 10 steps, before the network has
moved from its (PCA) start. And a 10% validation split of 150 rows is 15 rows,
too few to tell a better model from a lucky one. The ``"auto"`` settings of
the estimators count in optimizer steps and validation rows instead:

* ``batch_size="auto"``: ``n_rows / BATCHES_PER_EPOCH``, clipped to
  ``AUTO_BATCH_SIZES``, so that small data get several steps per epoch and
  large data keep 256-row batches;
* ``n_iter_no_change="auto"``: at least ``PATIENCE_STEPS`` optimizer steps and
  ``MIN_PATIENCE_EPOCHS`` epochs without improvement before stopping
  (``CV_PATIENCE_STEPS`` in a cross-validation fold);
* ``max_iter="auto"``: at least ``MIN_MAX_STEPS`` optimizer steps and
  ``MIN_MAX_EPOCHS`` epochs;
* ``early_stopping="auto"``: a ``validation_fraction`` split when it holds at
  least ``MIN_VALIDATION_ROWS`` rows; below, the training length is chosen by
  ``CV_FOLDS``-fold cross-validation (every row is a validation row once),
  then the model is trained on all rows for as many optimizer steps
  (``refit_epochs``). Each fold also scores, after each epoch, the points
  ``start + alpha * (network - start)`` of the segment back to its PCA start
  (``alpha`` in steps of ``1 / SHRINKAGE_STEPS``). The chosen point (a
  length and an ``alpha``) is the one whose gain over the start is surest:
  its mean validation loss minus the start's, plus
  ``SELECTION_STANDARD_ERRORS`` standard errors of that difference, is
  the lowest, the start counting 0 (``surest_gain``). The standard error
  is taken over the validation rows of every fold (each row's loss minus
  its own loss at the start) where the estimator's loss has a per-row form
  (``SelectionRule.by_rows``), fold by fold otherwise. So the chosen point
  passes a paired test against the start, or the start is kept: a
  candidate is never chosen for being near the lowest mean, which on a few
  hundred rows is partly luck. The
  refit is then shrunk toward its own start by the chosen ``alpha``
  (``skae._shrinkage``): one network, between PCA and the trained one. A
  fold stops after ``CV_PATIENCE_STEPS`` steps without improvement (half
  the patience of a validation split). That is ``SUREST_GAIN``;
  ``AutoencoderImputer`` keeps ``LOWEST_MEAN``, the rule it was developed
  with, and ``SHORTEST_NOT_WORSE`` (the shortest length within two
  standard errors of the lowest mean, the rule before issue 28) stays for
  comparison (see ``SelectionRule``). Losses within ``TIE_RTOL`` of the
  largest are tied, and a tie goes to the start, then to the shorter
  length and the smaller ``alpha``: the choice, and keeping the PCA start,
  do not flip with the last bits of a float32 loss, which change with the
  CPU, its vector instructions and the BLAS (see ``best_epoch``).

A new network's learning rate also warms up linearly over its first
``WARMUP_STEPS`` optimizer steps (at most a tenth of the steps ``max_iter``
allows): Adam's first steps move every weight by about the learning rate
whatever its gradient, which from a start at PCA's optimum costs most on
small data and high code sizes.

From about 8,300 rows up every rule gives the fixed settings skae used
before (256-row batches, a patience of 10 epochs, 200 epochs, one validation
split). The constants were chosen on the learning curves of
``benchmarks/small.py`` (held-out rows, several datasets, seeds 0-2) and
checked on the others; ``SELECTION_STANDARD_ERRORS`` and ``CV_PATIENCE_STEPS``
on every cell of that slice at seeds 0-2, checked at seeds 3-4
(``benchmarks/dev/selection_rule.py``); the test against the start and
``SHRINKAGE_STEPS`` on the slice's design rows (seeds 0-7, the k = d - 1
cells at 120 rows first; ``benchmarks/dev/training_path.py``), and the
per-row standard error there too. ``VariationalAE`` shares
``n_iter_no_change="auto"`` and ``early_stopping="auto"`` but keeps fixed
defaults for the others (256-row batches, 200 epochs).

Only numbers and tensors here: the estimator asks, this module answers.
"""

import math
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
import torch

__all__ = [
    "CrossValidation",
    "LOWEST_MEAN",
    "SELECTION_RULES",
    "SHORTEST_NOT_WORSE",
    "SUREST_GAIN",
    "SelectionRule",
    "TIE_RTOL",
    "TrainingBudget",
    "best_epoch",
    "choose_training",
    "fold_rows",
    "n_batches",
    "refit_epochs",
    "surest_gain",
    "training_budget",
]

AUTO_BATCH_SIZES = (32, 256)
BATCHES_PER_EPOCH = 8
PATIENCE_STEPS = 300
CV_PATIENCE_STEPS = 150
MIN_PATIENCE_EPOCHS = 10
MIN_MAX_STEPS = 2000
MIN_MAX_EPOCHS = 200
MIN_VALIDATION_ROWS = 100
CV_FOLDS = 5
SELECTION_STANDARD_ERRORS = 2.0
# Mean validation losses closer than this, relative to the largest of the curve, are tied.
# A float32 loss is rounded at about 6e-8; between CPUs (vector kernels, BLAS), fold
# curves measured 2e-7 apart at the start and up to 1e-3 after 30 epochs (the
# trajectories drift apart): ties are resolved far above the rounding, not at it.
TIE_RTOL = 1e-4
WARMUP_STEPS = 100
# The points of the segment from the start to the trained network that the folds score:
# start + alpha * (trained - start) for alpha = 0, 1/SHRINKAGE_STEPS, ..., 1.
SHRINKAGE_STEPS = 4
# Rows needed to validate at all: one validation row and two training rows.
MIN_ROWS_TO_VALIDATE = 3


@dataclass(frozen=True)
class SelectionRule:
    """How cross-validation chooses the training length (and the shrinkage toward the start).

    Attributes
    ----------
    standard_errors : float
        With ``against_start``, how many standard errors of its paired
        difference to the start a candidate's mean validation loss is
        charged (``surest_gain``); otherwise, the chosen length is the
        shortest whose mean validation loss is within this many standard
        errors of the lowest (``best_epoch``).
    patience_steps : int
        A fold stops after this many optimizer steps without improvement
        (``n_iter_no_change="auto"``).
    refit_in_steps : bool
        Whether the refit on all rows takes the folds' optimizer steps
        (``refit_epochs``) rather than their epochs.
    against_start : bool, default=False
        Whether candidates are tested against the start (``surest_gain``)
        rather than against the lowest mean (``best_epoch``).
    shrinkage_steps : int, default=0
        With ``against_start``: the folds also score the weights ``start +
        alpha * (trained - start)`` for ``alpha`` in steps of
        ``1 / shrinkage_steps``, and the refit is shrunk toward its start by
        the chosen ``alpha``. 0: no shrinkage (``alpha = 1``).
    by_rows : bool, default=False
        With ``against_start``: the standard error of a candidate's
        difference to the start is taken over the validation rows (each
        row's loss minus its loss at the start, every fold's rows pooled)
        where the estimator's loss has a per-row form, instead of fold by
        fold (``surest_gain``'s ``row_moments``).
    """

    standard_errors: float
    patience_steps: int
    refit_in_steps: bool
    against_start: bool = False
    shrinkage_steps: int = 0
    by_rows: bool = False

    @property
    def alphas(self):
        """The points of the segment the folds score: ``(1,)`` without shrinkage."""
        steps = self.shrinkage_steps if self.against_start else 0
        return tuple(i / steps for i in range(1, steps + 1)) if steps else (1.0,)


# The reconstruction autoencoders': the point of the training path (a length, and a
# shrinkage toward the PCA start) whose gain over the start is surest.
SUREST_GAIN = SelectionRule(
    SELECTION_STANDARD_ERRORS, CV_PATIENCE_STEPS, True, against_start=True,
    shrinkage_steps=SHRINKAGE_STEPS, by_rows=True,
)
# Their rule before issue 28: a short run near the PCA start unless a longer one is clearly
# better (the shortest length within two standard errors of the lowest mean).
SHORTEST_NOT_WORSE = SelectionRule(SELECTION_STANDARD_ERRORS, CV_PATIENCE_STEPS, True)
# AutoencoderImputer's: the lowest mean, as it was developed with (no PCA promise to keep;
# on its development seeds the rule above cost 2-15% RMSE).
LOWEST_MEAN = SelectionRule(0.0, PATIENCE_STEPS, False)
# By name: an estimator names its rule (a string, which skae.save can store).
SELECTION_RULES = {
    "surest_gain": SUREST_GAIN,
    "shortest_not_worse": SHORTEST_NOT_WORSE,
    "lowest_mean": LOWEST_MEAN,
}


class CrossValidation(NamedTuple):
    """What cross-validation chose: a training length and a shrinkage toward the start.

    Attributes
    ----------
    epochs : int
        Epochs of the folds (0: the start).
    mean_curve : ndarray
        The mean validation loss of the folds' networks at each epoch count.
    alpha : float
        The final weights are ``start + alpha * (trained - start)``.
    loss : float
        The mean validation loss of the folds at that point.
    """

    epochs: int
    mean_curve: np.ndarray
    alpha: float
    loss: float


@dataclass(frozen=True)
class TrainingBudget:
    """How one ``fit`` trains.

    Attributes
    ----------
    batch_size : int
        Rows per optimizer step.
    patience : int or float
        Epochs without improvement before stopping (``math.inf``: never).
    max_epochs : int
        Largest number of epochs.
    validation : {"holdout", "cv", "none"}
        ``"holdout"``: ``n_valid`` rows are held out, training stops when
        their loss stops improving and the best weights are kept.
        ``"cv"``: the number of epochs is chosen by ``n_folds``-fold
        cross-validation, then the model trains on every row for that many.
        ``"none"``: all rows train; training stops when the training loss
        stops improving.
    n_valid : int
        Rows held out (``"holdout"`` only).
    n_folds : int
        Folds (``"cv"`` only).
    n_fold_rows : int
        Training rows of the smallest fold (``"cv"`` only).
    warmup_steps : int
        Optimizer steps of the learning rate's linear warm-up.
    """

    batch_size: int
    patience: float
    max_epochs: int
    validation: str = "none"
    n_valid: int = 0
    n_folds: int = 0
    n_fold_rows: int = 0
    warmup_steps: int = 0


def n_batches(n_rows, batch_size):
    """Optimizer steps per epoch: ``ceil(n_rows / batch_size)``, a last batch of one row merged."""
    n = math.ceil(n_rows / batch_size)
    if n > 1 and n_rows - (n - 1) * batch_size == 1:
        n -= 1
    return max(n, 1)


def _batch_size(setting, n_rows):
    if setting != "auto":
        return int(setting)
    low, high = AUTO_BATCH_SIZES
    return int(min(high, max(low, n_rows // BATCHES_PER_EPOCH)))


def _in_steps(setting, minimum_epochs, minimum_steps, steps_per_epoch):
    if setting != "auto":
        return setting
    return max(minimum_epochs, math.ceil(minimum_steps / steps_per_epoch))


def training_budget(
    n_rows,
    *,
    batch_size,
    n_iter_no_change,
    max_iter,
    early_stopping,
    validation_fraction,
    can_cross_validate=True,
    cv_patience_steps=CV_PATIENCE_STEPS,
):
    """The budget of a ``fit`` on ``n_rows`` rows with the estimator's settings.

    Parameters
    ----------
    n_rows : int
        Rows passed to ``fit``.
    batch_size, n_iter_no_change, max_iter : int or "auto"
        The estimator's settings.
    early_stopping : bool or "auto"
        ``True``: a validation split; ``False``: none; ``"auto"``: a split
        when it holds ``MIN_VALIDATION_ROWS`` rows, cross-validation below,
        none below ``MIN_ROWS_TO_VALIDATE`` rows.
    validation_fraction : float
        Fraction of the rows in the validation split.
    can_cross_validate : bool, default=True
        False when ``fit`` continues from fitted weights (``warm_start``):
        ``"auto"`` then takes a validation split whatever the size.
    cv_patience_steps : int, default=CV_PATIENCE_STEPS
        ``n_iter_no_change="auto"`` in a cross-validation fold, in optimizer steps.

    Returns
    -------
    budget : TrainingBudget
    """
    size = _batch_size(batch_size, n_rows)
    validation, n_valid, n_folds = "none", 0, 0
    n_train = n_rows
    if early_stopping == "auto" and n_rows < MIN_ROWS_TO_VALIDATE:
        early_stopping = False  # nothing to validate on: train on every row
    if early_stopping:
        n_valid = max(1, int(round(validation_fraction * n_rows)))
        small = early_stopping == "auto" and n_valid < MIN_VALIDATION_ROWS
        if small and can_cross_validate:
            validation, n_folds = "cv", min(CV_FOLDS, n_rows)
            n_valid, n_train = 0, n_rows - math.ceil(n_rows / n_folds)
        else:
            validation, n_train = "holdout", n_rows - n_valid
    steps = n_batches(max(n_train, 1), size)
    max_epochs = int(_in_steps(max_iter, MIN_MAX_EPOCHS, MIN_MAX_STEPS, steps))
    patience_steps = cv_patience_steps if validation == "cv" else PATIENCE_STEPS
    return TrainingBudget(
        batch_size=size,
        patience=_in_steps(n_iter_no_change, MIN_PATIENCE_EPOCHS, patience_steps, steps),
        max_epochs=max_epochs,
        validation=validation,
        n_valid=n_valid,
        n_folds=n_folds,
        n_fold_rows=n_train if validation == "cv" else 0,
        warmup_steps=min(WARMUP_STEPS, max_epochs * steps // 10),
    )


def fold_rows(n_rows, n_folds, generator):
    """``n_folds`` (training rows, validation rows) index pairs covering every row once.

    Parameters
    ----------
    n_rows, n_folds : int
    generator : torch.Generator
        Source of the permutation.

    Returns
    -------
    folds : list of (ndarray, ndarray)
        Sorted row indices; each row is a validation row in exactly one fold.
    """
    order = torch.randperm(n_rows, generator=generator).numpy()
    parts = np.array_split(order, n_folds)
    return [
        (np.sort(np.concatenate(parts[:i] + parts[i + 1 :])), np.sort(part))
        for i, part in enumerate(parts)
    ]


def best_epoch(curves, weights, standard_errors=SELECTION_STANDARD_ERRORS, tie_rtol=TIE_RTOL):
    """The number of epochs cross-validation chooses: the shortest not clearly worse.

    The validation losses are averaged over rows; the chosen count is the
    smallest whose mean loss exceeds the lowest mean by at most
    ``standard_errors`` standard errors of that excess, taken fold by fold
    (paired: a fold's luck is shared by every epoch count it scores). With
    ``standard_errors=0``, the lowest mean.

    Every comparison allows ``tie_rtol`` times the largest mean loss of the
    curve, in float64: the reference "lowest" is the shortest count within
    that of the minimum, and a count within it of the threshold is chosen.
    So values that differ only by float rounding (another CPU, another
    BLAS, another batch split) tie, and the tie goes to the shorter length,
    keeping the start (0) when no count is lower by more than that.

    Parameters
    ----------
    curves : list of sequence of float
        Per fold, the validation loss before training (index 0) and after
        each epoch. A fold that stopped early keeps its last loss for the
        epochs it did not run.
    weights : sequence of float
        Validation rows of each fold: the average is over rows.
    standard_errors : float, default=SELECTION_STANDARD_ERRORS
        How far above the lowest mean, in standard errors, a shorter run may be.
    tie_rtol : float, default=TIE_RTOL
        Losses closer than this, relative to the curve's largest mean, are tied.

    Returns
    -------
    epochs : int
        The chosen epoch count (0: the start).
    mean_curve : ndarray
        The average validation loss at each epoch count (float64).

    Examples
    --------
    >>> from skae._budget import best_epoch
    >>> best_epoch([[1.0, 0.8, 0.7], [1.0, 0.7, 0.6]], [10, 10])[0]  # every fold prefers 2
    2
    >>> best_epoch([[1.0, 0.8, 0.76], [1.0, 0.7, 0.72]], [10, 10])[0]  # 2 is not clearly better
    1
    >>> best_epoch([[1.0, 0.8, 0.76], [1.0, 0.7, 0.72]], [10, 10], standard_errors=0)[0]
    2
    >>> best_epoch([[1.0, 1.0 - 1e-7], [1.0, 1.0 - 1e-7]], [10, 10], standard_errors=0)[0]  # a tie
    0
    """
    length = max(len(curve) for curve in curves)
    padded = np.array(
        [list(curve) + [curve[-1]] * (length - len(curve)) for curve in curves], dtype=np.float64
    )  # (n_folds, length)
    weights = np.asarray(weights, dtype=np.float64)
    mean_curve = weights @ padded / weights.sum()
    tie = tie_rtol * float(np.max(np.abs(mean_curve)))
    lowest = int(np.flatnonzero(mean_curve <= mean_curve.min() + tie)[0])
    excess = padded - padded[:, [lowest]]
    mean_excess = mean_curve - mean_curve[lowest]
    standard_error = excess.std(axis=0, ddof=1) / math.sqrt(len(curves)) if len(curves) > 1 else 0.0
    within = mean_excess <= standard_errors * standard_error + tie
    return int(np.flatnonzero(within)[0]), mean_curve


def refit_epochs(epochs, n_fold_rows, n_rows, batch_size):
    """Epochs on all ``n_rows`` rows that take the optimizer steps ``epochs`` took on a fold.

    A fold trains on fewer rows, so fewer steps per epoch: the refit on every
    row repeats the number of steps (the budget the folds measured), not of
    epochs, which would train it longer than any fold was validated at.

    Examples
    --------
    >>> from skae._budget import refit_epochs
    >>> refit_epochs(40, n_fold_rows=96, n_rows=120, batch_size=32)  # 3 steps an epoch, then 4
    30
    """
    steps = epochs * n_batches(n_fold_rows, batch_size)
    return int(round(steps / n_batches(n_rows, batch_size)))


def surest_gain(paths, weights, alphas=(1.0,), standard_errors=SELECTION_STANDARD_ERRORS,
                tie_rtol=TIE_RTOL, row_moments=None):
    """The point of the training path whose gain over the start is surest.

    A candidate is an epoch count and, with shrinkage, a point ``start +
    alpha * (trained - start)`` of the segment from the start to the
    network trained that long. Each is charged its mean validation loss
    minus the start's plus ``standard_errors`` standard errors of that
    difference, taken fold by fold (a paired test against the start: a
    fold's luck is shared by the start and the candidate), or, with
    ``row_moments``, row by row over every fold's validation rows (each
    row's loss minus its own loss at the start; a network whose errors are
    heavier-tailed than the start's over rows is charged for it). The start is
    charged 0. The lowest charge wins: a candidate beats the start only
    when its loss is lower by more than ``standard_errors`` standard errors,
    and among those the one lower by the most in that sense. So no
    candidate the folds cannot tell from a worse-than-start one is chosen,
    whatever the threshold of a "lowest" (there is none); on the rows
    validated, the chosen point is better than the start by at least
    ``standard_errors`` standard errors, or it is the start.

    Charges within ``tie_rtol`` times the largest mean loss of the grid are
    tied; a tie goes to the shorter length, then to the smaller ``alpha``,
    and to the start before anything (see ``best_epoch``).

    Parameters
    ----------
    paths : list of array-like of shape (n_epochs + 1, len(alphas))
        Per fold, the validation loss at each epoch count (row 0: the start,
        every column) and each ``alpha``. A fold that stopped early keeps
        its last row for the epochs it did not run.
    weights : sequence of float
        Validation rows of each fold: the average is over rows.
    alphas : sequence of float, default=(1.0,)
        The shrinkage of each column, increasing; the last is 1 (the
        trained network).
    standard_errors : float, default=SELECTION_STANDARD_ERRORS
    tie_rtol : float, default=TIE_RTOL
    row_moments : list of array-like of shape (n_epochs + 1, len(alphas), 3), default=None
        Per fold, its validation rows counted and the sums over them of
        ``d`` and ``d ** 2``, ``d`` being a row's loss at the candidate
        minus at the start (row 0: zero sums), padded as ``paths``. The
        mean difference and its standard error are then the pooled rows'.

    Returns
    -------
    CrossValidation
        ``epochs`` (0: the start), the folds' mean curve at ``alpha = 1``,
        the chosen ``alpha`` (1 when ``epochs`` is 0) and the mean
        validation loss at the chosen point.

    Examples
    --------
    >>> from skae._budget import surest_gain
    >>> every_fold_gains = [[[1.0], [0.8], [0.7]], [[1.0], [0.75], [0.65]]]
    >>> surest_gain(every_fold_gains, [10, 10]).epochs
    2
    >>> one_fold_loses = [[[1.0], [0.8]], [[1.0], [0.6]], [[1.0], [1.05]]]
    >>> surest_gain(one_fold_loses, [10, 10, 10]).epochs  # lower on average, not surely
    0
    >>> half_way = [[[1.0, 1.0], [0.8, 0.9]], [[1.0, 1.0], [0.78, 0.7]]]  # alphas 0.5, 1
    >>> surest_gain(half_way, [10, 10], alphas=(0.5, 1.0)).alpha
    0.5
    >>> # 2 folds of 4 rows: each fold gains 0.05 on average, from one row only
    >>> one_row_gains = [[[1.0], [0.95]], [[1.0], [0.95]]]
    >>> moments = [[[[4, 0.0, 0.0]], [[4, -0.2, 0.04]]]] * 2  # (rows, sum of d, of d ** 2)
    >>> surest_gain(one_row_gains, [4, 4]).epochs  # every fold agrees
    1
    >>> surest_gain(one_row_gains, [4, 4], row_moments=moments).epochs  # 1 row in 4 does not
    0
    """
    alphas = tuple(float(alpha) for alpha in alphas)
    paths = [np.asarray(path, dtype=np.float64).reshape(len(path), len(alphas)) for path in paths]
    length = max(len(path) for path in paths)
    padded = np.stack([
        np.concatenate([path, np.repeat(path[-1:], length - len(path), axis=0)]) for path in paths
    ])  # (n_folds, length, n_alphas)
    weights = np.asarray(weights, dtype=np.float64)
    mean_loss = np.einsum("f,fea->ea", weights, padded) / weights.sum()
    excess = padded - padded[:, :1, -1:]  # each fold's loss minus its start's
    mean_excess = np.einsum("f,fea->ea", weights, excess) / weights.sum()
    if row_moments is not None:
        mean_excess, standard_error = _pooled_rows(row_moments, length, len(alphas))
    else:
        n_folds = len(paths)
        standard_error = excess.std(axis=0, ddof=1) / math.sqrt(n_folds) if n_folds > 1 else 0.0
    charge = mean_excess + standard_errors * standard_error
    charge[0, :] = 0.0  # every column of row 0 is the start
    tie = tie_rtol * float(np.max(np.abs(mean_loss)))
    epochs, column = np.argwhere(charge <= charge.min() + tie)[0]  # row-major: shortest first
    alpha = alphas[column] if epochs > 0 else 1.0
    return CrossValidation(int(epochs), mean_loss[:, -1], alpha, float(mean_loss[epochs, column]))


def _pooled_rows(row_moments, length, n_alphas):
    """The mean of ``d`` over every fold's rows and its standard error, from the folds' sums."""
    folds = [np.asarray(m, dtype=np.float64).reshape(-1, n_alphas, 3) for m in row_moments]
    padded = np.stack([
        np.concatenate([m, np.repeat(m[-1:], length - len(m), axis=0)]) for m in folds
    ])  # (n_folds, length, n_alphas, 3)
    n, total, squares = padded.sum(axis=0).transpose(2, 0, 1)
    mean = np.divide(total, n, out=np.zeros_like(total), where=n > 0)
    variance = np.divide(np.maximum(squares - n * mean * mean, 0.0), n - 1,
                         out=np.zeros_like(total), where=n > 1)
    standard_error = np.divide(variance, n, out=np.zeros_like(total), where=n > 0) ** 0.5
    return mean, standard_error


def choose_training(rule, paths, weights, row_moments=None):
    """What ``rule`` chooses from the folds' ``paths`` (see ``surest_gain``; columns: ``rule.alphas``).

    ``row_moments`` (per fold, as ``surest_gain`` takes them) are used
    when ``rule.by_rows``.

    Returns
    -------
    CrossValidation
    """
    if rule.against_start:
        moments = row_moments if rule.by_rows else None
        return surest_gain(paths, weights, rule.alphas, rule.standard_errors,
                           row_moments=moments)
    curves = [np.asarray(path, dtype=np.float64).reshape(len(path), -1)[:, -1] for path in paths]
    epochs, mean_curve = best_epoch(curves, weights, rule.standard_errors)
    return CrossValidation(epochs, mean_curve, 1.0, float(mean_curve[epochs]))
