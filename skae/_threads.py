"""How many threads torch may use inside one ``fit`` or ``transform``."""

import os
from contextlib import contextmanager

import torch


def resolve_n_threads(n_jobs):
    """Translate scikit-learn's ``n_jobs`` into a number of torch threads.

    ``None`` means "what this process was given": ``OMP_NUM_THREADS`` when it is
    set (joblib's loky workers set it to their share of the cores), else
    torch's current setting. ``-1`` means all cores, ``-2`` all but one, and so on.
    """
    if n_jobs is None:
        budget = os.environ.get("OMP_NUM_THREADS", "")
        return int(budget) if budget.isdigit() and int(budget) > 0 else torch.get_num_threads()
    cpus = os.cpu_count() or 1
    return max(1, n_jobs if n_jobs > 0 else cpus + 1 + n_jobs)


@contextmanager
def torch_threads(n_jobs):
    """Run the body with torch limited to ``resolve_n_threads(n_jobs)`` threads.

    torch's thread count is global to the process; it is restored on exit.
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
