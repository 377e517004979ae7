"""DenoisingAE: it learns to undo the corruption, which touches training batches only."""

import numpy as np
import pytest
import torch
from sklearn.utils._param_validation import InvalidParameterError

from skae import AutoencoderTransformer, DenoisingAE
from skae.noise import corrupt

# Same network and training budget for the denoising and the plain autoencoder.
NET = dict(n_components=32, hidden_layer_sizes=(32,), max_iter=20, random_state=0)
SMALL = dict(n_components=4, hidden_layer_sizes=(8,), max_iter=3, batch_size=64, random_state=0)


def denoising_error(model, X_clean, X_noisy):
    return np.mean((model.inverse_transform(model.transform(X_noisy)) - X_clean) ** 2)


@pytest.mark.parametrize(
    "noise, level", [("masking", 0.3), ("gaussian", 0.2), ("salt_pepper", 0.2), ("swap", 0.3)]
)
def test_reconstructs_clean_rows_from_corrupted_ones_better_than_plain(digits, plain, noise, level):
    X_train, X_test = digits
    X_noisy = corrupt(X_test, noise, level, generator=1)
    dae = DenoisingAE(noise=noise, noise_level=level, **NET).fit(X_train)
    assert denoising_error(dae, X_test, X_noisy) < 0.8 * denoising_error(plain(**NET), X_test, X_noisy)


def test_inference_uses_the_clean_input(digits):
    X_train, X_test = digits
    dae = DenoisingAE(noise="masking", noise_level=0.5, **SMALL).fit(X_train)
    codes = dae.transform(X_test)
    np.testing.assert_array_equal(codes, dae.transform(X_test))  # no fresh noise
    with torch.no_grad():
        expected = dae.module_.encode(torch.from_numpy(X_test)).numpy()
    np.testing.assert_allclose(codes, expected, rtol=1e-5, atol=1e-6)
    reconstruction = dae.inverse_transform(codes)
    expected_score = -np.mean((reconstruction.astype(np.float64) - X_test) ** 2)
    assert dae.score(X_test) == pytest.approx(expected_score, rel=1e-4)


def test_training_sees_the_corruption(digits):
    X_train = digits[0]
    weights = [
        DenoisingAE(noise="masking", noise_level=level, **SMALL).fit(X_train).module_.state_dict()
        for level in (0.0, 0.5)
    ]
    assert any(not torch.equal(weights[0][k], weights[1][k]) for k in weights[0])


@pytest.mark.parametrize("noise", ["gaussian", "masking", "salt_pepper", "swap"])
def test_same_random_state_same_model(digits, noise):
    X_train, X_test = digits
    models = [DenoisingAE(noise=noise, noise_level=0.3, **SMALL).fit(X_train) for _ in range(2)]
    for name, tensor in models[0].module_.state_dict().items():
        assert torch.equal(tensor, models[1].module_.state_dict()[name]), name
    np.testing.assert_array_equal(models[0].transform(X_test), models[1].transform(X_test))
    other = DenoisingAE(noise=noise, noise_level=0.3, **{**SMALL, "random_state": 1}).fit(X_train)
    assert not np.array_equal(other.transform(X_test), models[0].transform(X_test))


def test_mask_is_another_spelling_of_masking(digits):
    """``noise="mask"`` (the spelling TabularAE used) trains exactly as ``"masking"``."""
    X_train, X_test = digits
    models = [
        DenoisingAE(noise=noise, noise_level=0.3, **SMALL).fit(X_train)
        for noise in ("masking", "mask")
    ]
    np.testing.assert_array_equal(models[0].transform(X_test), models[1].transform(X_test))
    with pytest.raises(ValueError, match=r"\[0, 1\) for noise='masking'"):
        DenoisingAE(noise="mask", noise_level=1.0, **SMALL).fit(X_train)


def test_early_stopping_scores_the_denoising_of_validation_rows(digits):
    X_train = digits[0]
    params = dict(NET, max_iter=3, batch_size=256, early_stopping=True)
    dae = DenoisingAE(noise="masking", noise_level=0.5, **params).fit(X_train)
    # The validation rows are corrupted too: their loss is close to the
    # (corrupted) training loss, not to the clean reconstruction error.
    valid, train, clean = -dae.validation_scores_[-1], dae.loss_curve_[-1], -dae.score(X_train)
    assert valid > 1.5 * clean
    assert abs(valid - train) < 0.25 * abs(valid - clean), (valid, train, clean)


def test_an_overcomplete_code_learns_and_denoises_better_than_plain(digits, plain):
    X_train, X_test = digits
    n_features = X_train.shape[1]
    X_masked = corrupt(X_test, "masking", 0.3, generator=1)
    plain_error = denoising_error(plain(**NET), X_test, X_masked)
    for hidden in [(16,), ()]:
        dae = DenoisingAE(
            n_components=n_features + 16, hidden_layer_sizes=hidden, max_iter=3, random_state=0
        ).fit(X_train)
        codes = dae.transform(X_test)
        assert codes.shape == (len(X_test), n_features + 16)
        assert np.all(codes.std(0) > 1e-4)  # no unit stuck at a constant
        # A code wider than the input, yet no identity map: it undoes the masking.
        assert denoising_error(dae, X_test, X_masked) < 0.85 * plain_error


@pytest.mark.parametrize(
    "params",
    [
        dict(noise_level=-0.1),
        dict(noise="masking", noise_level=1.0),
        dict(noise="swap", noise_level=1.0),
        dict(noise="salt_pepper", noise_level=2.0),
        dict(noise="blur"),
    ],
)
def test_invalid_parameters_fail_at_fit(digits, params):
    dae = DenoisingAE(**SMALL, **params)
    with pytest.raises(InvalidParameterError, match="noise"):
        dae.fit(digits[0])


def test_gaussian_noise_level_may_exceed_one(digits):
    X_train, X_test = digits
    X_noisy = corrupt(X_test, "gaussian", 1.5, generator=1)
    dae = DenoisingAE(noise="gaussian", noise_level=1.5, **SMALL).fit(X_train)
    same_network = AutoencoderTransformer(**SMALL).fit(X_train)
    assert denoising_error(dae, X_test, X_noisy) < 0.6 * denoising_error(same_network, X_test, X_noisy)


def _partial_fit_draws(ae, X, n_calls, monkeypatch):
    """Per ``partial_fit`` call: the order the rows were drawn in and the masked cells.

    The mask is in the order the cells were drawn (row after row of the batches), so
    that a replayed corruption shows whatever the shuffle did.
    """
    corrupt_batch = DenoisingAE._corrupt
    batches = []

    def recording(self, X_batch, generator):
        corrupted = corrupt_batch(self, X_batch, generator)
        batches.append((X_batch.detach().cpu().numpy(), corrupted.detach().cpu().numpy()))
        return corrupted

    monkeypatch.setattr(DenoisingAE, "_corrupt", recording)
    draws = []
    for _ in range(n_calls):
        batches.clear()
        ae.partial_fit(X)
        clean = np.concatenate([b[0] for b in batches])
        order = np.array([np.flatnonzero((X == row).all(axis=1))[0] for row in clean])
        masked = np.concatenate([b[1] for b in batches]) == 0  # X has no zero
        draws.append((order, masked))
    return draws


def test_each_partial_fit_call_draws_a_new_shuffle_and_new_noise(monkeypatch):
    X = np.random.RandomState(0).normal(size=(64, 5)).astype(np.float32)
    params = dict(n_components=2, hidden_layer_sizes=(8,), batch_size=16, noise="masking",
                  noise_level=0.5, random_state=0)
    draws = _partial_fit_draws(DenoisingAE(**params), X, 3, monkeypatch)
    # Two independent masks at noise_level=0.5 agree on half of the cells (+-0.03 on
    # 320 cells, +-0.06 on a batch's 80): (0.3, 0.7) is far from chance, and from 1.
    for order, masked in draws:
        assert sorted(order) == list(range(64))  # one pass over every row
        assert 0.3 < masked.mean() < 0.7
        assert 0.3 < np.mean(masked[:16] == masked[16:32]) < 0.7  # afresh at every step
    # Every call continues the random stream: no call replays another's shuffle or noise.
    for later in range(1, 3):
        for earlier in range(later):
            assert not np.array_equal(draws[later][0], draws[earlier][0]), (earlier, later)
            assert 0.3 < np.mean(draws[later][1] == draws[earlier][1]) < 0.7, (earlier, later)
    # ... and the stream is random_state's: a twin draws the same, call after call.
    twin = _partial_fit_draws(DenoisingAE(**params), X, 3, monkeypatch)
    for (order, masked), (twin_order, twin_masked) in zip(draws, twin):
        np.testing.assert_array_equal(order, twin_order)
        np.testing.assert_array_equal(masked, twin_masked)
