"""Train one skae autoencoder on several processes, each reading its own rows of a memmap.

Launch it with one process per CPU core group or GPU::

    torchrun --standalone --nproc_per_node 2 examples/distributed_train.py
    accelerate launch --multi_gpu --num_processes 2 examples/distributed_train.py --backend nccl
    accelerate launch --multi_gpu --num_processes 2 examples/distributed_train.py --backend gloo  # CPUs

``torchrun`` (and ``accelerate launch``) start the processes and set ``RANK``,
``WORLD_SIZE``, ``MASTER_ADDR`` and ``MASTER_PORT``; the script joins the process
group, takes its slice of the rows of a ``numpy.memmap`` (written by rank 0 on
the first run, to ``--data``), and calls ``fit`` with ``distributed=True``:
every rank trains the same model, gradients averaged at every step. Rank 0
then checks that every rank holds the same weights, reports the held-out
error and the seconds per epoch, and saves the model.

Run it as a plain ``python examples/distributed_train.py`` and it trains on
one process (a process group of one), for comparison.

Options: ``--rows``, ``--features``, ``--hidden 512 256``, ``--epochs``,
``--data PATH``, ``--model PATH``, ``--backend gloo|nccl``.
"""

import argparse
import datetime
import os
import time

import numpy as np
import torch
import torch.distributed as dist

import skae


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=20_000)
    parser.add_argument("--features", type=int, default=200)
    parser.add_argument("--components", type=int, default=16)
    parser.add_argument("--hidden", type=int, nargs="*", default=[512, 256])
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--batch-size", type=int, default=256, help="the global batch")
    parser.add_argument("--test-fraction", type=float, default=0.1)
    parser.add_argument("--data", default="distributed_rows.f32")
    parser.add_argument("--model", default="distributed_model.skae")
    parser.add_argument("--backend", choices=["gloo", "nccl"], default=None)
    return parser.parse_args()


def write_rows(path, n_rows, n_features, seed=0):
    """A memmap of rows near a curved low-dimensional surface (the demo's data)."""
    rng = np.random.RandomState(seed)
    latent = rng.normal(size=(n_rows, 8))
    mixing = rng.normal(size=(16, n_features)) / 4
    rows = np.hstack([latent, np.tanh(latent)]) @ mixing + 0.1 * rng.normal(size=(n_rows, n_features))
    stored = np.memmap(path, dtype=np.float32, mode="w+", shape=(n_rows, n_features))
    stored[:] = rows
    stored.flush()


def main():
    args = parse_args()
    # Under torchrun / accelerate the environment names the group; alone, a group of one.
    os.environ.setdefault("RANK", "0")
    os.environ.setdefault("WORLD_SIZE", "1")
    os.environ.setdefault("MASTER_ADDR", "127.0.0.1")
    os.environ.setdefault("MASTER_PORT", "29512")
    backend = args.backend or ("nccl" if torch.cuda.is_available() else "gloo")
    if backend == "nccl":  # one GPU per process
        torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", 0)))
    # A timeout: a rank that dies makes the others fail after it, instead of waiting forever.
    dist.init_process_group(backend, timeout=datetime.timedelta(minutes=5))
    rank, world_size = dist.get_rank(), dist.get_world_size()

    shape = (args.rows, args.features)
    if rank == 0 and not os.path.exists(args.data):
        write_rows(args.data, *shape)
    dist.barrier()  # the file exists for every rank
    rows = np.memmap(args.data, dtype=np.float32, mode="r", shape=shape)
    n_train = int(round(args.rows * (1 - args.test_fraction)))
    # This rank's contiguous slice of the training rows; the memmap is read batch by batch.
    bounds = np.linspace(0, n_train, world_size + 1).astype(int)
    mine = rows[bounds[rank] : bounds[rank + 1]]

    model = skae.AutoencoderTransformer(
        n_components=args.components,
        hidden_layer_sizes=tuple(args.hidden),
        batch_size=args.batch_size,
        max_iter=args.epochs,
        early_stopping=False,
        random_state=0,
        distributed=True,
        device="cuda" if backend == "nccl" else "cpu",
    )
    start = time.perf_counter()
    model.fit(mine)
    seconds = time.perf_counter() - start

    # Every rank holds the same weights: compare a checksum with rank 0's.
    weights = torch.cat([p.detach().reshape(-1).double().cpu() for p in model.module_.parameters()])
    device = "cuda" if backend == "nccl" else "cpu"  # NCCL gathers GPU tensors only
    checksums = [torch.zeros(2, dtype=torch.float64, device=device) for _ in range(world_size)]
    dist.all_gather(checksums, torch.stack([weights.sum(), weights.abs().sum()]).to(device))
    if rank == 0:
        identical = all(torch.equal(checksums[0], other) for other in checksums)
        X_test = np.asarray(rows[n_train:])
        error = float(np.mean((model.inverse_transform(model.transform(X_test)) - X_test) ** 2))
        print(
            f"{world_size} rank(s): {model.n_iter_} epochs, {seconds / model.n_iter_:.2f} s/epoch, "
            f"held-out MSE {error:.4f}, weights identical on every rank: {identical}"
        )
        skae.save(model, args.model)  # from rank 0 only: every rank holds the same model
    dist.destroy_process_group()


if __name__ == "__main__":
    main()
