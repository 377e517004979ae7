"""Parallel fits and busy machines: grid-search wall time and the spin-wait cliff.

Two tables, the performance guide's. Grid search: ``GridSearchCV`` over 8 small
configurations on digits (3-fold: 24 fits of up to 50 epochs, then the refit
of the best on all rows, timed too), wall time with ``n_jobs=1`` and
``n_jobs=2``; loky's workers get ``OMP_NUM_THREADS = cpu_count // n_jobs``
unless this process's environment sets it (then they inherit it: 1 under the
report's command, the same on 2 cores), and skae's ``n_jobs=None`` honours it.
The first ``n_jobs=2`` search also starts the worker processes (importing
torch in each; joblib's reusable workers left by earlier slices are shut down
first) and is reported apart ("cold"). A fit beside a CPU-bound process: the median time of
five fits (digits, the default network of 256 and 128 units, 20 epochs, after a
warm-up fit) in a fresh process, alone and while a second process spins on a
core, for skae's default (``n_jobs=None``: one thread unless
``OMP_NUM_THREADS`` says otherwise), ``n_jobs=2`` with libgomp's default active
waiting, and ``n_jobs=2`` with ``OMP_WAIT_POLICY=PASSIVE`` (read when torch is
imported, so it is set in the fresh process's environment). The settings are
interleaved over the rounds; each run records the machine's load average when
it starts. Read the ratios, measured side by side.

    python -m benchmarks.threads            # 5 rounds (a few minutes on 2 cores)
    python -m benchmarks.threads --quick    # 1 round

Runs one at a time, whatever ``--jobs`` says: the runs are the timings.
"""

import os
import statistics
import subprocess
import sys
import time

import numpy as np
import pandas as pd
from sklearn.datasets import load_digits
from sklearn.model_selection import GridSearchCV
from sklearn.preprocessing import StandardScaler

from skae import AutoencoderTransformer

NAME = "threads"
DEFAULT_SEEDS = 5  # rounds
QUICK_SEEDS = 1
SEQUENTIAL = True

GRID = {
    "hidden_layer_sizes": [(32,), (64,)],
    "n_components": [4, 8],
    "learning_rate_init": [1e-3, 3e-3],
}
SEARCH_BASE = dict(max_iter=50, batch_size=128, early_stopping=False, random_state=0)
FIT_REPEATS = 5

# One small fit, timed in a fresh interpreter so that OMP_WAIT_POLICY can be chosen.
FIT_SCRIPT = """
import statistics, sys, time
import numpy as np
from sklearn.datasets import load_digits
from sklearn.preprocessing import StandardScaler
from skae import AutoencoderTransformer
X = StandardScaler().fit_transform(load_digits().data).astype(np.float32)
n_jobs = None if sys.argv[1] == "None" else int(sys.argv[1])
ae = AutoencoderTransformer(n_components=8, max_iter=20, early_stopping=False,
                            random_state=0, n_jobs=n_jobs)
ae.fit(X)  # warm-up
times = []
for _ in range(int(sys.argv[2])):
    start = time.perf_counter(); ae.fit(X); times.append(time.perf_counter() - start)
print(statistics.median(times))
"""
SPIN_SCRIPT = "while True: pass"

# label -> (the estimator's n_jobs, extra environment of the fresh process)
FIT_SETTINGS = {
    "n_jobs=None (1 thread)": ("None", {}),
    "n_jobs=2, active wait": ("2", {}),
    "n_jobs=2, OMP_WAIT_POLICY=PASSIVE": ("2", {"OMP_WAIT_POLICY": "PASSIVE"}),
}
NEIGHBOURS = ("alone", "busy")


def plan(config):
    """The cold search first, then per round each search and each fit setting, alone and busy."""
    runs = [{"part": "grid search", "setting": "n_jobs=2 (cold)", "round": 0}]
    for round_ in range(config["seeds"]):
        runs += [{"part": "grid search", "setting": f"n_jobs={n}", "round": round_} for n in (1, 2)]
        runs += [{"part": "fit", "setting": setting, "neighbour": neighbour, "round": round_}
                 for setting in FIT_SETTINGS for neighbour in NEIGHBOURS]
    return runs


def grid_search_seconds(n_jobs):
    X = StandardScaler().fit_transform(load_digits().data).astype(np.float32)
    search = GridSearchCV(AutoencoderTransformer(**SEARCH_BASE), GRID, cv=3, n_jobs=n_jobs)
    start = time.perf_counter()
    search.fit(X)
    return time.perf_counter() - start


def fit_seconds(n_jobs, extra_env, repeats=FIT_REPEATS):
    """Median seconds of one small fit in a fresh interpreter."""
    env = {k: v for k, v in os.environ.items() if k != "OMP_WAIT_POLICY"}
    env.update(extra_env)
    out = subprocess.run([sys.executable, "-c", FIT_SCRIPT, n_jobs, str(repeats)],
                         env=env, capture_output=True, text=True, check=True, timeout=1800)
    return float(out.stdout.strip().splitlines()[-1])


def _without_idle_workers():
    """Shut joblib's reusable worker processes (an earlier slice's), so that a cold start is cold."""
    from joblib.externals.loky import get_reusable_executor

    get_reusable_executor().shutdown(wait=True, kill_workers=True)


def run_one(run):
    if "cold" in run["setting"]:
        _without_idle_workers()
    load = os.getloadavg()[0]
    if run["part"] == "grid search":
        seconds = grid_search_seconds(int(run["setting"].split("=")[1].split(" ")[0]))
    else:
        n_jobs, extra_env = FIT_SETTINGS[run["setting"]]
        spinner = None
        if run["neighbour"] == "busy":
            spinner = subprocess.Popen([sys.executable, "-c", SPIN_SCRIPT])
            time.sleep(0.5)
        try:
            seconds = fit_seconds(n_jobs, extra_env)
        finally:
            if spinner is not None:
                spinner.kill()
                spinner.wait()
    return {"seconds": seconds, "load_average": load, "cpu_count": os.cpu_count()}


def grid_table(rows):
    part = rows[rows["part"] == "grid search"]
    medians = part.groupby("setting", sort=False)["seconds"].median()
    one = medians.get("n_jobs=1", np.nan)
    return pd.DataFrame({
        "search": medians.index,
        "runs": part.groupby("setting", sort=False).size().to_numpy(),
        "wall s (median)": medians.to_numpy(),
        "speed-up over n_jobs=1": [np.nan if name == "n_jobs=1" else one / value
                                   for name, value in medians.items()],
    })


def fit_table(rows):
    part = rows[rows["part"] == "fit"]
    out = []
    for setting in FIT_SETTINGS:
        mine = part[part["setting"] == setting]
        alone = mine.loc[mine["neighbour"] == "alone", "seconds"].median()
        busy = mine.loc[mine["neighbour"] == "busy", "seconds"].median()
        out.append({"setting": setting, "alone s": alone, "busy s": busy,
                    "busy / alone": busy / alone,
                    "load at start": f"{mine['load_average'].min():.1f}-{mine['load_average'].max():.1f}"})
    return pd.DataFrame(out)


def report(rows, out_dir):
    rounds = int(rows["round"].max()) + 1
    return "\n".join([
        "## Threads: parallel grid search and a fit beside a busy process", "",
        (__doc__ or "").split("\n\n")[1].replace("\n", " ") + f" Rounds: {rounds}.", "",
        f"Rows: rounds 0-{rounds - 1} of this run (the cold search in round 0 only): timings, "
        "which no default was chosen on; not split into design and report rows "
        "(docs/benchmarks/README.md).", "",
        grid_table(rows).to_markdown(index=False, floatfmt=".2f"), "",
        fit_table(rows).to_markdown(index=False, floatfmt=".3g"), "",
    ])


def doc_figure(rows):
    """The performance guide's two tables."""
    lines = [".. list-table:: One fit (digits, the default network, 20 epochs), alone and beside "
             "a CPU-bound process (median of rounds)",
             "   :header-rows: 1", "",
             "   * - setting", "     - alone, s", "     - busy, s", "     - busy / alone"]
    for row in fit_table(rows).itertuples(index=False):
        lines += [f"   * - ``{row.setting}``", f"     - {row[1]:.3g}", f"     - {row[2]:.3g}",
                  f"     - {row[3]:.1f}x"]
    lines += ["", ".. list-table:: GridSearchCV, 8 configurations x 3 folds on digits (median of rounds)",
              "   :header-rows: 1", "", "   * - search", "     - wall, s", "     - speed-up"]
    for row in grid_table(rows).itertuples(index=False):
        speed_up = "" if np.isnan(row[3]) else f"{row[3]:.2f}x"
        lines += [f"   * - {row.search}", f"     - {row[2]:.1f}", f"     - {speed_up}"]
    load = rows["load_average"]
    lines += ["", f"Load average (1 min) at the start of the runs: {load.min():.1f} to "
              f"{load.max():.1f} on {int(rows['cpu_count'].max())} logical cores.",
              "", reading(rows)]
    return "\n".join(lines) + "\n"


def _times(ratio):
    """``ratio`` as "1.6 times faster" / "1.6 times slower" / "as fast" (within 10%)."""
    if abs(np.log(ratio)) < np.log(1.1):
        return "about as fast"
    return f"{ratio:.1f} times faster" if ratio > 1 else f"{1 / ratio:.1f} times slower"


def reading(rows):
    """What this run's two tables say, computed: the guide quotes no timing by hand."""
    fits = fit_table(rows).set_index("setting")
    one, active, passive = (fits.loc[name] for name in FIT_SETTINGS)
    text = (f"In this run: beside a busy process, one thread's fit took "
            f"{one['busy / alone']:.1f} times its time alone, two actively waiting threads' "
            f"{active['busy / alone']:.1f} times. Alone, two active threads were "
            f"{_times(one['alone s'] / active['alone s'])} than one, passive waiting "
            f"{_times(one['alone s'] / passive['alone s'])} than one thread.")
    grid = grid_table(rows).set_index("search")["speed-up over n_jobs=1"]
    if "n_jobs=2" in grid:
        text += (f" The parallel grid search was {_times(grid['n_jobs=2'])} than the serial "
                 "one" + (f", the first (cold) one {_times(grid['n_jobs=2 (cold)'])}"
                          if "n_jobs=2 (cold)" in grid else "") + ".")
    return text


def main(argv=None):
    from .slices import main_for

    return main_for(sys.modules[__name__], argv)


if __name__ == "__main__":
    sys.exit(main())
