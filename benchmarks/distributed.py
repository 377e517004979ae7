"""Data-parallel training (``distributed=True``): seconds per epoch with 1 and 2 ranks.

Each repeat draws its rows (near a curved 8-dimensional surface, with noise;
20,000 x 200, 90% to train, 10% held out) and trains
``AutoencoderTransformer(hidden_layer_sizes=(512, 256), n_components=16)``
for a fixed number of epochs (``early_stopping=False``, a global batch of
256) twice, each in fresh processes of one thread: once in one process on
all training rows (``distributed=False``), once on 2 ranks of a gloo process
group on this machine, each with half of the rows (``distributed=True``).
The network is large enough for a step's arithmetic to outweigh its
``all_reduce``. Reported: the median seconds per epoch (skorch's per-epoch
``dur``: the process start and the PCA start are left out), the speed-up of
the ranks over one process (the median over repeats of the paired ratio)
and its efficiency against the ideal 2x, and the held-out mean squared
error of each. The load average at each run's start says how busy the
machine was: on a machine with fewer idle cores than ranks the speed-up
says nothing.

    python -m benchmarks.distributed            # 5 repeats (a few minutes on 2 cores)
    python -m benchmarks.distributed --quick    # 1 repeat, 2,000 x 50 rows, hidden (64, 32)

Runs one at a time, whatever ``--jobs`` says: the runs are the timings.
"""

import json
import os
import socket
import subprocess
import sys
import time

import numpy as np
import pandas as pd

NAME = "distributed"
DEFAULT_SEEDS = 5  # repeats
QUICK_SEEDS = 1
SEQUENTIAL = True

FULL = {"rows": 20_000, "features": 200, "hidden": [512, 256], "components": 16, "epochs": 3,
        "batch_size": 256}
QUICK = {"rows": 2_000, "features": 50, "hidden": [64, 32], "components": 8, "epochs": 2,
         "batch_size": 256}
RANKS = (1, 2)
TIMEOUT_SECONDS = 900  # a rank that hangs fails its run instead of blocking the slice

RANK_SCRIPT = """
import datetime, json, os, sys
import torch
torch.set_num_threads(1)
from benchmarks.distributed import train
settings = json.loads(sys.argv[1])
if int(os.environ["WORLD_SIZE"]) == 1:
    print(json.dumps(train(settings)))
else:
    import torch.distributed as dist
    dist.init_process_group("gloo", timeout=datetime.timedelta(minutes=10))
    result = train(settings, dist.get_rank(), dist.get_world_size(), distributed=True)
    if dist.get_rank() == 0:
        print(json.dumps(result))
    dist.destroy_process_group()
"""


def make_rows(n_rows, n_features, seed=0):
    """Rows near a curved 8-dimensional surface, with noise (float32)."""
    rng = np.random.RandomState(seed)
    latent = rng.normal(size=(n_rows, 8))
    mixing = rng.normal(size=(16, n_features)) / 4
    rows = np.hstack([latent, np.tanh(latent)]) @ mixing
    return (rows + 0.1 * rng.normal(size=rows.shape)).astype(np.float32)


def train(settings, rank=0, world_size=1, *, distributed=False):
    """Fit on this rank's share of the training rows; the epoch time and held-out error."""
    from skae import AutoencoderTransformer

    X = make_rows(settings["rows"], settings["features"], settings["seed"])
    n_train = int(round(0.9 * len(X)))
    bounds = np.linspace(0, n_train, world_size + 1).astype(int)
    model = AutoencoderTransformer(
        n_components=settings["components"],
        hidden_layer_sizes=tuple(settings["hidden"]),
        batch_size=settings["batch_size"],
        max_iter=settings["epochs"],
        early_stopping=False,
        random_state=settings["seed"],
        n_jobs=1,
        device="cpu",
        distributed=distributed,
    )
    start = time.perf_counter()
    model.fit(X[bounds[rank] : bounds[rank + 1]])
    fit_seconds = time.perf_counter() - start
    X_test = X[n_train:]
    error = float(np.mean((model.inverse_transform(model.transform(X_test)) - X_test) ** 2))
    return {
        "epoch_seconds": float(np.median(model.history_[:, "dur"])),
        "fit_seconds": fit_seconds,
        "epochs": int(model.n_iter_),
        "test_mse": error,
    }


def _free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def run_ranks(settings, world_size, timeout=TIMEOUT_SECONDS):
    """Train in ``world_size`` fresh one-thread processes (1: no process group); rank 0's result."""
    port = str(_free_port())
    repo = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    processes = []
    for rank in range(world_size):
        env = {
            **os.environ,
            "RANK": str(rank),
            "WORLD_SIZE": str(world_size),
            "MASTER_ADDR": "127.0.0.1",
            "MASTER_PORT": port,
            "OMP_NUM_THREADS": "1",
            "MKL_NUM_THREADS": "1",
            "PYTHONPATH": os.pathsep.join([repo, os.environ.get("PYTHONPATH", "")]),
        }
        processes.append(subprocess.Popen(
            [sys.executable, "-c", RANK_SCRIPT, json.dumps(settings)],
            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        ))
    outputs = []
    try:
        for process in processes:
            outputs.append(process.communicate(timeout=timeout))
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
    failed = [rank for rank, process in enumerate(processes) if process.returncode]
    if failed:
        raise RuntimeError(f"rank(s) {failed} failed:\n{outputs[failed[0]][1][-2000:]}")
    return json.loads(outputs[0][0].strip().splitlines()[-1])


def plan(config):
    """Per repeat (a seed: its rows and its weights), one process then 2 ranks, side by side."""
    from .slices import seeds_for

    size = QUICK if config.get("quick") else FULL
    return [{**size, "seed": int(seed), "ranks": ranks}
            for seed in seeds_for(config) for ranks in RANKS]


def run_one(run):
    load = os.getloadavg()[0]
    settings = {key: value for key, value in run.items() if key != "ranks"}
    result = run_ranks(settings, run["ranks"])
    return {**result, "load_average": load, "cpu_count": os.cpu_count()}


def summary(rows):
    """One row per number of ranks: median seconds per epoch, held-out error, speed-up."""
    by_seed = rows.pivot_table(index="seed", columns="ranks", values="epoch_seconds")
    errors = rows.pivot_table(index="seed", columns="ranks", values="test_mse")
    one = RANKS[0]
    out = []
    for ranks in sorted(rows["ranks"].unique()):
        speed_up = float(np.median(by_seed[one] / by_seed[ranks]))
        out.append({
            "processes": "1 process" if ranks == 1 else f"{ranks} ranks (gloo)",
            "repeats": int(by_seed[ranks].notna().sum()),
            "s/epoch (median)": float(by_seed[ranks].median()),
            "speed-up": speed_up,
            "efficiency": speed_up / ranks,
            "held-out MSE (mean)": float(errors[ranks].mean()),
            "MSE / 1 process": float(np.median(errors[ranks] / errors[one])),
        })
    return pd.DataFrame(out)


def report(rows, out_dir):
    first = rows.iloc[0]
    load = rows["load_average"]
    conditions = (
        f"{first['rows']:,} x {first['features']} rows (90% train), hidden "
        f"{tuple(first['hidden'])}, code {first['components']}, global batch "
        f"{first['batch_size']}, {first['epochs']} epochs, one thread per process; load "
        f"average {load.min():.1f} to {load.max():.1f} at the runs' start on "
        f"{int(rows['cpu_count'].max())} logical cores."
    )
    return "\n".join([
        "## Distributed: data-parallel training on 1 and 2 ranks", "",
        (__doc__ or "").split("\n\n")[1].replace("\n", " "), "",
        conditions, "",
        summary(rows).to_markdown(index=False, floatfmt=".3g"), "",
    ])


def main(argv=None):
    from .slices import main_for

    return main_for(sys.modules[__name__], argv)


if __name__ == "__main__":
    sys.exit(main())
