"""Messy input on every public estimator: a clear error or a correct result, never a silent wrong one.

Each case says what must happen: ``"error"`` (a ``ValueError``, ``TypeError`` or
``DivergenceError`` whose message matches) or ``"ok"`` (fit works and every output
is finite, with one row per input row). An estimator that declares support for
what a case needs (missing values, categorical columns or sparse matrices by its
scikit-learn tags, unscaled columns by a ``categorical_features`` parameter: see
``_public_estimators.supports``) must take it: the case is then ``"ok"``.
"""

import hashlib
import re
import warnings

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from _public_estimators import (
    OUTPUT_METHODS,
    fit,
    make_fast,
    make_y,
    n_rows,
    needs_y,
    outputs,
    public_estimator_classes,
    supports,
)

import skae

ESTIMATORS = public_estimator_classes()
N, P = 40, 4
COLUMNS = ["a", "b", "c", "d"]


def _data(dtype=np.float32):
    return np.random.RandomState(0).normal(size=(N, P)).astype(dtype)


def _holes(value):
    X = _data(np.float64)
    X[3, 1] = X[10, 2] = value
    return X


def _one_cell(value):
    X = _data(np.float64)
    X[3, 1] = value
    return X


def _frame(**extra):
    return pd.DataFrame(_data(np.float64), columns=COLUMNS).assign(**extra)


def _none_frame():
    frame = _frame().astype(object)
    frame.iloc[2, 0] = None
    return frame


def _na_frame():
    frame = _frame().astype("Float64")
    frame.iloc[5, 3] = pd.NA
    return frame


# id: (make X, expectation, message pattern, what makes it "ok" for an estimator that supports it)
CASES = {
    "nan": (lambda: _holes(np.nan), "error", "NaN", "missing"),
    # Missing values are NaN, None or pd.NA; no estimator takes infinity.
    "+inf": (lambda: _holes(np.inf), "error", "infinity", None),
    "-inf": (lambda: _holes(-np.inf), "error", "infinity", None),
    "None in object DataFrame": (_none_frame, "error", "NaN", "missing"),
    "pd.NA in DataFrame": (_na_frame, "error", "NaN", "missing"),
    "string column": (
        lambda: _frame(e=["x", "y"] * (N // 2)),
        "error",
        "OneHotEncoder",
        "categorical",
    ),
    "object string column": (
        lambda: _frame(e=pd.Series(["x", "y"] * (N // 2), dtype=object)),
        "error",
        "OneHotEncoder",
        "categorical",
    ),
    "categorical column": (
        lambda: _frame(e=pd.Categorical(["x", "y"] * (N // 2))),
        "error",
        "OneHotEncoder",
        "categorical",
    ),
    "object numbers": (lambda: _frame().astype(object), "ok", None, None),
    "bool array": (lambda: _data() > 0, "ok", None, None),
    "int array": (lambda: (10 * _data()).astype(np.int64), "ok", None, None),
    "bool and int DataFrame": (
        lambda: pd.DataFrame({"a": _data()[:, 0] > 0, "b": np.arange(N), "c": _data()[:, 1]}),
        "ok",
        None,
        None,
    ),
    "nullable Int64 DataFrame": (
        lambda: pd.DataFrame({"a": np.arange(N), "b": np.arange(N) % 3}).astype("Int64"),
        "ok",
        None,
        None,
    ),
    "float64": (lambda: _data(np.float64), "ok", None, None),
    "empty": (lambda: np.empty((0, P)), "error", "0 sample", None),
    "single row": (lambda: _data()[:1], "error", "1 sample", None),
    # Tiny tables: a valid model (the budget and the validation adapt to the rows).
    "two rows": (lambda: _data()[:2], "ok", None, None),
    "five rows": (lambda: _data()[:5], "ok", None, None),
    "zero columns": (lambda: np.empty((N, 0)), "error", "0 feature", None),
    "1-D": (lambda: _data()[:, 0], "error", "2D array", None),
    "3-D": (lambda: _data().reshape(N, 2, 2), "error", "dim 3", None),
    "constant columns": (lambda: np.ones((N, P)), "ok", None, None),
    "one constant column": (lambda: np.c_[_data(), np.full(N, 7.0)], "ok", None, None),
    # An estimator that standardizes its columns in float64 first (TabularAE) takes these.
    "huge values 1e30": (lambda: _data(np.float64) * 1e30, "error", "scale|float32", "unscaled"),
    "beyond float32": (lambda: _data(np.float64) * 1e39, "error", "float32", "unscaled"),
    # One cell whose square overflows float32, or beyond float32: the autoencoders' error
    # (DivergenceError or ValueError, never LinAlgError); TabularAE standardizes it.
    "one cell at 1e30": (lambda: _one_cell(1e30), "error", "scale|float32", "unscaled"),
    "one cell at 1e300": (lambda: _one_cell(1e300), "error", "float32", "unscaled"),
    "complex": (lambda: _data().astype(complex), "error", "[Cc]omplex", None),
    "scipy sparse CSR": (lambda: sp.csr_matrix(_data()), "error", "[Ss]parse|dense", "sparse"),
    "list of lists": (lambda: _data().tolist(), "ok", None, None),
}


def _expectation(case, estimator):
    _, expected, match, relaxed_by = CASES[case]
    if relaxed_by is not None and supports(estimator, relaxed_by):
        return "ok", None
    params = estimator.get_params(deep=True)
    split = any(params[key] is True for key in _early_stopping_keys(estimator))
    if case == "two rows" and split:  # VariationalAE's default: a split needs 2 training rows
        return "error", "at least 2 training rows"
    return expected, match


def _check_result(estimator, X):
    n_samples = n_rows(X)
    found = outputs(estimator, X)
    assert found, f"{type(estimator).__name__} has no output method"
    for method, out in found.items():
        assert out.shape[0] == n_samples, method
        if out.dtype.kind in "fc":
            assert np.all(np.isfinite(out)), f"{method} returned non-finite values"


@pytest.mark.parametrize("case", list(CASES))
@pytest.mark.parametrize("cls", ESTIMATORS, ids=lambda cls: cls.__name__)
def test_bad_input_at_fit(cls, case):
    estimator = make_fast(cls)
    X = CASES[case][0]()
    expected, match = _expectation(case, estimator)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # e.g. convergence or constant-feature warnings
        if expected == "error":
            with pytest.raises((ValueError, TypeError, skae.DivergenceError), match=match):
                fit(estimator, X)
            return
        fit(estimator, X)
        _check_result(estimator, X)


@pytest.mark.parametrize("cls", ESTIMATORS, ids=lambda cls: cls.__name__)
def test_n_components_larger_than_allowed(cls):
    estimator = make_fast(cls)
    keys = [k for k in estimator.get_params(deep=True) if k.rsplit("__", 1)[-1] == "n_components"]
    if not keys:
        pytest.skip(f"{cls.__name__} has no n_components")
    estimator.set_params(**{key: 10 for key in keys})  # 4 features
    overcomplete = supports(estimator, "overcomplete")
    X = _data()
    if overcomplete is False:
        with pytest.raises(ValueError, match="n_components=10 is larger than"):
            fit(estimator, X)
        return
    try:
        fit(estimator, X)
    except ValueError as error:
        assert "n_components" in str(error)
        assert overcomplete is None, "an overcomplete estimator refused a wide code"
        return
    _check_result(estimator, X)


@pytest.mark.parametrize("cls", ESTIMATORS, ids=lambda cls: cls.__name__)
def test_n_components_equal_to_n_features(cls):
    estimator = make_fast(cls)
    keys = [k for k in estimator.get_params(deep=True) if k.rsplit("__", 1)[-1] == "n_components"]
    if not keys:
        pytest.skip(f"{cls.__name__} has no n_components")
    estimator.set_params(**{key: P for key in keys})
    X = _data()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit(estimator, X)
    _check_result(estimator, X)


def _early_stopping_keys(estimator):
    return [k for k in estimator.get_params(deep=True) if k.rsplit("__", 1)[-1] == "early_stopping"]


@pytest.mark.parametrize("cls", ESTIMATORS, ids=lambda cls: cls.__name__)
@pytest.mark.parametrize("early_stopping", [True, "auto"])
@pytest.mark.parametrize("fraction", [0.001, 0.05], ids=["0 validation rows", "1 validation row"])
def test_validation_fraction_leaving_0_or_1_validation_row(cls, early_stopping, fraction):
    """round(fraction * 20) is 0 or 1 row: one row is held out (or the folds cover every row)."""
    estimator = make_fast(cls)
    keys = _early_stopping_keys(estimator)
    if not keys:
        pytest.skip(f"{cls.__name__} has no early_stopping")
    fractions = [k[: -len("early_stopping")] + "validation_fraction" for k in keys]
    estimator.set_params(**{key: early_stopping for key in keys}, **{key: fraction for key in fractions})
    X = _data()[:20]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit(estimator, X)
    _check_result(estimator, X)


@pytest.mark.parametrize("cls", ESTIMATORS, ids=lambda cls: cls.__name__)
def test_a_validation_split_of_two_rows_says_what_to_change(cls):
    estimator = make_fast(cls)
    keys = _early_stopping_keys(estimator)
    if not keys:
        pytest.skip(f"{cls.__name__} has no early_stopping")
    estimator.set_params(**{key: True for key in keys})
    with pytest.raises(ValueError, match="at least 2 training rows.*early_stopping='auto' or False"):
        fit(estimator, _data()[:2])


@pytest.mark.parametrize("cls", ESTIMATORS, ids=lambda cls: cls.__name__)
def test_batch_size_larger_than_data(cls):
    estimator = make_fast(cls)
    keys = [k for k in estimator.get_params(deep=True) if k.rsplit("__", 1)[-1] == "batch_size"]
    estimator.set_params(**{key: 10 * N for key in keys})
    X = _data()
    fit(estimator, X)
    _check_result(estimator, X)


@pytest.fixture(params=ESTIMATORS, ids=lambda cls: cls.__name__)
def fitted_on_frame(request):
    estimator = make_fast(request.param)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fit(estimator, _frame())


def _fitted_methods(estimator):
    return [m for m in ("transform", "predict", "score_samples") if hasattr(estimator, m)]


# An array given to an estimator fitted on a frame warns as in scikit-learn (tested below)
# before its shape is checked.
@pytest.mark.filterwarnings("ignore:X does not have valid feature names")
def test_wrong_number_of_features_at_transform(fitted_on_frame):
    for method in _fitted_methods(fitted_on_frame):
        with pytest.raises(ValueError, match="features"):
            getattr(fitted_on_frame, method)(_data()[:, :3])


@pytest.mark.parametrize(
    "change",
    [
        lambda f: f.rename(columns={"a": "z"}),
        lambda f: f[["b", "a", "c", "d"]],
    ],
    ids=["renamed", "reordered"],
)
def test_columns_renamed_or_reordered_at_transform(fitted_on_frame, change):
    frame = change(_frame())
    for method in _fitted_methods(fitted_on_frame):
        with pytest.raises(ValueError, match="feature names"):
            getattr(fitted_on_frame, method)(frame)


def test_names_missing_at_transform_warn_as_in_sklearn(fitted_on_frame):
    for method in _fitted_methods(fitted_on_frame):
        with pytest.warns(UserWarning, match="does not have valid feature names"):
            getattr(fitted_on_frame, method)(_data(np.float64))


def test_single_row_at_transform(fitted_on_frame):
    _check_result(fitted_on_frame, _frame().iloc[:1])


def _digest(X):
    if isinstance(X, pd.DataFrame):
        return hashlib.sha256(pd.util.hash_pandas_object(X, index=True).values.tobytes()).hexdigest()
    return hashlib.sha256(np.ascontiguousarray(X).tobytes()).hexdigest()


@pytest.mark.parametrize("cls", ESTIMATORS, ids=lambda cls: cls.__name__)
@pytest.mark.parametrize(
    "make_X",
    [lambda: _data(), lambda: _data(np.float64), _frame, lambda: (10 * _data()).astype(np.int32)],
    ids=["float32", "float64", "DataFrame", "int32"],
)
def test_input_is_never_modified(cls, make_X):
    X = make_X()
    before = _digest(X)
    estimator = make_fast(cls)
    y = make_y(estimator, N) if needs_y(estimator) else None
    y_before = None if y is None else y.copy()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        estimator.fit(X, y) if y is not None else estimator.fit(X)
        found = outputs(estimator, X)
        if hasattr(estimator, "inverse_transform") and "transform" in found:
            estimator.inverse_transform(found["transform"])
        if hasattr(estimator, "partial_fit") and y is None:
            estimator.partial_fit(X)
    assert _digest(X) == before
    if y is not None:
        np.testing.assert_array_equal(y, y_before)


def test_float64_in_float32_out():
    """Documented: skae computes in float32, whatever the input's float dtype."""
    X = _data(np.float64)
    ae = make_fast(skae.AutoencoderTransformer).fit(X)
    assert ae.transform(X).dtype == np.float32
    assert ae.inverse_transform(ae.transform(X)).dtype == np.float32
    np.testing.assert_allclose(ae.transform(X), ae.transform(X.astype(np.float32)), atol=1e-6)


def test_values_beyond_float32_are_refused_by_float32_estimators():
    X = _data(np.float64) * 1e39
    with pytest.raises(ValueError, match="beyond float32's range"):
        make_fast(skae.AutoencoderTransformer).fit(X)


def test_huge_values_give_a_clear_error_naming_the_scale():
    X = _data(np.float64) * 1e30
    with pytest.raises(skae.DivergenceError, match="overflow float32.*StandardScaler"):
        make_fast(skae.AutoencoderTransformer).fit(X)


def test_bool_and_int_are_converted_like_floats():
    X = (_data() > 0).astype(np.float32)
    ae = make_fast(skae.AutoencoderTransformer).fit(X)
    np.testing.assert_array_equal(ae.transform(X > 0.5), ae.transform(X))
    np.testing.assert_array_equal(ae.transform(X.astype(np.int8)), ae.transform(X))


# ---------------------------------------------------------------- extreme values
def _with_hole_if_supported(estimator, X):
    """``X`` with a missing cell in row 3 (beside the extreme one) if the estimator takes NaN."""
    if supports(estimator, "missing"):
        X = X.copy()
        X[3, 2] = np.nan
    return X


@pytest.mark.parametrize("value", [1e30, 1e39, 1e300, -1e300])
@pytest.mark.parametrize("cls", ESTIMATORS, ids=lambda cls: cls.__name__)
def test_an_extreme_cell_after_fit_is_refused_or_gives_finite_outputs(cls, value):
    """Never NaN or inf out: a value beyond float32's range is refused by every output method.

    For a value whose square overflows float32 (1e30), finite outputs are fine
    too (e.g. ``AutoencoderTransformer``'s linear codes); ``TabularAE`` and the
    imputer refuse it, since they standardize it to 1e30 training deviations.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        estimator = fit(make_fast(cls), _data())
    X = _with_hole_if_supported(estimator, _one_cell(value))
    before = _digest(X)
    for method in OUTPUT_METHODS:
        if not hasattr(estimator, method):
            continue
        try:
            out = np.asarray(getattr(estimator, method)(X))
        except (ValueError, skae.DivergenceError) as error:
            assert "float32" in str(error), f"{method}: {error}"
            continue
        assert abs(value) < 3.4e38, f"{method} accepted {value:g}"
        if out.dtype.kind in "fc":
            assert np.all(np.isfinite(out)), f"{method} returned non-finite values"
        if out.dtype == object:  # the imputer on a table: nothing left missing
            assert not pd.isna(out).any()
    assert _digest(X) == before


def test_tabular_ae_standardizes_a_column_of_huge_values_without_overflow():
    X = _one_cell(1e300)
    ae = make_fast(skae.TabularAE).fit(X)
    assert np.isfinite(ae.scale_).all() and ae.scale_[1] > 1e298
    assert np.all(np.isfinite(ae.transform(X)))


@pytest.mark.parametrize("cls", [skae.VariationalAE, skae.AutoencoderTransformer])
def test_values_whose_squares_overflow_give_the_same_divergence_error(cls):
    """The VAE's PCA start once failed there with LinAlgError (iris, one cell at 1e30)."""
    from sklearn.datasets import load_iris

    X = load_iris().data
    X[0, 0] = 1e30
    with pytest.raises(skae.DivergenceError, match="1e\\+30.*overflow float32.*StandardScaler"):
        make_fast(cls).fit(X)


@pytest.mark.parametrize("value", [1e39, 1e300, -1e300, np.inf, -np.inf])
def test_regressor_refuses_a_target_beyond_float32(value):
    y = np.linspace(-1.0, 1.0, N)
    y[5] = value
    y_before = y.copy()
    regressor = make_fast(skae.AutoencoderRegressor)
    match = "infinity" if np.isinf(value) else "y has values beyond float32's range"
    with pytest.raises(ValueError, match=match):
        regressor.fit(_data(), y)
    np.testing.assert_array_equal(y, y_before)
    assert not hasattr(regressor, "module_")


def test_regressor_takes_nan_as_unlabeled_and_a_large_finite_target():
    y = np.linspace(-1.0, 1.0, N) * 1e30
    y[:5] = np.nan
    predictions = make_fast(skae.AutoencoderRegressor).fit(_data(), y).predict(_data())
    assert np.all(np.isfinite(predictions))


def test_outlier_detector_fits_two_rows():
    from sklearn.datasets import load_iris

    X = load_iris().data[:2]
    detector = skae.AutoencoderOutlierDetector(random_state=0).fit(X)
    assert np.all(np.isfinite(detector.score_samples(X)))


@pytest.mark.parametrize(
    "make_estimator",
    [
        lambda: skae.AutoencoderOutlierDetector(random_state=0),
        lambda: make_fast(skae.AutoencoderOutlierDetector),
    ],
    ids=["ensemble", "one autoencoder"],
)
def test_outlier_detector_refuses_values_beyond_float32_at_fit_and_score(make_estimator):
    with pytest.raises(ValueError, match="beyond float32's range"):
        make_estimator().fit(_one_cell(1e300))
    detector = make_estimator().fit(_data())
    for method in ("score_samples", "decision_function", "predict"):
        with pytest.raises(ValueError, match="float32"):
            getattr(detector, method)(_one_cell(1e300))


# ------------------------------------------------------- an all-missing column
@pytest.mark.parametrize("as_frame", [False, True], ids=["array", "DataFrame"])
def test_imputer_keeps_an_all_missing_column_with_a_warning_and_fills_it_with_zero(as_frame):
    X = _data(np.float64)
    X[::7, 0] = np.nan
    X[:, 2] = np.nan
    if as_frame:
        X = pd.DataFrame(X, columns=COLUMNS)
    before = _digest(X)
    imputer = make_fast(skae.AutoencoderImputer)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        imputer.fit(X)
    said = [str(w.message) for w in caught if "no observed value" in str(w.message)]
    assert len(said) == 1 and re.search(r"\['c'\]|\['2'\]", said[0]), said
    assert "kept and filled with 0" in said[0]
    filled = np.asarray(imputer.transform(X), dtype=np.float64)
    assert filled.shape == (N, P)
    np.testing.assert_array_equal(filled[:, 2], 0.0)
    assert not np.isnan(filled).any()
    observed = ~np.isnan(np.asarray(X, dtype=np.float64))
    np.testing.assert_array_equal(filled[observed], np.asarray(X, dtype=np.float64)[observed])
    assert list(imputer.get_feature_names_out()) == (COLUMNS if as_frame else ["x0", "x1", "x2", "x3"])
    assert _digest(X) == before


@pytest.mark.parametrize("as_frame", [False, True], ids=["array", "DataFrame"])
def test_imputer_can_drop_an_all_missing_column_as_simple_imputer_does(as_frame):
    X = _data(np.float64)
    X[::7, 0] = np.nan
    X[:, 2] = np.nan
    if as_frame:
        X = pd.DataFrame(X, columns=COLUMNS)
    imputer = make_fast(skae.AutoencoderImputer, keep_empty_features=False)
    with pytest.warns(UserWarning, match=r"no observed value.*left out.*keep_empty_features=False"):
        imputer.fit(X)
    filled = imputer.transform(X)
    assert filled.shape == (N, P - 1)
    names = ["a", "b", "d"] if as_frame else ["x0", "x1", "x3"]
    assert list(imputer.get_feature_names_out()) == names
    if as_frame:
        assert list(filled.columns) == names
    np.testing.assert_array_equal(np.asarray(filled)[:, 1], np.asarray(X)[:, 1])
    assert not np.isnan(np.asarray(filled, dtype=np.float64)).any()
    frame = imputer.set_output(transform="pandas").transform(X)
    assert list(frame.columns) == names


def test_tabular_ae_decodes_an_all_missing_column_as_zero():
    X = _data(np.float64)
    X[:, 1] = np.nan
    ae = make_fast(skae.TabularAE, missing="learn")
    with pytest.warns(UserWarning, match="no observed value"):
        ae.fit(X)
    np.testing.assert_array_equal(ae.impute(X)[:, 1], 0.0)
    np.testing.assert_array_equal(ae.inverse_transform(ae.transform(X))[:, 1], 0.0)


# ------------------------------------------------------------------ parameters
def _keys(estimator, name):
    return [k for k in estimator.get_params(deep=True) if k.rsplit("__", 1)[-1] == name]


@pytest.mark.parametrize("sizes", [(-5,), (0,), (8.5,), (8, 0), (True,), "8", 8])
@pytest.mark.parametrize("cls", ESTIMATORS, ids=lambda cls: cls.__name__)
def test_layer_sizes_must_be_positive_integers(cls, sizes):
    estimator = make_fast(cls)
    keys = _keys(estimator, "hidden_layer_sizes") + _keys(estimator, "head_hidden_layer_sizes")
    if not keys:
        pytest.skip(f"{cls.__name__} has no layer sizes")
    for key in keys:
        bad = make_fast(cls).set_params(**{key: sizes})
        name = key.rsplit("__", 1)[-1]
        X = _data()
        with pytest.raises(ValueError, match=f"'{name}' parameter.*positive integers"):
            fit(bad, X)
        assert not [attribute for attribute in vars(bad) if attribute.endswith("_")]
        np.testing.assert_array_equal(X, _data())


@pytest.mark.parametrize("cls", ESTIMATORS, ids=lambda cls: cls.__name__)
def test_empty_and_numpy_integer_layer_sizes_are_accepted(cls):
    estimator = make_fast(cls)
    keys = _keys(estimator, "hidden_layer_sizes")
    if not keys:
        pytest.skip(f"{cls.__name__} has no layer sizes")
    estimator.set_params(**{key: np.array([3], dtype=np.int64) for key in keys})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit(estimator, _data())
    estimator.set_params(**{key: () for key in keys})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit(estimator, _data())


def _unavailable_devices():
    import torch

    devices = ["not-a-device", "meta", "cuda:99"]
    if not torch.cuda.is_available():
        devices.append("cuda")
    if not torch.backends.mps.is_available():
        devices.append("mps")
    return devices


@pytest.mark.parametrize("device", _unavailable_devices())
@pytest.mark.parametrize("cls", ESTIMATORS, ids=lambda cls: cls.__name__)
def test_an_unavailable_device_is_refused_naming_device(cls, device):
    estimator = make_fast(cls)
    keys = _keys(estimator, "device")
    if not keys:
        pytest.skip(f"{cls.__name__} has no device")
    for key in keys:
        bad = make_fast(cls).set_params(**{key: device})
        with pytest.raises(ValueError, match="'device' parameter.*available on this machine.*'cpu'"):
            fit(bad, _data())
        assert not [attribute for attribute in vars(bad) if attribute.endswith("_")]


@pytest.mark.parametrize("device", ["cpu", "auto"])
def test_available_devices_are_accepted(device):
    import torch

    make_fast(skae.AutoencoderTransformer, device=device).fit(_data())
    make_fast(skae.AutoencoderTransformer, device=torch.device("cpu")).fit(_data())


# ---------------------------------------------------------------- refits
def test_classifier_refit_without_neighbors_drops_the_graph_of_the_previous_fit():
    X, y = _data(), np.arange(N) % 2
    classifier = make_fast(skae.AutoencoderClassifier, n_neighbors=3).fit(X, y)
    stale = [
        "label_distributions_",
        "reference_rows_",
        "reference_codes_",
        "induction_neighbors_",
        "unit_norm_rows_",
    ]
    assert all(hasattr(classifier, name) for name in stale)
    classifier.set_params(n_neighbors=None).fit(X, y)
    assert [name for name in stale if hasattr(classifier, name)] == []
    assert classifier.combination_ == "head"
    proba = classifier.predict_proba(X)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-6)
    # And back: the graph is built again.
    classifier.set_params(n_neighbors=3).fit(X, y)
    assert all(hasattr(classifier, name) for name in stale)


@pytest.mark.parametrize(
    "y",
    [
        np.r_[np.zeros(10, dtype=int), np.full(N - 10, -1)],
        np.zeros(N, dtype=int),
    ],
    ids=["one labeled class and unlabeled rows", "one class"],
)
def test_classifier_with_one_labeled_class_says_what_to_do(y):
    classifier = make_fast(skae.AutoencoderClassifier)
    with pytest.raises(ValueError, match=r"at least 2 classes; got 1 class \(0\).*Label"):
        classifier.fit(_data(), y)
    assert not hasattr(classifier, "classes_")


# ------------------------------------------------- a refused call changes nothing
BAD_FITS = {
    "one cell at 1e300": lambda: _one_cell(1e300),
    "one cell at 1e30": lambda: _one_cell(1e30),
    "NaN": lambda: _holes(np.nan),
}


@pytest.mark.parametrize("case", list(BAD_FITS))
@pytest.mark.parametrize("cls", ESTIMATORS, ids=lambda cls: cls.__name__)
def test_a_refused_refit_leaves_the_estimator_and_the_data_as_they_were(cls, case):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        estimator = fit(make_fast(cls), _data())
        expected = outputs(estimator, _data())
        X = BAD_FITS[case]()
        before = _digest(X)
        try:
            fit(estimator, X)
        except (ValueError, TypeError, skae.DivergenceError):
            assert _digest(X) == before
            found = outputs(estimator, _data())
            for method, out in expected.items():
                np.testing.assert_array_equal(found[method], out, err_msg=method)
            return
    assert _digest(X) == before  # accepted (an estimator that takes it): data untouched
