"""Faults during training: divergence, KeyboardInterrupt, resuming with warm_start / partial_fit."""

import warnings

import numpy as np
import pytest
import torch
from sklearn.datasets import load_iris
from sklearn.exceptions import NotFittedError
from sklearn.model_selection import GridSearchCV
from sklearn.preprocessing import StandardScaler
from skorch.callbacks import Callback, EarlyStopping

import skae._engine
from skae import (
    AutoencoderClassifier,
    AutoencoderImputer,
    AutoencoderOutlierDetector,
    AutoencoderTransformer,
    ContractiveAE,
    DenoisingAE,
    DivergenceError,
    SparseAE,
    VariationalAE,
)
from skae._training import discard
from skae._engine import StopTraining, TrainingEngine, divergence_threshold

SMALL = dict(hidden_layer_sizes=(8,), max_iter=3, batch_size=16, early_stopping=False, random_state=0)
IMPUTER = dict(
    n_components=2, hidden_layer_sizes=(8,), max_iter=3, early_stopping=False, random_state=0
)


@pytest.fixture(scope="module")
def X():
    return np.random.RandomState(0).normal(size=(60, 5)).astype(np.float32)


def _weights(estimator):
    return {k: v.clone() for k, v in estimator.module_.state_dict().items()}


def _assert_same_weights(a, b):
    assert a.keys() == b.keys()
    for key in a:
        torch.testing.assert_close(a[key], b[key], rtol=0, atol=0)


# ---------------------------------------------------------------- divergence
def test_fresh_fit_that_diverges_leaves_the_estimator_unfitted(X):
    ae = AutoencoderTransformer(
        optimizer="sgd", learning_rate_init=1e6, init="random", **SMALL
    )
    with pytest.raises(DivergenceError, match="learning rate.*left unfitted"):
        ae.fit(X * 1e3)
    with pytest.raises(NotFittedError):
        ae.transform(X)
    assert not [name for name in vars(ae) if name.endswith("_")]


def test_refit_that_diverges_keeps_the_previous_fit(X):
    ae = AutoencoderTransformer(**SMALL).fit(X)
    codes = ae.transform(X)
    with pytest.raises(DivergenceError, match="left as it was before this call"):
        ae.fit(X.astype(np.float64) * 1e30)
    np.testing.assert_array_equal(ae.transform(X), codes)


def test_divergence_message_names_the_scale_when_values_overflow(X):
    with pytest.raises(DivergenceError, match=r"e\+30.*overflow float32.*StandardScaler"):
        AutoencoderTransformer(**SMALL).fit(X.astype(np.float64) * 1e30)


@pytest.mark.parametrize("how", ["partial_fit", "warm_start"])
def test_resumed_fit_that_diverges_restores_the_last_finite_state(X, how):
    twin = AutoencoderTransformer(**SMALL, warm_start=how == "warm_start").fit(X)
    ae = AutoencoderTransformer(**SMALL, warm_start=how == "warm_start").fit(X)
    before, n_iter, codes = _weights(ae), ae.n_iter_, ae.transform(X)
    with pytest.raises(DivergenceError, match=r"left as it was before this call \(3 epochs\)"):
        getattr(ae, "partial_fit" if how == "partial_fit" else "fit")(X * 1e30)
    _assert_same_weights(_weights(ae), before)
    assert ae.n_iter_ == n_iter == len(ae.history_) == len(ae.loss_curve_)
    np.testing.assert_array_equal(ae.transform(X), codes)
    # The optimizer and random generator were restored too: training goes on as
    # if the failed call had never happened.
    ae.partial_fit(X)
    twin.partial_fit(X)
    _assert_same_weights(_weights(ae), _weights(twin))


# Divergence that stays finite: the loss rises far above its start.
@pytest.fixture(scope="module")
def iris():
    return StandardScaler().fit_transform(load_iris().data)


def test_a_loss_far_above_its_start_is_divergence(iris):
    """lr=100 without early stopping: the loss rises by ~1e19 times in the first epoch."""
    ae = AutoencoderTransformer(n_components=2, learning_rate_init=100, early_stopping=False,
                                max_iter=5, random_state=0)
    with pytest.raises(DivergenceError, match=r"rose to .* at epoch 1, beyond .*left unfitted"):
        ae.fit(iris)
    assert not [name for name in vars(ae) if name.endswith("_")]
    # A refit at that rate leaves the previous model.
    ae.set_params(learning_rate_init=1e-3).fit(iris)
    ae.set_params(learning_rate_init=100)
    before, codes = _state(ae), ae.transform(iris)
    with pytest.raises(DivergenceError, match="left as it was before this call"):
        ae.fit(iris)
    _assert_same_state(ae, before)
    np.testing.assert_array_equal(ae.transform(iris), codes)


@pytest.mark.parametrize("fitted", [False, True])
def test_a_last_step_that_blows_up_the_model_is_divergence(iris, fitted):
    """VariationalAE.partial_fit at lr 1e6 on one batch: its epoch loss is the start's."""
    vae = VariationalAE(n_components=2, hidden_layer_sizes=(8,), random_state=0)
    if fitted:
        vae.partial_fit(iris)
    before = _state(vae)
    vae.set_params(learning_rate_init=1e6)
    with pytest.raises(DivergenceError, match="after the last step of epoch"):
        vae.partial_fit(iris)  # one batch: one step, no later loss to show its outcome
    vae.set_params(learning_rate_init=1e-3)
    _assert_same_state(vae, before)
    if not fitted:
        assert not [name for name in vars(vae) if name.endswith("_")]


def test_the_divergence_limit():
    assert divergence_threshold(2.0) == 2.0 + 2000.0  # a reconstruction loss: 1,001 times
    assert divergence_threshold(1e-9) == pytest.approx(1000.0)  # the floor of 1
    assert divergence_threshold(-50.0) == 49950.0  # a negative ELBO below 0: a rise of 50,000


@pytest.mark.parametrize(
    "make",
    [
        lambda: AutoencoderTransformer(n_components=2),
        # PCA's start is exact: a start loss of ~1e-15 that Adam's steps raise ~1e9 times
        lambda: AutoencoderTransformer(n_components=4),
        lambda: VariationalAE(n_components=2),
        lambda: VariationalAE(n_components=2, beta=4.0, kl_warmup=5),  # the loss rises by KL
        lambda: SparseAE(n_components=6),  # overcomplete
        lambda: ContractiveAE(n_components=2),
        lambda: DenoisingAE(n_components=6),  # overcomplete: a clean start, a noisy loss
    ],
    ids=["ae", "ae-exact", "vae", "vae-warmup", "sparse-over", "contractive", "denoising-over"],
)
def test_normal_training_is_never_flagged(iris, make, monkeypatch):
    """Default learning rate on StandardScaled data: the loss stays far below the limit."""
    rises = []  # (loss - start) / max(|start|, 1) at every check; the limit is 1,000
    relative_rise = skae._engine.relative_rise

    def recorded(loss, start):
        rises.append(relative_rise(loss, start))
        return rises[-1]

    monkeypatch.setattr(skae._engine, "relative_rise", recorded)
    make().set_params(hidden_layer_sizes=(16,), max_iter=10, random_state=0).fit(iris)
    assert len(rises) > 10 and max(rises) < 10


# ------------------------------------------------------------ interruption
# Ctrl-C raises KeyboardInterrupt wherever Python is: here a callback or the
# engine raises it at a chosen epoch, deterministically, without signals.
class InterruptAt(Callback):
    """Raise KeyboardInterrupt (as Ctrl-C would) at an epoch's or batch's end."""

    def __init__(self, epoch=2, during="epoch"):
        self.epoch = epoch
        self.during = during

    def on_epoch_end(self, net, **kwargs):
        if self.during == "epoch" and len(net.history) == self.epoch:
            raise KeyboardInterrupt

    def on_batch_end(self, net, **kwargs):
        if self.during == "batch" and len(net.history) == self.epoch:
            raise KeyboardInterrupt


class StopAt(Callback):
    """End training cleanly with skae's stop signal at an epoch's end."""

    def __init__(self, epoch=2):
        self.epoch = epoch

    def on_epoch_end(self, net, **kwargs):
        if len(net.history) == self.epoch:
            raise StopTraining


class EpochLog:
    """The training epochs that every engine runs, in order (one engine per entry).

    ``interrupt_at = n`` raises KeyboardInterrupt at the end of the ``n``-th
    epoch of the log, whichever engine runs it (a fold, the final fit,
    pretraining, a supervised head); ``interrupt_when(engine)`` at the end of
    the first epoch of an engine for which it is true.
    """

    def __init__(self):
        self.engines, self.interrupt_at, self.interrupt_when = [], None, None

    def __len__(self):
        return len(self.engines)

    def record(self, engine):
        self.engines.append(engine)
        if len(self.engines) == self.interrupt_at or (
            self.interrupt_when is not None and self.interrupt_when(engine)
        ):
            raise KeyboardInterrupt

    def runs(self):
        """Epochs per engine, in the order the engines first trained."""
        counts = {}
        for engine in self.engines:
            counts[id(engine)] = counts.get(id(engine), 0) + 1
        return list(counts.values())


@pytest.fixture
def epochs(monkeypatch):
    log = EpochLog()
    run_single_epoch = TrainingEngine.run_single_epoch

    def logged(self, iterator, training, prefix, step_fn, **fit_params):
        run_single_epoch(self, iterator, training, prefix, step_fn, **fit_params)
        if training:
            log.record(self)

    monkeypatch.setattr(TrainingEngine, "run_single_epoch", logged)
    return log


def _state(estimator):
    """What a call that raises must leave as it was: parameters, attributes, weights, engine."""
    attributes = {name: value for name, value in vars(estimator).items()}
    state = {"params": estimator.get_params(deep=False), "attributes": attributes}
    net = getattr(estimator, "net_", None)
    if net is not None:
        state["weights"] = _weights(estimator)
        state["history"] = [dict(row) for row in net.history]
        state["n_iter_"] = estimator.n_iter_
        state["loss_curve_"] = list(estimator.loss_curve_)
        state["engine"] = dict(vars(net))
    return state


def _assert_same_state(estimator, before):
    after = _state(estimator)
    assert after.keys() == before.keys()
    assert after["attributes"].keys() == before["attributes"].keys()
    for name, value in before["attributes"].items():  # the very same objects
        assert name in before["params"] or after["attributes"][name] is value, name
    for key in ("params", "history", "n_iter_", "loss_curve_"):
        assert after.get(key) == before.get(key), key
    if "weights" in before:
        _assert_same_weights(after["weights"], before["weights"])
        assert after["engine"].keys() == before["engine"].keys()
        for name, value in before["engine"].items():
            assert after["engine"][name] is value, name


@pytest.mark.parametrize("during", ["epoch", "batch"])
def test_keyboard_interrupt_in_a_first_fit_reaches_the_caller_and_leaves_it_unfitted(
    X, epochs, during
):
    ae = AutoencoderTransformer(**{**SMALL, "max_iter": 10}, callbacks=[InterruptAt(2, during)])
    before = _state(ae)
    with pytest.raises(KeyboardInterrupt):
        ae.fit(X)
    assert len(epochs) == (2 if during == "epoch" else 1)  # no epoch after the interrupt
    _assert_same_state(ae, before)
    assert not [name for name in vars(ae) if name.endswith("_")]
    with pytest.raises(NotFittedError):
        ae.transform(X)


def test_keyboard_interrupt_in_a_cross_validation_fold_runs_no_further_fold(X, epochs):
    ae = AutoencoderTransformer(
        **{**SMALL, "early_stopping": "auto", "max_iter": 10}, callbacks=[InterruptAt(2)]
    )
    assert ae._training_budget(len(X), reset=True, early_stopping=True).validation == "cv"
    with pytest.raises(KeyboardInterrupt):
        ae.fit(X)
    assert epochs.runs() == [2]  # the first fold's two epochs, nothing after
    assert not [name for name in vars(ae) if name.endswith("_")]


def test_keyboard_interrupt_in_a_refit_keeps_the_previous_model(X, epochs):
    """Interrupted in the final fit after cross-validation, the refit leaves the first fit."""
    params = {**SMALL, "early_stopping": "auto", "max_iter": 10, "init": "random"}
    clean = AutoencoderTransformer(**params).fit(X)
    fold_runs = epochs.runs()
    assert len(fold_runs) == 6  # five folds and the final fit
    ae = AutoencoderTransformer(**params).fit(X)
    before, codes = _state(ae), ae.transform(X)
    epochs.engines.clear()
    epochs.interrupt_at = sum(fold_runs[:5]) + 1  # the first epoch of the final fit
    with pytest.raises(KeyboardInterrupt):
        ae.fit(X)
    assert epochs.runs() == [*fold_runs[:5], 1]
    _assert_same_state(ae, before)
    np.testing.assert_array_equal(ae.transform(X), codes)
    np.testing.assert_array_equal(ae.transform(X), clean.transform(X))


@pytest.mark.parametrize("how", ["partial_fit", "warm_start"])
def test_keyboard_interrupt_in_a_resumed_fit_restores_the_last_state(X, epochs, how):
    twin = AutoencoderTransformer(**SMALL, warm_start=how == "warm_start").fit(X)
    ae = AutoencoderTransformer(**SMALL, warm_start=how == "warm_start").fit(X)
    before, codes = _state(ae), ae.transform(X)
    epochs.engines.clear()
    epochs.interrupt_at = 1 if how == "partial_fit" else 2  # after the epoch's steps
    with pytest.raises(KeyboardInterrupt):
        ae.partial_fit(X) if how == "partial_fit" else ae.fit(X)
    assert len(epochs) == epochs.interrupt_at
    _assert_same_state(ae, before)
    np.testing.assert_array_equal(ae.transform(X), codes)
    # The optimizer and the random generator were restored too: training goes
    # on as if the interrupted call had never happened.
    epochs.interrupt_at = None
    ae.partial_fit(X)
    twin.partial_fit(X)
    _assert_same_weights(_weights(ae), _weights(twin))
    assert ae.loss_curve_ == twin.loss_curve_


def test_keyboard_interrupt_in_layerwise_pretraining_reaches_the_caller(X, epochs):
    ae = AutoencoderTransformer(
        **{**SMALL, "init": "random"}, pretraining="layerwise", pretraining_max_iter=5
    )
    epochs.interrupt_at = 2  # in the first layer's pretraining
    with pytest.raises(KeyboardInterrupt):
        ae.fit(X)
    assert epochs.runs() == [2]
    assert not [name for name in vars(ae) if name.endswith("_")]


def _has_head(engine):
    return "phase" in dict(engine.callbacks_)


@pytest.mark.parametrize("fitted", [False, True])
def test_keyboard_interrupt_in_the_classifier_head_stops_it(X, epochs, fitted):
    y = (X[:, 0] > 0).astype(int)
    classifier = AutoencoderClassifier(
        AutoencoderTransformer(**SMALL), freeze_epochs=3, max_iter=3, n_neighbors=None,
        random_state=0,
    )
    if fitted:
        classifier.fit(X, y)
    before = _state(classifier)
    predictions = classifier.predict(X) if fitted else None
    epochs.engines.clear()
    epochs.interrupt_when = _has_head  # the first epoch of the frozen phase
    with pytest.raises(KeyboardInterrupt):
        classifier.fit(X, y)
    assert [_has_head(engine) for engine in epochs.engines] == [False] * 3 + [True]
    _assert_same_state(classifier, before)
    if fitted:
        np.testing.assert_array_equal(classifier.predict(X), predictions)
    else:
        assert not [name for name in vars(classifier) if name.endswith("_")]


def test_keyboard_interrupt_in_the_autoencoder_of_a_classifier_runs_no_head(X, epochs):
    y = (X[:, 0] > 0).astype(int)
    classifier = AutoencoderClassifier(
        AutoencoderTransformer(**SMALL, callbacks=[InterruptAt(2)]), n_neighbors=None
    )
    with pytest.raises(KeyboardInterrupt):
        classifier.fit(X, y)
    assert len(epochs) == 2 and not any(_has_head(engine) for engine in epochs.engines)
    assert not [name for name in vars(classifier) if name.endswith("_")]


def test_keyboard_interrupt_leaves_the_outlier_detector_and_the_imputer_as_they_were(
    X, epochs
):
    detector = AutoencoderOutlierDetector(AutoencoderTransformer(**SMALL)).fit(X)
    X_missing = X.astype(np.float64)
    X_missing[::7, 1] = np.nan
    imputer = AutoencoderImputer(**IMPUTER).fit(X_missing)
    for estimator, data in [(detector, X), (imputer, X_missing)]:
        before = _state(estimator)
        epochs.engines.clear()
        epochs.interrupt_at = 2
        with pytest.raises(KeyboardInterrupt):
            estimator.fit(data)
        assert len(epochs) == 2
        _assert_same_state(estimator, before)
        epochs.interrupt_at = None
    fresh = AutoencoderImputer(**IMPUTER)
    epochs.interrupt_at, epochs.engines[:] = 2, []
    with pytest.raises(KeyboardInterrupt):
        fresh.fit(X_missing)
    assert not [name for name in vars(fresh) if name.endswith("_")]


def test_keyboard_interrupt_stops_a_grid_search(X, epochs):
    search = GridSearchCV(
        AutoencoderTransformer(**SMALL, callbacks=[InterruptAt(2)]),
        {"n_components": [1, 2]},
        cv=2,
    )
    with pytest.raises(KeyboardInterrupt):
        search.fit(X)
    assert len(epochs) == 2  # the first candidate's first split, no further one
    assert not hasattr(search, "best_estimator_")


def test_stop_training_ends_training_cleanly(X):
    ae = AutoencoderTransformer(**{**SMALL, "max_iter": 10}, callbacks=[StopAt(2)])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ae.fit(X)
    assert ae.n_iter_ == 2 and len(ae.loss_curve_) == 2
    codes = ae.transform(X)
    assert codes.shape == (60, 2) and np.all(np.isfinite(codes))
    ae.partial_fit(X)  # and training can go on
    assert ae.n_iter_ == 3


def test_skorch_early_stopping_passed_as_a_callback_still_stops_cleanly(X):
    """skorch's ``EarlyStopping`` raises KeyboardInterrupt: taken as its stop, not Ctrl-C."""
    stopping = EarlyStopping(monitor="train_loss", patience=2, threshold=10.0, sink=discard)
    ae = AutoencoderTransformer(**{**SMALL, "max_iter": 10}, callbacks=[stopping]).fit(X)
    assert ae.n_iter_ == 3  # the first epoch sets the best loss; two more miss it


class RecordWeights(Callback):
    """Copies of the weights at the start of training and at the end of every epoch."""

    def initialize(self):
        self.weights = []
        return self

    def on_train_begin(self, net, **kwargs):
        self.weights.append({k: v.clone() for k, v in net.module_.state_dict().items()})

    def on_epoch_end(self, net, **kwargs):
        self.weights.append({k: v.clone() for k, v in net.module_.state_dict().items()})


def test_stop_training_with_early_stopping_keeps_the_best_weights(X):
    ae = AutoencoderTransformer(
        **{**SMALL, "max_iter": 10, "early_stopping": True, "learning_rate_init": 0.05},
        callbacks=[StopAt(4), ("record", RecordWeights())],
    )
    ae.fit(X)
    assert ae.n_iter_ == 4 and len(ae.validation_scores_) == 5
    # The weights returned are those of the best validation score, the start
    # included, as recorded when each epoch ended.
    recorded = dict(ae.net_.callbacks_)["record"].weights
    _assert_same_weights(_weights(ae), recorded[int(np.argmax(ae.validation_scores_))])


# ------------------------------------------------------------------ resume
def test_warm_start_continues_from_current_weights_and_optimizer_state(X):
    ae = AutoencoderTransformer(**SMALL, warm_start=True, tol=0).fit(X)
    steps = int(ae.net_.optimizer_.state_dict()["state"][0]["step"])
    at_the_end = _weights(ae)
    ae.set_params(callbacks=[("record", RecordWeights())]).fit(X)
    assert ae.n_iter_ == 6 and len(ae.loss_curve_) == 6
    assert int(ae.net_.optimizer_.state_dict()["state"][0]["step"]) == 2 * steps
    # The second call started from the weights the first one ended with.
    _assert_same_weights(dict(ae.net_.callbacks_)["record"].weights[0], at_the_end)


def test_fit_without_warm_start_restarts(X):
    ae = AutoencoderTransformer(**SMALL).fit(X)
    first = ae.transform(X)
    ae.fit(X)
    assert ae.n_iter_ == 3
    np.testing.assert_array_equal(ae.transform(X), first)  # same seed, same result


def test_partial_fit_equals_warm_start_of_one_epoch(X):
    a = AutoencoderTransformer(**SMALL).fit(X)
    b = AutoencoderTransformer(**SMALL, warm_start=True).fit(X)
    a.partial_fit(X)
    b.set_params(max_iter=1).fit(X)
    _assert_same_weights(_weights(a), _weights(b))
