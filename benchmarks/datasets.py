"""Datasets of the benchmark: bundled, generated, shared (PMLB layout) and user CSV files.

Every loader returns a :class:`Dataset`: raw features ``X`` (float64), a label
``y``, and the scaler the benchmark fits on the training rows
(``"minmax"`` for pixel data, ``"standard"`` otherwise).
"""

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.datasets import load_breast_cancer, load_digits, load_wine, make_swiss_roll

__all__ = ["Dataset", "builtin_datasets", "csv_dataset", "shared_datasets"]

# Shared datasets holding pixel intensities: scaled to [0, 1] like images.
PIXEL_DATASETS = {"mnist_test", "optdigits", "mfeat_pixel"}

# Larger files are subsampled (stratified, fixed seed) to keep the full run in hours, not days.
MAX_ROWS = 10_000


@dataclass
class Dataset:
    """A benchmark dataset.

    Attributes
    ----------
    name : str
    X : ndarray of shape (n_samples, n_features)
        Raw (unscaled) features.
    y : ndarray of shape (n_samples,)
        Class labels, or a continuous target when ``task="regression"``.
    scaling : {"standard", "minmax"}
        The scaler fitted on the training rows of each split.
    task : {"classification", "regression"}
        What the downstream model predicts from the codes.
    """

    name: str
    X: np.ndarray
    y: np.ndarray
    scaling: str = "standard"
    task: str = "classification"

    @property
    def shape(self):
        return self.X.shape


def _swiss_roll(n_samples, random_state):
    X, t = make_swiss_roll(n_samples, noise=0.05, random_state=random_state)
    y = np.digitize(t, np.quantile(t, [0.25, 0.5, 0.75]))  # 4 classes along the roll
    return X, y


def _noisy_manifold(n_samples, random_state, n_latent=3, n_features=24, noise=0.1):
    """A 3-D latent cube mapped into 24 dimensions by a fixed random tanh network, plus noise.

    The class is the octant of the first two latent coordinates (4 classes).
    """
    rng = np.random.RandomState(random_state)
    z = rng.uniform(-1, 1, size=(n_samples, n_latent))
    W1 = rng.normal(scale=2.0, size=(n_latent, 32))
    b1 = rng.normal(scale=0.5, size=32)
    W2 = rng.normal(scale=1 / np.sqrt(32), size=(32, n_features))
    X = np.tanh(z @ W1 + b1) @ W2
    X += noise * X.std(axis=0) * rng.normal(size=X.shape)
    y = 2 * (z[:, 0] > 0) + (z[:, 1] > 0)
    return X, y.astype(int)


def builtin_datasets(n_generated=2000, random_state=0):
    """The default datasets: scikit-learn's bundled ones and two generated manifolds."""
    digits = load_digits()
    cancer = load_breast_cancer()
    wine = load_wine()
    return [
        Dataset("digits", digits.data.astype(float), digits.target, scaling="minmax"),
        Dataset("breast_cancer", cancer.data, cancer.target),
        Dataset("wine", wine.data, wine.target),
        Dataset("swiss_roll", *_swiss_roll(n_generated, random_state)),
        Dataset("noisy_manifold", *_noisy_manifold(n_generated, random_state)),
    ]


def _subsample(X, y, max_rows, random_state=0):
    if len(X) <= max_rows:
        return X, y
    from sklearn.model_selection import train_test_split

    X, _, y, _ = train_test_split(
        X, y, train_size=max_rows, stratify=y, random_state=random_state
    )
    return X, y


def _is_classification(y):
    y = pd.Series(y)
    return not pd.api.types.is_float_dtype(y) or y.nunique() <= 50


def _frame_to_dataset(name, frame, target, scaling=None, max_rows=MAX_ROWS):
    if target not in frame.columns:
        raise ValueError(
            f"{name}: no column {target!r}; the columns are {list(frame.columns)[:20]}. "
            "Pass the label column with --target."
        )
    y = frame.pop(target).to_numpy()
    non_numeric = [c for c in frame.columns if not pd.api.types.is_numeric_dtype(frame[c])]
    if non_numeric:
        raise ValueError(
            f"{name}: the benchmark needs numeric features, but {non_numeric[:10]} are not "
            "numeric. Encode or drop them first."
        )
    X = frame.to_numpy(dtype=float)
    keep = ~np.isnan(X).any(axis=1)
    X, y = X[keep], y[keep]
    task = "classification" if _is_classification(y) else "regression"
    if task == "classification":
        X, y = _subsample(X, y, max_rows)
    elif len(X) > max_rows:
        rows = np.random.RandomState(0).choice(len(X), max_rows, replace=False)
        X, y = X[rows], y[rows]
    if scaling is None:
        scaling = "minmax" if name in PIXEL_DATASETS else "standard"
    return Dataset(name, X, y, scaling=scaling, task=task)


def shared_datasets(data_dir, names=None, max_rows=MAX_ROWS):
    """The PMLB-layout ``<name>.tsv.gz`` files of ``data_dir`` (a ``target`` column each)."""
    data_dir = Path(data_dir)
    if not data_dir.is_dir():
        raise FileNotFoundError(
            f"--data-dir {data_dir} is not a directory. Point it at the shared datasets "
            "(e.g. ../shared/datasets) or leave it out."
        )
    paths = sorted(data_dir.glob("*.tsv.gz"))
    if names is not None:
        paths = [p for p in paths if p.name[: -len(".tsv.gz")] in names]
    datasets = []
    for path in paths:
        name = path.name[: -len(".tsv.gz")]
        frame = pd.read_csv(path, sep="\t")
        datasets.append(_frame_to_dataset(name, frame, "target", max_rows=max_rows))
    return datasets


def csv_dataset(path, target, scaling="standard", max_rows=MAX_ROWS):
    """A user's CSV file: numeric feature columns and a label column ``target``."""
    path = Path(path)
    frame = pd.read_csv(path, sep=None, engine="python")
    return _frame_to_dataset(path.stem, frame, target, scaling=scaling, max_rows=max_rows)
