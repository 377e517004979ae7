"""Cold start: ``import skae`` and the first fits in fresh processes.

    python -m benchmarks.cold_start               # 7 fresh processes
    python -m benchmarks.cold_start --runs 5
    PYTHONPATH=/path/to/other/checkout python -m benchmarks.cold_start   # another version

Each run is a new Python process, in which nothing of torch, scikit-learn or
pandas is loaded yet. It times, one after the other:

* ``deps``: ``import torch, sklearn.base, pandas`` (what skae builds on);
* ``skae``: then ``import skae``;
* ``fit 1`` and ``fit 2`` of the same estimator on iris (150 x 4), with the
  small settings (``hidden_layer_sizes=(8,), max_iter=20``) and then the
  defaults: the first fit of a process against the next one;

and whether ``torch._dynamo`` was loaded by the end (``torch.optim`` imports it
on first use, 2 to 5 s here; skae's default path avoids it, see
``skae/_fused_step.py``). Reported: the minimum and the median of each over the
runs. Timings on a shared machine are noisy: the minimum is the least
disturbed, and the fits are compared within each process.
"""

import argparse
import os
import subprocess
import sys

import numpy as np

RUN_SCRIPT = """
import time
start = time.perf_counter()
import torch, sklearn.base, pandas
deps = time.perf_counter()
import skae
imported = time.perf_counter()
import sys
from sklearn.datasets import load_iris
X = load_iris().data
times = [deps - start, imported - deps]
for params in (dict(hidden_layer_sizes=(8,), max_iter=20), {}):
    for _ in range(2):
        begin = time.perf_counter()
        skae.AutoencoderTransformer(n_components=2, random_state=0, **params).fit(X)
        times.append(time.perf_counter() - begin)
print(*times, int("torch._dynamo" in sys.modules), skae.__file__)
"""

COLUMNS = ["deps", "skae", "small fit 1", "small fit 2", "default fit 1", "default fit 2"]


def cold_runs(n_runs):
    """One row of timings (s) per fresh process, the dynamo flags, and skae's path."""
    env = {**os.environ, "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "1")}
    rows, dynamo, path = [], [], None
    for _ in range(n_runs):
        out = subprocess.run(
            [sys.executable, "-c", RUN_SCRIPT], capture_output=True, text=True, check=True, env=env
        ).stdout.split()
        rows.append([float(value) for value in out[: len(COLUMNS)]])
        dynamo.append(bool(int(out[len(COLUMNS)])))
        path = out[len(COLUMNS) + 1]
    return np.array(rows), dynamo, path


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7, help="fresh processes (default: 7)")
    args = parser.parse_args(argv)
    print(f"cpu_count={os.cpu_count()}, load average {os.getloadavg()[0]:.1f} at start")
    times, dynamo, path = cold_runs(args.runs)
    print(f"skae from {path}; {args.runs} fresh processes; seconds")
    print(f"  {'':16s} {'min':>7s} {'median':>7s}")
    for name, column in zip(COLUMNS, times.T):
        print(f"  {name:16s} {column.min():7.3f} {np.median(column):7.3f}")
    for label, first, second in (("small", 2, 3), ("default", 4, 5)):
        gap = times[:, first] - times[:, second]
        print(f"  {label + ' fit 1 - 2':16s} {gap.min():7.3f} {np.median(gap):7.3f}")
    print(f"  torch._dynamo loaded at the end: {sum(dynamo)} of {len(dynamo)} runs")
    print(f"load average {os.getloadavg()[0]:.1f} at end")


if __name__ == "__main__":
    main()
