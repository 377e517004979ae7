"""The training budget read from the data's size (skae._budget), and what fit does with it."""

import dataclasses
import math

import numpy as np
import pytest
import torch
from sklearn.decomposition import PCA
from skorch.callbacks import Callback

from skae import (
    AutoencoderImputer,
    AutoencoderTransformer,
    DenoisingAE,
    SparseAE,
    TabularAE,
    VariationalAE,
)
from skae._budget import (
    CV_FOLDS,
    CV_PATIENCE_STEPS,
    LOWEST_MEAN,
    MIN_MAX_EPOCHS,
    MIN_MAX_STEPS,
    MIN_PATIENCE_EPOCHS,
    MIN_VALIDATION_ROWS,
    PATIENCE_STEPS,
    SELECTION_STANDARD_ERRORS,
    SHORTEST_NOT_WORSE,
    SUREST_GAIN,
    TIE_RTOL,
    best_epoch,
    choose_training,
    fold_rows,
    n_batches,
    refit_epochs,
    surest_gain,
    training_budget,
)
from skae._shrinkage import PathLosses, shrink_toward_start
from skae._engine import TensorBatches

AUTO = dict(batch_size="auto", n_iter_no_change="auto", max_iter="auto", early_stopping="auto",
            validation_fraction=0.1)


@pytest.mark.parametrize("n_rows, batch_size", [(1, 4), (5, 4), (9, 4), (10, 3), (256, 256), (257, 256)])
def test_n_batches_counts_what_the_engine_iterates(n_rows, batch_size):
    assert n_batches(n_rows, batch_size) == len(TensorBatches(torch.zeros(n_rows, 1), batch_size))


def test_auto_batch_size_gives_small_data_several_steps_and_large_data_256_rows():
    small, large = training_budget(150, **AUTO), training_budget(10**6, **AUTO)
    assert small.batch_size < 150 / 4
    assert large.batch_size == 256
    assert training_budget(150, **{**AUTO, "batch_size": 100}).batch_size == 100


def test_auto_patience_counts_optimizer_steps():
    for n_rows in (150, 600, 5000, 10**6):
        budget = training_budget(n_rows, **AUTO)
        held_out = budget.n_valid or math.ceil(n_rows / max(budget.n_folds, 1))
        steps = n_batches(n_rows - held_out, budget.batch_size)
        assert budget.patience >= MIN_PATIENCE_EPOCHS
        patience_steps = CV_PATIENCE_STEPS if budget.validation == "cv" else PATIENCE_STEPS
        assert budget.patience * steps >= patience_steps
    assert training_budget(10**6, **AUTO).patience == MIN_PATIENCE_EPOCHS
    assert training_budget(150, **{**AUTO, "n_iter_no_change": 7}).patience == 7


def test_auto_validation_cross_validates_only_where_a_split_would_be_small():
    n_small = 10 * MIN_VALIDATION_ROWS - 10
    assert training_budget(n_small, **AUTO).validation == "cv"
    assert training_budget(n_small, **AUTO).n_folds == CV_FOLDS
    big = training_budget(10 * MIN_VALIDATION_ROWS, **AUTO)
    assert (big.validation, big.n_valid) == ("holdout", MIN_VALIDATION_ROWS)
    assert training_budget(n_small, **{**AUTO, "early_stopping": True}).validation == "holdout"
    assert training_budget(n_small, **{**AUTO, "early_stopping": False}).validation == "none"
    # warm_start continues from fitted weights: no new networks to cross-validate.
    assert training_budget(n_small, **AUTO, can_cross_validate=False).validation == "holdout"
    assert training_budget(4, **AUTO).n_folds == 4  # never an empty fold
    assert training_budget(2, **AUTO).validation == "none"  # nothing to validate on


def test_fold_rows_partition_the_rows():
    folds = fold_rows(23, 5, torch.Generator().manual_seed(0))
    valid = np.concatenate([v for _, v in folds])
    assert sorted(valid) == list(range(23))
    for train, valid in folds:
        assert not set(train) & set(valid) and len(train) + len(valid) == 23


def test_best_epoch_averages_over_rows_and_pads_stopped_folds():
    # Fold 2 stopped after one epoch: its last loss counts for epochs 2 and 3.
    curves = [[1.0, 0.9, 0.5, 0.8], [1.0, 0.6]]
    epochs, mean = best_epoch(curves, [1, 3])
    np.testing.assert_allclose(mean, [1.0, 0.675, 0.575, 0.65])
    # Epoch 2 has the lowest mean, but only fold 1 prefers it to epoch 1: the
    # excess of epoch 1, 0.1 on average, is within one standard error (0.2).
    assert epochs == 1
    # Both folds lower the loss by the same margin each epoch: the lowest is clearly best.
    assert best_epoch([[1.0, 0.8, 0.6], [1.0, 0.7, 0.5]], [1, 3])[0] == 2
    assert best_epoch([[1.0, 1.1], [1.0, 1.2]], [5, 5])[0] == 0  # training never helped


@pytest.mark.parametrize("standard_errors", [0.0, SELECTION_STANDARD_ERRORS])
def test_best_epoch_is_not_moved_by_float_rounding(standard_errors):
    # A flat stretch whose values differ by float32 rounding (about 1e-7 relative): the
    # order of its values must not decide. Perturbed at that level in every way, the
    # choice stays the shortest of the tie.
    rng = np.random.RandomState(0)
    base = np.array([[1.0, 0.5, 0.5, 0.5, 0.5], [1.2, 0.6, 0.6, 0.6, 0.6], [0.9, 0.4, 0.4, 0.4, 0.4]])
    chosen = set()
    for _ in range(200):
        noisy = base * (1 + 3e-7 * rng.standard_normal(base.shape))
        chosen.add(best_epoch(noisy.tolist(), [10, 10, 10], standard_errors)[0])
    assert chosen == {1}
    # A start the folds do not beat beyond rounding is kept: 0 epochs, whatever the CPU.
    flat = [[0.3, 0.3 * (1 - 1e-7), 0.3 * (1 + 1e-7)], [0.2, 0.2 * (1 - 2e-7), 0.2]]
    assert best_epoch(flat, [15, 15], standard_errors)[0] == 0
    # Above the tolerance, a lower loss still wins under the lowest-mean rule.
    lower = [[0.3, 0.3 * (1 - 10 * TIE_RTOL)], [0.2, 0.2 * (1 - 10 * TIE_RTOL)]]
    assert best_epoch(lower, [15, 15], standard_errors=0.0)[0] == 1


def test_the_refit_on_all_rows_takes_the_optimizer_steps_the_folds_took():
    # 120 fold rows in batches of 32: 4 steps an epoch; 150 rows: 5.
    assert refit_epochs(50, n_fold_rows=120, n_rows=150, batch_size=32) == 40
    assert refit_epochs(0, n_fold_rows=120, n_rows=150, batch_size=32) == 0
    budget = training_budget(150, **AUTO)
    assert (budget.validation, budget.n_fold_rows) == ("cv", 150 - math.ceil(150 / CV_FOLDS))


def _curved_table(n_rows, seed):
    """Rows near a curve in 6 dimensions, plus a little noise: PCA at k=2 flattens it."""
    rng = np.random.RandomState(seed)
    t = rng.uniform(-2, 2, size=(n_rows, 1))
    X = np.hstack([t, t**2, np.sin(2 * t), np.cos(t), t**3 / 4, np.tanh(t)])
    X += 0.05 * rng.normal(size=X.shape)
    return ((X - X.mean(0)) / X.std(0)).astype(np.float32)


def test_a_150_row_table_trains_and_ends_no_worse_than_pca_on_held_out_rows():
    X = _curved_table(1150, seed=0)
    X_train, X_test = X[:150], X[150:]
    ae = AutoencoderTransformer(n_components=2, hidden_layer_sizes=(64, 32), random_state=0)
    ae.fit(X_train)
    steps = sum(row["train_batches"] for row in ae.history_)
    assert steps > 50, f"only {steps} optimizer steps"
    pca = PCA(2).fit(X_train)
    pca_mse = np.mean((pca.inverse_transform(pca.transform(X_test)) - X_test) ** 2)
    ae_mse = np.mean((ae.inverse_transform(ae.transform(X_test)) - X_test) ** 2)
    assert ae_mse < 1.05 * pca_mse


def test_cross_validation_is_reproducible_and_reports_its_mean_curve():
    X = _curved_table(120, seed=1)
    params = dict(n_components=2, hidden_layer_sizes=(8,), max_iter=15, random_state=0)
    a, b = AutoencoderTransformer(**params).fit(X), AutoencoderTransformer(**params).fit(X)
    np.testing.assert_array_equal(a.transform(X), b.transform(X))
    # The mean validation curve over the folds, after each epoch, up to the chosen count;
    # the model trained for as many optimizer steps as the folds took for that count.
    chosen = len(a.validation_scores_) - 1
    assert a.best_validation_score_ == a.validation_scores_[-1]
    budget = training_budget(len(X), **AUTO)
    assert a.n_epochs_ == refit_epochs(chosen, budget.n_fold_rows, len(X), budget.batch_size)
    # n_iter_ counts every epoch run: the folds' (early stopping may end them) and the refit's.
    assert a.n_epochs_ < a.n_iter_ <= CV_FOLDS * 15 + a.n_epochs_
    assert len(a.loss_curve_) == len(a.history_) == a.n_epochs_  # the returned model's own run


def test_auto_max_iter_counts_optimizer_steps_and_explicit_ints_are_kept():
    for n_rows in (150, 600, 5000, 10**6):
        budget = training_budget(n_rows, **AUTO)
        held_out = budget.n_valid or math.ceil(n_rows / max(budget.n_folds, 1))
        steps = n_batches(n_rows - held_out, budget.batch_size)
        assert budget.max_epochs >= MIN_MAX_EPOCHS and budget.max_epochs * steps >= MIN_MAX_STEPS
    assert training_budget(10**6, **AUTO).max_epochs == MIN_MAX_EPOCHS
    explicit = training_budget(150, **{**AUTO, "batch_size": 7, "n_iter_no_change": 3, "max_iter": 5})
    assert (explicit.batch_size, explicit.patience, explicit.max_epochs) == (7, 3, 5)


class _Fits(Callback):
    """Logs the rows of every training run (class-level: each fold's engine has its own copy)."""

    rows = []

    def on_train_begin(self, net, X=None, **kwargs):
        type(self).rows.append(len(X))


@pytest.mark.parametrize("cls", [AutoencoderTransformer, TabularAE, VariationalAE])
def test_below_the_threshold_five_folds_choose_the_epochs_then_all_rows_train(cls):
    X = _curved_table(150, seed=0)
    _Fits.rows = []
    params = dict(hidden_layer_sizes=(8,), max_iter=3, learning_rate_init=1e-2, random_state=0,
                  batch_size="auto", early_stopping="auto", callbacks=[("fits", _Fits())])
    model = cls(n_components=2, **params).fit(X)
    assert _Fits.rows == [120] * CV_FOLDS + [150]  # five folds of 30 rows, then a refit on all
    budget = training_budget(150, **AUTO)
    assert model.net_.batch_size == budget.batch_size == 32
    # The refit takes the optimizer steps of the chosen number of fold epochs (4 steps
    # an epoch on 120 rows, 5 on 150): no early stopping, no validation rows.
    assert dict(model.net_.callbacks_)["early_stopping"].patience == math.inf
    chosen = len(model.validation_scores_) - 1
    assert model.n_epochs_ == refit_epochs(chosen, 120, 150, 32)
    assert model.n_iter_ == CV_FOLDS * 3 + model.n_epochs_  # every fold ran its 3 epochs
    # From the threshold up, one validation split of 10% and the auto patience.
    _Fits.rows = []
    X = _curved_table(10 * MIN_VALIDATION_ROWS, seed=0)
    model = cls(n_components=2, **params).fit(X)
    assert _Fits.rows == [9 * MIN_VALIDATION_ROWS]
    budget = training_budget(len(X), **AUTO)
    stopping = dict(model.net_.callbacks_)["early_stopping"]
    assert (stopping.monitor, stopping.patience) == ("valid_loss", budget.patience)


def test_the_imputer_trains_by_the_same_budget():
    X = _curved_table(150, seed=0)
    X[np.random.RandomState(0).rand(*X.shape) < 0.1] = np.nan
    imputer = AutoencoderImputer(n_components=2, hidden_layer_sizes=(8,), max_iter=3,
                                 learning_rate_init=1e-2, random_state=0).fit(X)
    model = imputer.estimator_
    assert model.net_.batch_size == training_budget(150, **AUTO).batch_size
    assert dict(model.net_.callbacks_)["early_stopping"].patience == math.inf  # the refit after CV
    assert model.n_iter_ > 0
    # 150 rows in batches of 32: the final model trained on every row.
    assert model.history_[-1, "train_batches"] == n_batches(150, 32)
    again = AutoencoderImputer(n_components=2, hidden_layer_sizes=(8,), max_iter=3,
                               learning_rate_init=1e-2, random_state=0).fit(X)
    np.testing.assert_array_equal(imputer.transform(X), again.transform(X))


def test_the_imputer_refits_for_the_length_with_the_lowest_cross_validated_loss():
    # LOWEST_MEAN: the epoch count of the lowest mean fold loss, refit for as many
    # epochs; the reconstruction autoencoders take SUREST_GAIN.
    X = _curved_table(150, seed=0)
    X[np.random.RandomState(0).rand(*X.shape) < 0.1] = np.nan
    model = AutoencoderImputer(n_components=2, hidden_layer_sizes=(8,), max_iter=6,
                               learning_rate_init=1e-2, random_state=0).fit(X).estimator_
    assert model._selection_rule == LOWEST_MEAN
    assert TabularAE()._selection_rule == SUREST_GAIN
    assert model.best_validation_score_ == max(model.validation_scores_)
    assert model.n_epochs_ == len(model.validation_scores_) - 1 > 0
    assert model.n_iter_ == CV_FOLDS * 6 + model.n_epochs_
    budget = training_budget(150, **AUTO, cv_patience_steps=LOWEST_MEAN.patience_steps)
    assert budget.patience * n_batches(budget.n_fold_rows, budget.batch_size) >= PATIENCE_STEPS


def test_the_vae_patience_is_the_shared_rule():
    X = _curved_table(300, seed=0)
    vae = VariationalAE(n_components=2, hidden_layer_sizes=(8,), max_iter=2, batch_size=16,
                        early_stopping=True, random_state=0).fit(X)  # the split's patience
    stopping = dict(vae.net_.callbacks_)["early_stopping"]
    budget = training_budget(300, **{**AUTO, "batch_size": 16, "early_stopping": True})
    assert stopping.patience == budget.patience == math.ceil(PATIENCE_STEPS / n_batches(270, 16))


def test_the_auto_budget_is_resolved_at_every_fit_warm_ones_included():
    model = AutoencoderTransformer(n_components=2, hidden_layer_sizes=(4,), max_iter=1,
                                   warm_start=True, random_state=0)
    model.fit(_curved_table(150, seed=0))
    assert model.net_.batch_size == 32
    # A warm fit on more rows: 256-row batches, and a split instead of cross-validation
    # (there are fitted weights to continue from, not new networks to fold).
    model.fit(_curved_table(3000, seed=1))
    assert model.net_.batch_size == 256
    stopping = dict(model.net_.callbacks_)["early_stopping"]
    assert (stopping.monitor, stopping.patience) == ("valid_loss", training_budget(3000, **AUTO).patience)
    assert model.get_params()["batch_size"] == "auto"  # the parameter itself is untouched


def _stopping_epoch(curve, patience, tol):
    """The epoch after which early stopping ends a run with this validation curve, or None.

    skae's rule (``EarlyStoppingFromStart``, as ``MLPRegressor``): an epoch improves when
    its loss is below the last improving one (the start's at first) by more than ``tol``;
    the run stops after ``patience`` epochs in a row that do not.
    """
    threshold, misses = curve[0] - tol, 0
    for epoch, loss in enumerate(curve[1:], start=1):
        if loss < threshold:
            threshold, misses = loss - tol, 0
        else:
            misses += 1
        if misses >= patience:
            return epoch
    return None


def _random_rows(seed, missing=0.0):
    """Unstructured rows: the PCA start is hard to beat on held-out rows, so folds stop early."""
    rng = np.random.RandomState(seed)
    X = rng.normal(size=(150, 6)).astype(np.float32)
    X[rng.rand(*X.shape) < missing] = np.nan
    return X


# 150 rows: folds of 120 training rows in batches of 32, 4 optimizer steps an epoch. A
# reconstruction autoencoder's fold stops after CV_PATIENCE_STEPS = 150 steps without
# improvement: 38 epochs; AutoencoderImputer's (LOWEST_MEAN) after PATIENCE_STEPS = 300,
# 75 epochs, as a validation split would.
@pytest.mark.parametrize(
    "kind, fold_patience, max_iter", [("transformer", 38, 120), ("imputer", 75, 100)]
)
def test_each_fold_stops_after_the_cross_validation_patience(
    kind, fold_patience, max_iter, monkeypatch
):
    rule = SUREST_GAIN if kind == "transformer" else LOWEST_MEAN
    assert fold_patience == math.ceil(rule.patience_steps / n_batches(120, 32))
    trained = AutoencoderTransformer if kind == "transformer" else TabularAE
    recorded = []
    fold_curves = trained._fold_curves

    def recording(self, X, budget, seed):
        paths, weights, row_moments = fold_curves(self, X, budget, seed)
        recorded.extend([row[-1] for row in path] for path in paths)  # alpha = 1: the network
        return paths, weights, row_moments

    monkeypatch.setattr(trained, "_fold_curves", recording)
    params = dict(n_components=2, hidden_layer_sizes=(4,), max_iter=max_iter, random_state=0)
    if kind == "transformer":
        tol = AutoencoderTransformer(**params).fit(_random_rows(1)).tol
    else:
        tol = AutoencoderImputer(**params, blend=False).fit(_random_rows(2, missing=0.1)).estimator_.tol
    assert len(recorded) == CV_FOLDS
    stopped_early = 0
    for curve in recorded:
        epochs_run = len(curve) - 1
        stop = _stopping_epoch(curve, fold_patience, tol)
        if stop is None:
            assert epochs_run == max_iter
        else:
            assert epochs_run == stop, f"ran {epochs_run} epochs, the patience stops at {stop}"
            stopped_early += 1
    assert stopped_early >= 2  # the patience decided, not max_iter


# Fixed fold curves (5 folds of 30 validation rows, epochs 0 to 10) on which the rules
# disagree. The lowest mean is at epoch 10; the excess of epoch e over it is
# EXCESS[e] on average, +-0.01 * sqrt(5) from fold to fold: one standard error is 0.01.
# Within two standard errors (0.02) the shortest is epoch 5, within one epoch 8.
EXCESS = [1.0, 0.5, 0.2, 0.1, 0.05, 0.019, 0.015, 0.012, 0.009, 0.004, 0.0]
FOLD_SPREAD = 0.01 * math.sqrt(5) * np.array([1.0, -1.0, 1.0, -1.0, 0.0])


def _disagreeing_curves():
    return [[0.5 + excess + (spread if excess else 0.0) for excess in EXCESS]
            for spread in FOLD_SPREAD]


def _paths(curves, alphas):
    """Fold paths whose every column is the network's curve (shrinking never helps)."""
    return [[[loss] * len(alphas) for loss in curve] for curve in curves]


def _disagreeing_fold_curves(self, X, budget, seed):
    return _paths(_disagreeing_curves(), self._selection_rule.alphas), [30] * CV_FOLDS, None


def test_the_fixed_curves_separate_the_rules():
    curves, weights = _disagreeing_curves(), [30] * CV_FOLDS
    assert best_epoch(curves, weights, 2.0)[0] == 5
    assert best_epoch(curves, weights, 1.0)[0] == 8
    assert best_epoch(curves, weights, 0.0)[0] == 10
    # Against the start, epochs 1 to 9 gain 1 - EXCESS[e] in every fold (the fold's spread
    # cancels in the paired difference), epoch 10 gains 1 on average but +-0.01 * sqrt(5):
    # charged 2 standard errors (0.02), it is less sure than epoch 9's 0.996.
    chosen = surest_gain(_paths(curves, (1.0,)), weights)
    assert (chosen.epochs, chosen.alpha) == (9, 1.0)
    assert chosen.loss == pytest.approx(0.504)


def test_the_estimators_apply_their_documented_selection_rule(monkeypatch):
    # The reconstruction autoencoders: the surest gain over the start, epoch 9 of the
    # folds (36 optimizer steps), refit for about as many optimizer steps on all 150 rows:
    # 7 epochs of 5 steps. The shortest length within two standard errors (epoch 5) would
    # refit 4 epochs; the lowest mean (epoch 10), 8; 9 fold epochs as epochs, 9.
    monkeypatch.setattr(AutoencoderTransformer, "_fold_curves", _disagreeing_fold_curves)
    X = _curved_table(150, seed=0)
    model = AutoencoderTransformer(n_components=2, hidden_layer_sizes=(4,), random_state=0).fit(X)
    assert len(model.history_) == 7
    assert sum(row["train_batches"] for row in model.history_) == 35
    assert model.best_validation_score_ == pytest.approx(-0.504)
    # AutoencoderImputer: the lowest mean, refit for as many epochs (documented LOWEST_MEAN).
    monkeypatch.setattr(TabularAE, "_fold_curves", _disagreeing_fold_curves)
    X[np.random.RandomState(0).rand(*X.shape) < 0.1] = np.nan
    imputer = AutoencoderImputer(n_components=2, hidden_layer_sizes=(4,), random_state=0).fit(X)
    assert len(imputer.estimator_.history_) == 10


# Three folds, epochs 0 to 2, the start's loss 1.0. Epoch 1 gains 0.1 in every fold; epoch 2
# gains 0.3 on average but loses in one fold.
SURE_THEN_LUCKY = [[1.0, 0.9, 0.5], [1.0, 0.9, 0.4], [1.0, 0.9, 1.2]]


def test_the_surest_gain_trains_where_the_shortest_not_worse_keeps_the_start():
    weights = [10, 10, 10]
    # The lowest mean (epoch 2) is not surely below the start: the old rule keeps the start.
    assert best_epoch(SURE_THEN_LUCKY, weights, 2.0)[0] == 0
    # Epoch 1 is below the start in every fold by the same 0.1: a sure gain.
    assert surest_gain(_paths(SURE_THEN_LUCKY, (1.0,)), weights).epochs == 1


def test_the_surest_gain_keeps_the_start_unless_a_gain_is_sure():
    weights = [10, 10, 10]
    lucky = [[1.0, 1.0, 0.5], [1.0, 1.0, 0.4], [1.0, 1.0, 1.2]]  # only the lucky epoch 2
    chosen = surest_gain(_paths(lucky, (1.0,)), weights)
    assert (chosen.epochs, chosen.alpha, chosen.loss) == (0, 1.0, 1.0)
    # A gain below the float rounding of the losses is a tie, and ties keep the start.
    flat = [[1.0, 1.0 - 1e-7], [1.0, 1.0 - 1e-7]]
    assert surest_gain(_paths(flat, (1.0,)), [10, 10]).epochs == 0
    # Without any loss: the start, by charge 0.
    assert surest_gain(_paths([[1.0], [1.0]], (0.5, 1.0)), [10, 10], alphas=(0.5, 1.0)).epochs == 0


def test_the_surest_gain_shrinks_where_half_way_is_surer():
    # Columns alpha = 0.5 and 1. Half way gains 0.1 in every fold; the trained network gains
    # 0.15 on average, from 0.35 to -0.05: less surely.
    paths = [[[1.0, 1.0], [0.9, 0.65]], [[1.0, 1.0], [0.9, 1.05]], [[1.0, 1.0], [0.9, 0.85]]]
    chosen = surest_gain(paths, [10, 10, 10], alphas=(0.5, 1.0))
    assert (chosen.epochs, chosen.alpha) == (1, 0.5)
    assert chosen.loss == pytest.approx(0.9)
    # Equally sure gains (the same in every fold) tie: the smaller step toward the network.
    same = [[[1.0, 1.0], [0.9, 0.9]], [[1.0, 1.0], [0.9, 0.9]]]
    assert surest_gain(same, [10, 10], alphas=(0.5, 1.0)).alpha == 0.5
    # The rule of an estimator: SUREST_GAIN scores quarters of the way.
    assert SUREST_GAIN.alphas == (0.25, 0.5, 0.75, 1.0)
    assert SHORTEST_NOT_WORSE.alphas == LOWEST_MEAN.alphas == (1.0,)
    assert choose_training(SHORTEST_NOT_WORSE, _paths(SURE_THEN_LUCKY, (1.0,)), [1, 1, 1]).epochs == 0


def test_by_rows_the_surest_gain_charges_a_gain_that_few_rows_carry():
    # Two folds of 10 rows: the trained network gains 0.05 on average in both folds, but in
    # each fold one row gains 0.5 and the nine others nothing. Fold by fold the gain is sure
    # (the same in both); over the 20 rows it is not (standard error 0.05 > 0.025).
    paths = _paths([[1.0, 0.95], [1.0, 0.95]], (1.0,))
    row_moments = [[[[10, 0.0, 0.0]], [[10, -0.5, 0.25]]]] * 2
    assert surest_gain(paths, [10, 10]).epochs == 1
    assert surest_gain(paths, [10, 10], row_moments=row_moments).epochs == 0
    # The same mean gain spread evenly over the rows (every row -0.05) is sure by rows too.
    even = [[[[10, 0.0, 0.0]], [[10, -0.5, 0.025]]]] * 2
    chosen = surest_gain(paths, [10, 10], row_moments=even)
    assert (chosen.epochs, chosen.loss) == (1, pytest.approx(0.95))
    # The library's rule takes the rows; the comparison rules ignore them.
    assert SUREST_GAIN.by_rows
    rule = dataclasses.replace(SUREST_GAIN, shrinkage_steps=0)
    assert choose_training(rule, paths, [10, 10], row_moments).epochs == 0
    assert choose_training(dataclasses.replace(rule, by_rows=False), paths, [10, 10],
                           row_moments).epochs == 1


@pytest.mark.parametrize("estimator", [AutoencoderTransformer, SparseAE])
def test_the_folds_give_row_moments_where_the_loss_has_a_per_row_form(estimator, monkeypatch):
    recorded = {}
    fold_curves = estimator._fold_curves

    def recording(self, X, budget, seed):
        recorded["folds"] = fold_curves(self, X, budget, seed)
        return recorded["folds"]

    monkeypatch.setattr(estimator, "_fold_curves", recording)
    estimator(n_components=2, hidden_layer_sizes=(4,), max_iter=20, random_state=0).fit(
        _curved_table(120, seed=1))
    paths, weights, row_moments = recorded["folds"]
    if estimator is SparseAE:  # a penalty of the batch: no per-row loss, fold by fold
        assert row_moments is None
        return
    assert len(row_moments) == len(paths) == CV_FOLDS
    for path, moments, rows in zip(paths, row_moments, weights):
        path, moments = np.asarray(path), np.asarray(moments)
        assert moments.shape == path.shape + (3,)
        assert np.all(moments[..., 0] == rows)  # every validation row, at every point
        assert np.all(moments[0, :, 1:] == 0.0)  # the start minus itself
        assert np.all(moments[1:, :, 2] > 0.0)  # rows moved
        # Equal weights (the features): the rows' mean difference is the fold's mean excess.
        np.testing.assert_allclose(moments[..., 1] / rows, path - path[0, -1], rtol=1e-9,
                                   atol=1e-12)


def _shrinking_fold_curves(alpha):
    """Fold paths on which SUREST_GAIN chooses fold epoch 5 and ``alpha`` (0: the start)."""

    def fold_curves(self, X, budget, seed):
        alphas = self._selection_rule.alphas
        chosen = alphas.index(alpha) if alpha else None
        losses = [[1.0] * len(alphas)] + [
            [0.5 if (epoch == 5 and column == chosen) else 1.0 for column in range(len(alphas))]
            for epoch in range(1, 11)
        ]
        return [losses] * CV_FOLDS, [30] * CV_FOLDS, None

    return fold_curves


def test_the_refit_is_shrunk_toward_its_start_by_the_chosen_alpha(monkeypatch):
    X = _curved_table(150, seed=0)
    weights = {}
    for alpha in (0, 0.5, 1.0):
        monkeypatch.setattr(AutoencoderTransformer, "_fold_curves", _shrinking_fold_curves(alpha))
        model = AutoencoderTransformer(n_components=2, hidden_layer_sizes=(8,),
                                       random_state=0).fit(X)
        weights[alpha] = [p.detach().clone() for p in model.module_.parameters()]
        # fold epoch 5 (20 steps), refit for as many: 4 epochs of 5 steps (none at the start)
        assert model.n_epochs_ == (0 if alpha == 0 else 4)
    start, trained, shrunk = weights[0], weights[1.0], weights[0.5]
    assert any(not torch.equal(a, b) for a, b in zip(start, trained))
    for first, last, half in zip(start, trained, shrunk):
        torch.testing.assert_close(half, first + 0.5 * (last - first), rtol=1e-5, atol=1e-6)


def test_scoring_the_path_leaves_training_unchanged():
    # PathLosses scores start + alpha * (weights - start) after each epoch and puts the
    # weights back: the same seed trains to the same weights with and without it.
    X = _curved_table(150, seed=0)
    params = dict(n_components=2, hidden_layer_sizes=(8,), max_iter=5, early_stopping=True,
                  validation_fraction=0.3, n_iter_no_change=100, random_state=0)
    path = PathLosses((0.0, 0.5))
    scored = AutoencoderTransformer(**params, callbacks=[("path", path)]).fit(X)
    plain = AutoencoderTransformer(**params).fit(X)
    for a, b in zip(scored.module_.parameters(), plain.module_.parameters()):
        assert torch.equal(a, b)
    recorded = dict(scored.net_.callbacks_)["path"]
    assert len(recorded.losses_) == 5
    # alpha = 0 is the start: its loss is the validation loss before training, every epoch.
    start = -scored.validation_scores_[0]
    np.testing.assert_allclose([row[0] for row in recorded.losses_], start, rtol=1e-6)


def test_shrink_toward_start_moves_every_parameter_along_the_segment():
    layer = torch.nn.Linear(3, 2)
    start = [torch.zeros_like(p) for p in layer.parameters()]
    end = [p.detach().clone() for p in layer.parameters()]
    shrink_toward_start(layer, start, 0.25)
    for p, e in zip(layer.parameters(), end):
        torch.testing.assert_close(p.detach(), 0.25 * e)
    shrink_toward_start(layer, start, 1.0)  # 1: unchanged
    for p, e in zip(layer.parameters(), end):
        torch.testing.assert_close(p.detach(), 0.25 * e)


def test_the_lowest_is_the_lowest_mean_over_folds_not_one_fold_s():
    # Fold 1's lowest loss is at epoch 1, the mean's at epoch 2 (0.65 against 0.725).
    curves = [[1.0, 0.5, 0.9], [1.0, 0.95, 0.4]]
    epochs, mean = best_epoch(curves, [1, 1], standard_errors=0.0)
    np.testing.assert_allclose(mean, [1.0, 0.725, 0.65])
    assert epochs == 2


def test_n_iter_counts_every_epoch_run_and_n_epochs_the_returned_weights():
    # Cross-validation that keeps the start: n_iter_ counts the folds' epochs, n_epochs_ is 0.
    X = _curved_table(60, seed=2)[:, :2]  # two columns, two components: PCA is exact
    kept = AutoencoderTransformer(n_components=2, hidden_layer_sizes=(8,), max_iter=4,
                                  random_state=0).fit(X)
    assert kept.n_epochs_ == len(kept.loss_curve_) == 0 and kept.validation_scores_ == [
        kept.best_validation_score_
    ]
    assert kept.n_iter_ == CV_FOLDS * 4  # no fold improved, none stopped before max_iter
    # A validation split: training runs past the best epoch, whose weights come back.
    X = _curved_table(1200, seed=0)
    split = AutoencoderTransformer(n_components=2, hidden_layer_sizes=(8,), max_iter=12,
                                   n_iter_no_change=3, learning_rate_init=0.05,
                                   warm_start=True, random_state=0).fit(X)
    best = int(np.argmax(split.validation_scores_))
    assert split.n_iter_ == len(split.loss_curve_) == len(split.validation_scores_) - 1
    assert split.n_epochs_ == best
    # warm_start and partial_fit go on counting, as scikit-learn's MLP does.
    before = split.n_iter_, split.n_epochs_
    split.fit(X)
    run = len(split.validation_scores_) - 1
    assert split.n_iter_ == before[0] + run == len(split.loss_curve_)
    assert split.n_epochs_ == before[1] + int(np.argmax(split.validation_scores_))
    after = split.n_iter_, split.n_epochs_
    split.partial_fit(X[:100])
    assert (split.n_iter_, split.n_epochs_) == (after[0] + 1, after[1] + 1)


def _fold_curves_with_validation_batches(monkeypatch, estimator, X, rows_per_batch):
    """The fold curves of ``estimator.fit(X)``, its validation rows scored ``rows_per_batch`` at a time."""
    from skae._engine import TrainingEngine

    get_iterator = TrainingEngine.get_iterator

    def validation_batches(self, dataset, training=False):
        batches = get_iterator(self, dataset, training=training)
        if not training:
            batches.batch_size = rows_per_batch
        return batches

    monkeypatch.setattr(TrainingEngine, "get_iterator", validation_batches)
    recorded = []
    fold_curves = type(estimator)._fold_curves

    def recording(self, X, budget, seed):
        curves, weights, row_moments = fold_curves(self, X, budget, seed)
        recorded.extend(zip(curves, row_moments))
        return curves, weights, row_moments

    monkeypatch.setattr(type(estimator), "_fold_curves", recording)
    estimator.fit(X)
    monkeypatch.undo()
    return recorded


@pytest.mark.parametrize(
    "make, missing",
    [
        (lambda: AutoencoderTransformer(n_components=2, hidden_layer_sizes=(8,), max_iter=6,
                                        random_state=0), 0.0),
        (lambda: DenoisingAE(n_components=2, hidden_layer_sizes=(8,), max_iter=6,
                             random_state=0), 0.0),
        (lambda: TabularAE(n_components=2, hidden_layer_sizes=(8,), max_iter=6, missing="learn",
                           random_state=0), 0.1),
    ],
    ids=["transformer", "denoising", "tabular_missing"],
)
def test_fold_curves_do_not_depend_on_the_validation_batches(make, missing, monkeypatch):
    # Each row's loss in float64 (a float64 copy of the network), summed in float64: a
    # row counts the same in whatever batch it is scored, on any CPU. (With per-batch
    # float32 means, the curves differed by about 1e-7.)
    X = _random_rows(3, missing=missing)
    by_size = {
        size: _fold_curves_with_validation_batches(monkeypatch, make(), X, size)
        for size in (1000, 7, 2)
    }
    assert len(by_size[1000]) == CV_FOLDS
    for size in (7, 2):
        assert [len(curve) for curve in by_size[size]] == [len(c) for c in by_size[1000]]
        for (curve, moments), (reference, reference_moments) in zip(by_size[size],
                                                                    by_size[1000]):
            np.testing.assert_allclose(curve, reference, rtol=1e-12, atol=0)
            # and the rows' moments of the surest gain's standard error
            np.testing.assert_allclose(moments, reference_moments, rtol=1e-9, atol=1e-15)
