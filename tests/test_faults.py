"""Faults during training: divergence, KeyboardInterrupt, resuming with warm_start / partial_fit."""

import numpy as np
import pytest
import torch
from sklearn.exceptions import NotFittedError
from skorch.callbacks import Callback

from skae import AutoencoderTransformer, DivergenceError

SMALL = dict(hidden_layer_sizes=(8,), max_iter=3, batch_size=16, early_stopping=False, random_state=0)


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


# ------------------------------------------------------------ interruption
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


@pytest.mark.parametrize("during", ["epoch", "batch"])
def test_keyboard_interrupt_leaves_a_usable_model_and_warns(X, during):
    ae = AutoencoderTransformer(**{**SMALL, "max_iter": 10}, callbacks=[InterruptAt(2, during)])
    with pytest.warns(RuntimeWarning, match="interrupted at epoch 2"):
        ae.fit(X)
    assert ae.n_iter_ == 2
    assert len(ae.loss_curve_) == (2 if during == "epoch" else 1)
    codes = ae.transform(X)
    assert codes.shape == (60, 2) and np.all(np.isfinite(codes))
    ae.partial_fit(X)  # and training can go on
    assert ae.n_iter_ == 3


class RecordWeights(Callback):
    """Copies of the weights at the start of training and at the end of every epoch."""

    def initialize(self):
        self.weights = []
        return self

    def on_train_begin(self, net, **kwargs):
        self.weights.append({k: v.clone() for k, v in net.module_.state_dict().items()})

    def on_epoch_end(self, net, **kwargs):
        self.weights.append({k: v.clone() for k, v in net.module_.state_dict().items()})


def test_keyboard_interrupt_with_early_stopping_keeps_the_best_weights(X):
    ae = AutoencoderTransformer(
        **{**SMALL, "max_iter": 10, "early_stopping": True, "learning_rate_init": 0.05},
        callbacks=[InterruptAt(4), ("record", RecordWeights())],
    )
    with pytest.warns(RuntimeWarning, match="interrupted"):
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
