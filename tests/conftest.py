"""Fixtures shared by several test files, and the rules for optional inputs.

Optional inputs follow one rule:

* The ``benchmarks`` package lives in the source tree, beside ``skae``; pytest
  puts the repository root on ``sys.path`` (``pythonpath`` in
  ``pyproject.toml``), so the tests that exercise it always run, with
  ``pytest`` as with ``python -m pytest``.
* The shared datasets (PMLB tables, not in the repository) come from the
  ``shared_datasets`` fixture: ``$SKAE_DATA_DIR``, else
  ``<repository>/../shared/datasets``, as the benchmarks read them. A test
  that needs them is skipped, saying where they were looked for, when they
  are absent.
* Optional packages (polars, dask, onnx) are ``pytest.importorskip``-ed.

Tests marked ``slow`` take several seconds each; ``pytest -m "not slow"`` leaves
them out.

The suite runs on one pytest-xdist worker per core (``addopts`` in
``pyproject.toml``); each worker limits torch to its share of the cores, so
that the workers do not oversubscribe them (two processes of two OpenMP
threads each on two cores can be many times slower than one).
"""

import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import MinMaxScaler, StandardScaler

from skae import AutoencoderTransformer

REPOSITORY = Path(__file__).resolve().parents[1]


def pytest_configure(config):
    worker = getattr(config, "workerinput", None)  # set in a pytest-xdist worker only
    if worker is not None:  # its share of the cores
        import torch

        torch.set_num_threads(max(1, (os.cpu_count() or 1) // int(worker["workercount"])))


@pytest.fixture(scope="session")
def shared_datasets():
    """The directory of the shared datasets; skips the test when it does not exist."""
    directory = Path(os.environ.get("SKAE_DATA_DIR", REPOSITORY.parent / "shared" / "datasets"))
    if not directory.is_dir():
        pytest.skip(f"the shared datasets are not in {directory} (set SKAE_DATA_DIR)")
    return directory


@pytest.fixture(scope="session")
def digits():
    """``(X_train, X_test)``: the digits' pixels scaled to [0, 1], float32, 70 / 30."""
    X = MinMaxScaler().fit_transform(load_digits().data).astype(np.float32)
    return tuple(train_test_split(X, test_size=0.3, random_state=0))


@pytest.fixture(scope="session")
def digits_labeled():
    """``(X_train, X_test, y_train, y_test)``: digits scaled to [0, 1], 70 / 30, stratified."""
    X, y = load_digits(return_X_y=True)
    X = MinMaxScaler().fit_transform(X)
    return tuple(train_test_split(X, y, test_size=0.3, random_state=0, stratify=y))


@pytest.fixture(scope="session")
def digits_standardized():
    """``(X_train, X_test, y_train, y_test)``: digits standardized, float32, 75 / 25."""
    X, y = load_digits(return_X_y=True)
    X = StandardScaler().fit_transform(X).astype(np.float32)
    return tuple(train_test_split(X, y, test_size=0.25, random_state=0))


@pytest.fixture(scope="session")
def plain(digits):
    """``plain(**params)``: an ``AutoencoderTransformer(**params)`` fitted on ``digits``' training rows.

    Fitted once per ``params`` in a session, to compare the regularized
    autoencoders with; do not train it further.
    """
    fitted = {}

    def fit(**params):
        key = repr(sorted(params.items()))
        if key not in fitted:
            fitted[key] = AutoencoderTransformer(**params).fit(digits[0])
        return fitted[key]

    return fit


def build_mixed_table(n=600, seed=0):
    """Numeric columns on very different scales, an int, a bool, two categoricals
    with rare levels, all driven by one latent factor; the index is not 0..n-1."""
    rng = np.random.default_rng(seed)
    z = rng.normal(size=n)
    color = np.where(z > 0.4, "red", np.where(z < -0.4, "blue", "green")).astype(object)
    color[rng.random(n) < 0.03] = "purple"  # rare level
    size = np.where(z > 1.0, "L", np.where(z > -1.0, "M", "S")).astype(object)
    size[rng.random(n) < 0.02] = "XL"  # rare level
    return pd.DataFrame(
        {
            "income": 50_000 + 20_000 * z + rng.normal(scale=2_000, size=n),
            "ratio": 0.01 * z + rng.normal(scale=0.001, size=n),
            "count": np.round(10 + 3 * z).astype("int64"),
            "member": z + rng.normal(scale=0.3, size=n) > 0,
            "color": pd.Categorical(color),
            "size": pd.Series(size, dtype=object).to_numpy(),
        },
        index=pd.Index(np.arange(n) * 7 + 1000, name="id"),
    )


@pytest.fixture(scope="session")
def mixed_table():
    """``mixed_table(n=600, seed=0)``: a DataFrame of mixed column types (``build_mixed_table``)."""
    return build_mixed_table
