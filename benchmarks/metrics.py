"""Metrics of one fitted reducer on one train/test split."""

import time

import numpy as np
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.manifold import trustworthiness
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

__all__ = ["evaluate", "downstream_model"]

TRUSTWORTHINESS_NEIGHBORS = 5
# transform is repeated until this much time has passed, for a stable rows/s figure.
MIN_TIMING_SECONDS = 0.05


def downstream_model(task):
    """The model trained on the codes: a logistic regression (or ridge for a continuous target).

    The codes are standardized first, so the regularization treats every
    reducer's codes alike whatever their scale.
    """
    if task == "classification":
        return make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))
    return make_pipeline(StandardScaler(), Ridge())


def _rows_per_second(reducer, X):
    repeats, start = 0, time.perf_counter()
    while True:
        reducer.transform(X)
        repeats += 1
        elapsed = time.perf_counter() - start
        if elapsed >= MIN_TIMING_SECONDS:
            return repeats * len(X) / elapsed


def evaluate(reducer, X_train, X_test, y_train, y_test, task="classification"):
    """Fit ``reducer`` on ``X_train`` and measure it on the held-out ``X_test``.

    Parameters
    ----------
    reducer : estimator
        Unfitted, with ``fit``, ``transform`` and ``inverse_transform``.
    X_train, X_test : ndarray
        Scaled features.
    y_train, y_test : ndarray
        Labels for the downstream model.
    task : {"classification", "regression"}

    Returns
    -------
    metrics : dict
        ``mse`` (held-out reconstruction, mean over entries), ``downstream``
        (held-out accuracy, or R^2 for regression, of a model trained on the
        training codes), ``trustworthiness`` (of the held-out codes),
        ``fit_seconds`` (wall), ``fit_cpu_seconds`` (CPU time of the process, a
        steadier figure on a shared machine), ``transform_rows_per_s``, ``n_iter`` (epochs, NaN for
        non-iterative reducers), and ``codes`` (the held-out codes).
    """
    start, start_cpu = time.perf_counter(), time.process_time()
    reducer.fit(X_train)
    fit_seconds = time.perf_counter() - start
    fit_cpu_seconds = time.process_time() - start_cpu
    codes_train = np.asarray(reducer.transform(X_train), dtype=float)
    codes_test = np.asarray(reducer.transform(X_test), dtype=float)
    reconstruction = np.asarray(reducer.inverse_transform(codes_test), dtype=float)
    mse = float(np.mean((reconstruction - X_test) ** 2))
    model = downstream_model(task).fit(codes_train, y_train)
    neighbors = min(TRUSTWORTHINESS_NEIGHBORS, len(X_test) // 2 - 1)
    return {
        "mse": mse,
        "downstream": float(model.score(codes_test, y_test)),
        "trustworthiness": float(trustworthiness(X_test, codes_test, n_neighbors=neighbors)),
        "fit_seconds": fit_seconds,
        "fit_cpu_seconds": fit_cpu_seconds,
        "transform_rows_per_s": _rows_per_second(reducer, X_test),
        "n_iter": float(len(reducer.loss_curve_)) if hasattr(reducer, "loss_curve_") else np.nan,
        "codes": codes_test,
    }
