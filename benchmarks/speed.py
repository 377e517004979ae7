"""Training speed: skae against a hand-written PyTorch loop, skorch's default and MLPRegressor.

Per-epoch seconds on the same network, data, batch size and optimizer (Adam, lr 1e-3),
measured side by side and interleaved over repeats, so that the ratios survive a noisy machine.

    python -m benchmarks.speed            # both settings (a few minutes on 2 cores)
    python -m benchmarks.speed --quick    # small network only, fewer epochs

Settings (from the foundation issue):

* large: 60,000 x 784 float32 (random values: the time per epoch does not depend on them),
  encoder 784-256-64-10 with a mirrored decoder, batch 256;
* small: scikit-learn's digits (1,797 x 64, standardized), encoder 64-32-10, batch 256,
  where per-step overhead dominates.

The hand-written loop is what a PyTorch user writes: a fresh permutation per epoch, one
index gather per batch, ``torch.optim.Adam`` with its default implementation. skae uses the
fused Adam kernel where torch has it (torch >= 2.4 on CPU); the table also shows the raw
loop with fused Adam, so the part of the gain that comes from the optimizer is visible.
"""

import argparse
import statistics
import time

import numpy as np
import torch
from sklearn.datasets import load_digits
from sklearn.decomposition import PCA
from sklearn.neural_network import MLPRegressor
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_limits

from skae import AutoencoderTransformer
from skae.nn import make_mlp

SETTINGS = {
    "small": dict(hidden=(32,), n_components=10, epochs=60),
    "large": dict(hidden=(256, 64), n_components=10, epochs=3),
}
BATCH_SIZE = 256


def load_setting(name, rng):
    if name == "small":
        return StandardScaler().fit_transform(load_digits().data).astype(np.float32)
    return rng.standard_normal((60_000, 784), dtype=np.float32)


def make_module(n_features, hidden, n_components):
    sizes = [n_features, *hidden, n_components]
    return torch.nn.Sequential(make_mlp(sizes), make_mlp(sizes[::-1]))


def time_raw_loop(X, hidden, n_components, epochs, fused=False):
    torch.manual_seed(0)
    module = make_module(X.shape[1], hidden, n_components)
    optimizer = torch.optim.Adam(module.parameters(), lr=1e-3, **({"fused": True} if fused else {}))
    X = torch.from_numpy(X)
    start = time.perf_counter()
    for _ in range(epochs):
        order = torch.randperm(len(X))
        for i in range(0, len(X), BATCH_SIZE):
            batch = X[order[i : i + BATCH_SIZE]]
            optimizer.zero_grad()
            loss = torch.nn.functional.mse_loss(module(batch), batch)
            loss.backward()
            optimizer.step()
    return (time.perf_counter() - start) / epochs


def time_skae(X, hidden, n_components, epochs):
    ae = AutoencoderTransformer(
        n_components,
        hidden_layer_sizes=hidden,
        init="random",  # the same plain MLP as the other contenders
        batch_size=BATCH_SIZE,
        max_iter=epochs,
        early_stopping=False,  # no validation pass: the same work as the others
        tol=0.0,
        n_iter_no_change=epochs + 1,
        device="cpu",
        random_state=0,
    )
    start = time.perf_counter()
    ae.fit(X)
    return (time.perf_counter() - start) / epochs


def time_skorch_default(X, hidden, n_components, epochs):
    from skorch import NeuralNetRegressor

    torch.manual_seed(0)
    net = NeuralNetRegressor(
        make_module(X.shape[1], hidden, n_components),
        optimizer=torch.optim.Adam,
        lr=1e-3,
        batch_size=BATCH_SIZE,
        max_epochs=epochs,
        train_split=None,
        verbose=0,
    )
    start = time.perf_counter()
    net.fit(X, X)
    return (time.perf_counter() - start) / epochs


def time_mlp_regressor(X, hidden, n_components, epochs):
    mlp = MLPRegressor(
        hidden_layer_sizes=(*hidden, n_components, *hidden[::-1]),
        batch_size=BATCH_SIZE,
        max_iter=epochs,
        tol=0.0,
        n_iter_no_change=epochs + 1,
        random_state=0,
    )
    start = time.perf_counter()
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ConvergenceWarning: max_iter is the point here
        mlp.fit(X, X)
    return (time.perf_counter() - start) / epochs


def time_transform(X, n_components, hidden):
    """Rows per second of skae's transform and PCA's, on the same data."""
    ae = AutoencoderTransformer(
        n_components, hidden_layer_sizes=hidden, init="random", max_iter=1, device="cpu",
        random_state=0,
    ).fit(X[:2048])
    pca = PCA(n_components, random_state=0).fit(X[:2048])
    rates = {}
    for name, transform in (("skae transform", ae.transform), ("PCA.transform", pca.transform)):
        transform(X[:1000])
        start = time.perf_counter()
        transform(X)
        rates[name] = len(X) / (time.perf_counter() - start)
    return rates


CONTENDERS = {
    "raw PyTorch loop": time_raw_loop,
    "raw loop, fused Adam": lambda *args: time_raw_loop(*args, fused=True),
    "skae": time_skae,
    "skorch NeuralNetRegressor": time_skorch_default,
    "MLPRegressor": time_mlp_regressor,
}


def run(settings, repeats, epochs_scale, skip):
    rng = np.random.default_rng(0)
    for name in settings:
        setting = SETTINGS[name]
        X = load_setting(name, rng)
        epochs = max(1, round(setting["epochs"] * epochs_scale))
        args = (X, setting["hidden"], setting["n_components"], epochs)
        contenders = {k: f for k, f in CONTENDERS.items() if k not in skip.get(name, ())}
        times = {k: [] for k in contenders}
        for _ in range(repeats):  # interleaved, so load changes hit every contender alike
            for contender, function in contenders.items():
                times[contender].append(function(*args))
        raw = times["raw PyTorch loop"]
        sizes = "-".join(map(str, [X.shape[1], *setting["hidden"], setting["n_components"]]))
        print(f"\n{name}: {X.shape[0]} x {X.shape[1]}, encoder {sizes} (mirrored), "
              f"batch {BATCH_SIZE}, {epochs} epochs x {repeats} repeats, "
              f"{torch.get_num_threads()} torch thread(s)")
        print(f"| {'contender':<28} | s/epoch (median) | ratio to raw loop (median) |")
        print(f"|{'-' * 30}|-----------------:|---------------------------:|")
        for contender, values in times.items():
            ratio = statistics.median(v / r for v, r in zip(values, raw))
            print(f"| {contender:<28} | {statistics.median(values):16.4f} | {ratio:26.2f} |")
        rates = time_transform(X, setting["n_components"], setting["hidden"])
        print("transform throughput: " + ", ".join(f"{k} {v:,.0f} rows/s" for k, v in rates.items()))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small setting only, fewer epochs")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=None, help="torch and BLAS threads")
    parser.add_argument(
        "--mlp-large", action="store_true", help="also time MLPRegressor on the large setting"
    )
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    settings = ["small"] if args.quick else ["small", "large"]
    skip = {} if args.mlp_large else {"large": ("MLPRegressor",)}
    with threadpool_limits(limits=torch.get_num_threads()):
        run(settings, args.repeats, 0.5 if args.quick else 1.0, skip)


if __name__ == "__main__":
    main()
