"""skae.noise: each corruption touches the expected entries, reproducibly, on a copy."""

import numpy as np
import pytest
import torch

from skae.noise import (
    NOISES,
    corrupt,
    gaussian_noise,
    masking_noise,
    salt_pepper_noise,
    swap_noise,
)


@pytest.fixture
def X():
    # Distinct, non-zero values: any changed entry is visible.
    rng = np.random.RandomState(0)
    return rng.uniform(1.0, 2.0, size=(2000, 25)).astype(np.float32)


@pytest.mark.parametrize("level", [0.1, 0.5])
def test_masking_zeroes_the_expected_fraction(X, level):
    X_noisy = masking_noise(X, level, generator=0)
    zeroed = X_noisy == 0
    assert abs(zeroed.mean() - level) < 0.01
    # Per row, the fraction is binomial around the level.
    assert abs(zeroed.mean(1).mean() - level) < 0.01
    np.testing.assert_array_equal(X_noisy[~zeroed], X[~zeroed])


@pytest.mark.parametrize("level", [0.1, 0.5])
def test_salt_pepper_sets_the_expected_fraction_to_column_extremes(X, level):
    X_noisy = salt_pepper_noise(X, level, generator=0)
    changed = X_noisy != X
    # An entry already at its column's extreme cannot change: 2 rows in 2000.
    assert abs(changed.mean() - level) < 0.01
    low, high = X.min(0), X.max(0)
    rows, cols = np.nonzero(changed)
    at_extreme = (X_noisy[rows, cols] == low[cols]) | (X_noisy[rows, cols] == high[cols])
    assert at_extreme.all()
    salt = X_noisy[rows, cols] == high[cols]
    assert abs(salt.mean() - 0.5) < 0.03


def test_salt_pepper_with_given_bounds(X):
    X_noisy = salt_pepper_noise(X, 0.3, generator=0, low=0.0, high=10.0)
    changed = X_noisy != X
    assert set(np.unique(X_noisy[changed])) == {0.0, 10.0}
    assert abs(changed.mean() - 0.3) < 0.01


@pytest.mark.parametrize("level", [0.1, 0.5])
def test_swap_replaces_the_expected_fraction_within_columns(level):
    n_samples, n_features = 2000, 25
    # Entry (i, j) holds i * n_features + j: its value tells its row and column.
    X = np.arange(n_samples * n_features, dtype=np.float64).reshape(n_samples, n_features)
    X_noisy = swap_noise(X, level, generator=0)
    changed = X_noisy != X
    # The other row may be the row itself (probability 1 / n_samples).
    assert abs(changed.mean() - level * (1 - 1 / n_samples)) < 0.01
    np.testing.assert_array_equal(X_noisy % n_features, X % n_features)  # same column
    source_rows = X_noisy[changed] // n_features
    assert len(np.unique(source_rows)) > 0.9 * n_samples  # from rows all over the batch


def test_gaussian_changes_every_entry_with_the_given_scale(X):
    X_noisy = gaussian_noise(X, 0.3, generator=0)
    difference = X_noisy - X
    assert (difference != 0).mean() > 0.999
    assert abs(difference.std() - 0.3) < 0.01
    assert abs(difference.mean()) < 0.01


@pytest.mark.parametrize("noise", sorted(NOISES))
def test_never_modifies_the_input_and_keeps_its_type(X, noise):
    original = X.copy()
    out = corrupt(X, noise, 0.4, generator=0)
    np.testing.assert_array_equal(X, original)
    assert isinstance(out, np.ndarray) and out.dtype == X.dtype and out.shape == X.shape
    assert (out != X).any()

    tensor = torch.from_numpy(X.copy())
    before = tensor.clone()
    out = corrupt(tensor, noise, 0.4, generator=torch.Generator().manual_seed(0))
    assert torch.equal(tensor, before)
    assert isinstance(out, torch.Tensor) and out.dtype == tensor.dtype
    assert out.data_ptr() != tensor.data_ptr()


@pytest.mark.parametrize("noise", sorted(NOISES))
def test_same_generator_state_same_corruption(X, noise):
    a = corrupt(X, noise, 0.3, generator=torch.Generator().manual_seed(3))
    b = corrupt(X, noise, 0.3, generator=torch.Generator().manual_seed(3))
    c = corrupt(X, noise, 0.3, generator=torch.Generator().manual_seed(4))
    np.testing.assert_array_equal(a, b)
    assert (a != c).any()
    # An int seed is the same as a generator seeded with it.
    np.testing.assert_array_equal(corrupt(X, noise, 0.3, generator=3), a)


@pytest.mark.parametrize("noise", sorted(NOISES))
def test_zero_level_is_the_identity(X, noise):
    np.testing.assert_array_equal(corrupt(X, noise, 0.0, generator=0), X)


def test_mask_is_another_spelling_of_masking(X):
    np.testing.assert_array_equal(
        corrupt(X, "mask", 0.3, generator=0), corrupt(X, "masking", 0.3, generator=0)
    )
    with pytest.raises(ValueError, match=r"noise='masking' must be in \[0, 1\)"):
        corrupt(X, "mask", 1.0)


def test_integer_and_list_input_is_accepted():
    out = masking_noise([[1, 2, 3], [4, 5, 6]], 0.5, generator=0)
    assert isinstance(out, np.ndarray) and out.dtype == np.float64 and out.shape == (2, 3)


@pytest.mark.parametrize(
    "noise, level, message",
    [
        ("blur", 0.1, "Unknown noise"),
        ("masking", 1.0, r"in \[0, 1\)"),
        ("swap", 1.5, r"in \[0, 1\)"),
        ("salt_pepper", 1.0, r"in \[0, 1\)"),
        ("gaussian", -0.1, ">= 0"),
    ],
)
def test_corrupt_rejects_bad_arguments(X, noise, level, message):
    with pytest.raises(ValueError, match=message):
        corrupt(X, noise, level)


def test_rejects_non_2d_input():
    with pytest.raises(ValueError, match="2-D"):
        masking_noise(np.ones(5), 0.1)
