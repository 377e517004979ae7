"""SparseAE and its penalties: the code ends up as sparse as asked."""

import numpy as np
import pytest
import torch
from sklearn.utils._param_validation import InvalidParameterError

from skae import SparseAE
from skae.penalties import kl_sparsity, l1_activity

# Same network and training budget for the sparse and the plain autoencoder.
NET = dict(n_components=16, hidden_layer_sizes=(32,), max_iter=30, random_state=0)
SMALL = dict(n_components=4, hidden_layer_sizes=(8,), max_iter=3, batch_size=64, random_state=0)


def test_kl_penalty_matches_its_formula_and_vanishes_at_the_target():
    code = torch.tensor([[0.1, 0.9], [0.3, 0.5]])
    rho, rho_hat = 0.2, torch.tensor([0.2, 0.7])
    expected = (rho * torch.log(rho / rho_hat) + (1 - rho) * torch.log((1 - rho) / (1 - rho_hat))).sum()
    assert torch.isclose(kl_sparsity(code, rho), expected)
    assert float(kl_sparsity(torch.full((5, 3), 0.2), 0.2)) == pytest.approx(0.0, abs=1e-6)
    # Its gradient moves each unit's mean towards the target.
    code = torch.tensor([[0.6, 0.05], [0.4, 0.01]], requires_grad=True)
    kl_sparsity(code, 0.2).backward()
    assert (code.grad[:, 0] > 0).all() and (code.grad[:, 1] < 0).all()
    # Units always off or on give a finite penalty.
    assert torch.isfinite(kl_sparsity(torch.tensor([[0.0, 1.0], [0.0, 1.0]]), 0.1))


def test_l1_penalty_is_the_mean_absolute_code():
    code = torch.tensor([[1.0, -2.0, 0.0], [0.5, 0.0, -0.5]])
    assert float(l1_activity(code)) == pytest.approx(4.0 / 6.0)


@pytest.mark.parametrize("target", [0.05, 0.2])
def test_kl_mean_activation_on_held_out_data_is_close_to_the_target(digits, plain, target):
    X_train, X_test = digits
    sae = SparseAE(sparsity="kl", sparsity_target=target, **NET).fit(X_train)
    codes = sae.transform(X_test)
    assert codes.min() > 0 and codes.max() < 1  # a sigmoid code
    np.testing.assert_allclose(codes.mean(0), target, atol=0.03)
    # ... and the code still carries the data: sparsity costs less than 2x the
    # plain autoencoder's error (a sigmoid code started at 0.5, not at the
    # target, measured 6x in the same budget).
    assert -sae.score(X_test) < 2 * -plain(**NET).score(X_test)


def test_l1_code_has_far_more_zeros_than_the_plain_code(digits, plain):
    X_train, X_test = digits
    sae = SparseAE(sparsity="l1", sparsity_weight=0.1, **NET).fit(X_train)
    sparse_codes, plain_codes = sae.transform(X_test), plain(**NET).transform(X_test)

    def near_zero(codes):
        return np.mean(np.abs(codes) < 1e-3 * np.abs(codes).max())

    assert near_zero(sparse_codes) > near_zero(plain_codes) + 0.3
    assert near_zero(sparse_codes) > 0.4


@pytest.mark.parametrize("sparsity", ["kl", "l1"])
def test_mean_activation_is_the_mean_code_on_the_training_data(digits, sparsity):
    X_train = digits[0]
    sae = SparseAE(sparsity=sparsity, **SMALL).fit(X_train)
    assert sae.mean_activation_.shape == (SMALL["n_components"],)
    np.testing.assert_allclose(sae.mean_activation_, sae.transform(X_train).mean(0), rtol=1e-5)
    sae.partial_fit(X_train[:100])
    np.testing.assert_allclose(
        sae.mean_activation_, sae.transform(X_train[:100]).mean(0), rtol=1e-5, atol=1e-7
    )


@pytest.mark.parametrize("sparsity", ["kl", "l1"])
@pytest.mark.parametrize("hidden", [(16,), ()])
def test_overcomplete_code_units_learn(digits, sparsity, hidden):
    X_train, X_test = digits
    n_components = X_train.shape[1] + 36
    # early_stopping=False: the start is fitted on all training rows, so that no
    # pixel column is constant in the rows it is fitted on.
    sae = SparseAE(
        n_components=n_components, sparsity=sparsity, hidden_layer_sizes=hidden,
        max_iter=3, early_stopping=False, random_state=0,
    ).fit(X_train)
    codes = sae.transform(X_test)
    assert codes.shape == (len(X_test), n_components)
    varying = codes.std(0) > 1e-4
    # Every unit beyond PCA's rank starts on a varying input; a few ReLU units may die.
    assert varying.mean() > (0.99 if sparsity == "kl" else 0.9)


@pytest.mark.parametrize("sparsity", ["kl", "l1"])
def test_same_random_state_same_model(digits, sparsity):
    X_train, X_test = digits
    models = [SparseAE(sparsity=sparsity, **SMALL).fit(X_train) for _ in range(2)]
    np.testing.assert_array_equal(models[0].transform(X_test), models[1].transform(X_test))
    np.testing.assert_array_equal(models[0].mean_activation_, models[1].mean_activation_)


@pytest.mark.parametrize(
    "params",
    [
        dict(sparsity_target=0.0),
        dict(sparsity_target=1.0),
        dict(sparsity_target=-0.5),
        dict(sparsity_target=1.5),
        dict(sparsity_weight=-1.0),
        dict(sparsity="l2"),
    ],
)
def test_invalid_parameters_fail_at_fit(digits, params):
    with pytest.raises(InvalidParameterError, match="sparsity"):
        SparseAE(**SMALL, **params).fit(digits[0])
