"""torch's global random generators, seeded for one step of a fit and restored after it.

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

import torch

__all__ = ["seeded_torch"]

# Device types whose generators are the CPU's (or that draw nothing).
_HOST_DEVICES = ("cpu", "meta")


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
