"""Corruption of a batch of rows, as used by :class:`skae.DenoisingAE`.

Every function takes a 2-D torch tensor or NumPy array of finite values,
returns a corrupted copy of the same type (the input is never modified) and
draws its randomness
from ``generator`` (a ``torch.Generator``, or an int seed), so the same
generator state gives the same corruption.

All noises except ``"gaussian"`` choose the corrupted entries independently,
each with probability ``noise_level`` (rounded to a multiple of 2**-16): a
row has ``noise_level * n_features`` corrupted entries on average.
"""

import functools

import numpy as np
import torch

__all__ = [
    "NOISES",
    "NOISE_ALIASES",
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


def _uniform16(X, generator):
    """One random value per entry of ``X``, uniform over the integers -32768..32767, as float32.

    Four come from each 64-bit draw, about four times cheaper than
    ``torch.rand``, whose cost would otherwise dominate the corruption.
    """
    n = X.numel()
    words = _draw(torch.randint, X, generator, -(2**63), 2**63 - 1, ((n + 3) // 4,), dtype=torch.int64)
    bits = words.view(torch.int16)
    return (bits if len(bits) == n else bits[:n]).view(X.shape).float()  # (B, d)


def _indicator_below(uniform, probability, *, inplace=False, negate=False):
    """1.0 where ``uniform < t``, else 0.0, for the ``t`` of P = ``probability`` (to 2**-16).

    ``negate`` gives the complement (1.0 where ``uniform >= t``). Float
    arithmetic rather than a boolean mask: on the CPU, operations on boolean
    tensors take paths several times slower than on floats; and few
    operations, as each costs a dispatch that matters on small batches. With
    ``inplace``, ``uniform`` is overwritten (a large temporary costs page
    faults).
    """
    threshold = round(probability * 65536) - 32768
    if negate:  # uniform - t + 1 >= 1 exactly when uniform >= t (integers)
        out = uniform.sub_(threshold - 1) if inplace else uniform - (threshold - 1)
    else:  # t - uniform >= 1 exactly when uniform < t
        out = torch.sub(threshold, uniform) if not inplace else uniform.neg_().add_(threshold)
    return out.clamp_(0.0, 1.0)  # (B, d)


def _corrupter(function):
    """Wrap a tensor -> tensor corruption so that it accepts arrays, seeds and checks its input."""

    @functools.wraps(function)  # keeps the name, docstring and signature
    def wrapper(X, noise_level, generator=None, **kwargs):
        tensor, to_output = _as_tensor(X)
        _check_2d(tensor)
        generator = _as_generator(generator, tensor.device)
        return to_output(function(tensor, float(noise_level), generator, **kwargs))

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
    return noise.mul_(noise_level).add_(X)  # (B, d), in place on our own tensor


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
    keep = _indicator_below(_uniform16(X, generator), noise_level, inplace=True, negate=True)
    return X * keep.to(X.dtype)  # (B, d)


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
    uniform = _uniform16(X, generator)  # (B, d)
    salt = _indicator_below(uniform, noise_level / 2).to(X.dtype)  # probability noise_level / 2
    hit = _indicator_below(uniform, noise_level, inplace=True).to(X.dtype)  # salt or pepper
    # lerp is exact at weights 0 and 1: hit entries become low, then salt ones high.
    X_noisy = torch.lerp(X, low.expand_as(X), hit)  # (B, d)
    return X_noisy.lerp_(high.expand_as(X), salt)  # (B, d)


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
    n_rows, n_columns = X.shape
    hit = _indicator_below(_uniform16(X, generator), noise_level, inplace=True).to(X.dtype)
    # The donor row of each entry, uniform over the batch (to 2**-16), as a flat index.
    index_dtype = torch.int32 if X.numel() < 2**31 else torch.int64
    donors = _uniform16(X, generator).add_(32768.0).mul_(n_rows / 65536.0).to(index_dtype)
    columns = torch.arange(n_columns, dtype=index_dtype, device=X.device)  # (d,)
    flat = donors.mul_(n_columns).add_(columns).view(-1)  # (B * d,)
    swapped = X.reshape(-1).index_select(0, flat).view(n_rows, n_columns)  # (B, d)
    return torch.lerp(X, swapped, hit, out=swapped)  # exact at weights 0 and 1


# Noise name -> function(X, noise_level, generator).
NOISES = {
    "gaussian": gaussian_noise,
    "masking": masking_noise,
    "salt_pepper": salt_pepper_noise,
    "swap": swap_noise,
}

# Other spellings accepted for a noise name (TabularAE's former "mask").
NOISE_ALIASES = {"mask": "masking"}

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
        :func:`swap_noise`. ``"mask"`` is accepted as another spelling of
        ``"masking"``.
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
    noise = NOISE_ALIASES.get(noise, noise)
    if noise not in NOISES:
        raise ValueError(f"Unknown noise {noise!r}; choose one of {sorted(NOISES)}.")
    if noise_level < 0 or (noise in PROBABILITY_NOISES and noise_level >= 1):
        bound = "in [0, 1)" if noise in PROBABILITY_NOISES else ">= 0"
        raise ValueError(f"noise_level for noise={noise!r} must be {bound}; got {noise_level!r}.")
    return NOISES[noise](X, noise_level, generator)
