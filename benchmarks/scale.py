"""Bounded memory of fit and transform on a memmap, and transform throughput: in memory, memmap, Dask.

    python -m benchmarks.scale            # 2,000,000 x 100 float32 memmap (800 MB in /tmp)
    python -m benchmarks.scale --rows 200000   # smaller, quicker
    python -m benchmarks.scale --rows 200000 --only-fit   # the fit section alone

0. Peak memory of ``fit`` on the memmap, for each autoencoder that trains out
   of core (``AutoencoderTransformer``, ``DenoisingAE``, ``SparseAE``,
   ``ContractiveAE``, ``VariationalAE``, ``TabularAE``, whose column codec
   learns its statistics in a streamed pass and encodes each batch): a fresh
   process fits a 64-32-8 network (``init="pca"``, the default early
   stopping, ``--fit-epochs`` epochs) on the whole memmap, after a warm-up
   fit on 1,000 rows in memory. Reported as for transform below: its peak
   resident set size above its resident size just before the call.

1. Peak memory: a fresh process loads a fitted model (64-32-8 network on 100
   features) and transforms the whole memmap. Reported: its peak resident
   set size (``ru_maxrss``) above its resident size just before the call.
   (The high-water mark is reset first through ``/proc/self/clear_refs``.)
   The output itself (rows x 8 float32) is part of that figure. Target: under
   300 MB for the 800 MB file.
2. Throughput (rows/s) of ``transform``: on an in-memory float32 array (the
   first ``--in-memory-rows`` rows, so that it fits beside everything else),
   on the memmap, and on a dask array whose blocks each read their rows of
   the memmap, on a ``LocalCluster`` of 2 worker processes (1 thread each).
   The Dask figure includes starting nothing (the cluster is up) but does
   include shipping the model to the workers and the codes back.

The file is written in blocks and deleted at the end. Timings on a shared
machine are noisy: compare the ratios measured in one run.
"""

import argparse
import os
import pickle
import subprocess
import sys
import tempfile
import time

import numpy as np

from skae import AutoencoderTransformer

N_FEATURES = 100
WRITE_ROWS = 100_000

# In a measuring subprocess, after its warm-up: the resident set size now, and a
# reset high-water mark, so that import-time and warm-up peaks do not count.
MEASURE_START = '''
def status_mb(field):
    with open("/proc/self/status") as f:
        line = next(line for line in f if line.startswith(field + ":"))
    return int(line.split()[1]) / 1024
try:
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")
    reset = True
except OSError:
    reset = False
before = status_mb("VmRSS")
'''

PEAK_SCRIPT = """
import pickle, resource, sys, time
import numpy as np
rows, path, model = int(sys.argv[1]), sys.argv[2], sys.argv[3]
with open(model, "rb") as f:
    ae = pickle.load(f)
X = np.memmap(path, dtype=np.float32, mode="r", shape=(rows, {n_features}))
ae.transform(X[:10])  # warm-up: first torch call allocates its pools
{measure_start}start = time.perf_counter()
codes = ae.transform(X)
seconds = time.perf_counter() - start
peak = status_mb("VmHWM") if reset else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(before, peak, seconds, codes.shape[0])
""".format(n_features=N_FEATURES, measure_start=MEASURE_START)


FIT_SCRIPT = """
import resource, sys, time
import numpy as np
import skae
rows, path, name, epochs = int(sys.argv[1]), sys.argv[2], sys.argv[3], int(sys.argv[4])
X = np.memmap(path, dtype=np.float32, mode="r", shape=(rows, {n_features}))
params = dict(n_components=8, hidden_layer_sizes=(64, 32), max_iter=epochs, random_state=0)
estimator = getattr(skae, name)
estimator(**params).fit(np.array(X[:1000]))  # warm-up: first torch calls allocate their pools
{measure_start}start = time.perf_counter()
model = estimator(**params).fit(X)
seconds = time.perf_counter() - start
peak = status_mb("VmHWM") if reset else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(before, peak, seconds, len(model.loss_curve_))  # the returned network's epochs
""".format(n_features=N_FEATURES, measure_start=MEASURE_START)

# The autoencoders that train on a memmap out of core (their ``_lazy_fit`` flag).
OUT_OF_CORE = [
    "AutoencoderTransformer",
    "DenoisingAE",
    "SparseAE",
    "ContractiveAE",
    "VariationalAE",
    "TabularAE",
]


def fit_peak_memory(path, rows, epochs):
    """``{name: (before_mb, peak_mb, seconds, n_iter)}`` of fit on the memmap, each in a fresh process."""
    found = {}
    for name in OUT_OF_CORE:
        out = subprocess.run(
            [sys.executable, "-c", FIT_SCRIPT, str(rows), path, name, str(epochs)],
            capture_output=True, text=True, check=True,
        )
        before, peak, seconds, n_iter = out.stdout.split()
        found[name] = (float(before), float(peak), float(seconds), int(n_iter))
    return found


def print_fit_peaks(path, rows, epochs):
    size = os.path.getsize(path) / 2**20
    print(f"\nPeak memory of fit on the memmap ({rows:,} rows, {size:.0f} MiB; fresh process each;"
          f" 64-32-8 network, at most {epochs} epochs)")
    for name, (before, peak, seconds, n_iter) in fit_peak_memory(path, rows, epochs).items():
        print(f"  {name:24s} resident before {before:6.0f} MB, peak above baseline "
              f"{peak - before:5.0f} MB, {seconds:6.1f} s, {n_iter} epochs")


def write_memmap(path, rows, seed=0):
    rng = np.random.default_rng(seed)
    mixing = rng.normal(size=(10, N_FEATURES)).astype(np.float32)
    X = np.memmap(path, dtype=np.float32, mode="w+", shape=(rows, N_FEATURES))
    for start in range(0, rows, WRITE_ROWS):
        stop = min(rows, start + WRITE_ROWS)
        latent = rng.normal(size=(stop - start, 10)).astype(np.float32)
        X[start:stop] = latent @ mixing + 0.1 * rng.normal(size=(stop - start, N_FEATURES))
    X.flush()
    del X


def read_rows(path, rows, start, stop):
    """One dask block: rows ``start:stop`` of the memmap, read in the worker."""
    X = np.memmap(path, dtype=np.float32, mode="r", shape=(rows, N_FEATURES))
    return np.array(X[start:stop])


def rows_per_second(function, n_rows, repeats=2):
    best = np.inf
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        best = min(best, time.perf_counter() - start)
    return n_rows / best


def dask_throughput(ae, path, rows, block_rows):
    try:
        import dask
        import dask.array as da
        from dask.distributed import Client, LocalCluster
    except ImportError as error:
        return f"skipped ({error.name} not installed: pip install skae[dask])"
    cluster = LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        host="127.0.0.1",
        dashboard_address="127.0.0.1:0",
    )
    try:
        with Client(cluster):
            blocks = [
                da.from_delayed(
                    dask.delayed(read_rows)(path, rows, start, min(rows, start + block_rows)),
                    shape=(min(rows, start + block_rows) - start, N_FEATURES),
                    dtype=np.float32,
                )
                for start in range(0, rows, block_rows)
            ]
            dX = da.concatenate(blocks)
            ae.transform(dX[:block_rows]).compute()  # warm-up: workers import torch and skae
            return rows_per_second(lambda: ae.transform(dX).compute(), rows)
    finally:
        cluster.close()


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=2_000_000)
    parser.add_argument("--in-memory-rows", type=int, default=500_000)
    parser.add_argument("--dask-block-rows", type=int, default=100_000)
    parser.add_argument("--fit-epochs", type=int, default=2,
                        help="epochs of each fit in the fit section (default: 2)")
    parser.add_argument("--only-fit", action="store_true",
                        help="measure fit's peak memory only (no transform section)")
    args = parser.parse_args(argv)
    rows = args.rows
    print(f"cpu_count={os.cpu_count()}, load average {os.getloadavg()[0]:.1f} at start")
    with tempfile.TemporaryDirectory(dir="/tmp") as tmp:
        path, model = os.path.join(tmp, "X.dat"), os.path.join(tmp, "model.pkl")
        start = time.perf_counter()
        write_memmap(path, rows)
        print(f"memmap {rows:,} x {N_FEATURES} float32 ({os.path.getsize(path) / 2**20:.0f} MB) "
              f"written in {time.perf_counter() - start:.1f} s")
        print_fit_peaks(path, rows, args.fit_epochs)
        if args.only_fit:
            print(f"load average {os.getloadavg()[0]:.1f} at end")
            return
        X = np.memmap(path, dtype=np.float32, mode="r", shape=(rows, N_FEATURES))
        ae = AutoencoderTransformer(
            n_components=8, hidden_layer_sizes=(64, 32), max_iter=3, random_state=0
        ).fit(np.array(X[:20_000]))
        with open(model, "wb") as f:
            pickle.dump(ae, f)

        out = subprocess.run(
            [sys.executable, "-c", PEAK_SCRIPT, str(rows), path, model],
            capture_output=True, text=True, check=True,
        )
        before, peak, seconds, n_out = out.stdout.split()
        above = float(peak) - float(before)
        print(f"\nPeak memory of transform on the memmap ({int(n_out):,} rows, fresh process)")
        print(f"  resident before {float(before):7.0f} MB, peak {float(peak):7.0f} MB, "
              f"peak above baseline {above:5.0f} MB (target < 300 MB), {float(seconds):.1f} s")

        n_mem = min(rows, args.in_memory_rows)
        X_mem = np.array(X[:n_mem])
        X_map = X[:n_mem]
        print(f"\nTransform throughput on the same {n_mem:,} rows (best of 2)")
        print(f"  in memory            {rows_per_second(lambda: ae.transform(X_mem), n_mem):12,.0f} rows/s")
        print(f"  memmap               {rows_per_second(lambda: ae.transform(X_map), n_mem):12,.0f} rows/s")
        del X_mem
        dask_rate = dask_throughput(ae, path, n_mem, args.dask_block_rows)
        shown = f"{dask_rate:12,.0f} rows/s" if isinstance(dask_rate, float) else dask_rate
        print(f"  Dask, 2 workers      {shown}")
        del X, X_map
    print(f"load average {os.getloadavg()[0]:.1f} at end")


if __name__ == "__main__":
    main()
