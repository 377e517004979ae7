"""Parallel fits and busy machines: grid-search wall time and the spin-wait cliff.

    python -m benchmarks.threads            # both parts (a few minutes on 2 cores)
    python -m benchmarks.threads --quick    # fewer repeats

Part 1, grid search: ``GridSearchCV`` over 8 small configurations on digits
(3-fold, 24 fits), wall time with ``n_jobs=1`` and ``n_jobs=2``. joblib's
loky workers get ``OMP_NUM_THREADS = cpu_count // n_jobs`` and skae's
``n_jobs=None`` honours it, so two workers on two cores run two one-thread
fits. The first ``n_jobs=2`` search also starts the worker processes
(importing torch in each); it is reported apart ("cold").

Part 2, a fit beside a CPU-bound process: the median time of one small fit
(digits, one hidden layer) in a fresh process, alone and while a second
process spins on a core, for three thread settings: skae's default
(``n_jobs=None``: one thread unless ``OMP_NUM_THREADS`` says otherwise),
``n_jobs=2`` with libgomp's default active waiting, and ``n_jobs=2`` with
``OMP_WAIT_POLICY=PASSIVE`` in the environment (it is read when torch is
imported, so it cannot be switched on from inside a running process).

Timings on a shared machine are noisy: read the ratios, measured side by
side and interleaved over repeats.
"""

import argparse
import os
import statistics
import subprocess
import sys
import time

import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import GridSearchCV
from sklearn.preprocessing import StandardScaler

from skae import AutoencoderTransformer

GRID = {
    "hidden_layer_sizes": [(32,), (64,)],
    "n_components": [4, 8],
    "learning_rate_init": [1e-3, 3e-3],
}
SEARCH_BASE = dict(max_iter=15, batch_size=128, early_stopping=False, random_state=0)

# One small fit, timed in a fresh interpreter so that OMP_WAIT_POLICY can be chosen.
FIT_SCRIPT = """
import statistics, sys, time
import numpy as np
from sklearn.datasets import load_digits
from sklearn.preprocessing import StandardScaler
from skae import AutoencoderTransformer
X = StandardScaler().fit_transform(load_digits().data).astype(np.float32)
n_jobs = None if sys.argv[1] == "None" else int(sys.argv[1])
ae = AutoencoderTransformer(n_components=8, hidden_layer_sizes=(32,), max_iter=10,
                            early_stopping=False, random_state=0, n_jobs=n_jobs)
ae.fit(X)  # warm-up
times = []
for _ in range(int(sys.argv[2])):
    start = time.perf_counter(); ae.fit(X); times.append(time.perf_counter() - start)
print(statistics.median(times))
"""

SPIN_SCRIPT = "while True: pass"

FIT_SETTINGS = {
    "n_jobs=None (1 thread)": ("None", {}),
    "n_jobs=2, active wait": ("2", {}),
    "n_jobs=2, OMP_WAIT_POLICY=PASSIVE": ("2", {"OMP_WAIT_POLICY": "PASSIVE"}),
}


def grid_search_seconds(X, n_jobs):
    search = GridSearchCV(AutoencoderTransformer(**SEARCH_BASE), GRID, cv=3, n_jobs=n_jobs)
    start = time.perf_counter()
    search.fit(X)
    return time.perf_counter() - start


def part_grid_search(repeats):
    X = StandardScaler().fit_transform(load_digits().data).astype(np.float32)
    cold = grid_search_seconds(X, 2)
    times = {1: [], 2: []}
    for _ in range(repeats):
        for n_jobs in (1, 2):
            times[n_jobs].append(grid_search_seconds(X, n_jobs))
    one, two = statistics.median(times[1]), statistics.median(times[2])
    print("GridSearchCV, 8 configurations x 3 folds on digits (median of", repeats, "runs)")
    print(f"  n_jobs=1            {one:7.2f} s")
    print(f"  n_jobs=2            {two:7.2f} s   speed-up {one / two:.2f}x")
    print(f"  n_jobs=2 (cold)     {cold:7.2f} s   (includes starting the workers)")


def fit_seconds(n_jobs, extra_env, repeats):
    env = {k: v for k, v in os.environ.items() if k != "OMP_WAIT_POLICY"}
    env.update(extra_env)
    out = subprocess.run(
        [sys.executable, "-c", FIT_SCRIPT, n_jobs, str(repeats)],
        env=env, capture_output=True, text=True, check=True, timeout=1800,
    )
    return float(out.stdout.strip().splitlines()[-1])


def part_busy_neighbour(repeats, rounds):
    results = {name: {"alone": [], "busy": []} for name in FIT_SETTINGS}
    for _ in range(rounds):
        for name, (n_jobs, extra_env) in FIT_SETTINGS.items():
            results[name]["alone"].append(fit_seconds(n_jobs, extra_env, repeats))
            spinner = subprocess.Popen([sys.executable, "-c", SPIN_SCRIPT])
            try:
                time.sleep(0.5)
                results[name]["busy"].append(fit_seconds(n_jobs, extra_env, repeats))
            finally:
                spinner.kill()
                spinner.wait()
    print(f"\nOne small fit, alone and beside a CPU-bound process (median over {rounds} rounds)")
    print(f"  {'setting':36s} {'alone':>9s} {'busy':>9s} {'ratio':>7s}")
    for name, times in results.items():
        alone, busy = statistics.median(times["alone"]), statistics.median(times["busy"])
        print(f"  {name:36s} {alone:8.3f}s {busy:8.3f}s {busy / alone:6.1f}x")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repeats")
    args = parser.parse_args(argv)
    print(f"cpu_count={os.cpu_count()}, load average {os.getloadavg()[0]:.1f} (1 min) at start")
    part_grid_search(repeats=1 if args.quick else 3)
    part_busy_neighbour(repeats=3, rounds=1 if args.quick else 3)
    print(f"load average {os.getloadavg()[0]:.1f} (1 min) at end")


if __name__ == "__main__":
    main()
