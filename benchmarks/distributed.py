"""Data-parallel training (``distributed=True``): seconds per epoch with 1 and 2 ranks.

    python -m benchmarks.distributed                    # 20,000 x 200, hidden (512, 256)
    python -m benchmarks.distributed --rows 4000 --features 50 --hidden 64 32   # quicker

One process trains ``AutoencoderTransformer`` on 90% of the rows
(``distributed=False``, one thread); then ``--ranks`` processes (one thread
each, a gloo process group on this machine) train the same model with
``distributed=True``, each on its share of the same rows. The network is
large enough for a step's arithmetic to outweigh its ``all_reduce``. Reported
for each: the median seconds per epoch (skorch's per-epoch ``dur``, so the
PCA start and process start-up are left out), the speed-up of the ranks
against one process and its efficiency against the ideal (``speed-up /
ranks``), and the mean squared error on the 10% of rows held out. The
epochs are fixed (``early_stopping=False``), so both train equally long.

Timings on a shared machine are noisy: the load average is printed at the
start and the end; on a machine with fewer idle cores than ranks the
speed-up says nothing.
"""

import argparse
import json
import os
import socket
import subprocess
import sys
import time

import numpy as np

RANK_SCRIPT = """
import datetime, json, sys
import torch.distributed as dist
from benchmarks.distributed import train
dist.init_process_group("gloo", timeout=datetime.timedelta(minutes=10))
result = train(json.loads(sys.argv[1]), dist.get_rank(), dist.get_world_size(), distributed=True)
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

    X = make_rows(settings["rows"], settings["features"])
    n_train = int(round(0.9 * len(X)))
    bounds = np.linspace(0, n_train, world_size + 1).astype(int)
    model = AutoencoderTransformer(
        n_components=settings["components"],
        hidden_layer_sizes=tuple(settings["hidden"]),
        batch_size=settings["batch_size"],
        max_iter=settings["epochs"],
        early_stopping=False,
        random_state=0,
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
        "epochs": model.n_iter_,
        "test_mse": error,
    }


def _free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def run_ranks(settings, world_size):
    """Train with ``world_size`` ranks (one process each); rank 0's result."""
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
        processes.append(
            subprocess.Popen(
                [sys.executable, "-c", RANK_SCRIPT, json.dumps(settings)],
                env=env,
                stdout=subprocess.PIPE,
                text=True,
            )
        )
    outputs = [process.communicate()[0] for process in processes]
    if any(process.returncode for process in processes):
        raise RuntimeError(f"a rank failed: return codes {[p.returncode for p in processes]}")
    return json.loads(outputs[0].strip().splitlines()[-1])


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=20_000)
    parser.add_argument("--features", type=int, default=200)
    parser.add_argument("--hidden", type=int, nargs="*", default=[512, 256])
    parser.add_argument("--components", type=int, default=16)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--ranks", type=int, default=2)
    args = parser.parse_args(argv)
    settings = {
        "rows": args.rows,
        "features": args.features,
        "hidden": args.hidden,
        "components": args.components,
        "epochs": args.epochs,
        "batch_size": args.batch_size,
    }
    os.environ["OMP_NUM_THREADS"] = "1"
    import torch

    torch.set_num_threads(1)
    print(f"cpu_count={os.cpu_count()}, load average {os.getloadavg()[0]:.1f} at start")
    print(
        f"{args.rows:,} x {args.features} rows (90% train), hidden {tuple(args.hidden)}, "
        f"code {args.components}, global batch {args.batch_size}, {args.epochs} epochs, "
        "one thread per process"
    )
    one = train(settings)
    ranks = run_ranks(settings, args.ranks)
    speedup = one["epoch_seconds"] / ranks["epoch_seconds"]
    print(f"\n{'':<28}{'s/epoch':>10}{'held-out MSE':>15}")
    print(f"{'1 process':<28}{one['epoch_seconds']:>10.2f}{one['test_mse']:>15.4f}")
    label = f"{args.ranks} ranks (gloo)"
    print(f"{label:<28}{ranks['epoch_seconds']:>10.2f}{ranks['test_mse']:>15.4f}")
    print(
        f"\nspeed-up {speedup:.2f}x, efficiency {speedup / args.ranks:.0%} of the ideal "
        f"{args.ranks}x; held-out MSE ratio {ranks['test_mse'] / one['test_mse']:.3f}"
    )
    print(f"load average {os.getloadavg()[0]:.1f} at end")


if __name__ == "__main__":
    main()
