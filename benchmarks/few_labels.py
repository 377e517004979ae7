"""Few labels: held-out accuracy when 1%, 5%, 10% or 100% of the training rows are labeled.

Unlabeled rows are cheap: the autoencoder (and PCA) learn from every training
row, the classifiers from the labeled ones. Compared, on each dataset and
fraction of labels:

* ``logreg``: LogisticRegression on the raw (scaled) features, labeled rows only;
* ``pca+logreg``: LogisticRegression on PCA codes, PCA fitted on all training rows;
* ``mlp``: MLPClassifier from scratch, labeled rows only;
* ``<ae>+logreg``: Pipeline(skae autoencoder, LogisticRegression), the
  autoencoder fitted on all training rows;
* ``<ae>-finetuned``: AutoencoderClassifier on that autoencoder (linear head,
  encoder frozen, then fine-tuned with the labels);

where ``<ae>`` is a DenoisingAE, randomly initialized, trained end to end
(``dae``) or after greedy layer-wise pretraining (``dae-lw``), plus the
default PCA-initialized DenoisingAE (``dae-pca``).

Run ``python -m benchmarks.few_labels`` (``--help`` for options). Prints a
table and writes ``few_labels.csv``, ``few_labels.md`` and ``few_labels.png``
(accuracy vs fraction labeled) under ``results/few_labels/``.
"""

import argparse
import os
import time
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.base import clone
from sklearn.decomposition import PCA
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier
from sklearn.preprocessing import MinMaxScaler, StandardScaler

from skae import AutoencoderClassifier, DenoisingAE

from .datasets import builtin_datasets, shared_datasets

FRACTIONS = (0.01, 0.05, 0.10, 1.0)
SHARED = ("optdigits", "pendigits", "satimage")
DEFAULT_DATA_DIR = Path(__file__).resolve().parents[1] / ".." / "shared" / "datasets"


def autoencoders(n_features, seed):
    """The autoencoders compared, by name."""
    common = dict(
        n_components=min(16, n_features),
        hidden_layer_sizes=(128,),
        noise_level=0.3,
        early_stopping=False,
        max_iter=100,
        batch_size=64,
        random_state=seed,
    )
    return {
        "dae-pca": DenoisingAE(**common),
        "dae": DenoisingAE(**common, init="random"),
        "dae-lw": DenoisingAE(**common, init="random", pretraining="layerwise"),
    }


def labeled_rows(y, fraction, seed):
    """A stratified mask of ``fraction`` of the rows, at least one per class."""
    if fraction >= 1:
        return np.ones(len(y), dtype=bool)
    n_classes = len(np.unique(y))
    n_labeled = max(n_classes, int(round(fraction * len(y))))
    index = np.arange(len(y))
    chosen, _ = train_test_split(index, train_size=n_labeled, stratify=y, random_state=seed)
    mask = np.zeros(len(y), dtype=bool)
    mask[chosen] = True
    return mask


def run_dataset(dataset, fractions, seed):
    X_train, X_test, y_train, y_test = train_test_split(
        dataset.X, dataset.y, test_size=0.25, stratify=dataset.y, random_state=seed
    )
    scaler = MinMaxScaler() if dataset.scaling == "minmax" else StandardScaler()
    X_train = scaler.fit_transform(X_train)
    # Test rows are clipped to the range the models were trained on.
    low, high = (0, 1) if dataset.scaling == "minmax" else (-10, 10)
    X_test = np.clip(scaler.transform(X_test), low, high)
    n_features = X_train.shape[1]
    rows = []

    def record(method, fraction, model_score, seconds):
        rows.append(
            dict(
                dataset=dataset.name,
                fraction=fraction,
                method=method,
                accuracy=model_score,
                seconds=seconds,
            )
        )
        line = f"{dataset.name:10s} {fraction:5.2f} {method:18s} {model_score:.4f}"
        print(f"  {line} ({seconds:.1f}s)", flush=True)

    # Unsupervised parts, fitted once on all training rows.
    fitted = {}
    for name, ae in autoencoders(n_features, seed).items():
        start = time.perf_counter()
        fitted[name] = (ae.fit(X_train), time.perf_counter() - start)
    pca = PCA(n_components=min(16, n_features), random_state=seed).fit(X_train)
    codes = {name: (ae.transform(X_train), ae.transform(X_test)) for name, (ae, _) in fitted.items()}
    codes["pca"] = (pca.transform(X_train), pca.transform(X_test))

    for fraction in fractions:
        labeled = labeled_rows(y_train, fraction, seed)
        X_lab, y_lab = X_train[labeled], y_train[labeled]
        logreg = LogisticRegression(max_iter=5000)
        start = time.perf_counter()
        score = clone(logreg).fit(X_lab, y_lab).score(X_test, y_test)
        record("logreg", fraction, score, time.perf_counter() - start)
        Z_train, Z_test = codes["pca"]
        start = time.perf_counter()
        score = clone(logreg).fit(Z_train[labeled], y_lab).score(Z_test, y_test)
        record("pca+logreg", fraction, score, time.perf_counter() - start)
        start = time.perf_counter()
        mlp = MLPClassifier(max_iter=2000, random_state=seed).fit(X_lab, y_lab)
        record("mlp", fraction, mlp.score(X_test, y_test), time.perf_counter() - start)
        y_partial = np.where(labeled, y_train, -1)
        for name, (ae, ae_seconds) in fitted.items():
            Z_train, Z_test = codes[name]
            start = time.perf_counter()
            score = clone(logreg).fit(Z_train[labeled], y_lab).score(Z_test, y_test)
            record(f"{name}+logreg", fraction, score, ae_seconds + time.perf_counter() - start)
            start = time.perf_counter()
            clf = AutoencoderClassifier(ae, refit_autoencoder=False, random_state=seed)
            score = clf.fit(X_train, y_partial).score(X_test, y_test)
            record(f"{name}-finetuned", fraction, score, ae_seconds + time.perf_counter() - start)
    return rows


def plot(table, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    datasets = list(dict.fromkeys(table["dataset"]))
    fig, axes = plt.subplots(1, len(datasets), figsize=(4.2 * len(datasets), 3.8), squeeze=False)
    for ax, name in zip(axes[0], datasets):
        sub = table[table["dataset"] == name]
        for method, group in sub.groupby("method", sort=False):
            group = group.groupby("fraction")["accuracy"].mean()
            style = "-" if "finetuned" in method else ("--" if "+logreg" in method else ":")
            ax.plot(group.index * 100, group.values, style, marker="o", ms=3, label=method)
        ax.set_xscale("log")
        ax.set_xticks([1, 5, 10, 100], ["1", "5", "10", "100"])
        ax.set_xlabel("% of training rows labeled")
        ax.set_title(name)
        ax.grid(alpha=0.3)
    axes[0][0].set_ylabel("held-out accuracy")
    axes[0][-1].legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", default=os.environ.get("SKAE_DATA_DIR", DEFAULT_DATA_DIR))
    parser.add_argument("--datasets", nargs="*", default=["digits", *SHARED])
    parser.add_argument("--fractions", nargs="*", type=float, default=list(FRACTIONS))
    parser.add_argument(
        "--max-rows", type=int, default=4000, help="stratified subsample of larger files"
    )
    parser.add_argument("--seeds", nargs="*", type=int, default=[0])
    parser.add_argument("--out", default="results/few_labels")
    args = parser.parse_args(argv)

    datasets = [d for d in builtin_datasets() if d.name in args.datasets]
    builtin = {d.name for d in datasets}
    shared = [name for name in args.datasets if name not in builtin]
    if shared:
        if Path(args.data_dir).is_dir():
            datasets += shared_datasets(args.data_dir, names=shared, max_rows=args.max_rows)
        else:
            print(f"Skipping {shared}: no shared datasets at {args.data_dir} (set --data-dir).")
    rows = []
    for dataset in datasets:
        n_rows, n_features = dataset.X.shape
        print(f"{dataset.name}: {n_rows} rows, {n_features} features", flush=True)
        for seed in args.seeds:
            rows += run_dataset(dataset, args.fractions, seed)
    table = pd.DataFrame(rows)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    table.to_csv(out / "few_labels.csv", index=False)
    pivot = table.pivot_table(
        index=["dataset", "fraction"], columns="method", values="accuracy", sort=False
    )
    pivot = pivot[list(dict.fromkeys(table["method"]))]
    markdown = pivot.to_markdown(floatfmt=".3f")
    (out / "few_labels.md").write_text(markdown + "\n")
    plot(table, out / "few_labels.png")
    print(markdown)
    print(f"Wrote {out / 'few_labels.csv'}, {out / 'few_labels.md'} and {out / 'few_labels.png'}")


if __name__ == "__main__":
    main()
