"""How many threads torch may use inside one ``fit`` or ``transform``.

Why the default is one thread unless the environment says otherwise: torch's
CPU kernels run on an OpenMP pool (GNU libgomp in the PyTorch wheels) whose
idle threads spin-wait between parallel regions. When another CPU-bound
process shares the cores, every one of the thousands of small parallel
regions of a training run waits for a descheduled thread, and a fit with
two actively waiting threads takes several times longer beside a busy
process (``benchmarks/threads.py`` measures it; the benchmark report has
the figure). skae's networks are small, so a second thread
buys little on an idle machine and costs a lot on a busy one. ``n_jobs=-1``
asks for every physical core; ``OMP_WAIT_POLICY=PASSIVE`` (read once, when
torch is imported, so it must be in the environment before that) makes
several threads safe on a shared machine.

Inside joblib's loky workers (``GridSearchCV(n_jobs=k)``, ``cross_validate``)
``OMP_NUM_THREADS`` is set to the worker's share of the cores, and dask's
nanny sets it to 1 in its worker processes; ``n_jobs=None`` honours it.

torch's count is per OS thread (an OpenMP setting), and new threads start
from the last value set; the context manager restores the calling thread's
value on exit. Inter-op threads (``torch.set_num_interop_threads``) can be
set only once per process, before any inter-op work, so skae leaves them
alone; eager training does not use them.
"""

import os
from contextlib import contextmanager

import torch
from joblib import cpu_count

__all__ = ["resolve_n_threads", "torch_threads"]


def _env_threads():
    """``OMP_NUM_THREADS`` as a positive int, or ``None`` when unset or unusable."""
    value = os.environ.get("OMP_NUM_THREADS", "").strip()
    return int(value) if value.isdigit() and int(value) > 0 else None


def resolve_n_threads(n_jobs):
    """Translate scikit-learn's ``n_jobs`` into a number of torch threads.

    ``None`` means ``OMP_NUM_THREADS`` when it is set (joblib's loky workers
    set it to their share of the cores, dask's nanny to 1), else 1. A
    positive value is taken as is; ``-1`` means all physical cores available
    to the process (cgroup and affinity limits included), ``-2`` all but one,
    and so on, never fewer than 1.
    """
    if n_jobs is None:
        return _env_threads() or 1
    if n_jobs > 0:
        return int(n_jobs)
    if n_jobs == 0:
        raise ValueError("n_jobs == 0 has no meaning; use None, a positive int or -1.")
    return max(1, cpu_count(only_physical_cores=True) + 1 + int(n_jobs))


@contextmanager
def torch_threads(n_jobs):
    """Run the body with torch limited to ``resolve_n_threads(n_jobs)`` threads.

    torch's intra-op thread count is restored on exit, also after an error.
    """
    previous = torch.get_num_threads()
    wanted = resolve_n_threads(n_jobs)
    if wanted != previous:
        torch.set_num_threads(wanted)
    try:
        yield
    finally:
        if torch.get_num_threads() != previous:
            torch.set_num_threads(previous)
