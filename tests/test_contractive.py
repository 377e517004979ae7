"""ContractiveAE and the Jacobian penalty: exact, differentiable, and it contracts the code."""

import numpy as np
import pytest
import torch
from sklearn.datasets import load_digits
from sklearn.decomposition import PCA
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler
from sklearn.utils._param_validation import InvalidParameterError

from skae import AutoencoderTransformer, ContractiveAE
from skae.nn import LinearSkip, make_mlp
from skae.penalties import (
    contractive,
    jacobian_norm_autograd,
    jacobian_norm_closed_form,
    jacobian_norm_layerwise,
)

NET = dict(n_components=8, max_iter=30, random_state=0)
SMALL = dict(n_components=4, hidden_layer_sizes=(8,), max_iter=3, batch_size=64, random_state=0)


def explicit_jacobian_norms(encoder, X):
    """Row by row, with torch.autograd.functional.jacobian: slow but plainly right."""
    return torch.stack(
        [
            torch.autograd.functional.jacobian(lambda x: encoder(x[None])[0], row).pow(2).sum()
            for row in X
        ]
    )


@pytest.mark.parametrize("activation", ["sigmoid", "tanh", "identity"])
def test_closed_form_and_autograd_agree_on_one_layer(activation):
    torch.manual_seed(0)
    layer = torch.nn.Linear(6, 4)
    modules = {"sigmoid": torch.nn.Sigmoid(), "tanh": torch.nn.Tanh(), "identity": torch.nn.Identity()}
    encoder = torch.nn.Sequential(layer, modules[activation])
    X = torch.randn(20, 6) * 2
    closed = jacobian_norm_closed_form(encoder(X), layer.weight, activation, reduction="none")
    autograd = jacobian_norm_autograd(encoder, X, reduction="none")
    explicit = explicit_jacobian_norms(encoder, X)
    torch.testing.assert_close(closed, autograd, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(closed, explicit, rtol=1e-5, atol=1e-6)
    assert closed.std() > 0 or activation == "identity"  # it does depend on the row


def test_autograd_is_exact_on_a_deeper_encoder_and_differentiable():
    torch.manual_seed(0)
    encoder = torch.nn.Sequential(
        torch.nn.Linear(5, 7), torch.nn.Tanh(), torch.nn.Linear(7, 6), torch.nn.ReLU(),
        torch.nn.Linear(6, 3),
    )
    X = torch.randn(16, 5)
    norms = jacobian_norm_autograd(encoder, X, reduction="none")
    torch.testing.assert_close(norms, explicit_jacobian_norms(encoder, X), rtol=1e-5, atol=1e-6)
    norms.mean().backward()
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in encoder[0].parameters())


def deep_encoders():
    torch.manual_seed(0)
    return {
        "relu": make_mlp([12, 9, 6, 4]),
        "tanh-sigmoid": make_mlp([12, 9, 6, 4], activation="tanh", output_activation="sigmoid"),
        "gelu-wide": make_mlp([12, 40, 4], activation="gelu", output_activation="tanh"),
        "dropout-eval": make_mlp([12, 9, 6, 4], dropout=0.5).eval(),
        "skip-sigmoid": LinearSkip(
            torch.nn.Linear(12, 4), make_mlp([12, 9, 4], activation="tanh"), activation="sigmoid"
        ),
        "skip-identity": LinearSkip(torch.nn.Linear(12, 4), make_mlp([12, 9, 6, 4])),
    }


@pytest.mark.parametrize("name", list(deep_encoders()))
def test_layerwise_matches_autograd_in_value_and_gradient(name):
    encoder = deep_encoders()[name]
    X = torch.randn(24, 12, generator=torch.Generator().manual_seed(1))
    layerwise = jacobian_norm_layerwise(encoder, X, reduction="none")
    autograd = jacobian_norm_autograd(encoder, X, reduction="none")
    torch.testing.assert_close(layerwise, autograd, rtol=1e-5, atol=1e-6)
    parameters = list(encoder.parameters())
    grads_layerwise = torch.autograd.grad(layerwise.mean(), parameters, allow_unused=True)
    grads_autograd = torch.autograd.grad(autograd.mean(), parameters, allow_unused=True)
    for a, b in zip(grads_layerwise, grads_autograd):
        assert (a is None) == (b is None)
        if a is not None:
            torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-6)


def test_layerwise_refuses_batch_norm_and_contractive_falls_back():
    torch.manual_seed(0)
    encoder = make_mlp([6, 5, 3], batch_norm=True).eval()
    X = torch.randn(10, 6)
    with pytest.raises(ValueError, match="jacobian_norm_autograd"):
        jacobian_norm_layerwise(encoder, X)
    torch.testing.assert_close(contractive(encoder, X), jacobian_norm_autograd(encoder, X))


def test_contractive_picks_the_closed_form_for_one_layer_only():
    torch.manual_seed(0)
    X = torch.randn(8, 5)
    one_layer = torch.nn.Sequential(torch.nn.Linear(5, 3), torch.nn.Sigmoid())
    code = one_layer(X)
    # Given a code, the closed form uses it as is (no forward pass of its own).
    torch.testing.assert_close(
        contractive(one_layer, X, code=code * 0 + 0.5),
        0.25**2 * one_layer[0].weight.pow(2).sum(),
    )
    torch.testing.assert_close(contractive(one_layer, X), jacobian_norm_autograd(one_layer, X))
    deep = torch.nn.Sequential(torch.nn.Linear(5, 4), torch.nn.ReLU(), torch.nn.Linear(4, 3))
    torch.testing.assert_close(contractive(deep, X), jacobian_norm_autograd(deep, X))


def held_out_jacobian(model, X):
    return float(jacobian_norm_autograd(model.module_.encoder, torch.from_numpy(X)).detach())


@pytest.mark.parametrize(
    "network",
    [dict(hidden_layer_sizes=(32,)), dict(hidden_layer_sizes=(), code_activation="sigmoid")],
    ids=["autograd", "closed-form"],
)
def test_jacobian_on_held_out_data_is_much_smaller_than_plain(digits, network):
    X_train, X_test = digits
    plain_params = {k: v for k, v in network.items() if k != "code_activation"}
    plain = AutoencoderTransformer(**NET, **plain_params).fit(X_train)
    cae = ContractiveAE(contractive_weight=0.1, **NET, **network).fit(X_train)
    assert held_out_jacobian(cae, X_test) < 0.3 * held_out_jacobian(plain, X_test)
    # ... while it still reconstructs: within 1.5x the plain autoencoder's error.
    assert -cae.score(X_test) < 1.5 * -plain.score(X_test)


def test_sigmoid_code_starts_near_pca(digits):
    X_train, X_test = digits
    # One epoch at a tiny learning rate: the model is (nearly) its starting point.
    start = dict(n_components=8, hidden_layer_sizes=(), learning_rate_init=1e-7, random_state=0)
    cae = ContractiveAE(contractive_weight=0.0, code_activation="sigmoid", **start)
    cae.partial_fit(X_train)
    plain = AutoencoderTransformer(**start).partial_fit(X_train)  # PCA's solution
    assert -cae.score(X_test) < 1.3 * -plain.score(X_test)


@pytest.mark.parametrize("hidden", [(), (16,)])
@pytest.mark.parametrize("code_activation", ["identity", "tanh", "sigmoid"])
def test_code_starts_within_5_percent_of_pca_on_standardized_data(hidden, code_activation):
    # Standardized digits: PCA scores of std up to 2.7, where an unscaled tanh or sigmoid
    # code saturates (held-out start 1.35x and 1.17x PCA's error before the code was
    # scaled into its linear range).
    X = StandardScaler().fit_transform(load_digits().data)
    X_train, X_test = train_test_split(X, test_size=0.3, random_state=0)
    pca = PCA(n_components=5).fit(X_train)
    pca_error = np.mean((pca.inverse_transform(pca.transform(X_test)) - X_test) ** 2)
    cae = ContractiveAE(
        n_components=5, code_activation=code_activation, hidden_layer_sizes=hidden,
        contractive_weight=0.0, max_iter=1, learning_rate_init=1e-9, random_state=0,
    ).fit(X_train)  # one epoch at a tiny learning rate: the start
    assert -cae.score(X_test) < 1.05 * pca_error


def test_an_overcomplete_code_learns_and_contracts(digits, plain):
    X_train, X_test = digits
    n_features = X_train.shape[1]
    network = dict(hidden_layer_sizes=(16,), max_iter=5, random_state=0)
    cae = ContractiveAE(n_components=n_features + 8, **network).fit(X_train)
    codes = cae.transform(X_test)
    assert codes.shape == (len(X_test), n_features + 8)
    assert np.all(codes.std(0) > 1e-4)
    # A plain autoencoder as wide as the input is the identity (PCA of full rank,
    # a Jacobian norm of n_features); the wider contractive code is not.
    identity = plain(n_components=n_features, **network)
    assert held_out_jacobian(cae, X_test) < 0.9 * held_out_jacobian(identity, X_test)
    assert -cae.score(X_test) < 0.3 * -plain(n_components=32, **network).score(X_test)


def test_same_random_state_same_model(digits):
    X_train, X_test = digits
    models = [ContractiveAE(**SMALL).fit(X_train) for _ in range(2)]
    np.testing.assert_array_equal(models[0].transform(X_test), models[1].transform(X_test))


@pytest.mark.parametrize(
    "params", [dict(contractive_weight=-0.1), dict(code_activation="relu")]
)
def test_invalid_parameters_fail_at_fit(digits, params):
    with pytest.raises(InvalidParameterError, match=next(iter(params))):
        ContractiveAE(**SMALL, **params).fit(digits[0])
