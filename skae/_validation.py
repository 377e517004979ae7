"""The checks every skae estimator shares: numeric input, float32's range, sizes, devices.

What ``BaseAutoencoder`` and the supervised heads validate before training or
inference, in one place: ``validate_numeric`` (numbers only, float32 or
float64, within float32's range), the parameter constraints scikit-learn's
validation cannot express with its own classes (``PositiveIntegerSizes``,
``AvailableDevice``), which devices this machine has, parameter values made
comparable (``comparable``), and rows as tensors, at once (``to_tensor``) or
batch by batch for inference (``map_batches``).
"""

from numbers import Integral

import numpy as np
import torch
from sklearn.utils._param_validation import Options
from sklearn.utils.validation import validate_data

from ._threads import torch_threads

__all__ = [
    "FLOAT32_MAX",
    "INFERENCE_BATCH_ROWS",
    "AvailableDevice",
    "PositiveIntegerSizes",
    "available_devices",
    "check_float32_range",
    "comparable",
    "device_problem",
    "map_batches",
    "resolve_device",
    "to_tensor",
    "validate_numeric",
]

FLOAT32_MAX = float(np.finfo(np.float32).max)


def to_tensor(X, device, dtype=np.float32):
    """A tensor of ``dtype`` holding a copy of (or a view on) the rows ``X``."""
    X = np.ascontiguousarray(X, dtype=dtype)
    if not X.flags.writeable:
        X = X.copy()
    return torch.from_numpy(X).to(device)


def comparable(value):
    """``value`` with lists and arrays as tuples: ``(8,)``, ``[8]``, ``np.array([8])`` compare equal."""
    if isinstance(value, (list, tuple, np.ndarray)):
        return tuple(comparable(item) for item in value)
    return value.item() if isinstance(value, np.generic) else value


# Rows per batch at inference: large enough to be fast, small enough to bound memory.
INFERENCE_BATCH_ROWS = 4096


def map_batches(
    X, function, n_columns, *, device, n_jobs=None, dtype=np.float32, input_dtype=np.float32
):
    """Apply ``function`` (tensor -> tensor) to row batches of ``X`` without gradients.

    Each batch of ``INFERENCE_BATCH_ROWS`` rows goes to ``device`` as a tensor
    of ``input_dtype``; the results are gathered in an ndarray of shape
    ``(n_samples, n_columns)`` and ``dtype``, so memory is bounded by the
    batch, not by the data. ``n_jobs`` torch threads run it.
    """
    out = np.empty((X.shape[0], n_columns), dtype=dtype)
    with torch_threads(n_jobs), torch.no_grad():
        for start in range(0, X.shape[0], INFERENCE_BATCH_ROWS):
            stop = start + INFERENCE_BATCH_ROWS
            batch = to_tensor(X[start:stop], device, input_dtype)
            out[start:stop] = function(batch).cpu().numpy()
    return out


def resolve_device(device):
    """The torch device that the ``device`` parameter names (``"auto"``: CUDA if available)."""
    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    return str(device)


# What pandas infers for an object column holding only numbers and missing values.
NUMERIC_INFERRED = {"integer", "floating", "mixed-integer-float", "boolean", "decimal", "empty"}


def _non_numeric_columns(X):
    """``"name (dtype)"`` of the pandas/polars columns that hold neither numbers nor booleans."""
    dtypes = getattr(X, "dtypes", None)
    if dtypes is None or not hasattr(X, "columns"):
        return []
    found = []
    for i, (name, dtype) in enumerate(zip(X.columns, dtypes)):
        if hasattr(dtype, "is_numeric"):  # polars
            numeric = dtype.is_numeric() or str(dtype) == "Boolean"
        elif getattr(dtype, "kind", "O") == "O" and str(dtype) == "object":
            from pandas.api.types import infer_dtype

            numeric = infer_dtype(X.iloc[:, i], skipna=True) in NUMERIC_INFERRED
        else:  # categorical and string dtypes have kind "O"
            numeric = getattr(dtype, "kind", "O") in "biufc"
        if not numeric:
            found.append(f"{name!r} ({dtype})")
    return found


def validate_numeric(estimator, X, *, reset, min_samples=1):
    """``validate_data`` for numeric input, float32 or float64, within float32's range.

    A string column or value is an error that points to ``OneHotEncoder``.
    """
    name = type(estimator).__name__
    non_numeric = _non_numeric_columns(X)
    if non_numeric:
        raise ValueError(
            f"{name} needs numeric input, but column(s) {', '.join(non_numeric)} are not "
            "numeric. Encode them first, e.g. with sklearn.compose.ColumnTransformer and "
            "OneHotEncoder."
        )
    try:
        X = validate_data(
            estimator,
            X,
            reset=reset,
            dtype=[np.float32, np.float64],
            ensure_min_samples=min_samples,
        )
    except ValueError as error:
        if "could not convert" in str(error):
            raise ValueError(
                f"{name} needs numeric input: {error}. Encode string columns first, e.g. "
                "with sklearn.compose.ColumnTransformer and OneHotEncoder."
            ) from error
        raise
    if X.dtype == np.float64:
        check_float32_range(X, name)
    return X


def check_float32_range(values, name, what="X"):
    """Refuse ``values`` (an ndarray) holding a value beyond float32's range.

    ``name`` is the estimator's, ``what`` says which values (``"X"``,
    ``"y"``): the one error every skae estimator gives, at ``fit`` and at
    ``transform``, ``predict`` and ``score``, for values that float32 (what
    the networks compute in) cannot hold.
    """
    # Two reductions, not np.abs(values): no temporary as large as the data.
    if values.size and max(np.nanmax(values), -np.nanmin(values)) > FLOAT32_MAX:
        raise ValueError(
            f"{what} has values beyond float32's range (+/-{FLOAT32_MAX:.3g}), which {name} "
            "computes in. Scale the data first (e.g. StandardScaler)."
        )


# scikit-learn's parameter validation takes its own constraint classes only: these
# two are ``Options`` whose test is their own.
class PositiveIntegerSizes(Options):
    """Constraint: a sequence of positive integers, e.g. ``hidden_layer_sizes``.

    An empty sequence (no hidden layer) satisfies it; a string, a float such
    as ``8.5`` (or ``8.0``), a boolean, zero or a negative size does not.
    """

    def __init__(self):
        super().__init__(object, set())

    def is_satisfied_by(self, val):
        if isinstance(val, (str, bytes, dict)) or not hasattr(val, "__len__"):
            return False
        try:
            sizes = list(val)
        except TypeError:
            return False
        return all(
            isinstance(size, Integral) and not isinstance(size, (bool, np.bool_)) and size > 0
            for size in sizes
        )

    def __str__(self):
        return "an array-like of positive integers (the width of each layer), e.g. (64, 32)"


def device_problem(device):
    """Why ``device`` cannot be used on this machine, or None when it can.

    ``"auto"`` and the CPU always can; CUDA (``"cuda"``, ``"cuda:1"``) when
    torch sees that many GPUs; ``"mps"`` when torch's MPS backend is
    available. Any other device is refused.
    """
    if isinstance(device, str) and device == "auto":
        return None
    if not isinstance(device, (str, torch.device)):
        return f"{device!r} is not a device name"
    try:
        parsed = torch.device(device)
    except (RuntimeError, ValueError, TypeError):
        return f"torch does not know the device {str(device)!r}"
    if parsed.type == "cpu":
        return None
    if parsed.type == "cuda":
        n_gpus = torch.cuda.device_count() if torch.cuda.is_available() else 0
        if n_gpus == 0:
            return "CUDA is not available here"
        if parsed.index is not None and parsed.index >= n_gpus:
            return f"there are {n_gpus} CUDA device(s) here"
        return None
    if parsed.type == "mps":
        mps = getattr(torch.backends, "mps", None)
        return None if mps is not None and mps.is_available() else "MPS is not available here"
    return f"skae does not train on {parsed.type!r} devices"


def available_devices():
    """The device names that ``device_problem`` accepts here, for messages."""
    names = ["'auto'", "'cpu'"]
    if device_problem("cuda") is None:
        names.append("'cuda'" + (" or 'cuda:<index>'" if torch.cuda.device_count() > 1 else ""))
    if device_problem("mps") is None:
        names.append("'mps'")
    return names


class AvailableDevice(Options):
    """Constraint: a device this machine has (see ``device_problem``)."""

    def __init__(self):
        super().__init__(object, set())

    def is_satisfied_by(self, val):
        return device_problem(val) is None

    def __str__(self):
        return f"a device available on this machine: {', '.join(available_devices())}"
