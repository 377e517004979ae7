"""skae's random streams: where each one's seed comes from, and torch's global generators.

A fit's randomness comes from ``random_state`` alone. Each stream a fit
needs (the training engine's shuffles and corruption, a fold's network, a
greedy pretraining step, an inner autoencoder, an ensemble member) is a
``torch.Generator`` made by ``torch_generator`` from a seed that
``draw_seed`` takes from the stream above it: ``random_state`` (an int, a
``RandomState`` or None) or a parent ``torch.Generator``. Deriving every
stream the same way keeps the same ``random_state`` giving the same numbers.

Everything skae draws itself (the validation split, the shuffles, the
corruption of a batch) comes from the training engine's own
``torch.Generator``. torch's layers take no generator: their initialization,
dropout and the variational noise draw from torch's global generators. For
those, ``seeded_torch`` seeds the CPU generator and the training device's
(from a seed drawn from ``random_state`` or from the engine's generator) and
restores them on exit, so that a fit is reproducible and leaves the caller's
random streams as they were. ``torch.manual_seed`` would reseed every CUDA
and MPS device as well, and leave them reseeded: each fit would reset the
user's GPU random stream.

Two fits running at the same time in threads of one process share these
global generators; their layer initializations and dropout masks may then
interleave (each fit's own draws, from its engine's generator, do not).
"""

from contextlib import contextmanager

import numpy as np
import torch
from sklearn.utils import check_random_state

__all__ = ["draw_seed", "seeded_torch", "torch_generator"]

# Seeds are drawn below this bound, so that they fit a 32-bit signed integer.
SEED_BOUND = np.iinfo(np.int32).max  # 2**31 - 1

# Device types whose generators are the CPU's (or that draw nothing).
_HOST_DEVICES = ("cpu", "meta")


def draw_seed(source):
    """A seed for a new random stream, drawn from ``source``.

    Parameters
    ----------
    source : torch.Generator, int, numpy.random.RandomState or None
        The stream the seed comes from: a ``torch.Generator`` (it advances),
        or anything ``random_state`` accepts (a ``RandomState`` advances; an
        int gives the same seed every time; None draws from NumPy's global
        generator).

    Returns
    -------
    seed : int
        In ``[0, 2**31 - 1)``.

    Examples
    --------
    >>> from skae._random import draw_seed, torch_generator
    >>> draw_seed(0) == draw_seed(0)
    True
    >>> generator = torch_generator(0)
    >>> draw_seed(generator) != draw_seed(generator)  # the generator advances
    True
    """
    if isinstance(source, torch.Generator):
        return int(torch.randint(SEED_BOUND, (1,), generator=source))
    return int(check_random_state(source).randint(SEED_BOUND))


def torch_generator(seed):
    """A new CPU ``torch.Generator`` seeded with ``seed``.

    Parameters
    ----------
    seed : int
        The seed, e.g. from ``draw_seed``.

    Returns
    -------
    generator : torch.Generator

    Examples
    --------
    >>> import torch
    >>> from skae._random import torch_generator
    >>> first = torch.rand(2, generator=torch_generator(3))
    >>> bool(torch.equal(first, torch.rand(2, generator=torch_generator(3))))
    True
    """
    return torch.Generator().manual_seed(int(seed))


@contextmanager
def seeded_torch(seed, device="cpu"):
    """Run the body with torch's CPU generator, and ``device``'s, seeded from ``seed``.

    Both are restored on exit, also after an error; no other device's
    generator is read or changed.

    Parameters
    ----------
    seed : int
        The seed.
    device : str or torch.device, default="cpu"
        The device the body computes on; its generator is seeded too when it
        is an accelerator (e.g. ``"cuda:1"``).

    Examples
    --------
    >>> import torch
    >>> from skae._random import seeded_torch
    >>> state = torch.get_rng_state()
    >>> with seeded_torch(0):
    ...     a = torch.rand(2)
    >>> with seeded_torch(0):
    ...     b = torch.rand(2)
    >>> bool(torch.equal(a, b)), bool(torch.equal(torch.get_rng_state(), state))
    (True, True)
    """
    device = torch.device(device)
    if device.type in _HOST_DEVICES:
        with torch.random.fork_rng(devices=[]):
            torch.default_generator.manual_seed(seed)
            yield
        return
    module = torch.get_device_module(device.type)
    index = module.current_device() if device.index is None else device.index
    with torch.random.fork_rng(devices=[index], device_type=device.type):
        torch.default_generator.manual_seed(seed)
        if device.type == "cuda":
            torch.cuda.default_generators[index].manual_seed(seed)
        else:  # a single-device accelerator such as MPS
            module.manual_seed(seed)
        yield
