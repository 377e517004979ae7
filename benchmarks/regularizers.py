"""Per-epoch cost of the regularized autoencoders relative to the plain AutoencoderTransformer.

Every contender trains the same network on the same data (``benchmarks.speed``'s settings:
digits 1,797 x 64 with a 64-32-10 encoder, and 60,000 x 784 random float32 with a
784-256-64-10 encoder; mirrored decoders, batch 256, Adam), and is timed by the median of
skae's own epoch durations (``history_[-1, "dur"]``, so input validation and the end-of-fit
passes are left out). Contenders train round-robin, one epoch each (``partial_fit``) per
round, and each ratio is the median over rounds of (contender / plain autoencoder of the
same network) in the same round, so that ratios survive a noisy machine.

The contractive penalty is also timed on a one-layer encoder (``hidden_layer_sizes=()``,
closed form, against the plain one-layer autoencoder) and on a three-layer encoder (the
large setting's 784-256-64-10, and 64-32-16-10 on digits, against the plain autoencoder of
that network, where ContractiveAE uses the layer-wise product); both are also timed with
the penalty forced through batched autograd, to show what the exact shortcuts save.

    python -m benchmarks.regularizers               # both settings
    python -m benchmarks.regularizers --quick       # digits only
    python -m benchmarks.regularizers --rows 12800  # fewer rows of the large setting, same network
"""

import argparse
import statistics

import numpy as np
import torch
from threadpoolctl import threadpool_limits

from skae import AutoencoderTransformer, ContractiveAE, DenoisingAE, SparseAE
from skae.penalties import jacobian_norm_autograd

from .speed import BATCH_SIZE, SETTINGS, load_setting

# Settings every contender shares: the same plain MLP (no PCA path), trained by partial_fit.
COMMON = dict(init="random", batch_size=BATCH_SIZE, device="cpu", random_state=0)


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


def run(settings, rounds, rows):
    rng = np.random.default_rng(0)
    for name in settings:
        setting = SETTINGS[name]
        X = load_setting(name, rng)
        if name == "large" and rows:
            X = X[:rows]
        hidden = tuple(setting["hidden"])
        deep_hidden = hidden if len(hidden) == 2 else (*hidden, 16)
        table = contenders(hidden, deep_hidden)
        models = {
            contender: cls(setting["n_components"], **COMMON, **params).partial_fit(X)
            for contender, (_, cls, params) in table.items()
        }
        # Round-robin, one epoch (partial_fit) per contender per round: a change of load
        # on the machine hits every contender of a round alike.
        times = {k: [] for k in table}
        for _ in range(rounds[name]):
            for contender, model in models.items():
                model.partial_fit(X)
                times[contender].append(float(model.history_[-1, "dur"]))
        sizes = "-".join(map(str, [X.shape[1], *hidden, setting["n_components"]]))
        deep_sizes = "-".join(map(str, [X.shape[1], *deep_hidden, setting["n_components"]]))
        print(
            f"\n{name}: {X.shape[0]} x {X.shape[1]}, encoder {sizes} (3 layers: {deep_sizes}), "
            f"batch {BATCH_SIZE}, {rounds[name]} rounds of one epoch each, "
            f"{torch.get_num_threads()} torch thread(s)"
        )
        print(f"| {'contender':<60} | s/epoch (median) | ratio (median) |")
        print(f"|{'-' * 62}|-----------------:|---------------:|")
        for contender, (baseline, _, _) in table.items():
            values = times[contender]
            ratio = statistics.median(v / b for v, b in zip(values, times[baseline]))
            label = contender if baseline == contender else f"{contender} / {baseline}"
            print(f"| {label:<60} | {statistics.median(values):16.4f} | {ratio:14.2f} |")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="digits only")
    parser.add_argument("--small-rounds", type=int, default=60)
    parser.add_argument("--large-rounds", type=int, default=5)
    parser.add_argument("--rows", type=int, default=None, help="rows of the large setting")
    parser.add_argument("--threads", type=int, default=None, help="torch and BLAS threads")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    settings = ["small"] if args.quick else ["small", "large"]
    rounds = {"small": args.small_rounds, "large": args.large_rounds}
    with threadpool_limits(limits=torch.get_num_threads()):
        run(settings, rounds, args.rows)


if __name__ == "__main__":
    main()
