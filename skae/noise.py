"""Corruption of a batch of rows, as used by :class:`skae.DenoisingAE`.

Every function takes a 2-D torch tensor or NumPy array, returns a corrupted
copy of the same type (the input is never modified) and draws its randomness
from ``generator`` (a ``torch.Generator``, or an int seed), so the same
generator state gives the same corruption.

All noises except ``"gaussian"`` choose the corrupted entries independently,
each with probability ``noise_level``: a row has ``noise_level * n_features``
corrupted entries on average.
"""

import numpy as np
import torch

__all__ = [
    "NOISES",
    "corrupt",
    "gaussian_noise",
    "masking_noise",
    "salt_pepper_noise",
    "swap_noise",
]


def _as_tensor(X):
    """``(tensor, to_output)``: a tensor view of ``X`` and a function returning the caller's type."""
    if isinstance(X, torch.Tensor):
        return X, lambda result: result
    array = np.asarray(X)
    if array.dtype.kind not in "fc":
        array = array.astype(np.float64)
    tensor = torch.from_numpy(np.array(array, copy=True))  # our own copy: never aliases X
    return tensor, lambda result: result.numpy()


def _as_generator(generator, device):
    if generator is None or isinstance(generator, torch.Generator):
        return generator
    return torch.Generator(device=device).manual_seed(int(generator))


def _check_2d(X):
    if X.ndim != 2:
        raise ValueError(f"Expected a 2-D batch of rows, got an array of shape {tuple(X.shape)}.")


def _draw(sampler, X, generator, *args, **kwargs):
    """Sample on the generator's device (a CPU generator may serve a CUDA batch), then move to ``X``'s."""
    device = X.device if generator is None else generator.device
    return sampler(*args, generator=generator, device=device, **kwargs).to(X.device)


def _entry_mask(X, noise_level, generator):
    """Boolean mask of the entries to corrupt, each with probability ``noise_level``."""
    return _draw(torch.rand, X, generator, X.shape) < noise_level  # (B, d)


def _corrupter(function):
    """Wrap a tensor -> tensor corruption so that it accepts arrays, seeds and checks its input."""

    def wrapper(X, noise_level, generator=None, **kwargs):
        tensor, to_output = _as_tensor(X)
        _check_2d(tensor)
        generator = _as_generator(generator, tensor.device)
        return to_output(function(tensor, float(noise_level), generator, **kwargs))

    wrapper.__name__ = function.__name__
    wrapper.__qualname__ = function.__qualname__
    wrapper.__doc__ = function.__doc__
    wrapper.__module__ = function.__module__
    return wrapper


@_corrupter
def gaussian_noise(X, noise_level, generator=None):
    """Add Gaussian noise N(0, noise_level**2) to every entry.

    Parameters
    ----------
    X : torch.Tensor or ndarray of shape (n_samples, n_features)
        The rows to corrupt (not modified).
    noise_level : float
        Standard deviation of the noise, >= 0.
    generator : torch.Generator or int, default=None
        Source of randomness (an int is used as a seed); ``None`` uses torch's
        global generator.

    Returns
    -------
    X_noisy : torch.Tensor or ndarray of shape (n_samples, n_features)
        A corrupted copy, of the same type as ``X``.

    Examples
    --------
    >>> import numpy as np
    >>> from skae.noise import gaussian_noise
    >>> X = np.zeros((1000, 3))
    >>> round(float(gaussian_noise(X, 0.5, generator=0).std()), 1)
    0.5
    """
    noise = _draw(torch.randn, X, generator, X.shape, dtype=X.dtype)  # (B, d)
    return X + noise_level * noise  # (B, d)


@_corrupter
def masking_noise(X, noise_level, generator=None):
    """Set each entry to zero with probability ``noise_level`` (Vincent et al., 2008).

    Parameters
    ----------
    X : torch.Tensor or ndarray of shape (n_samples, n_features)
        The rows to corrupt (not modified).
    noise_level : float
        Probability that an entry is zeroed, in [0, 1).
    generator : torch.Generator or int, default=None
        Source of randomness (an int is used as a seed); ``None`` uses torch's
        global generator.

    Returns
    -------
    X_noisy : torch.Tensor or ndarray of shape (n_samples, n_features)
        A corrupted copy, of the same type as ``X``.

    Examples
    --------
    >>> import numpy as np
    >>> from skae.noise import masking_noise
    >>> X = np.ones((1000, 10))
    >>> round(float((masking_noise(X, 0.3, generator=0) == 0).mean()), 1)
    0.3
    """
    mask = _entry_mask(X, noise_level, generator)
    return X.masked_fill(mask, 0.0)  # (B, d)


@_corrupter
def salt_pepper_noise(X, noise_level, generator=None, *, low=None, high=None):
    """Set each entry, with probability ``noise_level``, to its column's minimum or maximum.

    Each corrupted entry becomes the minimum ("pepper") or the maximum
    ("salt") of its column, with equal probability. By default the minimum
    and maximum are taken over the rows of ``X`` itself, that is over the
    batch when used in training; pass ``low`` and ``high`` to use other bounds
    (for instance the training data's range, or 0 and 1 for images).

    Parameters
    ----------
    X : torch.Tensor or ndarray of shape (n_samples, n_features)
        The rows to corrupt (not modified).
    noise_level : float
        Probability that an entry is corrupted, in [0, 1).
    generator : torch.Generator or int, default=None
        Source of randomness (an int is used as a seed); ``None`` uses torch's
        global generator.
    low, high : float or array-like of shape (n_features,), default=None
        The pepper and salt values; ``None`` uses the column minimum and
        maximum of ``X``.

    Returns
    -------
    X_noisy : torch.Tensor or ndarray of shape (n_samples, n_features)
        A corrupted copy, of the same type as ``X``.

    Examples
    --------
    >>> import numpy as np
    >>> from skae.noise import salt_pepper_noise
    >>> X = np.linspace(0, 1, 5000).reshape(1000, 5)
    >>> X_noisy = salt_pepper_noise(X, 0.2, generator=0, low=0.0, high=1.0)
    >>> round(float((X_noisy != X).mean()), 1)
    0.2
    >>> sorted(set(X_noisy[X_noisy != X].tolist()))
    [0.0, 1.0]
    """
    low = X.amin(0) if low is None else torch.as_tensor(low, dtype=X.dtype, device=X.device)
    high = X.amax(0) if high is None else torch.as_tensor(high, dtype=X.dtype, device=X.device)
    mask = _entry_mask(X, noise_level, generator)
    salt = _draw(torch.rand, X, generator, X.shape) < 0.5  # (B, d)
    extremes = torch.where(salt, high, low)  # (B, d), broadcasting the column bounds
    return torch.where(mask, extremes, X)  # (B, d)


@_corrupter
def swap_noise(X, noise_level, generator=None):
    """Replace each entry, with probability ``noise_level``, by the same column's value in a random row.

    The "swap noise" of tabular denoising autoencoders (M. Jahrer, Porto
    Seguro's Kaggle competition, 2017): the corrupted values keep each
    column's distribution. The other row is drawn uniformly from the rows of
    ``X`` (the batch, in training), independently for every entry; it may be
    the row itself, so about ``noise_level * (1 - 1 / n_samples)`` of the
    entries actually change.

    Parameters
    ----------
    X : torch.Tensor or ndarray of shape (n_samples, n_features)
        The rows to corrupt (not modified).
    noise_level : float
        Probability that an entry is swapped, in [0, 1).
    generator : torch.Generator or int, default=None
        Source of randomness (an int is used as a seed); ``None`` uses torch's
        global generator.

    Returns
    -------
    X_noisy : torch.Tensor or ndarray of shape (n_samples, n_features)
        A corrupted copy, of the same type as ``X``.

    Examples
    --------
    >>> import numpy as np
    >>> from skae.noise import swap_noise
    >>> X = np.arange(10000.0).reshape(1000, 10)
    >>> X_noisy = swap_noise(X, 0.15, generator=0)
    >>> round(float((X_noisy != X).mean()), 2)
    0.15
    >>> bool(np.all(X_noisy % 10 == X % 10))  # values stay in their column
    True
    """
    mask = _entry_mask(X, noise_level, generator)
    rows = _draw(torch.randint, X, generator, len(X), X.shape)  # (B, d)
    return torch.where(mask, X.gather(0, rows), X)  # (B, d)


# Noise name -> function(X, noise_level, generator).
NOISES = {
    "gaussian": gaussian_noise,
    "masking": masking_noise,
    "salt_pepper": salt_pepper_noise,
    "swap": swap_noise,
}

# Noises whose noise_level is a probability, which must be below 1.
PROBABILITY_NOISES = frozenset({"masking", "salt_pepper", "swap"})


def corrupt(X, noise="gaussian", noise_level=0.1, generator=None):
    """Corrupt a batch of rows with the named noise.

    Parameters
    ----------
    X : torch.Tensor or ndarray of shape (n_samples, n_features)
        The rows to corrupt (not modified).
    noise : {"gaussian", "masking", "salt_pepper", "swap"}, default="gaussian"
        The corruption: see :func:`gaussian_noise`, :func:`masking_noise`,
        :func:`salt_pepper_noise` (with the column bounds of ``X``) and
        :func:`swap_noise`.
    noise_level : float, default=0.1
        The noise's standard deviation for ``"gaussian"``, otherwise the
        probability that an entry is corrupted, in [0, 1).
    generator : torch.Generator or int, default=None
        Source of randomness (an int is used as a seed); ``None`` uses torch's
        global generator.

    Returns
    -------
    X_noisy : torch.Tensor or ndarray of shape (n_samples, n_features)
        A corrupted copy, of the same type as ``X``.

    Examples
    --------
    >>> import torch
    >>> from skae.noise import corrupt
    >>> X = torch.ones(1000, 10)
    >>> X_noisy = corrupt(X, "masking", 0.25, generator=torch.Generator().manual_seed(0))
    >>> abs(float((X_noisy == 0).float().mean()) - 0.25) < 0.02
    True
    >>> bool((X == 1).all())  # X itself is unchanged
    True
    """
    if noise not in NOISES:
        raise ValueError(f"Unknown noise {noise!r}; choose one of {sorted(NOISES)}.")
    if noise_level < 0 or (noise in PROBABILITY_NOISES and noise_level >= 1):
        bound = "in [0, 1)" if noise in PROBABILITY_NOISES else ">= 0"
        raise ValueError(f"noise_level for noise={noise!r} must be {bound}; got {noise_level!r}.")
    return NOISES[noise](X, noise_level, generator)
