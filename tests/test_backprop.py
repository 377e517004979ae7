"""The hand-written backward pass gives autograd's loss and gradients, and is used where it should be."""

import pickle

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from skae import AutoencoderTransformer, ContractiveAE, DenoisingAE, SparseAE
from skae._backprop import hand_backprop
from skae.nn import Autoencoder, LinearSkip, make_mlp


def _autograd(module, X_input, X_target):
    module.zero_grad(set_to_none=True)
    reconstruction, code = module(X_input)
    loss = F.mse_loss(reconstruction, X_target)
    loss.backward()
    return loss.detach(), code.detach(), [p.grad.clone() for p in module.parameters()]


def _by_hand(module, X_input, X_target):
    module.zero_grad(set_to_none=True)
    loss, (reconstruction, code) = hand_backprop(module)(X_input, X_target)
    return loss, code, [p.grad.clone() for p in module.parameters()]


def _skip(sizes, activation, output_activation):
    return LinearSkip(
        torch.nn.Linear(sizes[0], sizes[-1]),
        make_mlp(sizes, activation=activation),
        activation=output_activation,
    )


MODULES = {
    "relu": lambda: Autoencoder(make_mlp([6, 5, 3]), make_mlp([3, 5, 6])),
    "tanh, deep": lambda: Autoencoder(
        make_mlp([6, 5, 4, 3], activation="tanh"), make_mlp([3, 4, 5, 6], activation="tanh")
    ),
    "sigmoid code and output": lambda: Autoencoder(
        make_mlp([6, 4, 3], output_activation="sigmoid"),
        make_mlp([3, 4, 6], activation="logistic", output_activation="sigmoid"),
    ),
    "linear": lambda: Autoencoder(make_mlp([6, 3]), make_mlp([3, 6])),
    "linear skip (init='pca')": lambda: Autoencoder(
        _skip([6, 5, 3], "relu", "identity"), _skip([3, 5, 6], "relu", "tanh")
    ),
}


@pytest.mark.parametrize("name", list(MODULES))
def test_loss_and_gradients_match_autograd(name):
    torch.manual_seed(0)
    module = MODULES[name]()
    X_target = torch.randn(9, 6)
    X_input = X_target + 0.1 * torch.randn(9, 6)  # a corrupted input, as DenoisingAE trains
    expected_loss, expected_code, expected_grads = _autograd(module, X_input, X_target)
    loss, code, grads = _by_hand(module, X_input, X_target)
    torch.testing.assert_close(loss, expected_loss)
    torch.testing.assert_close(code, expected_code)
    assert len(grads) == len(expected_grads)
    for grad, expected in zip(grads, expected_grads):
        torch.testing.assert_close(grad, expected, rtol=1e-5, atol=1e-6)


def test_gradients_replace_stale_ones():
    torch.manual_seed(0)
    module = MODULES["relu"]()
    X = torch.randn(9, 6)
    for p in module.parameters():
        p.grad = torch.full_like(p, 7.0)
    _, _, expected = _autograd(module, X, X)
    hand_backprop(module)(X, X)
    for p, grad in zip(module.parameters(), expected):
        torch.testing.assert_close(p.grad, grad, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("sparsity", ["l1", "kl"])
def test_code_penalty_gradient_matches_autograd(sparsity):
    from skae.penalties import kl_sparsity, kl_sparsity_and_grad, l1_activity, l1_activity_and_grad

    torch.manual_seed(0)
    module = Autoencoder(make_mlp([6, 5, 3], output_activation="sigmoid"), make_mlp([3, 5, 6]))
    module.encoder[2].bias.data[0] = 30.0  # one unit saturated at 1: the KL clamp is active
    X = torch.randn(9, 6)
    penalty, by_hand = {
        "l1": (l1_activity, l1_activity_and_grad),
        "kl": (lambda code: kl_sparsity(code, 0.1), lambda code: kl_sparsity_and_grad(code, 0.1)),
    }[sparsity]
    module.zero_grad(set_to_none=True)
    reconstruction, code = module(X)
    expected_loss = F.mse_loss(reconstruction, X) + 0.5 * penalty(code)
    expected_loss.backward()
    expected = [p.grad.clone() for p in module.parameters()]

    def code_penalty(code):
        value, grad = by_hand(code)
        return 0.5 * value, 0.5 * grad

    module.zero_grad(set_to_none=True)
    loss, _ = hand_backprop(module, code_penalty)(X, X)
    torch.testing.assert_close(loss, expected_loss.detach())
    for p, grad in zip(module.parameters(), expected):
        torch.testing.assert_close(p.grad, grad, rtol=1e-5, atol=1e-6)


UNKNOWN = {
    "dropout": lambda: Autoencoder(make_mlp([6, 5, 3], dropout=0.2), make_mlp([3, 5, 6])),
    "batch norm": lambda: Autoencoder(make_mlp([6, 5, 3], batch_norm=True), make_mlp([3, 5, 6])),
    "gelu": lambda: Autoencoder(make_mlp([6, 5, 3], activation="gelu"), make_mlp([3, 5, 6])),
    "not an Autoencoder": lambda: make_mlp([6, 3, 6]),
}


@pytest.mark.parametrize("name", list(UNKNOWN))
def test_unknown_modules_are_left_to_autograd(name):
    assert hand_backprop(UNKNOWN[name]()) is None


def test_tied_frozen_or_hooked_modules_are_left_to_autograd():
    tied = Autoencoder(make_mlp([6, 3]), make_mlp([3, 6]))
    tied.decoder[0].weight = torch.nn.Parameter(tied.encoder[0].weight.T)  # a new one: fine
    assert hand_backprop(tied) is not None
    shared = torch.nn.Linear(6, 6)
    assert hand_backprop(Autoencoder(torch.nn.Sequential(shared), torch.nn.Sequential(shared))) is None
    frozen = MODULES["relu"]()
    frozen.encoder[0].weight.requires_grad_(False)
    assert hand_backprop(frozen) is None
    hooked = MODULES["relu"]()
    hooked.encoder[1].register_forward_hook(lambda module, args, output: output * 2)
    assert hand_backprop(hooked) is None
    handle = torch.nn.modules.module.register_module_forward_hook(lambda *args: None)
    try:
        assert hand_backprop(MODULES["relu"]()) is None
    finally:
        handle.remove()
    assert hand_backprop(MODULES["relu"]()) is not None


X_SMALL = np.random.RandomState(0).normal(size=(120, 8)).astype(np.float32)


HAND_TRAINED = {
    "AutoencoderTransformer": (AutoencoderTransformer, {}),
    "DenoisingAE": (DenoisingAE, {}),
    "SparseAE l1": (SparseAE, dict(sparsity="l1", sparsity_weight=0.1)),
    "SparseAE kl": (SparseAE, dict(sparsity="kl", sparsity_weight=0.1)),
}


@pytest.mark.parametrize("name", list(HAND_TRAINED))
@pytest.mark.parametrize("init", ["pca", "random"])
def test_estimators_train_alike_by_hand_and_by_autograd(name, init, monkeypatch):
    cls, extra = HAND_TRAINED[name]
    params = dict(n_components=3, hidden_layer_sizes=(6,), init=init, max_iter=8, random_state=0)
    by_hand = cls(**params, **extra).fit(X_SMALL)
    assert by_hand.net_._hand_step() is not None
    monkeypatch.setattr(cls, "_hand_backprop_settings", lambda self: {"hand_backprop": False})
    by_autograd = cls(**params, **extra).fit(X_SMALL)
    assert by_autograd.net_._hand_step() is None
    np.testing.assert_allclose(by_hand.transform(X_SMALL), by_autograd.transform(X_SMALL), atol=1e-4)
    np.testing.assert_allclose(by_hand.loss_curve_, by_autograd.loss_curve_, rtol=1e-4)


def test_losses_with_other_terms_use_autograd():
    estimators = [
        ContractiveAE(n_components=3, hidden_layer_sizes=(6,), max_iter=2),
        AutoencoderTransformer(n_components=3, hidden_layer_sizes=(6,), max_iter=2, loss="bce"),
    ]
    X = np.random.RandomState(0).uniform(size=(40, 8))
    for estimator in estimators:
        assert estimator.fit(X).net_._hand_step() is None


def test_fitted_estimator_pickles_and_keeps_training():
    ae = AutoencoderTransformer(n_components=3, hidden_layer_sizes=(6,), max_iter=3, random_state=0)
    ae.fit(X_SMALL)
    restored = pickle.loads(pickle.dumps(ae))
    np.testing.assert_array_equal(restored.transform(X_SMALL), ae.transform(X_SMALL))
    restored.partial_fit(X_SMALL)
    assert restored.net_._hand_step() is not None
    assert not np.allclose(restored.transform(X_SMALL), ae.transform(X_SMALL))


class _CenteredSparseAE(SparseAE):
    """A SparseAE whose own penalty (not SparseAE's) pulls the code towards 0.5, plus 100."""

    def _penalty(self, output, X_input):
        return 100.0 + 10.0 * (output[1] - 0.5).pow(2).mean()


def test_a_subclass_that_overrides_the_penalty_trains_with_its_own_penalty():
    params = dict(n_components=3, hidden_layer_sizes=(6,), max_iter=8, random_state=0)
    sparse = SparseAE(**params).fit(X_SMALL)
    centered = _CenteredSparseAE(**params).fit(X_SMALL)
    assert sparse.net_._hand_step() is not None
    assert centered.net_._hand_step() is None  # autograd, through its own _penalty
    # The training loss is the subclass's: its constant 100 is in every epoch's loss...
    assert min(sparse.loss_curve_) < 100 < min(centered.loss_curve_)
    # ... and its gradient pulls the code towards 0.5, away from SparseAE's target 0.05.
    assert abs(centered.mean_activation_.mean() - 0.5) < abs(sparse.mean_activation_.mean() - 0.5)


def test_capability_flags_follow_the_hooks_a_class_defines():
    class OwnLoss(AutoencoderTransformer):
        def _training_loss(self, output, X_clean, X_input, epoch=None):
            return super()._training_loss(output, X_clean, X_input, epoch)

    class Redeclared(OwnLoss):
        _hand_backprop = True  # vouches that its loss is still the plain one

    class OwnTransform(AutoencoderTransformer):
        def transform(self, X):
            return super().transform(X)

    class PenaltyMixin:
        def _penalty(self, output, X_input):
            return output[1].abs().mean()

    class Mixed(PenaltyMixin, SparseAE):  # the mixin's penalty comes first
        pass

    assert AutoencoderTransformer._hand_backprop and AutoencoderTransformer._lazy_fit
    assert SparseAE._hand_backprop and not _CenteredSparseAE._hand_backprop
    assert not OwnLoss._hand_backprop and OwnLoss._lazy_fit and OwnLoss._network_is_transform
    assert Redeclared._hand_backprop
    assert not OwnTransform._network_is_transform and OwnTransform._hand_backprop
    assert not ContractiveAE._hand_backprop  # its penalty needs the Jacobian
    assert DenoisingAE._hand_backprop and DenoisingAE._lazy_fit  # its start is _adjust_start
    assert not Mixed._hand_backprop and Mixed._network_is_transform
    X = np.random.RandomState(0).normal(size=(40, 8))
    assert OwnLoss(n_components=3, hidden_layer_sizes=(6,), max_iter=2).fit(X).net_._hand_step() is None
    assert Redeclared(n_components=3, hidden_layer_sizes=(6,), max_iter=2).fit(X).net_._hand_step()
