"""The estimator lifecycle: what fit, partial_fit, set_params, clone, pickling and devices guarantee.

Each section is one guarantee (issue 19), each test a regression test for it:

1. A fit that fails leaves the estimator as it was: a fitted model keeps its
   weights, attributes and outputs; an unfitted one stays unfitted, so that a
   later ``partial_fit`` initializes (and validates) afresh.
2. ``warm_start`` and ``partial_fit`` train with the current parameters:
   learning rate, weight decay, batch size and early stopping are read anew at
   every call; a parameter the architecture depends on cannot change (a clear
   error names it); scores of an earlier fit do not outlive it.
3. ``validation_scores_`` starts with the starting weights' score and
   ``best_validation_score_`` is the score of the returned weights, never worse
   than PCA's (the start with ``init="pca"``) on the validation rows.
4. The supervised heads read the autoencoder's own encoding of ``X`` (a
   ``TabularAE``'s columns), so they take what it takes.
5. A pre-trained autoencoder (``refit_autoencoder=False`` or
   ``sklearn.frozen.FrozenEstimator``) is used as it is, also after ``clone``
   (``GridSearchCV``); an unfitted one with ``refit_autoencoder=False`` is
   refused.
6. One network: ``module_`` is the training engine's module, also after
   pickling, and nothing outside the engine holds device tensors (which
   skorch maps to the CPU when unpickled on a machine without the GPU).
7. Every tensor a model uses follows its network to a device (``skae.load(...,
   device=...)``, a warm call on a new device), the optimizer's state included.
8. A fit seeds torch's CPU generator and its training device's, and restores
   them: it never reseeds another device (``torch.manual_seed`` reseeds every
   CUDA and MPS device).
9. One deterministic PCA solver for the start, whatever holds the rows (an
   array, a memmap, a sparse matrix): the same rows give the same model; wide
   sparse data never need a feature-by-feature matrix.
10. The smaller promises: no unused loss criterion, one device synchronization
    per epoch, no deep copies on ``partial_fit``, determinism tags that follow
    the device, ``n_jobs=0`` refused by parameter validation.

And across them: the same ``random_state`` gives the same models in another
process (with another hash seed), and a random walk of ``fit``, ``partial_fit``,
``set_params``, failed fits, ``clone`` and pickling keeps ``transform`` in
agreement with the parameters and the width of the last call that trained.
"""

import contextlib
import copy
import io
import os
import pickle
import subprocess
import sys
import tracemalloc
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp
import torch
from sklearn.base import clone
from sklearn.decomposition import PCA
from sklearn.exceptions import NotFittedError
from sklearn.frozen import FrozenEstimator
from sklearn.model_selection import GridSearchCV
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule
from sklearn.utils._param_validation import InvalidParameterError
from skorch.callbacks import Callback

import skae
from skae import (
    AutoencoderClassifier,
    AutoencoderRegressor,
    AutoencoderTransformer,
    ContractiveAE,
    DenoisingAE,
    SparseAE,
    TabularAE,
    VariationalAE,
)
from skae._data import LazyRows, streamed_pca

TINY = dict(hidden_layer_sizes=(6,), max_iter=3, batch_size=16, random_state=0)

AUTOENCODERS = [AutoencoderTransformer, DenoisingAE, SparseAE, ContractiveAE, VariationalAE, TabularAE]


def tiny(cls, **params):
    return cls(n_components=2, **{**TINY, **params})


@pytest.fixture(scope="module")
def X():
    rng = np.random.RandomState(0)
    return (rng.normal(size=(60, 3)) @ rng.normal(size=(3, 5)) + 0.1 * rng.normal(size=(60, 5))).astype(
        np.float32
    )


def weights(estimator):
    return {name: tensor.clone() for name, tensor in estimator.module_.state_dict().items()}


def assert_same_weights(a, b):
    assert a.keys() == b.keys()
    for name in a:
        torch.testing.assert_close(a[name], b[name], rtol=0, atol=0, msg=name)


def fitted_state(estimator):
    """The plain attributes ``fit`` sets, and the network's number of epochs."""
    state = {}
    for name, value in vars(estimator).items():
        if name in estimator.get_params(deep=False):
            continue
        if name == "net_":
            state["n_epochs"] = len(value.history)
        elif isinstance(value, np.ndarray):
            state[name] = value.tolist()
        elif isinstance(value, (int, float, str, list, tuple, dict)):
            state[name] = value
    return state


class RaiseAt(Callback):
    """Raise ``RuntimeError`` at the end of the given epoch (of the engine's history)."""

    def __init__(self, epoch=1):
        self.epoch = epoch

    def on_epoch_end(self, net, **kwargs):
        if len(net.history) >= self.epoch:
            raise RuntimeError("a callback failed")


class GrabValidationRows(Callback):
    """Keep the validation rows the engine scores (``dataset_valid``)."""

    def on_epoch_end(self, net, dataset_valid=None, **kwargs):
        self.rows_ = dataset_valid


def fit_and_grab_validation_rows(ae, X):
    """Fit ``ae`` on ``X``; return the validation rows early stopping scored."""
    ae.set_params(callbacks=[("grab", GrabValidationRows())]).fit(X)
    return dict(ae.net_.callbacks_)["grab"].rows_.cpu().numpy()


# ------------------------------------------------ 1. a failed fit changes nothing
FAILURES = {
    "too few rows for early stopping": lambda ae, X: ae.set_params(early_stopping=True).fit(X[:2, :3]),
    "divergence": lambda ae, X: ae.set_params(optimizer="sgd", learning_rate_init=1e8).fit(X),
    "callback error": lambda ae, X: ae.set_params(callbacks=[RaiseAt(1)]).fit(X),
}


@pytest.mark.parametrize("failure", FAILURES)
@pytest.mark.parametrize("cls", AUTOENCODERS, ids=lambda cls: cls.__name__)
def test_a_failed_refit_leaves_the_fitted_model_as_it_was(cls, failure, X):
    ae = tiny(cls).fit(X)
    before, network, codes = fitted_state(ae), weights(ae), ae.transform(X)
    with pytest.raises((ValueError, RuntimeError, FloatingPointError)):
        FAILURES[failure](ae, X)
    ae.set_params(callbacks=None)
    assert fitted_state(ae) == before
    assert_same_weights(weights(ae), network)
    assert ae.n_features_in_ == X.shape[1] and ae.module_ is ae.net_.module_
    np.testing.assert_array_equal(ae.transform(X), codes)


@pytest.mark.parametrize("cls", AUTOENCODERS, ids=lambda cls: cls.__name__)
def test_a_failed_first_fit_leaves_the_estimator_unfitted(cls, X):
    ae = tiny(cls, early_stopping=True)
    with pytest.raises(ValueError, match="early_stopping=True needs at least 2 training rows"):
        ae.fit(X[:2, :3])  # fails after the network is built
    assert not [name for name in vars(ae) if name.endswith("_")]
    with pytest.raises(NotFittedError):
        ae.transform(X[:, :3])
    # partial_fit initializes afresh: it validates and learns the new width.
    ae.partial_fit(X)
    assert ae.n_features_in_ == X.shape[1] and ae.transform(X).shape == (len(X), 2)


@pytest.mark.parametrize("how", ["partial_fit", "warm_start"])
def test_a_failed_warm_fit_restores_weights_optimizer_generator_and_history(how, X):
    params = dict(early_stopping=False, warm_start=how == "warm_start")
    ae, twin = tiny(AutoencoderTransformer, **params).fit(X), tiny(AutoencoderTransformer, **params).fit(X)
    before, network = fitted_state(ae), weights(ae)
    ae.set_params(callbacks=[RaiseAt(4)])  # after one epoch of this call
    with pytest.raises(RuntimeError, match="a callback failed"):
        ae.partial_fit(X) if how == "partial_fit" else ae.fit(X)
    ae.set_params(callbacks=None)
    assert_same_weights(weights(ae), network)
    assert fitted_state(ae) == before and ae.n_iter_ == len(ae.history_) == 3
    # The optimizer and the random generator were restored too: training goes
    # on as if the failed call had never happened.
    ae.partial_fit(X)
    twin.partial_fit(X)
    assert_same_weights(weights(ae), weights(twin))


def test_a_failed_refit_of_a_supervised_head_leaves_it_as_it_was(X):
    y = (X[:, 0] > 0).astype(int)
    clf = AutoencoderClassifier(tiny(AutoencoderTransformer), freeze_epochs=2, max_iter=1, random_state=0)
    clf.fit(X, y)
    before, proba = fitted_state(clf), clf.predict_proba(X)
    with pytest.raises(ValueError, match="at least 2 classes"):
        clf.fit(X[:, :3], np.zeros(len(X), dtype=int))  # other width, one class
    assert fitted_state(clf) == before
    np.testing.assert_array_equal(clf.predict_proba(X), proba)
    assert list(clf.classes_) == [0, 1]


# ------------------------------- 2. warm fits train with the current parameters
def test_warm_fit_and_partial_fit_read_the_training_parameters_anew(X):
    ae = tiny(AutoencoderTransformer, warm_start=True, early_stopping=False).fit(X)
    ae.set_params(learning_rate_init=0.05, alpha=0.3, batch_size=7, max_iter=2)
    steps = lambda: int(ae.net_.optimizer_.state_dict()["state"][0]["step"])  # noqa: E731
    before = steps()
    ae.fit(X)
    (group,) = ae.net_.optimizer_.param_groups
    warmed_up = min(1.0, ae.net_.steps_taken_ / max(ae.net_.warmup_steps, 1))  # warming up?
    assert group["lr"] == pytest.approx(0.05 * warmed_up) and group["weight_decay"] == 0.3
    assert steps() - before == 2 * int(np.ceil(len(X) / 7))  # 2 epochs of batches of 7 rows
    ae.set_params(batch_size=30, learning_rate_init=0.01)
    ae.partial_fit(X)
    warmed_up = min(1.0, ae.net_.steps_taken_ / max(ae.net_.warmup_steps, 1))
    assert steps() - before == 2 * 9 + 2
    assert ae.net_.optimizer_.param_groups[0]["lr"] == pytest.approx(0.01 * warmed_up)


ARCHITECTURE_CHANGES = {
    "n_components": 3,
    "hidden_layer_sizes": (4,),
    "activation": "tanh",
    "dropout": 0.1,
    "batch_norm": True,
    "init": "random",
    "loss": "bce",
}


@pytest.mark.parametrize("how", ["partial_fit", "warm_start"])
@pytest.mark.parametrize("name", ARCHITECTURE_CHANGES)
def test_an_architecture_change_on_a_warm_fit_raises_naming_the_parameter(name, how, X):
    ae = tiny(AutoencoderTransformer, warm_start=how == "warm_start").fit(X)
    before, codes = weights(ae), ae.transform(X)
    ae.set_params(**{name: ARCHITECTURE_CHANGES[name]})
    with pytest.raises(ValueError, match=f"changed {name} from .* since its network was built"):
        ae.partial_fit(X) if how == "partial_fit" else ae.fit(X)
    assert_same_weights(weights(ae), before)
    np.testing.assert_array_equal(ae.transform(X), codes)
    assert ae.get_params()[name] == ARCHITECTURE_CHANGES[name]
    ae.set_params(warm_start=False).fit(X if name != "loss" else (X - X.min()) / np.ptp(X))
    assert ae.transform(X).shape[1] == ae.n_components  # a new fit builds the new network


@pytest.mark.parametrize(
    "cls, name, value",
    [
        (SparseAE, "sparsity", "l1"),  # the code's activation
        (ContractiveAE, "code_activation", "sigmoid"),
        (TabularAE, "missing", "learn"),  # the columns' encoding, the network's input
        (TabularAE, "categorical_features", [0]),
    ],
)
def test_what_a_subclass_builds_its_network_from_is_part_of_the_architecture(cls, name, value, X):
    ae = tiny(cls).fit(X)
    with pytest.raises(ValueError, match=f"changed {name}"):
        ae.set_params(**{name: value}).partial_fit(X)


def test_switching_early_stopping_off_between_warm_fits_stops_on_the_training_loss(X):
    ae = tiny(AutoencoderTransformer, warm_start=True, max_iter=5).fit(X)
    assert len(ae.validation_scores_) == ae.n_epochs_ + 1  # cross-validation's curve
    n_before, rows_before = ae.n_iter_, len(ae.history_)
    # Any epoch after the first misses an improvement of 1e9: patience 1 stops at the second.
    ae.set_params(early_stopping=False, tol=1e9, n_iter_no_change=1).fit(X)
    assert ae.n_iter_ - n_before == 2 == len(ae.history_) - rows_before
    assert all("valid_loss" not in row for row in ae.history_[rows_before:])
    assert not hasattr(ae, "validation_scores_") and not hasattr(ae, "best_validation_score_")


def test_a_refit_without_early_stopping_drops_the_previous_validation_scores(X):
    ae = tiny(AutoencoderTransformer).fit(X)
    assert hasattr(ae, "validation_scores_")
    ae.set_params(early_stopping=False, max_iter=2).fit(X)
    assert ae.n_iter_ == 2
    assert not hasattr(ae, "validation_scores_") and not hasattr(ae, "best_validation_score_")


# ------------------------------- 3. validation scores describe the returned weights
def _training_rows(X, X_valid):
    """The rows of ``X`` that are not among ``X_valid`` (those the start is fitted on)."""
    held_out = {row.tobytes() for row in X_valid}
    return np.array([row for row in X if row.tobytes() not in held_out])


def _pca_score(X_fit, X_valid, n_components):
    pca = PCA(n_components).fit(X_fit)
    return -np.mean((pca.inverse_transform(pca.transform(X_valid)) - X_valid) ** 2)


def test_validation_scores_start_with_the_starting_weights(X):
    # A learning rate this high makes every epoch worse than the start (PCA's solution),
    # even during the warm-up (its first steps take a hundredth of it), though not 1,000
    # times worse (a DivergenceError: 50 went there).
    ae = tiny(AutoencoderTransformer, hidden_layer_sizes=(16,), learning_rate_init=0.2, max_iter=4,
              early_stopping=True)
    X_valid = fit_and_grab_validation_rows(ae, X)
    assert len(ae.validation_scores_) == ae.n_iter_ + 1
    # The start is PCA's solution on the training rows: scored on rows it has not seen.
    X_train = _training_rows(X, X_valid)
    assert len(X_train) + len(X_valid) == len(X)
    assert ae.validation_scores_[0] == pytest.approx(_pca_score(X_train, X_valid, 2), rel=1e-4)
    assert max(ae.validation_scores_[1:]) < ae.validation_scores_[0]
    assert ae.best_validation_score_ == ae.validation_scores_[0]
    assert ae.score(X_valid) == pytest.approx(ae.best_validation_score_, rel=1e-5)


@pytest.mark.parametrize(
    "params",
    [{}, {"hidden_layer_sizes": ()}, {"activation": "tanh", "dropout": 0.1}, {"loss": "bce"}],
    ids=["relu", "linear", "tanh+dropout", "bce"],
)
def test_returned_weights_score_best_and_never_worse_than_pca_on_the_validation_rows(params, X):
    X = (X - X.min()) / np.ptp(X) if params.get("loss") == "bce" else X
    ae = AutoencoderTransformer(n_components=2, hidden_layer_sizes=(16,), max_iter=30,
                                n_iter_no_change=3, learning_rate_init=1e-2,
                                early_stopping=True, random_state=0)
    X_valid = fit_and_grab_validation_rows(ae.set_params(**params), X)
    assert len(ae.validation_scores_) == ae.n_iter_ + 1
    assert ae.best_validation_score_ == max(ae.validation_scores_)
    # The reported score is that of the returned weights...
    assert ae.score(X_valid) == pytest.approx(ae.best_validation_score_, rel=1e-5)
    # ... which are never worse than the start, PCA's solution (with the mean squared error).
    assert ae.best_validation_score_ >= ae.validation_scores_[0]
    if "loss" not in params:
        assert ae.score(X_valid) >= _pca_score(_training_rows(X, X_valid), X_valid, 2) - 1e-6


# ------------------- 4. the heads read the autoencoder's own encoding of the data
def test_a_head_encodes_through_the_autoencoders_own_encoding(mixed_table):
    table = mixed_table(n=200)  # numbers on very different scales, categories, a bool
    y = (table["income"] > 50_000).astype(int).to_numpy()
    autoencoder = TabularAE(n_components=2, hidden_layer_sizes=(8,), max_iter=3, random_state=0)
    clf = AutoencoderClassifier(autoencoder, freeze_epochs=30, max_iter=0, random_state=0)
    clf.fit(table, y)
    # With the encoder frozen, the head sees exactly the autoencoder's codes.
    np.testing.assert_allclose(clf.transform(table), clf.autoencoder_.transform(table), atol=1e-5)
    assert clf.score(table, y) > 0.8
    assert list(clf.feature_names_in_) == list(table.columns)


def test_a_head_takes_what_its_autoencoder_takes(mixed_table):
    table = mixed_table(n=200)
    y = table["income"].to_numpy()
    table.iloc[::9, 1] = np.nan  # missing cells
    autoencoder = TabularAE(n_components=2, missing="learn", hidden_layer_sizes=(8,), max_iter=3,
                            random_state=0)
    reg = AutoencoderRegressor(autoencoder, freeze_epochs=3, max_iter=2, random_state=0)
    assert reg.__sklearn_tags__().input_tags.allow_nan
    predictions = reg.fit(table, y).predict(table)
    assert predictions.shape == (len(table),) and np.all(np.isfinite(predictions))
    assert not AutoencoderRegressor().__sklearn_tags__().input_tags.allow_nan


# ---------------- 5. a pre-trained autoencoder stays pre-trained, through clone too
@pytest.fixture(scope="module")
def pretrained(X):
    """An autoencoder trained on other rows than ``X``, and labels for ``X``."""
    other = np.random.RandomState(1).normal(size=(80, X.shape[1])).astype(np.float32) * 3
    return tiny(AutoencoderTransformer).fit(other), (X[:, 0] > 0).astype(int)


@pytest.mark.parametrize("how", ["refit_autoencoder=False", "FrozenEstimator"])
def test_a_pretrained_autoencoder_is_used_as_it_is_inside_a_grid_search(how, pretrained, X):
    autoencoder, y = pretrained
    weights_before, codes = weights(autoencoder), autoencoder.transform(X)
    if how == "FrozenEstimator":
        clf = AutoencoderClassifier(FrozenEstimator(autoencoder), freeze_epochs=2, max_iter=1)
    else:
        clf = AutoencoderClassifier(autoencoder, refit_autoencoder=False, freeze_epochs=2, max_iter=1)
    search = GridSearchCV(clf, {"learning_rate_init": [1e-2, 1e-1]}, cv=2).fit(X, y)
    for fitted in [search.best_estimator_, clone(clf).fit(X, y)]:
        np.testing.assert_array_equal(fitted.autoencoder_.transform(X), codes)
    assert_same_weights(weights(autoencoder), weights_before)  # and never modified


def test_an_unfitted_autoencoder_with_refit_autoencoder_false_is_refused(X):
    clf = AutoencoderClassifier(tiny(AutoencoderTransformer), refit_autoencoder=False)
    with pytest.raises(ValueError, match="refit_autoencoder=False .* is not fitted"):
        clf.fit(X, (X[:, 0] > 0).astype(int))
    assert not hasattr(clf.autoencoder, "n_features_in_")


# ------------------------------------------------------------- 6. one network
@pytest.mark.parametrize("cls", AUTOENCODERS, ids=lambda cls: cls.__name__)
def test_module_is_the_engines_module_also_after_pickling_and_cloning(cls, X):
    ae = tiny(cls).fit(X)
    assert ae.module_ is ae.net_.module_ and ae.history_ is ae.net_.history
    restored = pickle.loads(pickle.dumps(ae))
    assert restored.module_ is restored.net_.module_
    np.testing.assert_array_equal(restored.transform(X), ae.transform(X))
    restored.partial_fit(X)  # trains the one network that transform uses
    assert not np.array_equal(restored.transform(X), ae.transform(X))
    assert not hasattr(clone(ae), "module_")


def _holds_tensors(value):
    if isinstance(value, (torch.Tensor, torch.nn.Module)):
        return True
    if isinstance(value, dict):
        return any(_holds_tensors(v) for v in value.values())
    if isinstance(value, (list, tuple)):
        return any(_holds_tensors(v) for v in value)
    return False


@pytest.mark.parametrize("cls", AUTOENCODERS, ids=lambda cls: cls.__name__)
def test_only_the_engine_holds_tensors_so_a_gpu_pickle_loads_on_a_cpu(cls, X):
    # skorch pickles the engine's module and optimizer apart and maps them to
    # the CPU when the GPU they were on is missing; a tensor held anywhere else
    # would be unpickled on its original device and fail there.
    state = tiny(cls).fit(X).__getstate__()
    assert [name for name, value in state.items() if name != "net_" and _holds_tensors(value)] == []


# --------------------------------- 7. every tensor follows the network to its device
def _devices(estimator):
    """The devices of the network's tensors and of the optimizer's state."""
    net = estimator.net_
    tensors = [*net.module_.parameters(), *net.module_.buffers()]
    tensors += [t for state in net.optimizer_.state.values() for t in state.values()
                if isinstance(t, torch.Tensor) and t.dim()]
    return {t.device.type for t in tensors}


@pytest.mark.filterwarnings("ignore:.*meta parameter")  # loading into "meta" copies nothing
@pytest.mark.parametrize("cls", AUTOENCODERS, ids=lambda cls: cls.__name__)
def test_a_model_loaded_onto_another_device_has_all_its_tensors_there(
    cls, X, mixed_table, tmp_path, monkeypatch
):
    # "meta" stands for a GPU here: a device other than the one the model was saved on,
    # which the device parameter's check (a device this machine has) is told to accept.
    available = skae._validation.device_problem
    monkeypatch.setattr(
        skae._validation, "device_problem", lambda device: None if device == "meta" else available(device)
    )
    data = mixed_table(n=60) if cls is TabularAE else X
    ae = tiny(cls).fit(data)
    skae.save(ae, tmp_path / "m.skae")
    loaded = skae.load(tmp_path / "m.skae", device="meta")
    assert _devices(loaded) == {"meta"}
    assert [name for name, value in vars(loaded).items() if name != "net_" and _holds_tensors(value)] == []


def test_a_new_device_between_warm_calls_moves_the_weights_and_the_optimizer_state(X):
    ae = tiny(AutoencoderTransformer).fit(X)
    n_states = len(ae.net_.optimizer_.state)
    ae.net_.configure(device="meta")  # what a warm fit after set_params(device=...) does
    assert _devices(ae) == {"meta"}
    state = ae.net_.optimizer_.state
    assert len(state) == n_states and all("exp_avg" in moments for moments in state.values())
    assert set(ae.net_.optimizer_.param_groups[0]["params"]) == set(ae.module_.parameters())


# ------------------------------ 8. torch's generators: only those a fit uses, restored
def test_a_fit_reseeds_no_other_device_and_leaves_the_global_streams_as_they_were(X, monkeypatch):
    def refusal(name):  # one function per name: torch._dynamo indexes them
        def refuse(seed):
            raise AssertionError(f"a fit must not call {name}, which reseeds every device")

        return refuse

    for module, name in [(torch, "manual_seed"), (torch.cuda, "manual_seed_all"), (torch.mps, "manual_seed")]:
        monkeypatch.setattr(module, name, refusal(f"{module.__name__}.{name}"))
    state = torch.get_rng_state()
    first = tiny(AutoencoderTransformer, dropout=0.2).fit(X)
    first.partial_fit(X)
    AutoencoderClassifier(tiny(AutoencoderTransformer), freeze_epochs=1, max_iter=1).fit(X, X[:, 0] > 0)
    assert torch.equal(torch.get_rng_state(), state)
    second = tiny(AutoencoderTransformer, dropout=0.2).fit(X)
    second.partial_fit(X)
    np.testing.assert_array_equal(first.transform(X), second.transform(X))


# --------------------------------------- 9. one PCA solver, whatever holds the rows
def test_dense_and_sparse_input_give_the_same_model():
    # 520 x 100: scikit-learn's PCA would pick its randomized solver here.
    rng = np.random.RandomState(0)
    X = np.abs(rng.normal(size=(520, 100))).astype(np.float32)
    X[X < 1.0] = 0.0
    params = dict(n_components=5, hidden_layer_sizes=(16,), max_iter=1, early_stopping=False, random_state=0)
    dense = AutoencoderTransformer(**params).fit(X)
    sparse = AutoencoderTransformer(**params).fit(sp.csr_matrix(X))
    np.testing.assert_array_equal(sparse.transform(X), dense.transform(X))


def test_the_pca_start_of_wide_sparse_data_holds_no_feature_by_feature_matrix():
    rng = np.random.RandomState(0)
    n_samples, n_features = 300, 4000  # a float64 covariance: 128 MB
    X = sp.random(n_samples, n_features, density=0.01, random_state=0, format="csr", dtype=np.float32)
    X = X + sp.csr_matrix(rng.normal(size=(n_samples, 3)) @ (rng.random((3, n_features)) < 0.01))
    tracemalloc.start()
    try:
        components, mean = streamed_pca(LazyRows(sp.csr_matrix(X, dtype=np.float32)), 3)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 32 * 2**20
    dense = X.toarray().astype(np.float64)
    reference = PCA(3, svd_solver="full").fit(dense)
    np.testing.assert_allclose(mean, reference.mean_, atol=1e-6)
    captured = np.sum(((dense - mean) @ components.T) ** 2)
    best = np.sum(((dense - mean) @ reference.components_.T) ** 2)
    assert captured >= 0.999 * best


# ------------------------------------------------------- 10. the smaller promises
def test_the_engine_has_no_unused_criterion(X):
    assert tiny(AutoencoderTransformer).fit(X).net_.criterion_ is None


def test_the_loss_is_read_from_the_device_once_per_epoch(X, monkeypatch):
    calls = []
    for method in ("item", "tolist", "__float__"):
        original = getattr(torch.Tensor, method)
        monkeypatch.setattr(
            torch.Tensor, method, lambda self, *a, _f=original, **k: calls.append(1) or _f(self, *a, **k)
        )
    ae = tiny(AutoencoderTransformer, batch_size=4, early_stopping=False, max_iter=2)
    ae.fit(X)  # 15 batches per epoch
    # Once per epoch, and twice per training call: the divergence check scores a few
    # rows before and after it (skae._engine.CHECKED_ROWS).
    assert len(calls) <= ae.n_iter_ + 2


def test_partial_fit_makes_no_deep_copy(X, monkeypatch):
    ae = tiny(AutoencoderTransformer).fit(X)
    calls = []
    original = copy.deepcopy
    monkeypatch.setattr(copy, "deepcopy", lambda *a, **k: calls.append(1) or original(*a, **k))
    for _ in range(3):
        ae.partial_fit(X)
    assert calls == []


def test_an_estimator_that_may_train_on_cuda_is_not_tagged_deterministic(monkeypatch):
    for cuda in (False, True):
        monkeypatch.setattr(torch.cuda, "is_available", lambda: cuda)
        assert AutoencoderTransformer().__sklearn_tags__().non_deterministic is cuda
        assert AutoencoderTransformer(device="cpu").__sklearn_tags__().non_deterministic is False


def test_n_jobs_zero_is_refused_by_parameter_validation(X):
    with pytest.raises(InvalidParameterError, match="'n_jobs' parameter"):
        tiny(AutoencoderTransformer, n_jobs=0).fit(X)


# ------------------------------------------------ the same model in any process
DETERMINISM_SCRIPT = """
import hashlib
import warnings

import numpy as np
import pandas as pd

from skae import AutoencoderTransformer, DenoisingAE, SparseAE, TabularAE, VariationalAE

warnings.simplefilter("ignore")
rng = np.random.RandomState(0)
X = rng.normal(size=(80, 5)).astype(np.float32)
table = pd.DataFrame({"a": X[:, 0], "b": np.where(X[:, 1] > 0, "u", "v"), "c": X[:, 2] > 0})
small = dict(n_components=2, hidden_layer_sizes=(8,), max_iter=3, random_state=0)
digest = hashlib.sha256()
for estimator, data in [
    (AutoencoderTransformer(dropout=0.2, **small), X),
    (DenoisingAE(noise="swap", **small), X),
    (SparseAE(**small), X),
    (VariationalAE(**small), X),
    (TabularAE(**small), table),
]:
    digest.update(np.ascontiguousarray(estimator.fit(data).transform(data)).tobytes())
print(digest.hexdigest())
"""


@pytest.mark.slow
def test_the_same_random_state_gives_the_same_model_in_another_process():
    # Another interpreter with another hash seed (set and dict orders of strings
    # change with it) gives the same models, bit for bit, as this one.
    namespace = {}
    with contextlib.redirect_stdout(io.StringIO()) as printed:
        exec(DETERMINISM_SCRIPT, namespace)
    hash_seed = "2" if os.environ.get("PYTHONHASHSEED") == "1" else "1"
    result = subprocess.run(
        [sys.executable, "-c", DETERMINISM_SCRIPT],
        env={**os.environ, "PYTHONHASHSEED": hash_seed},
        cwd=Path(__file__).resolve().parents[1],
        capture_output=True,
        text=True,
        check=True,
    )
    assert result.stdout.strip() == printed.getvalue().strip()


# ------------------------------------- all of it at once: a random walk of calls
WIDTHS = (3, 5)
WALK_DATA = {
    width: np.random.RandomState(width).normal(size=(40, width)).astype(np.float32) for width in WIDTHS
}


class Lifecycle(RuleBasedStateMachine):
    """Interleaved fit, partial_fit, set_params, failed fits, clone and pickling.

    A model of what must happen runs beside the estimator: which network
    (architecture and input width) it holds and what it outputs. After every
    step, ``transform`` agrees with the model: the parameters and the width of
    the last call that trained; a call that fails changes nothing.
    """

    cls = AutoencoderTransformer

    def __init__(self):
        super().__init__()
        self.estimator = self.cls(n_components=2, hidden_layer_sizes=(4,), max_iter=2, batch_size=16,
                                  random_state=0)
        self.built = None  # (n_components, width) of the network, None when unfitted
        self.codes = None  # transform of WALK_DATA[width] after the last change

    def _trained(self, width):
        n_components = self.estimator.get_params()["n_components"]
        self.built = (n_components, width)
        self.codes = self.estimator.transform(WALK_DATA[width])
        assert self.codes.shape == (40, n_components)
        assert self.estimator.n_features_in_ == width

    def _continues(self, width):
        """Whether a warm call on ``width`` columns may continue the current network."""
        return self.built == (self.estimator.get_params()["n_components"], width)

    def _train(self, method, width):
        warm = self.built is not None and (method == "partial_fit" or self.estimator.warm_start)
        if warm and not self._continues(width):
            with pytest.raises(ValueError, match="features|since its network was built"):
                getattr(self.estimator, method)(WALK_DATA[width])
            return
        getattr(self.estimator, method)(WALK_DATA[width])
        self._trained(width)

    @rule(width=st.sampled_from(WIDTHS))
    def fit(self, width):
        self._train("fit", width)

    @rule(width=st.sampled_from(WIDTHS))
    def partial_fit(self, width):
        self._train("partial_fit", width)

    @rule(
        n_components=st.integers(1, 3),
        warm_start=st.booleans(),
        early_stopping=st.booleans(),
        learning_rate_init=st.sampled_from([1e-3, 1e-2]),
        batch_size=st.sampled_from([8, 16, 64]),
    )
    def set_params(self, **params):
        self.estimator.set_params(**params)

    @rule(width=st.sampled_from(WIDTHS), how=st.sampled_from(["fit", "partial_fit"]))
    def fail_on_missing_values(self, width, how):
        X = WALK_DATA[width].copy()
        X[3, 1] = np.nan
        with pytest.raises(ValueError, match="NaN"):
            getattr(self.estimator, how)(X)

    @rule(width=st.sampled_from(WIDTHS), how=st.sampled_from(["fit", "partial_fit"]))
    def fail_during_training(self, width, how):
        callbacks = self.estimator.callbacks
        self.estimator.set_params(callbacks=[RaiseAt(1)])
        try:
            with pytest.raises((RuntimeError, ValueError)):
                getattr(self.estimator, how)(WALK_DATA[width])
        finally:
            self.estimator.set_params(callbacks=callbacks)

    @rule()
    def clone(self):
        self.estimator = clone(self.estimator)
        self.built = self.codes = None

    @rule()
    def pickle_round_trip(self):
        self.estimator = pickle.loads(pickle.dumps(self.estimator))

    @invariant()
    def transform_agrees_with_the_model(self):
        if self.built is None:
            assert not hasattr(self.estimator, "n_features_in_")
            with pytest.raises(NotFittedError):
                self.estimator.transform(WALK_DATA[WIDTHS[0]])
            return
        n_components, width = self.built
        assert self.estimator.n_features_in_ == width
        assert self.estimator.module_ is self.estimator.net_.module_
        np.testing.assert_array_equal(self.estimator.transform(WALK_DATA[width]), self.codes)


class TabularLifecycle(Lifecycle):
    cls = TabularAE


WALK = settings(max_examples=12, stateful_step_count=10, deadline=None,
                suppress_health_check=[HealthCheck.too_slow])
TestLifecycle = Lifecycle.TestCase
TestLifecycle.settings = WALK
TestTabularLifecycle = TabularLifecycle.TestCase
TestTabularLifecycle.settings = WALK
