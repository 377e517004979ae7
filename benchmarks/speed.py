"""Training speed: skae against hand-written PyTorch loops, skorch's default and MLPRegressor.

Seconds per epoch on the same network, data, batch size and optimizer (Adam, lr 1e-3),
with the same explicit number of threads (torch and BLAS) for every contender. Each
contender first runs one untimed epoch (first-call costs: allocations, torch's lazy
imports); then the hand-written loops time their epochs alone, and the estimators a whole
new fit (its set-up included: input checks, network and optimizer), divided by its
epochs (30 on small, 2 on large). Repeats are interleaved (repeat 1 of every contender,
then repeat 2, ...), so that a change of load hits every contender alike, and each ratio
is taken within a repeat, against the reference: a plain PyTorch loop with torch's fused
Adam. MLPRegressor is not run on the large setting (minutes per epoch).

    python -m benchmarks.speed            # both settings (65 runs, one at a time: minutes)
    python -m benchmarks.speed --quick    # small network only

Settings:

* large: 60,000 x 784 float32 (random values: the time per epoch does not depend on them),
  encoder 784-256-64-10 with a mirrored decoder, batch 256;
* small: scikit-learn's digits (1,797 x 64, standardized), encoder 64-32-10, batch 256,
  where per-step overhead dominates.

Runs one at a time, whatever ``--jobs`` says: timings of parallel runs would disturb
each other.
"""

import sys
import time
import warnings

import numpy as np
import pandas as pd
import torch
from sklearn.datasets import load_digits
from sklearn.decomposition import PCA
from sklearn.neural_network import MLPRegressor
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_limits

from skae import AutoencoderTransformer
from skae.nn import make_mlp

NAME = "speed"
DEFAULT_SEEDS = 5  # repeats
SEQUENTIAL = True
THREADS = 1

SETTINGS = {
    "small": dict(hidden=(32,), n_components=10, epochs=30),
    "large": dict(hidden=(256, 64), n_components=10, epochs=2),
}
BATCH_SIZE = 256
EPOCHS_TEXT = ", ".join(f"{name} {setting['epochs']}" for name, setting in SETTINGS.items())
REFERENCE = "raw loop, fused Adam"
# transform is called repeatedly until this much time has passed.
MIN_TIMING_SECONDS = 0.5


def load_setting(name, rng=None):
    if name == "small":
        return StandardScaler().fit_transform(load_digits().data).astype(np.float32)
    rng = np.random.default_rng(0) if rng is None else rng
    return rng.standard_normal((60_000, 784), dtype=np.float32)


def make_module(n_features, hidden, n_components):
    sizes = [n_features, *hidden, n_components]
    return torch.nn.Sequential(make_mlp(sizes), make_mlp(sizes[::-1]))


def time_raw_loop(X, hidden, n_components, epochs, fused=False):
    torch.manual_seed(0)
    module = make_module(X.shape[1], hidden, n_components)
    optimizer = torch.optim.Adam(module.parameters(), lr=1e-3, **({"fused": True} if fused else {}))
    X = torch.from_numpy(X)

    def epoch():
        order = torch.randperm(len(X))
        for i in range(0, len(X), BATCH_SIZE):
            batch = X[order[i : i + BATCH_SIZE]]
            optimizer.zero_grad()
            loss = torch.nn.functional.mse_loss(module(batch), batch)
            loss.backward()
            optimizer.step()

    epoch()  # warm-up, not counted
    start = time.perf_counter()
    for _ in range(epochs):
        epoch()
    return (time.perf_counter() - start) / epochs


def _skae(epochs):
    return AutoencoderTransformer(
        init="random",  # the same plain MLP as the other contenders
        batch_size=BATCH_SIZE,
        max_iter=epochs,
        early_stopping=False,  # no validation pass: the same work as the others
        tol=0.0,
        n_iter_no_change=epochs + 1,
        device="cpu",
        n_jobs=THREADS,
        random_state=0,
    )


def time_skae(X, hidden, n_components, epochs):
    ae = _skae(epochs).set_params(n_components=n_components, hidden_layer_sizes=hidden)
    ae.set_params(max_iter=1).fit(X)  # warm-up epoch
    ae.set_params(max_iter=epochs, n_iter_no_change=epochs + 1)
    start = time.perf_counter()
    ae.fit(X)
    return (time.perf_counter() - start) / epochs


def time_skorch_default(X, hidden, n_components, epochs):
    from skorch import NeuralNetRegressor

    torch.manual_seed(0)
    net = NeuralNetRegressor(
        make_module(X.shape[1], hidden, n_components), optimizer=torch.optim.Adam, lr=1e-3,
        batch_size=BATCH_SIZE, max_epochs=1, train_split=None, verbose=0,
    )
    net.fit(X, X)  # warm-up epoch
    net.set_params(max_epochs=epochs)
    start = time.perf_counter()
    net.fit(X, X)
    return (time.perf_counter() - start) / epochs


def time_mlp_regressor(X, hidden, n_components, epochs):
    def fit(n_epochs):
        mlp = MLPRegressor(
            hidden_layer_sizes=(*hidden, n_components, *hidden[::-1]), batch_size=BATCH_SIZE,
            max_iter=n_epochs, tol=0.0, n_iter_no_change=n_epochs + 1, random_state=0,
        )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # ConvergenceWarning: max_iter is the point here
            mlp.fit(X, X)

    fit(1)  # warm-up epoch
    start = time.perf_counter()
    fit(epochs)
    return (time.perf_counter() - start) / epochs


def _rows_per_second(transform, X):
    transform(X[:1000])  # warm-up
    repeats, start = 0, time.perf_counter()
    while True:
        transform(X)
        repeats += 1
        elapsed = time.perf_counter() - start
        if elapsed >= MIN_TIMING_SECONDS:
            return repeats * len(X) / elapsed


def rate_skae_transform(X, hidden, n_components):
    ae = _skae(1).set_params(n_components=n_components, hidden_layer_sizes=hidden).fit(X[:2048])
    return _rows_per_second(ae.transform, X)


def rate_pca_transform(X, hidden, n_components):
    return _rows_per_second(PCA(n_components, random_state=0).fit(X[:2048]).transform, X)


FITS = {
    "raw PyTorch loop": time_raw_loop,
    REFERENCE: lambda *args: time_raw_loop(*args, fused=True),
    "skae": time_skae,
    "skorch NeuralNetRegressor": time_skorch_default,
    "MLPRegressor": time_mlp_regressor,
}
TRANSFORMS = {"skae transform": rate_skae_transform, "PCA.transform": rate_pca_transform}
# MLPRegressor on the large setting takes minutes per epoch.
SKIP = {"large": ("MLPRegressor",)}


def plan(config):
    settings = ["small"] if config["quick"] else ["small", "large"]
    runs = []
    for setting in settings:
        for repeat in range(config["seeds"]):  # interleaved: every contender once per repeat
            for contender in [*FITS, *TRANSFORMS]:
                if contender not in SKIP.get(setting, ()):
                    runs.append({"setting": setting, "repeat": repeat, "contender": contender,
                                 "threads": config.get("threads", THREADS)})
    return runs


def run_one(run):
    torch.set_num_threads(run["threads"])
    setting = SETTINGS[run["setting"]]
    X = load_setting(run["setting"])
    with threadpool_limits(limits=run["threads"]):
        if run["contender"] in TRANSFORMS:
            rate = TRANSFORMS[run["contender"]](X, setting["hidden"], setting["n_components"])
            return {"rows_per_s": rate}
        seconds = FITS[run["contender"]](X, setting["hidden"], setting["n_components"],
                                         setting["epochs"])
    return {"s_per_epoch": seconds, "epochs": setting["epochs"]}


def _ratios(part):
    """Each contender's median ratio to the reference's seconds per epoch, within a repeat."""
    fits = part[part["contender"].isin(FITS)]
    reference = fits[fits["contender"] == REFERENCE].set_index("repeat")["s_per_epoch"]
    out = {}
    for contender, own in fits.groupby("contender", sort=False):
        own = own.set_index("repeat")["s_per_epoch"]
        out[contender] = (own / reference.reindex(own.index)).dropna()
    return out


def report(rows, out_dir):
    lines = ["## Speed: seconds per training epoch", ""]
    lines += [
        f"- Same network, data, batch size ({BATCH_SIZE}) and optimizer (Adam, lr 1e-3) for "
        f"every contender, {rows['threads'].iloc[0]} torch/BLAS thread(s) each; one untimed "
        "epoch first; then the hand-written loops time their epochs alone and the estimators "
        "a whole new fit (set-up included) divided by its epochs "
        f"({EPOCHS_TEXT}); repeats "
        "interleaved across contenders; MLPRegressor not run on large (minutes per epoch).",
        f"- Ratio: a contender's seconds per epoch over the reference's ({REFERENCE}) in the "
        "same repeat; median and range over repeats. Below 1 is faster than the reference.",
        "- Settings: small = digits 1,797 x 64, encoder 64-32-10; large = 60,000 x 784, "
        "encoder 784-256-64-10 (decoders mirrored).",
        f"- Rows: repeats 0-{rows['repeat'].max()} of this run: timings, which no default was "
        "chosen on; not split into design and report rows (docs/benchmarks/README.md).", "",
    ]
    for setting, part in rows.groupby("setting", sort=False):
        fits = part[part["contender"].isin(FITS)]
        table = []
        for contender, ratios in _ratios(part).items():
            own = fits[fits["contender"] == contender]["s_per_epoch"]
            table.append({
                "contender": contender, "repeats": len(own),
                "s/epoch (median)": f"{own.median():.4f}",
                "s/epoch (min-max)": f"{own.min():.4f}-{own.max():.4f}",
                "ratio to reference (median)": f"{ratios.median():.2f}",
                "ratio (min-max)": f"{ratios.min():.2f}-{ratios.max():.2f}",
            })
        lines += [f"### {setting}", "", pd.DataFrame(table).to_markdown(index=False), ""]
        rates = part[part["contender"].isin(TRANSFORMS)]
        if not rates.empty:
            text = ", ".join(
                f"{name} {group['rows_per_s'].median():,.0f} rows/s "
                f"(range {group['rows_per_s'].min():,.0f}-{group['rows_per_s'].max():,.0f})"
                for name, group in rates.groupby("contender", sort=False)
            )
            lines += [f"Transform throughput (calls repeated for at least {MIN_TIMING_SECONDS} s, "
                      f"median over repeats): {text}.", ""]
    return "\n".join(lines)


def doc_figure(rows):
    """The table ``docs/performance.md`` includes: median ratios to the reference loop."""
    settings = {"small": "digits 1,797 x 64, encoder 64-32-10", "large": "60,000 x 784, encoder 784-256-64-10"}
    per_setting = {setting: _ratios(part) for setting, part in rows.groupby("setting", sort=False)}
    contenders = list(dict.fromkeys(c for ratios in per_setting.values() for c in ratios))
    lines = [
        f"Seconds per epoch as a ratio to {REFERENCE!r} in the same repeat (median and range over "
        f"{rows['repeat'].nunique()} interleaved repeats, {rows['threads'].iloc[0]} thread; below 1 "
        f"is faster), batch {BATCH_SIZE}, Adam:",
        "",
        ".. list-table::",
        "   :header-rows: 1",
        "",
        "   * - contender",
        *[f"     - {settings.get(s, s)}" for s in per_setting],
    ]
    for contender in contenders:
        lines.append(f"   * - {contender}")
        for ratios in per_setting.values():
            r = ratios.get(contender)
            lines.append("     - (not run)" if r is None or r.empty else
                         f"     - {r.median():.2f} ({r.min():.2f}-{r.max():.2f})")
    readings = [_reading(settings.get(s, s), ratios) for s, ratios in per_setting.items()]
    return "\n".join(lines + ["", " ".join(r for r in readings if r)]) + "\n"


def _reading(setting, ratios):
    """Where skae ranks on one setting, and its seconds per epoch over each other contender's."""
    medians = {contender: r.median() for contender, r in ratios.items() if not r.empty}
    if "skae" not in medians:
        return ""
    order = sorted(medians, key=medians.get)
    others = "; ".join(f"{c}: {medians['skae'] / medians[c]:.2f}" for c in order if c != "skae")
    return (f"On {setting}, skae ranked {order.index('skae') + 1} of {len(order)} (its time over "
            f"each other's, medians: {others}).")


def main(argv=None):
    from .slices import main_for

    return main_for(sys.modules[__name__], argv)


if __name__ == "__main__":
    sys.exit(main())
