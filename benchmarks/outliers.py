"""Outlier detection benchmark: skae's AutoencoderOutlierDetector against classical detectors.

One-class-vs-rest settings built from real data: for a dataset and an inlier
class ``c``, the detector is trained on 70% of the rows of class ``c`` (novelty
detection, as ``LocalOutlierFactor(novelty=True)``), then scores a test set
made of the other 30% of class ``c`` plus rows of the other classes, drawn at
random so that they are ``--outlier-fraction`` (default 10%) of the test set.
Every detector sees the same rows, standardized with the mean and standard
deviation of the whole dataset (all classes, no labels: the domain's feature
scales). Standardizing on the inlier class alone would blow up the features
that are constant in that class (blank pixels of a digit) and make every
setting trivial. The score is ROC-AUC and average precision (AP) of flagging
outliers (higher ``score_samples`` = more normal), averaged over the inlier
classes of each dataset.

Detectors:

* ``AE``, ``DAE``, ``VAE``: ``AutoencoderOutlierDetector`` around
  ``AutoencoderTransformer``, ``DenoisingAE`` (skipped if skae does not have
  it) and ``VariationalAE`` (scored by its ELBO), all with
  ``n_components = round(sqrt(n_features))``, one hidden layer of 64 units,
  100 epochs on all training rows (``early_stopping=False``: a one-class
  training set can be as small as 125 rows, too few to hold out a
  validation split worth stopping on; training still stops when the
  training loss stalls for 10 epochs) and the estimators' defaults otherwise
  (``init="pca"``);
* ``PCA``: PCA's reconstruction error with the same ``n_components``;
* ``IForest``, ``LOF``, ``OCSVM``: ``IsolationForest``,
  ``LocalOutlierFactor(novelty=True)`` and ``OneClassSVM``, scikit-learn's
  defaults.

Datasets: ``digits`` (bundled with scikit-learn) and ``optdigits``,
``pendigits``, ``satimage`` from the shared PMLB-layout folder (env var
``SKAE_DATA_DIR``, default ``<repo>/../shared/datasets``); missing files are
skipped.

Run ``python -m benchmarks.outliers`` (``--help`` for options). Set
``OMP_NUM_THREADS=1`` on a shared machine.
"""

import argparse
import math
import os
import time
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator
from sklearn.datasets import load_digits
from sklearn.decomposition import PCA
from sklearn.ensemble import IsolationForest
from sklearn.metrics import average_precision_score, roc_auc_score
from sklearn.neighbors import LocalOutlierFactor
from sklearn.preprocessing import StandardScaler
from sklearn.svm import OneClassSVM

import skae
from skae import AutoencoderOutlierDetector, AutoencoderTransformer, VariationalAE

SHARED = ("optdigits", "pendigits", "satimage")
DATA_DIR = Path(os.environ.get("SKAE_DATA_DIR", Path(__file__).resolve().parents[2] / "shared" / "datasets"))


class PCAReconstruction(BaseEstimator):
    """Outlier score from PCA: minus the mean squared reconstruction error."""

    def __init__(self, n_components):
        self.n_components = n_components

    def fit(self, X, y=None):
        self.pca_ = PCA(n_components=self.n_components, random_state=0).fit(X)
        return self

    def score_samples(self, X):
        reconstruction = self.pca_.inverse_transform(self.pca_.transform(X))
        return -np.mean((X - reconstruction) ** 2, axis=1)


def autoencoders(n_components, seed):
    """The skae autoencoders to wrap, by short name."""
    common = dict(
        n_components=n_components,
        hidden_layer_sizes=(64,),
        batch_size=64,
        max_iter=100,
        early_stopping=False,
        random_state=seed,
    )
    found = {"AE": AutoencoderTransformer(**common)}
    if hasattr(skae, "DenoisingAE"):
        found["DAE"] = skae.DenoisingAE(**common)
    found["VAE"] = VariationalAE(**common)
    return found


def detectors(n_features, seed):
    """Every detector, unfitted: name -> object with fit and score_samples."""
    k = max(2, round(math.sqrt(n_features)))
    found = {name: AutoencoderOutlierDetector(ae) for name, ae in autoencoders(k, seed).items()}
    found["PCA"] = PCAReconstruction(k)
    found["IForest"] = IsolationForest(random_state=seed)
    found["LOF"] = LocalOutlierFactor(novelty=True)
    found["OCSVM"] = OneClassSVM()
    return found


def load(name):
    """``(X, y)`` of a dataset, or None when its file is missing."""
    if name == "digits":
        return load_digits(return_X_y=True)
    path = DATA_DIR / f"{name}.tsv.gz"
    if not path.exists():
        return None
    frame = pd.read_csv(path, sep="\t")
    y = frame.pop("target").to_numpy()
    return frame.to_numpy(dtype=float), y


def one_class_split(X, y, inlier, outlier_fraction, seed):
    """Training rows (inliers only), test rows and the test labels (1 = outlier)."""
    rng = np.random.RandomState(seed)
    inliers = rng.permutation(np.flatnonzero(y == inlier))
    n_train = int(round(0.7 * len(inliers)))
    train, test_inliers = inliers[:n_train], inliers[n_train:]
    n_outliers = max(1, int(round(len(test_inliers) * outlier_fraction / (1 - outlier_fraction))))
    outliers = rng.choice(np.flatnonzero(y != inlier), n_outliers, replace=False)
    test = np.concatenate([test_inliers, outliers])
    is_outlier = np.r_[np.zeros(len(test_inliers)), np.ones(n_outliers)]
    return X[train], X[test], is_outlier


def run(datasets, n_classes, outlier_fraction, seed):
    rows = []
    for name in datasets:
        data = load(name)
        if data is None:
            print(f"skipping {name}: no file in {DATA_DIR}")
            continue
        X, y = data
        X = StandardScaler().fit_transform(X)
        for inlier in np.unique(y)[:n_classes]:
            X_train, X_test, is_outlier = one_class_split(X, y, inlier, outlier_fraction, seed)
            for method, detector in detectors(X.shape[1], seed).items():
                start = time.perf_counter()
                outlyingness = -detector.fit(X_train).score_samples(X_test)
                rows.append(
                    dict(
                        dataset=name,
                        inlier=inlier,
                        method=method,
                        roc_auc=roc_auc_score(is_outlier, outlyingness),
                        ap=average_precision_score(is_outlier, outlyingness),
                        seconds=time.perf_counter() - start,
                        n_train=len(X_train),
                        n_test=len(X_test),
                    )
                )
            done = pd.DataFrame(rows)
            last = done[(done.dataset == name) & (done.inlier == inlier)]
            print(
                f"{name} class {inlier}: "
                + ", ".join(f"{m} {a:.3f}" for m, a in zip(last.method, last.roc_auc)),
                flush=True,
            )
    return pd.DataFrame(rows)


def summarize(results):
    """Mean ROC-AUC and AP per dataset and method, and the verdicts of the goal."""
    methods = list(dict.fromkeys(results.method))
    table = results.groupby(["dataset", "method"], sort=False)[["roc_auc", "ap", "seconds"]].mean()
    lines = []
    for metric in ("roc_auc", "ap"):
        wide = table[metric].unstack("method")[methods]
        lines.append(f"\nmean {metric.upper()} over inlier classes (higher is better)")
        lines.append(wide.to_string(float_format=lambda v: f"{v:.3f}"))
    lines.append("\nmean seconds per fit + score")
    lines.append(table["seconds"].unstack("method")[methods].to_string(float_format=lambda v: f"{v:.1f}"))
    skae_methods = [m for m in methods if m in ("AE", "DAE", "VAE")]
    lines.append("\nbest skae detector vs each rival on ROC-AUC, wins/ties/losses:")
    for rival in ("PCA", "IForest", "LOF", "OCSVM"):
        lines.append(
            f"  vs {rival:8s} per dataset {_record(table['roc_auc'].unstack('method'), skae_methods, rival)}, "
            f"per setting (dataset x class) {_record(_per_setting(results), skae_methods, rival)}"
        )
    return "\n".join(lines)


def _per_setting(results):
    return results.pivot_table(index=["dataset", "inlier"], columns="method", values="roc_auc")


def _record(auc, skae_methods, rival):
    """Wins/ties/losses of the best skae detector against ``rival`` (ties to 3 decimals)."""
    best = auc[skae_methods].max(axis=1).round(3)
    other = auc[rival].round(3)
    return f"{int((best > other).sum())}/{int((best == other).sum())}/{int((best < other).sum())}"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", nargs="+", default=["digits", *SHARED])
    parser.add_argument("--classes", type=int, default=3, help="inlier classes per dataset (the first ones)")
    parser.add_argument("--outlier-fraction", type=float, default=0.1)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--csv", help="also write the per-setting results to this CSV file")
    args = parser.parse_args(argv)
    results = run(args.datasets, args.classes, args.outlier_fraction, args.seed)
    if args.csv:
        results.to_csv(args.csv, index=False)
    print(summarize(results))
    return results


if __name__ == "__main__":
    main()
