"""Property-based tests on every public estimator.

* Whatever the input, fit raises a documented error or gives finite outputs.
  The documented errors are ``ValueError`` (bad data or parameters),
  ``TypeError`` (unsupported containers such as sparse matrices) and
  ``skae.DivergenceError`` (the loss became NaN or infinite).
* Valid input (2-D, a few rows, finite moderate values) always fits, and the
  outputs are row-wise: permuting the rows permutes them, a row alone gives
  what it gives among others, ``score`` is the mean of ``score_samples`` and
  ``inverse_transform`` returns the input's shape and column names.
"""

import warnings

import numpy as np
import pandas as pd
import pytest
from _public_estimators import fit, make_fast, outputs, public_estimator_classes
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

import skae

DOCUMENTED_ERRORS = (ValueError, TypeError, skae.DivergenceError)

DTYPES = [np.float32, np.float64, np.int32, np.int64, np.bool_, np.uint8]


@st.composite
def data(draw):
    dtype = np.dtype(draw(st.sampled_from(DTYPES)))
    n_dims = draw(st.sampled_from([2, 2, 2, 1, 3]))
    shape = tuple(draw(st.integers(0, 12 if i == 0 else 5)) for i in range(n_dims))
    if dtype.kind == "f":
        regime = draw(st.sampled_from(["moderate", "finite", "anything"]))
        width = dtype.itemsize * 8
        elements = {
            "moderate": st.floats(-1e3, 1e3, width=width),
            "finite": st.floats(allow_nan=False, allow_infinity=False, width=width),
            "anything": st.floats(width=width),  # NaN and +/-inf too
        }[regime]
    elif dtype.kind == "b":
        elements = st.booleans()
    else:
        info = np.iinfo(dtype)
        elements = st.integers(max(info.min, -1000), min(info.max, 1000))
    return draw(arrays(dtype, shape, elements=elements))


@pytest.mark.parametrize("cls", public_estimator_classes(), ids=lambda cls: cls.__name__)
@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(X=data())
def test_fit_raises_a_documented_error_or_gives_finite_outputs(cls, X):
    estimator = make_fast(cls, **({"n_components": 1} if "n_components" in cls().get_params() else {}))
    before = X.copy()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            fit(estimator, X)
        except DOCUMENTED_ERRORS as error:
            assert str(error), "an error must say what is wrong"
            np.testing.assert_array_equal(X, before)
            return
        found = outputs(estimator, X)
    np.testing.assert_array_equal(X, before)
    for method, out in found.items():
        assert out.shape[0] == X.shape[0], method
        if out.dtype.kind == "f":
            assert np.all(np.isfinite(out)), f"{method} gave non-finite values"


COLUMN_KINDS = ["float", "float with NaN", "int", "bool", "str", "category", "numbers as objects"]


@st.composite
def frames(draw):
    n_rows = draw(st.integers(0, 12))
    columns = {}
    for i, kind in enumerate(draw(st.lists(st.sampled_from(COLUMN_KINDS), max_size=4))):
        floats = st.floats(-100, 100)
        if kind == "float":
            values = draw(st.lists(floats, min_size=n_rows, max_size=n_rows))
        elif kind == "float with NaN":
            values = draw(st.lists(floats | st.just(np.nan), min_size=n_rows, max_size=n_rows))
        elif kind == "int":
            values = draw(st.lists(st.integers(-50, 50), min_size=n_rows, max_size=n_rows))
        elif kind == "bool":
            values = draw(st.lists(st.booleans(), min_size=n_rows, max_size=n_rows))
        elif kind == "numbers as objects":
            items = st.integers(-5, 5) | floats | st.none()
            values = pd.Series(draw(st.lists(items, min_size=n_rows, max_size=n_rows)), dtype=object)
        else:
            values = draw(st.lists(st.sampled_from("abc"), min_size=n_rows, max_size=n_rows))
            if kind == "category":
                values = pd.Categorical(values)
        columns[f"c{i}"] = values
    return pd.DataFrame(columns, index=range(n_rows))


@pytest.mark.parametrize("cls", public_estimator_classes(), ids=lambda cls: cls.__name__)
@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(frame=frames())
def test_dataframes_of_any_column_types(cls, frame):
    estimator = make_fast(cls, **({"n_components": 1} if "n_components" in cls().get_params() else {}))
    before = frame.copy()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            fit(estimator, frame)
        except DOCUMENTED_ERRORS as error:
            assert str(error)
            pd.testing.assert_frame_equal(frame, before)
            return
        found = outputs(estimator, frame)
    pd.testing.assert_frame_equal(frame, before)
    for method, out in found.items():
        assert out.shape[0] == len(frame), method
        if out.dtype.kind == "f":
            assert np.all(np.isfinite(out)), f"{method} gave non-finite values"


# ------------------------------------------------------------- valid input
@st.composite
def valid_data(draw):
    """Arrays every public estimator must fit: 2-D, 6 to 20 rows, 2 to 5 finite columns."""
    shape = (draw(st.integers(6, 20)), draw(st.integers(2, 5)))
    dtype = draw(st.sampled_from([np.float32, np.float64]))
    elements = st.floats(-10, 10, width=32, allow_subnormal=False)
    return draw(arrays(dtype, shape, elements=elements))


def _fast_one_component(cls):
    return make_fast(cls, **({"n_components": 1} if "n_components" in cls().get_params() else {}))


@pytest.mark.parametrize("cls", public_estimator_classes(), ids=lambda cls: cls.__name__)
@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(X=valid_data())
def test_valid_input_fits_and_gives_finite_outputs(cls, X):
    estimator = _fast_one_component(cls)
    before = X.copy()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit(estimator, X)  # no error is acceptable here
        found = outputs(estimator, X)
    np.testing.assert_array_equal(X, before)
    assert found
    for method, out in found.items():
        assert out.shape[0] == X.shape[0], method
        if out.dtype.kind == "f":
            assert np.all(np.isfinite(out)), f"{method} gave non-finite values"


# Outputs compared across row orders and batch sizes (labels could flip at a tie).
ROW_WISE_METHODS = ("transform", "predict_proba", "score_samples", "decision_function")


@pytest.mark.parametrize("cls", public_estimator_classes(), ids=lambda cls: cls.__name__)
@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(X=valid_data(), seed=st.integers(0, 2**16))
def test_outputs_are_row_wise(cls, X, seed):
    """Each row's output depends on that row only: permuting rows permutes outputs, and a
    row alone gives what it gives among others; ``score`` is the mean of ``score_samples``;
    ``inverse_transform`` gives back the input's shape and column names."""
    estimator = _fast_one_component(cls)
    frame = pd.DataFrame(X, columns=[f"col{j}" for j in range(X.shape[1])])
    order = np.random.default_rng(seed).permutation(len(X))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit(estimator, frame)
        for method in ROW_WISE_METHODS:
            if not hasattr(estimator, method):
                continue
            out = np.asarray(getattr(estimator, method)(frame))
            permuted = np.asarray(getattr(estimator, method)(frame.iloc[order]))
            np.testing.assert_allclose(permuted, out[order], rtol=1e-5, atol=1e-5, err_msg=method)
            for i in (0, len(X) - 1):
                alone = np.asarray(getattr(estimator, method)(frame.iloc[i : i + 1]))
                np.testing.assert_allclose(alone[0], out[i], rtol=1e-5, atol=1e-5, err_msg=method)
        if hasattr(estimator, "score_samples") and isinstance(estimator, skae.BaseAutoencoder):
            assert estimator.score(frame) == pytest.approx(np.mean(estimator.score_samples(frame)))
        if hasattr(estimator, "inverse_transform"):
            estimator.set_output(transform="pandas")
            reconstruction = estimator.inverse_transform(estimator.transform(frame))
            assert reconstruction.shape == frame.shape
            assert list(reconstruction.columns) == list(frame.columns)
