"""The benchmark loop: datasets x seeds x code sizes x reducers, one row per run."""

import math
import sys
import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import MinMaxScaler, StandardScaler

from .metrics import evaluate

__all__ = ["Results", "code_sizes", "load_raw", "n_seeds", "run", "save_raw", "split_and_scale"]

# clip=True keeps held-out pixels in [0, 1] (a pixel blank in every training image
# would otherwise keep its raw value, up to 255, in the test rows).
SCALERS = {"standard": StandardScaler, "minmax": lambda: MinMaxScaler(clip=True)}
TEST_SIZE = 0.2
# Datasets with more rows than this get one seed: their 1,000+ test rows already give
# stable means, and their runs dominate the time.
MAX_ROWS_FOR_REPEATS = 5000
# A skip reason starting with this drops the run from the table (the reducer is not meant for it).
NOT_APPLICABLE = "not applicable"


@dataclass
class Results:
    """Raw results: one row per (dataset, seed, k, reducer), and some held-out codes to plot."""

    table: pd.DataFrame
    codes: dict = field(default_factory=dict)  # (dataset, k, reducer) -> (codes, y), first seed
    seconds: float = 0.0


def code_sizes(n_features, ks):
    """The code sizes below ``n_features`` (a code as wide as the input is a copy)."""
    return [k for k in ks if k < n_features]


def n_seeds(dataset, seeds):
    """How many seeds ``dataset`` runs with."""
    return 1 if dataset.shape[0] > MAX_ROWS_FOR_REPEATS else seeds


def split_and_scale(dataset, seed):
    """A 80/20 split (stratified for classes) scaled by a scaler fitted on the training rows."""
    stratify = None
    if dataset.task == "classification":
        counts = pd.Series(dataset.y).value_counts()
        if counts.min() >= 2:
            stratify = dataset.y
    X_train, X_test, y_train, y_test = train_test_split(
        dataset.X, dataset.y, test_size=TEST_SIZE, random_state=seed, stratify=stratify
    )
    scaler = SCALERS[dataset.scaling]().fit(X_train)
    return scaler.transform(X_train), scaler.transform(X_test), y_train, y_test


def _n_train(n_samples):
    return n_samples - math.ceil(TEST_SIZE * n_samples)


def _plan(datasets, reducers, ks, seeds):
    """(dataset, seed, k, reducer, skip reason) for every run that applies."""
    for dataset in datasets:
        n_train = _n_train(dataset.shape[0])
        for seed in range(n_seeds(dataset, seeds)):
            for k in code_sizes(dataset.shape[1], ks):
                for reducer in reducers:
                    reason = reducer.skip(dataset, k, n_train)
                    if reason is None or not reason.startswith(NOT_APPLICABLE):
                        yield dataset, seed, k, reducer, reason or ""


def _warm_up(reducers):
    """Fit each reducer once on tiny data, so that one-off start-up costs stay out of timings."""
    X = np.random.RandomState(0).normal(size=(64, 8))
    for reducer in reducers:
        estimator = reducer.make(2, 0)
        if "max_iter" in estimator.get_params():
            estimator.set_params(max_iter=2)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                estimator.fit(X).transform(X)
            except Exception:  # the timed run reports the error
                pass


def _one_run(dataset, seed, k, reducer, skipped, split=None, keep_codes=()):
    """One row of the table, and the held-out codes when they are to be kept (else None)."""
    if split is None:
        split = split_and_scale(dataset, seed)
    X_train, X_test, y_train, y_test = split
    row = {
        "dataset": dataset.name,
        "n_samples": dataset.shape[0],
        "n_features": dataset.shape[1],
        "scaling": dataset.scaling,
        "task": dataset.task,
        "seed": seed,
        "k": k,
        "reducer": reducer.name,
        "family": reducer.family,
        "skipped": skipped,
        "error": "",
    }
    if skipped:
        return row, None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            metrics = evaluate(
                reducer.make(k, seed), X_train, X_test, y_train, y_test, dataset.task
            )
    except Exception as error:  # one failing reducer must not end a long run
        row["error"] = f"{type(error).__name__}: {error}"[:300]
        return row, None
    test_codes = metrics.pop("codes")
    row.update(metrics)
    keep = dataset.name in keep_codes and seed == 0
    return row, ((test_codes, y_test) if keep else None)


def _sequential(plan, keep_codes):
    split_key, split = None, None
    for i, (dataset, seed, k, reducer, skipped) in enumerate(plan):
        if split_key != (dataset.name, seed):
            split_key, split = (dataset.name, seed), split_and_scale(dataset, seed)
        yield i, _one_run(dataset, seed, k, reducer, skipped, split, keep_codes)


def _parallel(plan, keep_codes, n_jobs, reducers):
    from joblib import Parallel, delayed

    def task(i, *args):
        return i, _one_run(*args, keep_codes=keep_codes)

    parallel = Parallel(
        n_jobs=n_jobs, return_as="generator_unordered", initializer=_warm_up, initargs=(reducers,)
    )
    yield from parallel(delayed(task)(i, *run_args) for i, run_args in enumerate(plan))


def run(
    datasets,
    reducers,
    ks=(2, 5, 10, 30),
    seeds=3,
    progress=True,
    keep_codes=("digits",),
    checkpoint=None,
    n_jobs=1,
):
    """Run every reducer on every dataset, code size and seed.

    ``checkpoint(results)``, when given, is called with the results so far
    after each run, so that a long run leaves usable results if stopped.
    ``n_jobs`` processes run in parallel (one torch thread each); every run
    is timed inside its process, in wall and CPU seconds.

    Returns
    -------
    results : Results
        ``table`` has columns dataset, n_samples, n_features, scaling, seed, k,
        reducer, family, the metrics of :func:`benchmarks.metrics.evaluate`,
        and ``skipped`` / ``error`` (reasons, empty when the run went through).
    """
    import time

    from tqdm.auto import tqdm

    plan = list(_plan(datasets, reducers, ks, seeds))
    start = time.perf_counter()
    if n_jobs == 1:
        _warm_up(reducers)
        runs = _sequential(plan, keep_codes)
    else:
        runs = _parallel(plan, keep_codes, n_jobs, reducers)
    done, codes = {}, {}
    bar = tqdm(total=len(plan), unit="run", disable=not progress, file=sys.stderr)
    for i, (row, kept) in runs:
        done[i] = row
        if kept is not None:
            codes[row["dataset"], row["k"], row["reducer"]] = kept
        bar.set_postfix_str(f"{row['dataset']} k={row['k']} {row['reducer']}", refresh=False)
        bar.update()
        if checkpoint is not None:
            rows = [done[j] for j in sorted(done)]
            checkpoint(Results(pd.DataFrame(rows), codes, time.perf_counter() - start))
    bar.close()
    rows = [done[j] for j in sorted(done)]
    return Results(pd.DataFrame(rows), codes, time.perf_counter() - start)


def save_raw(results, out_dir, command):
    """Write the raw table, the kept codes and the command to ``out_dir``."""
    from pathlib import Path

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    results.table.to_csv(out_dir / "results.csv", index=False)
    arrays = {}
    for i, ((dataset, k, reducer), (Z, y)) in enumerate(results.codes.items()):
        arrays[f"codes_{i}"], arrays[f"y_{i}"] = Z, y
        arrays[f"key_{i}"] = np.array([dataset, str(k), reducer])
    np.savez_compressed(out_dir / "codes.npz", **arrays)
    (out_dir / "run.txt").write_text(f"{command}\n{results.seconds}\n")


def load_raw(out_dirs):
    """Merge the raw results saved by :func:`save_raw` in several folders.

    Returns the merged :class:`Results` and the list of commands that made them.
    """
    from pathlib import Path

    tables, codes, seconds, commands = [], {}, 0.0, []
    for out_dir in map(Path, out_dirs):
        table = pd.read_csv(out_dir / "results.csv")
        table[["skipped", "error"]] = table[["skipped", "error"]].fillna("")
        tables.append(table)
        with np.load(out_dir / "codes.npz") as arrays:
            for name in arrays.files:
                if name.startswith("key_"):
                    i = name[len("key_"):]
                    dataset, k, reducer = arrays[name]
                    codes[str(dataset), int(k), str(reducer)] = (
                        arrays[f"codes_{i}"], arrays[f"y_{i}"]
                    )
        command, secs = (out_dir / "run.txt").read_text().splitlines()[:2]
        commands.append(command)
        seconds += float(secs)
    table = pd.concat(tables, ignore_index=True)
    # A setting run by several of the merged runs counts once (the first folder's).
    table = table.drop_duplicates(["dataset", "seed", "k", "reducer"], keep="first")
    return Results(table.reset_index(drop=True), codes, seconds), commands
