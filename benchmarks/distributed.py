"""Data-parallel training (``distributed=True``): seconds per epoch with 1 and 2 ranks.

Each repeat draws its rows (near a curved 8-dimensional surface, with noise;
20,000 x 200, 90% to train, 10% held out) and trains
``AutoencoderTransformer(hidden_layer_sizes=(512, 256), n_components=16)``
for a fixed number of epochs (``early_stopping=False``) at global batches of
256, 1,024 and 4,096 rows, each in fresh processes of one thread: once in
one process on all training rows (``distributed=False``), once on 2 ranks
of a gloo process group on this machine, each with half of the rows
(``distributed=True``). Beside it, in the same run, the tool a user would
pick instead: the same layers as a plain ``torch.nn.Sequential`` trained
by PyTorch's own ``DistributedDataParallel`` (autograd, fused Adam, the
mean squared error; one process without DDP, then 2 ranks), on the same
rows, reshuffled each epoch, in batches of the same size. Reported: the
median seconds per epoch (the per-epoch time: the process start and skae's PCA start are left out), the speed-up
of 2 ranks over one process (the median over repeats of the paired ratio)
and its efficiency against the ideal 2x, and skae's held-out mean squared
error with each. The load average at each run's start says how busy the
machine was: on a machine with fewer idle cores than ranks the speed-up
says nothing.

    python -m benchmarks.distributed            # 5 repeats (about ten minutes on 2 cores)
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

FULL = {"rows": 20_000, "features": 200, "hidden": [512, 256], "components": 16, "epochs": 3}
QUICK = {"rows": 2_000, "features": 50, "hidden": [64, 32], "components": 8, "epochs": 2}
BATCH_SIZES = {"full": (256, 1024, 4096), "quick": (256,)}  # global batches
RANKS = (1, 2)
ENGINES = ("skae", "torch DDP")
TIMEOUT_SECONDS = 900  # a rank that hangs fails its run instead of blocking the slice

RANK_SCRIPT = """
import datetime, json, os, sys
import torch
torch.set_num_threads(1)
from benchmarks.distributed import train, train_ddp
settings = json.loads(sys.argv[1])
fit = train if settings.get("engine", "skae") == "skae" else train_ddp
if int(os.environ["WORLD_SIZE"]) == 1:
    print(json.dumps(fit(settings)))
else:
    import torch.distributed as dist
    dist.init_process_group("gloo", timeout=datetime.timedelta(minutes=10))
    result = fit(settings, dist.get_rank(), dist.get_world_size(), distributed=True)
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


def training_rows(n_rows):
    """How many of ``n_rows`` are training rows (the first 90%; the rest are held out)."""
    return int(round(0.9 * n_rows))


def train(settings, rank=0, world_size=1, *, distributed=False):
    """Fit on this rank's share of the training rows; the epoch time and held-out error."""
    from skae import AutoencoderTransformer

    X = make_rows(settings["rows"], settings["features"], settings["seed"])
    n_train = training_rows(len(X))
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


def train_ddp(settings, rank=0, world_size=1, *, distributed=False):
    """The same layers as plain torch, trained by ``DistributedDataParallel``; the epoch time.

    Encoder ``hidden`` then the code, decoder mirrored (ReLU between the
    hidden layers), the mean squared error, ``torch.optim.Adam(fused=True)``
    at skae's default learning rate, each rank's share of the global batch
    per step, its rows reshuffled each epoch (the last batch partial, as in
    skae); no scaling, no PCA start. With one process, no DDP. Every rank
    takes as many steps as the one with the fewest rows.
    """
    import torch
    from torch import nn

    X = make_rows(settings["rows"], settings["features"], settings["seed"])
    n_train = training_rows(len(X))
    bounds = np.linspace(0, n_train, world_size + 1).astype(int)
    rows = torch.from_numpy(X[bounds[rank] : bounds[rank + 1]])
    widths = [settings["features"], *settings["hidden"], settings["components"]]
    layers = []
    for ins, outs in zip(widths[:-1], widths[1:]):
        layers += [nn.Linear(ins, outs), nn.ReLU()]
    layers[-1:] = []  # a linear code
    for ins, outs in zip(widths[::-1][:-1], widths[::-1][1:]):
        layers += [nn.Linear(ins, outs), nn.ReLU()]
    layers[-1:] = []  # a linear output
    torch.manual_seed(settings["seed"])
    network = nn.Sequential(*layers)
    model = nn.parallel.DistributedDataParallel(network) if distributed else network
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3, fused=True)
    batch = max(1, settings["batch_size"] // world_size)
    steps = -(-int(np.diff(bounds).min()) // batch)  # DDP's ranks must step together
    generator = torch.Generator().manual_seed(settings["seed"] * world_size + rank)
    seconds = []
    for _ in range(settings["epochs"]):
        start = time.perf_counter()
        order = torch.randperm(len(rows), generator=generator)
        for step in range(steps):
            x = rows[order[step * batch : (step + 1) * batch]]
            optimizer.zero_grad(set_to_none=True)
            loss = ((model(x) - x) ** 2).mean()
            loss.backward()
            optimizer.step()
        seconds.append(time.perf_counter() - start)
    return {"epoch_seconds": float(np.median(seconds)), "epochs": settings["epochs"]}


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
    """Per repeat (a seed: its rows and its weights) and global batch: each engine, 1 then 2 ranks."""
    from .slices import seeds_for

    size = "quick" if config.get("quick") else "full"
    settings = QUICK if size == "quick" else FULL
    return [{**settings, "batch_size": batch_size, "engine": engine, "seed": int(seed),
             "ranks": ranks}
            for seed in seeds_for(config) for batch_size in BATCH_SIZES[size]
            for engine in ENGINES for ranks in RANKS]


def run_one(run):
    load = os.getloadavg()[0]
    settings = {key: value for key, value in run.items() if key != "ranks"}
    result = run_ranks(settings, run["ranks"])
    return {**result, "load_average": load, "cpu_count": os.cpu_count()}


def summary(rows):
    """Per engine, global batch and number of ranks: median s/epoch, speed-up, held-out error."""
    rows = rows.assign(
        engine=rows["engine"] if "engine" in rows else "skae",
    )
    one = RANKS[0]
    out = []
    for (engine, batch_size), group in rows.groupby(["engine", "batch_size"], sort=False):
        by_seed = group.pivot_table(index="seed", columns="ranks", values="epoch_seconds")
        errors = (group.pivot_table(index="seed", columns="ranks", values="test_mse")
                  if "test_mse" in group and group["test_mse"].notna().any() else None)
        for ranks in sorted(group["ranks"].unique()):
            speed_up = float(np.median(by_seed[one] / by_seed[ranks]))
            out.append({
                "engine": engine,
                "global batch": int(batch_size),
                "processes": "1 process" if ranks == 1 else f"{ranks} ranks (gloo)",
                "repeats": int(by_seed[ranks].notna().sum()),
                "s/epoch (median)": float(by_seed[ranks].median()),
                "speed-up": speed_up,
                "efficiency": speed_up / ranks,
                "held-out MSE (mean)": (float(errors[ranks].mean()) if errors is not None
                                        else float("nan")),
                "MSE / 1 process": (float(np.median(errors[ranks] / errors[one]))
                                    if errors is not None else float("nan")),
            })
    return pd.DataFrame(out)


READING = (
    "Reading it: every optimizer step ends with one all-reduce of the gradients (476,704 "
    "numbers at the full settings), whose cost does not shrink with the batch: over gloo "
    "on one machine of 2 virtual cores a rank's step waits about 2 to 4 ms for it (measured "
    "apart, on the 2-core machine of 2026-12-06, by timing `dist.all_reduce` between 2 "
    "one-thread processes: 0.55 ms for one number, 3.2 to 3.8 ms for 476,704, against "
    "0.06 ms for a socket round trip). skae's path (its hand-written backward pass and "
    "fused Adam kept, one flat all-reduce per step) is compared with DDP (gradient buckets "
    "reduced while the backward pass runs) in the same run."
)


def reading(rows):
    """:data:`READING`, then what this run's rows say: the step's arithmetic and the speed-ups."""
    table = summary(rows)
    two = table[table["processes"] != "1 process"]
    if two.empty:
        return READING
    smallest = int(table["global batch"].min())
    one = table[(table["processes"] == "1 process") & (table["engine"] == "skae")
                & (table["global batch"] == smallest)]
    n_train = training_rows(int(rows["rows"].iloc[0]))
    text = READING
    if len(one):
        half_step_ms = 1e3 * float(one["s/epoch (median)"].iloc[0]) / -(-n_train // smallest) / 2
        text += (f" In this run half of a {smallest:,}-row step's arithmetic in one process "
                 f"took {half_step_ms:.1f} ms (skae's seconds per epoch over its steps, halved).")
    speed_ups = "; ".join(
        f"{engine}: " + ", ".join(f"{r['speed-up']:.2f}x at {r['global batch']:,}"
                                  for _, r in part.iterrows())
        for engine, part in two.groupby("engine", sort=False))
    return text + f" The 2-rank speed-ups measured here, by global batch: {speed_ups}."


def report(rows, out_dir):
    first = rows.iloc[0]
    load = rows["load_average"]
    conditions = (
        f"{first['rows']:,} x {first['features']} rows (90% train), hidden "
        f"{tuple(first['hidden'])}, code {first['components']}, "
        f"{first['epochs']} epochs, one thread per process; load "
        f"average {load.min():.1f} to {load.max():.1f} at the runs' start on "
        f"{int(rows['cpu_count'].max())} logical cores."
    )
    from .slices import rows_statement

    return "\n".join([
        "## Distributed: data-parallel training on 1 and 2 ranks", "",
        (__doc__ or "").split("\n\n")[1].replace("\n", " "), "",
        conditions, "",
        summary(rows).to_markdown(index=False, floatfmt=".3g"), "",
        reading(rows), "",
        rows_statement(rows["seed"]), "",
    ])


def doc_figure(rows):
    """The distributed guide's table: seconds per epoch, speed-up and error, by batch and engine."""
    from .slices import rows_statement

    table = summary(rows)
    lines = [
        ".. list-table:: Seconds per epoch (median of repeats) on 1 process and 2 gloo ranks",
        "   :header-rows: 1", "",
        "   * - engine", "     - global batch", "     - processes", "     - s/epoch",
        "     - speed-up", "     - held-out MSE / 1 process's",
    ]
    for _, row in table.iterrows():
        error = row["MSE / 1 process"]
        lines += [f"   * - {row['engine']}", f"     - {row['global batch']:,}",
                  f"     - {row['processes']}", f"     - {row['s/epoch (median)']:.3g}",
                  f"     - {row['speed-up']:.2f}x",
                  f"     - {error:.3f}" if np.isfinite(error) else "     - (not measured)"]
    return "\n".join(lines + ["", reading(rows), "", rows_statement(rows["seed"])]) + "\n"


def main(argv=None):
    from .slices import main_for

    return main_for(sys.modules[__name__], argv)


if __name__ == "__main__":
    sys.exit(main())
