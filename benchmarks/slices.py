"""Benchmark slices: plan the runs, run them through a per-run cache, write the report section.

A slice is a module of ``benchmarks`` with four functions:

* ``plan(config) -> list[dict]``: one JSON-serializable dict per run (dataset,
  seed, method, ...); ``config`` holds ``quick`` (bool), ``seeds`` (int) and
  ``data_dir`` (str or None);
* ``run_one(run) -> dict``: the result of one run, JSON-serializable scalars,
  deterministic given ``run``;
* ``report(rows, out_dir) -> str``: a markdown section from the rows (a
  DataFrame, one row per run: its keys and its results), plots written to
  ``out_dir``;
* ``main(argv=None)``, which is ``main_for(module, argv)``.

Each run's row is recorded in ``<out>/runs/<slice>.jsonl`` (:mod:`benchmarks.cache`;
committed with the report under ``docs/benchmarks/runs/``) under a key made of
the slice's name, the run's parameters and a fingerprint of the code (skae's
version and sources, and the benchmark modules the slice's runs use), so an
interrupted run resumes where it stopped, in this session or a later one, and
a change to the code runs again what it may have changed.
"""

import argparse
import json
import os
import shlex
import sys
import time
from pathlib import Path
from typing import NamedTuple

import pandas as pd

from .cache import RUNS_FOLDER, RunCache, code_fingerprint, run_key, skae_fingerprint
from .record import REPO, write_report, write_slice

__all__ = [
    "SliceRun",
    "code_fingerprint",
    "default_data_dir",
    "main_for",
    "rows_statement",
    "run_slice",
    "seeds_for",
]

# Design rows and report rows (docs/benchmarks/README.md). Seeds from 0 up are
# the design rows: what one may look at while choosing a default, a rule or a
# method (seeds 0-4 were looked at by every earlier design). Seeds from
# REPORT_FIRST_SEED up are the report rows: only ever run to produce the report.
REPORT_FIRST_SEED = 100


def seeds_for(config):
    """The seeds a slice runs: ``config["seeds"]`` of the report rows, or of the design rows.

    Examples
    --------
    >>> list(seeds_for({"seeds": 3}))
    [100, 101, 102]
    >>> list(seeds_for({"seeds": 2, "rows": "design"}))
    [0, 1]
    """
    first = 0 if config.get("rows") == "design" else REPORT_FIRST_SEED
    return range(first, first + config["seeds"])


def _span(seeds):
    if seeds == list(range(seeds[0], seeds[-1] + 1)) and len(seeds) > 2:
        return f"{seeds[0]}-{seeds[-1]}"
    return ", ".join(str(seed) for seed in seeds)


def rows_statement(seeds):
    """The sentence a report section says about its rows: which seeds, design or report rows.

    Examples
    --------
    >>> rows_statement([100, 101, 102])
    'Rows: seeds 100-102, report rows ...: run only to produce the report; no design decision saw them ...'
    >>> rows_statement([0, 1])
    'Rows: seeds 0, 1, design rows (`--design`): defaults and rules were chosen on rows like ...'
    """
    seeds = sorted({int(seed) for seed in seeds})
    if not seeds:
        return "Rows: none."
    which = f"Rows: seed{'s' if len(seeds) > 1 else ''} {_span(seeds)}"
    if seeds[0] >= REPORT_FIRST_SEED:
        return (f"{which}, report rows (docs/benchmarks/README.md): run only to produce the "
                "report; no design decision saw them (new splits and draws of tables that the "
                "design rows use too).")
    if seeds[-1] < REPORT_FIRST_SEED:
        return (f"{which}, design rows (`--design`): defaults and rules were chosen on rows "
                "like these; not held-out figures.")
    return (f"{which}: design rows (below {REPORT_FIRST_SEED}) and report rows mixed; not "
            "held-out figures.")


def default_data_dir():
    """``$SKAE_DATA_DIR``, else ``<repo>/../shared/datasets``; None when it does not exist."""
    path = Path(os.environ.get("SKAE_DATA_DIR", REPO.parent / "shared" / "datasets"))
    return str(path) if path.is_dir() else None


def _limit_threads():
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    import torch

    torch.set_num_threads(int(os.environ["OMP_NUM_THREADS"]))


def _timed(run_one, run):
    _limit_threads()
    start = time.perf_counter()
    row = run_one(run)
    return run, row, time.perf_counter() - start


class SliceRun(NamedTuple):
    """What :func:`run_slice` returns."""

    rows: pd.DataFrame
    """One row per run: the run's keys, then its results."""
    seconds: float
    """Wall time of the runs done now (recorded ones cost nothing)."""
    n_new: int
    """How many runs were done now (the others came from the records)."""
    skae_fingerprints: list
    """The :func:`~benchmarks.cache.skae_fingerprint` of the ``skae/`` the rows measured."""


def run_slice(module, config, out_dir, *, jobs=1, use_cache=True, progress=True):
    """Run every planned run of ``module`` not yet recorded; return the rows (a :class:`SliceRun`).

    Runs are recorded in ``<out_dir>/runs/<slice>.jsonl`` as they finish; at
    the end the file keeps the records of this code only (the planned ones
    first, in plan order). ``use_cache=False`` runs every planned run again.
    """
    from tqdm.auto import tqdm

    name = module.NAME
    fingerprint, skae = code_fingerprint(module), skae_fingerprint()
    cache = RunCache(Path(out_dir) / RUNS_FOLDER / f"{name}.jsonl")
    if getattr(module, "SEQUENTIAL", False):
        jobs = 1  # timings: runs must not disturb each other
    runs = module.plan(config)
    keys = [run_key(name, fingerprint, run) for run in runs]
    todo = [(key, run) for key, run in zip(keys, runs) if not use_cache or key not in cache.entries]
    start = time.perf_counter()
    bar = tqdm(total=len(runs), initial=len(runs) - len(todo), unit="run", desc=name,
               disable=not progress, file=sys.stderr)
    key_of = {json.dumps(run, sort_keys=True): key for key, run in todo}
    if jobs == 1:
        _limit_threads()
        finished = (_timed(module.run_one, run) for _, run in todo)
    else:
        from joblib import Parallel, delayed

        parallel = Parallel(n_jobs=jobs, return_as="generator_unordered")
        finished = parallel(delayed(_timed)(module.run_one, run) for _, run in todo)
    for run, row, seconds in finished:
        row = {**row, "run_seconds": seconds}
        cache.add(key_of[json.dumps(run, sort_keys=True)], run, row, code=fingerprint, skae=skae)
        bar.set_postfix_str(" ".join(f"{v}" for v in run.values())[:60], refresh=False)
        bar.update()
    bar.close()
    cache.compact(keys, fingerprint)
    entries = [cache.entries[key] for key in keys]
    rows = pd.DataFrame([{**run, **entry["row"]} for run, entry in zip(runs, entries)])
    skae_fingerprints = sorted({entry.get("skae") or "unknown" for entry in entries})
    return SliceRun(rows, time.perf_counter() - start, len(todo), skae_fingerprints)


def parser_for(module):
    """The command line of one slice."""
    parser = argparse.ArgumentParser(
        prog=f"python -m benchmarks.{module.NAME}",
        description=(module.__doc__ or "").strip().splitlines()[0] if module.__doc__ else None,
    )
    parser.add_argument("--quick", action="store_true", help="a few minutes: fewer datasets and seeds")
    parser.add_argument("--seeds", type=int, default=None,
                        help=f"seeds (default: {getattr(module, 'DEFAULT_SEEDS', 3)})")
    parser.add_argument("--data-dir", default=None,
                        help="folder of the PMLB-layout shared datasets "
                        "(default: $SKAE_DATA_DIR or ../shared/datasets)")
    parser.add_argument("--out", type=Path, default=Path("results"), help="output folder")
    parser.add_argument("--jobs", type=int, default=1,
                        help="runs in parallel, one process and one torch thread each")
    parser.add_argument("--no-cache", action="store_true", help="run everything again")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.add_argument("--design", action="store_true",
                        help=f"run the design rows (seeds 0, 1, ...) instead of the report rows "
                        f"(seeds {REPORT_FIRST_SEED}, {REPORT_FIRST_SEED + 1}, ...)")
    return parser


def config_from(module, args):
    return {
        "quick": bool(args.quick),
        "seeds": args.seeds if args.seeds is not None else (
            getattr(module, "QUICK_SEEDS", None) if args.quick else None
        ) or getattr(module, "DEFAULT_SEEDS", 3),
        "data_dir": args.data_dir if args.data_dir is not None else default_data_dir(),
        "rows": "design" if getattr(args, "design", False) else "report",
    }


def main_for(module, argv=None):
    """``python -m benchmarks.<slice>``: run the slice and write its files (:mod:`benchmarks.record`)."""
    args = parser_for(module).parse_args(argv)
    command = f"python -m benchmarks.{module.NAME} " + shlex.join(sys.argv[1:] if argv is None else argv)
    config = config_from(module, args)
    args.out.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    rows, seconds, n_new, skae = run_slice(module, config, args.out, jobs=args.jobs,
                                           use_cache=not args.no_cache, progress=not args.quiet)
    section = write_slice(module, rows, args.out, command=command.strip(), jobs=args.jobs,
                          n_new=n_new, wall_seconds=time.perf_counter() - started,
                          skae_fingerprints=skae)
    write_report(args.out)
    print(section)
    print(f"\n{len(rows)} runs ({seconds:.0f} s now); wrote {args.out}/{module.NAME}.csv, "
          f"sections/{module.NAME}.md and report.md", file=sys.stderr)
    return 0
