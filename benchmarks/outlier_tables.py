"""The outlier slice's tables: how each is made from a real table, or generated, for a seed.

Real tables: a minority class, or one class downsampled to a few percent, as
the outliers (ODDS / ADBench's recipes where one exists). Generated ones, as
ADBench generates them from a real table's inliers
(``adbench/datasets/data_generator.py``): normal rows are sampled from a
Gaussian mixture fitted to them (components chosen by BIC, 1-9), and

* ``local``: outliers from the same mixture with covariances times 5;
* ``global``: outliers uniform per feature in ``[1.1 min, 1.1 max]``;
* ``clustered``: outliers from the mixture with means times 5;
* ``dependency``: normal rows from a copula fitted to the inliers, outliers
  with the same marginals but independent features (each sampled from a
  Gaussian kernel density of its column). ADBench fits a vine copula
  (``copulas``); this file fits a Gaussian copula, which keeps the
  benchmark free of that dependency.

Tables are capped at ``MAX_ROWS`` rows (inliers subsampled, outlier share kept).
Every table is tagged with the round of design it served (``Table.role``):
``design`` (the detector's first rule was chosen on them), ``check`` (that
rule's check, then part of the final rule's design set) or ``fresh`` (held
out from both rounds). :func:`split_and_scale` is ADBench's 70/30 split.
"""

import functools
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.datasets import load_breast_cancer, load_wine
from sklearn.mixture import GaussianMixture
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

__all__ = ["GENERATED_KINDS", "QUICK_TABLES", "TABLES", "Table", "available_tables",
           "build_table", "load_source", "split_and_scale"]

# Larger tables are subsampled to this many rows (ADBench caps at 10,000).
MAX_ROWS = 5000
TEST_SIZE = 0.3
# ADBench's generation constants: alpha scales covariances (local) or means
# (clustered); percentage widens the box of the global outliers.
ALPHA = 5.0
PERCENTAGE = 0.1
GENERATED_OUTLIER_FRACTION = 0.05

GENERATED_KINDS = ("local", "global", "dependency", "clustered")


@dataclass(frozen=True)
class Table:
    """How one benchmark table is made.

    ``source`` is a shared dataset (PMLB file name) or a bundled one
    (``"sklearn:wine"``). Real tables: the rows of ``outliers`` classes are
    the outliers, downsampled to ``fraction`` of the table (``None``: keep
    their natural share), the rows of ``inliers`` classes (``None``: every
    other class) the inliers. Generated tables (``kind`` not ``"real"``) are
    made from the inlier rows as described in the module docstring.
    """

    source: str
    outliers: tuple
    inliers: tuple = None
    fraction: float = None
    kind: str = "real"
    role: str = "check"
    note: str = ""


def _generated(prefix, base, role):
    """``{prefix}_{kind}`` for each generated kind, made from the inliers of ``base``."""
    return {
        f"{prefix}_{kind}": Table(base.source, base.outliers, base.inliers,
                                  GENERATED_OUTLIER_FRACTION, kind=kind, role=role,
                                  note=f"from the inliers of {base.source}")
        for kind in GENERATED_KINDS
    }


_MAGIC = Table("magic", (1,), fraction=0.05, role="design", note="hadron showers downsampled to 5%")
_WINE_QUALITY = Table("wine_quality_white", (3, 4), note="quality 3-4 wines (natural share)")
_PENDIGITS = Table("pendigits", (9,), fraction=0.023)
_BENIGN = Table("sklearn:breast_cancer", (0,), fraction=10 / 367)
_TEXTURE = Table("texture", (2,), fraction=0.05, note="texture 2 downsampled to 5%")

TABLES = {
    # Design tables: the first rule was chosen on these, the final ensemble on these and the check tables.
    "wine": Table("sklearn:wine", (0,), fraction=10 / 129, role="design",
                  note="class 0 downsampled to 10 rows (ADBench's wine)"),
    "breast_cancer": Table("sklearn:breast_cancer", (0,), fraction=10 / 367, role="design",
                           note="malignant downsampled to 10 rows (ADBench's WDBC)"),
    "optdigits": Table("optdigits", (0,), fraction=0.029, role="design",
                       note="digit 0 downsampled to 2.9% (ODDS optdigits)"),
    "satimage": Table("satimage", (2,), fraction=0.02, role="design",
                      note="class 2 downsampled to 2% (ODDS satimage-2)"),
    "spambase": Table("spambase", (1,), fraction=0.05, role="design",
                      note="spam downsampled to 5%"),
    "magic": _MAGIC,
    **_generated("magic", _MAGIC, "design"),
    # Check tables: the first rule's check (it failed), then part of the final ensemble's design set.
    "pendigits": Table("pendigits", (4,), fraction=0.0227,
                       note="digit 4 downsampled to 2.3% (ODDS pendigits)"),
    "mnist": Table("mnist_test", (6,), inliers=(0,), fraction=0.092,
                   note="digit 0 inliers, digit 6 outliers at 9.2% (ODDS mnist)"),
    "letter": Table("letter", tuple(range(4, 27)), inliers=(1, 2, 3), fraction=0.0625,
                    note="letters A-C inliers, other letters outliers at 6.25% (ODDS letter)"),
    "mfeat_pixel": Table("mfeat_pixel", (0,), fraction=0.05, note="digit 0 downsampled to 5%"),
    "wine_quality": _WINE_QUALITY,
    "texture": _TEXTURE,
    **_generated("wine_quality", _WINE_QUALITY, "check"),
    **_generated("texture", _TEXTURE, "check"),
    # Fresh tables: held out from both rounds of design (see the report).
    "mnist_1v7": Table("mnist_test", (7,), inliers=(1,), fraction=0.05, role="fresh",
                       note="digit 1 inliers, digit 7 outliers at 5%"),
    "letter_xyz": Table("letter", tuple(range(1, 24)), inliers=(24, 25, 26), fraction=0.0625,
                        role="fresh",
                        note="letters X-Z inliers, other letters outliers at 6.25%"),
    "pendigits_9": Table("pendigits", (9,), fraction=0.023, role="fresh",
                         note="digit 9 downsampled to 2.3%"),
    "satimage_4": Table("satimage", (4,), fraction=0.03, role="fresh",
                        note="class 4 downsampled to 3%"),
    "spambase_ham": Table("spambase", (0,), fraction=0.05, role="fresh",
                          note="non-spam downsampled to 5%"),
    "wine_quality_best": Table("wine_quality_white", (8, 9), role="fresh",
                               note="quality 8-9 wines (natural share)"),
    "texture_14": Table("texture", (14,), fraction=0.05, role="fresh",
                        note="texture 14 downsampled to 5%"),
    "mfeat_pixel_5": Table("mfeat_pixel", (5,), fraction=0.05, role="fresh",
                           note="digit 5 downsampled to 5%"),
    **_generated("pendigits", _PENDIGITS, "fresh"),
    **_generated("breast_cancer", _BENIGN, "fresh"),
}

QUICK_TABLES = ("wine", "breast_cancer", "satimage", "magic_local", "magic_dependency", "pendigits")


# ------------------------------------------------------------------ data
def _data_dir(data_dir):
    if data_dir is None:
        from .slices import default_data_dir

        data_dir = default_data_dir()
    return None if data_dir is None else Path(data_dir)


def load_source(source, data_dir=None):
    """Raw features and class labels of a source, or None when its file is missing."""
    bundled = {"sklearn:wine": load_wine, "sklearn:breast_cancer": load_breast_cancer}
    if source in bundled:
        X, y = bundled[source](return_X_y=True)
        return X.astype(float), y
    folder = _data_dir(data_dir)
    path = None if folder is None else folder / f"{source}.tsv.gz"
    if path is None or not path.exists():
        return None
    frame = pd.read_csv(path, sep="\t")
    y = frame.pop("target").to_numpy()
    return frame.to_numpy(dtype=float), y


def available_tables(data_dir=None):
    """Names of the tables whose source data is present."""
    folder = _data_dir(data_dir)
    return [
        name for name, table in TABLES.items()
        if table.source.startswith("sklearn:")
        or (folder is not None and (folder / f"{table.source}.tsv.gz").exists())
    ]


def _take(rng, rows, n):
    return rows if n >= len(rows) else rng.choice(rows, n, replace=False)


def _real_rows(table, X, y, rng):
    """Inlier and outlier rows of a real table, downsampled and capped."""
    outlier_rows = np.flatnonzero(np.isin(y, table.outliers))
    if table.inliers is None:
        inlier_rows = np.flatnonzero(~np.isin(y, table.outliers))
    else:
        inlier_rows = np.flatnonzero(np.isin(y, table.inliers))
    fraction = table.fraction
    if fraction is None:
        fraction = len(outlier_rows) / (len(outlier_rows) + len(inlier_rows))
    n_inliers = min(len(inlier_rows), int(round(MAX_ROWS * (1 - fraction))))
    n_outliers = max(2, int(round(n_inliers * fraction / (1 - fraction))))
    return _take(rng, inlier_rows, n_inliers), _take(rng, outlier_rows, n_outliers)


def _gaussian_mixture(X, seed):
    """ADBench's normal-data model: the Gaussian mixture (1-9 components) of lowest BIC."""
    fits = [GaussianMixture(k, random_state=seed).fit(X) for k in range(1, 10)]
    return min(fits, key=lambda gm: gm.bic(X))


def _sample_mixture(gm, n, rng, means=None, covariances=None):
    """``n`` rows from a fitted mixture, optionally with other means or covariances."""
    means = gm.means_ if means is None else means
    covariances = gm.covariances_ if covariances is None else covariances
    counts = rng.multinomial(n, gm.weights_)
    rows = [rng.multivariate_normal(m, c, size=k) for m, c, k in zip(means, covariances, counts)]
    return np.vstack(rows)


def _kde_sample(column, n, rng):
    """``n`` draws from the Gaussian kernel density (Scott's bandwidth) of ``column``."""
    bandwidth = column.std() * len(column) ** (-1 / 5)
    return rng.choice(column, n) + bandwidth * rng.normal(size=n)


def _gaussian_copula_sample(X, n, rng):
    """``n`` rows with the marginals of ``X`` and the rank correlations of a Gaussian copula."""
    from scipy.stats import norm

    ranks = (np.argsort(np.argsort(X, axis=0), axis=0) + 0.5) / len(X)
    z = norm.ppf(ranks)
    correlation = np.corrcoef(z, rowvar=False)
    correlation = np.nan_to_num(correlation) + 1e-6 * np.eye(X.shape[1])
    u = norm.cdf(rng.multivariate_normal(np.zeros(X.shape[1]), correlation, size=n))
    return np.column_stack([np.quantile(X[:, j], u[:, j]) for j in range(X.shape[1])])


def _generate(kind, X_inliers, n_inliers, n_outliers, seed):
    """ADBench's realistic synthetic outliers of type ``kind`` (see the module docstring)."""
    rng = np.random.RandomState(seed)
    # Constant columns carry nothing and make the mixtures singular.
    X_inliers = X_inliers[:, X_inliers.std(axis=0) > 0]
    if kind == "dependency":
        normal = _gaussian_copula_sample(X_inliers, n_inliers, rng)
        outliers = np.column_stack(
            [_kde_sample(X_inliers[:, j], n_outliers, rng) for j in range(X_inliers.shape[1])]
        )
        return normal, outliers
    gm = _gaussian_mixture(X_inliers, seed)
    normal = _sample_mixture(gm, n_inliers, rng)
    if kind == "local":
        outliers = _sample_mixture(gm, n_outliers, rng, covariances=ALPHA * gm.covariances_)
    elif kind == "clustered":
        outliers = _sample_mixture(gm, n_outliers, rng, means=ALPHA * gm.means_)
    elif kind == "global":
        low = normal.min(axis=0) * (1 + PERCENTAGE)
        high = normal.max(axis=0) * (1 + PERCENTAGE)
        outliers = rng.uniform(low, high, size=(n_outliers, normal.shape[1]))
    else:
        raise ValueError(f"unknown outlier type {kind!r}")
    return normal, outliers


@functools.lru_cache(maxsize=4)
def build_table(name, seed, data_dir=None):
    """Raw rows ``X`` and labels ``is_outlier`` (1 = outlier) of a table, for one seed."""
    table = TABLES[name]
    loaded = load_source(table.source, data_dir)
    if loaded is None:
        raise FileNotFoundError(f"{name}: no file {table.source}.tsv.gz in {_data_dir(data_dir)}")
    X, y = loaded
    rng = np.random.RandomState(seed)
    inlier_rows, outlier_rows = _real_rows(table, X, y, rng)
    if table.kind == "real":
        normal, outliers = X[inlier_rows], X[outlier_rows]
    else:
        n_outliers = max(2, int(round(len(inlier_rows) * table.fraction / (1 - table.fraction))))
        normal, outliers = _generate(table.kind, X[inlier_rows], len(inlier_rows), n_outliers, seed)
    X = np.vstack([normal, outliers])
    is_outlier = np.r_[np.zeros(len(normal), dtype=int), np.ones(len(outliers), dtype=int)]
    order = rng.permutation(len(X))
    return X[order], is_outlier[order]


def split_and_scale(X, is_outlier, seed):
    """ADBench's split: 70/30 stratified by the label, scaler fitted on the training rows."""
    X_train, X_test, y_train, y_test = train_test_split(
        X, is_outlier, test_size=TEST_SIZE, stratify=is_outlier, random_state=seed
    )
    scaler = StandardScaler().fit(X_train)
    return scaler.transform(X_train), scaler.transform(X_test), y_train, y_test
