"""Per-epoch cost of the regularized autoencoders relative to the plain AutoencoderTransformer.

Every contender trains the same network on the same data (``benchmarks.speed``'s settings:
digits 1,797 x 64 with a 64-32-10 encoder, and 60,000 x 784 random float32 with a
784-256-64-10 encoder; mirrored decoders, batch 256, Adam), and is timed by the median of
skae's own per-epoch durations (``history_[:, "dur"]``, so PCA, validation and the end-of-fit
passes are left out). Contenders run interleaved, and each ratio is the median over repeats
of (contender / plain autoencoder of the same network) in the same repeat, so that ratios
survive a noisy machine.

The contractive penalty is also timed on a one-layer encoder (``hidden_layer_sizes=()``,
closed form, against the plain one-layer autoencoder) and on a three-layer encoder (the
large setting's 784-256-64-10, and 64-32-16-10 on digits, against the plain autoencoder of
that network, where ContractiveAE uses the layer-wise product); both are also timed with
the penalty forced through batched autograd, to show what the exact shortcuts save.

    python -m benchmarks.regularizers              # both settings
    python -m benchmarks.regularizers --quick      # digits only
    python -m benchmarks.regularizers --rows 20000 # a smaller stand-in for the large setting
"""

import argparse
import statistics

import numpy as np
import torch
from threadpoolctl import threadpool_limits

from skae import AutoencoderTransformer, ContractiveAE, DenoisingAE, SparseAE
from skae.penalties import jacobian_norm_autograd

from .speed import BATCH_SIZE, SETTINGS, load_setting

# Settings every contender shares: the same plain MLP (no PCA path), all epochs run.
COMMON = dict(
    init="random",
    batch_size=BATCH_SIZE,
    early_stopping=False,
    tol=0.0,
    device="cpu",
    random_state=0,
)


class _ContractiveAutograd(ContractiveAE):
    """ContractiveAE with the penalty forced through batched autograd (for timing only)."""

    def _penalty(self, output, X_input):
        encoder = self.net_.module_.encoder
        return self.contractive_weight * jacobian_norm_autograd(encoder, X_input)


def contenders(hidden, deep_hidden):
    """``{name: (baseline name, estimator class, parameters)}``."""
    net = dict(hidden_layer_sizes=hidden)
    one = dict(hidden_layer_sizes=())
    deep = dict(hidden_layer_sizes=deep_hidden)
    table = {
        "plain": ("plain", AutoencoderTransformer, net),
        **{
            f"DenoisingAE {noise}": ("plain", DenoisingAE, dict(net, noise=noise, noise_level=0.2))
            for noise in ("gaussian", "masking", "salt_pepper", "swap")
        },
        "SparseAE l1": ("plain", SparseAE, dict(net, sparsity="l1")),
        "SparseAE kl": ("plain", SparseAE, dict(net, sparsity="kl")),
        "plain, 1 layer": ("plain, 1 layer", AutoencoderTransformer, one),
        "ContractiveAE 1 layer (closed form)": ("plain, 1 layer", ContractiveAE, one),
        "ContractiveAE 1 layer sigmoid (closed form)": (
            "plain, 1 layer", ContractiveAE, dict(one, code_activation="sigmoid")
        ),
        "ContractiveAE 1 layer sigmoid (autograd)": (
            "plain, 1 layer", _ContractiveAutograd, dict(one, code_activation="sigmoid")
        ),
        "plain, 3 layers": ("plain, 3 layers", AutoencoderTransformer, deep),
        "ContractiveAE 3 layers (layer-wise)": ("plain, 3 layers", ContractiveAE, deep),
        "ContractiveAE 3 layers (autograd)": ("plain, 3 layers", _ContractiveAutograd, deep),
    }
    if tuple(deep_hidden) == tuple(hidden):  # the setting's own encoder has 3 layers
        del table["plain, 3 layers"]
        for name in ("ContractiveAE 3 layers (layer-wise)", "ContractiveAE 3 layers (autograd)"):
            table[name] = ("plain", *table[name][1:])
    return table


def seconds_per_epoch(cls, params, X, n_components, epochs):
    model = cls(n_components, max_iter=epochs, n_iter_no_change=epochs + 1, **COMMON, **params)
    model.fit(X)
    return statistics.median(float(d) for d in model.history_[:, "dur"])


def run(settings, repeats, epochs, rows):
    rng = np.random.default_rng(0)
    for name in settings:
        setting = SETTINGS[name]
        X = load_setting(name, rng)
        if name == "large" and rows:
            X = X[:rows]
        hidden = tuple(setting["hidden"])
        deep_hidden = hidden if len(hidden) == 2 else (*hidden, 16)
        table = contenders(hidden, deep_hidden)
        n_epochs = epochs.get(name, 3)
        times = {k: [] for k in table}
        for _ in range(repeats):  # interleaved, so load changes hit every contender alike
            for contender, (_, cls, params) in table.items():
                times[contender].append(
                    seconds_per_epoch(cls, params, X, setting["n_components"], n_epochs)
                )
        sizes = "-".join(map(str, [X.shape[1], *hidden, setting["n_components"]]))
        deep_sizes = "-".join(map(str, [X.shape[1], *deep_hidden, setting["n_components"]]))
        print(
            f"\n{name}: {X.shape[0]} x {X.shape[1]}, encoder {sizes} (3 layers: {deep_sizes}), "
            f"batch {BATCH_SIZE}, {n_epochs} epochs x {repeats} repeats, "
            f"{torch.get_num_threads()} torch thread(s)"
        )
        print(f"| {'contender':<44} | s/epoch (median) | ratio to its plain AE (median) |")
        print(f"|{'-' * 46}|-----------------:|-------------------------------:|")
        for contender, (baseline, _, _) in table.items():
            values = times[contender]
            ratio = statistics.median(v / b for v, b in zip(values, times[baseline]))
            label = contender if baseline == contender else f"{contender} / {baseline}"
            print(f"| {label:<44} | {statistics.median(values):16.4f} | {ratio:30.2f} |")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="digits only")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--small-epochs", type=int, default=20)
    parser.add_argument("--large-epochs", type=int, default=2)
    parser.add_argument("--rows", type=int, default=None, help="rows of the large setting")
    parser.add_argument("--threads", type=int, default=None, help="torch and BLAS threads")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    settings = ["small"] if args.quick else ["small", "large"]
    epochs = {"small": args.small_epochs, "large": args.large_epochs}
    with threadpool_limits(limits=torch.get_num_threads()):
        run(settings, args.repeats, epochs, args.rows)


if __name__ == "__main__":
    main()
