"""TabularAE: mixed column types, round trips, unknown categories, missing values."""

import pickle
import warnings

import numpy as np
import pandas as pd
import pytest

from skae import TabularAE

FAST = dict(hidden_layer_sizes=(32,), batch_size=64, random_state=0)


@pytest.fixture(scope="module")
def table(mixed_table):
    return mixed_table()


@pytest.fixture(scope="module")
def fitted(table):
    ae = TabularAE(n_components=2, max_iter=40, **FAST).set_output(transform="pandas")
    return ae.fit(table)


def test_feature_types_and_scaling(table, fitted):
    assert fitted.feature_types_.tolist() == [
        "numeric", "numeric", "numeric", "binary", "categorical", "categorical"
    ]
    np.testing.assert_allclose(fitted.mean_, table[["income", "ratio", "count"]].mean(), rtol=1e-6)
    np.testing.assert_allclose(
        fitted.scale_, table[["income", "ratio", "count"]].std(ddof=0), rtol=1e-6
    )
    assert fitted.categories_[0].tolist() == ["blue", "green", "purple", "red"]
    assert fitted.categories_[1].tolist() == ["L", "M", "S", "XL"]


def test_column_weights_normalize_by_baseline_loss(table, fitted):
    weights = dict(zip(table.columns, fitted.column_weights_))
    assert weights["income"] == weights["ratio"] == weights["count"] == 1.0
    p = table["color"].value_counts(normalize=True).to_numpy()
    assert weights["color"] == pytest.approx(1 / -(p * np.log(p)).sum())
    p = table["member"].mean()
    assert weights["member"] == pytest.approx(1 / -(p * np.log(p) + (1 - p) * np.log(1 - p)))


def test_round_trip_keeps_columns_dtypes_and_index(table, fitted):
    codes = fitted.transform(table)
    assert isinstance(codes, pd.DataFrame)
    assert codes.index.equals(table.index)
    restored = fitted.inverse_transform(codes)
    assert list(restored.columns) == list(table.columns)
    assert restored.dtypes.equals(table.dtypes)
    assert restored.index.equals(table.index)
    assert set(restored["color"].cat.categories) == set(table["color"].cat.categories)
    assert set(restored["size"]) <= set(table["size"])
    assert table.shape == restored.shape


def test_reconstruction_beats_majority_class(table, fitted):
    restored = fitted.inverse_transform(fitted.transform(table))
    for column in ("color", "size", "member"):
        majority = table[column].value_counts(normalize=True).max()
        accuracy = (restored[column].to_numpy() == table[column].to_numpy()).mean()
        assert accuracy > majority + 0.5 * (1 - majority), column
    # Numeric columns come back on their own scale, far better than their mean.
    for column in ("income", "ratio", "count"):
        error = np.sqrt(((restored[column] - table[column]) ** 2).mean())
        assert error < 0.5 * table[column].std(), column


def test_fit_does_not_modify_input(table):
    copy = table.copy()
    TabularAE(n_components=2, max_iter=2, **FAST).fit(table)
    pd.testing.assert_frame_equal(table, copy)


def test_default_output_is_numpy_codes(table):
    ae = TabularAE(n_components=3, max_iter=2, **FAST).fit(table)
    codes = ae.transform(table)
    assert isinstance(codes, np.ndarray) and codes.shape == (len(table), 3)
    restored = ae.inverse_transform(codes)
    # Codes as an array carry no index: the restored table gets a range index.
    assert isinstance(restored, pd.DataFrame)
    assert restored.index.equals(pd.RangeIndex(len(table)))
    assert restored.dtypes.equals(table.dtypes)


def test_numeric_array_input_is_all_numeric():
    X = np.random.default_rng(0).normal(size=(100, 4)) * [1, 10, 100, 1000]
    ae = TabularAE(n_components=2, max_iter=3, **FAST).fit(X)
    assert ae.feature_types_.tolist() == ["numeric"] * 4
    restored = ae.inverse_transform(ae.transform(X))
    assert isinstance(restored, np.ndarray) and restored.shape == X.shape
    assert restored.dtype == np.float32


def test_unknown_category_is_ignored_with_warning(table, fitted):
    new = table.iloc[:5].copy()
    new["size"] = ["XXL", "M", "M", "S", "L"]
    with pytest.warns(UserWarning, match="unknown categories.*size"):
        codes = fitted.transform(new)
    assert np.isfinite(codes.to_numpy()).all()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fitted.transform(table.iloc[:5])  # known categories: no warning


def test_categorical_features_forces_integer_codes(table):
    ae = TabularAE(n_components=2, max_iter=3, categorical_features=["count"], **FAST)
    ae.set_output(transform="pandas").fit(table)
    assert ae.feature_types_[2] == "categorical"
    assert ae.categories_[0].tolist() == sorted(table["count"].unique())
    restored = ae.inverse_transform(ae.transform(table))
    assert restored["count"].dtype == table["count"].dtype
    assert set(restored["count"]) <= set(table["count"])
    with pytest.raises(ValueError, match="neither a column name"):
        TabularAE(categorical_features=["nope"], **FAST).fit(table)


def test_nan_without_missing_learn_is_a_clear_error(table):
    holes = table.copy()
    holes["income"] = holes["income"].mask(holes.index % 3 == 0)
    with pytest.raises(ValueError, match=r"income.*missing='learn'"):
        TabularAE(max_iter=2, **FAST).fit(holes)
    X = np.random.default_rng(0).normal(size=(50, 3))
    X[0, 0] = np.nan
    with pytest.raises(ValueError, match=r"NaN.*missing='learn'"):
        TabularAE(max_iter=2, **FAST).fit(X)


def with_holes(table, rate, seed=0):
    """A copy of ``table`` with cells removed at random, using nullable dtypes."""
    rng = np.random.default_rng(seed)
    holes = pd.DataFrame(rng.random(table.shape) < rate, index=table.index, columns=table.columns)
    damaged = table.astype({"count": "Int64", "member": "boolean"}).mask(holes)
    return damaged, holes


def test_missing_learn_trains_on_observed_cells_and_imputes(table):
    damaged, holes = with_holes(table, 0.2)
    ae = TabularAE(n_components=4, max_iter=60, missing="learn", **FAST).fit(damaged)
    filled = ae.impute(damaged)
    assert not filled.isna().any().any()
    assert filled.dtypes.equals(damaged.dtypes)
    assert filled.index.equals(damaged.index)
    observed = ~holes
    for column in table.columns:  # observed cells are kept as they are
        pd.testing.assert_series_equal(
            filled[column][observed[column]], damaged[column][observed[column]]
        )
    for column in ("income", "ratio"):  # missing cells: far better than the mean
        hole = holes[column]
        error = np.sqrt(((filled[column][hole] - table[column][hole]) ** 2).mean())
        assert error < 0.6 * table[column].std(), column
    for column in ("color", "size"):
        hole = holes[column]
        majority = table[column].value_counts(normalize=True).max()
        accuracy = (filled[column][hole].to_numpy() == table[column][hole].to_numpy()).mean()
        assert accuracy > majority + 0.1, column
    assert not damaged.loc[holes["income"], "income"].notna().any()  # input untouched


def test_missing_learn_on_arrays_and_scores():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 1)) @ rng.normal(size=(1, 5)) + 0.05 * rng.normal(size=(300, 5))
    damaged = X.copy()
    damaged[rng.random(X.shape) < 0.2] = np.nan
    ae = TabularAE(n_components=2, max_iter=60, missing="learn", **FAST).fit(damaged)
    filled = ae.impute(damaged)
    assert isinstance(filled, np.ndarray) and not np.isnan(filled).any()
    hole = np.isnan(damaged)
    np.testing.assert_array_equal(filled[~hole], damaged[~hole])
    rmse = np.sqrt(np.mean((filled[hole] - X[hole]) ** 2))
    assert rmse < 0.5 * np.sqrt(np.mean((X - X.mean(0))[hole] ** 2))
    assert np.isfinite(ae.score_samples(damaged)).all()
    assert np.isfinite(ae.transform(damaged)).all()


def test_impute_needs_missing_learn(table, fitted):
    with pytest.raises(ValueError, match="missing='learn'"):
        fitted.impute(table)


def test_swap_noise_respects_column_types(table):
    ae = TabularAE(n_components=2, max_iter=2, noise="swap", noise_level=0.5, **FAST).fit(table)
    import torch

    X = ae._validate_input(table, reset=False)
    corrupted = ae._corrupt(torch.as_tensor(X), torch.Generator().manual_seed(0)).numpy()
    assert not np.array_equal(corrupted, X)
    starts = ae.codec_.starts_
    for start, stop in zip(starts[:-1], starts[1:]):
        block = corrupted[:, start:stop]
        # every cell is a value seen in its column (a whole one-hot row for categories)
        seen = {tuple(row) for row in X[:, start:stop]}
        assert {tuple(row) for row in block} <= seen
    assert np.isfinite(ae.transform(table)).all()


def test_mask_noise_allows_overcomplete_codes(table):
    with pytest.raises(ValueError, match="n_components=40 is larger"):
        TabularAE(n_components=40, max_iter=2, **FAST).fit(table)
    ae = TabularAE(n_components=40, max_iter=2, noise="masking", **FAST).fit(table)
    assert ae.transform(table).shape == (len(table), 40)


def test_mask_is_another_spelling_of_masking(table):
    """``noise="mask"`` (TabularAE's former spelling) trains exactly as ``"masking"``."""
    models = [
        TabularAE(n_components=3, max_iter=2, noise=noise, **FAST).fit(table)
        for noise in ("masking", "mask")
    ]
    np.testing.assert_array_equal(models[0].transform(table), models[1].transform(table))
    unmasked = TabularAE(n_components=3, max_iter=2, noise=None, **FAST).fit(table)
    assert not np.array_equal(unmasked.transform(table), models[0].transform(table))


def test_score_prefers_real_rows_and_pickles(table, fitted):
    shuffled = table.copy()
    rng = np.random.default_rng(1)
    for column in shuffled.columns:
        shuffled[column] = shuffled[column].to_numpy()[rng.permutation(len(table))]
    assert fitted.score(table) > fitted.score(shuffled)
    clone = pickle.loads(pickle.dumps(fitted))
    np.testing.assert_array_equal(clone.transform(table), fitted.transform(table))


def test_deterministic_with_random_state(table):
    a = TabularAE(n_components=2, max_iter=3, missing="learn", **FAST).fit_transform(table)
    b = TabularAE(n_components=2, max_iter=3, missing="learn", **FAST).fit_transform(table)
    np.testing.assert_array_equal(a, b)


def test_polars_input(mixed_table):
    pl = pytest.importorskip("polars")
    frame = mixed_table(n=120)
    X = pl.from_pandas(frame.reset_index(drop=True))
    ae = TabularAE(n_components=2, max_iter=2, **FAST).set_output(transform="polars").fit(X)
    assert ae.feature_types_.tolist()[-2:] == ["categorical", "categorical"]
    restored = ae.inverse_transform(ae.transform(X))
    assert isinstance(restored, pl.DataFrame) and restored.columns == list(frame.columns)


def test_categorical_column_without_observed_value_is_a_clear_error(table):
    empty = table.assign(size=pd.Series([None] * len(table), index=table.index, dtype=object))
    with pytest.raises(ValueError, match="'size' has no observed value"):
        TabularAE(max_iter=2, missing="learn", **FAST).fit(empty)


def test_the_base_s_loss_hooks_answer_without_a_loss_parameter(table, fitted):
    # TabularAE has no ``loss``: the hooks the base reads it through are its own.
    import torch

    assert "loss" not in fitted.get_params() and fitted._output_activation() == "identity"
    batch = torch.as_tensor(fitted._validate_input(table, reset=False))
    with torch.no_grad():
        reconstruction = fitted.module_(batch)[0]
        errors = fitted._reconstruction_errors(reconstruction, batch)  # (n_samples, n_columns)
        mean = fitted._reconstruction_errors(reconstruction, batch, reduction="mean")
    assert errors.shape == (len(table), table.shape[1])
    np.testing.assert_allclose(-errors.mean(1).numpy(), fitted.score_samples(table), rtol=1e-5)
    assert float(mean) == pytest.approx(float(errors.mean()), rel=1e-5)  # no missing cells


@pytest.fixture
def set_column_weights(monkeypatch):
    """Make the next fits weight the columns' losses by the given weights."""
    from skae._columns import TableCodec

    fit = TableCodec.fit
    chosen = {}

    def fit_with_weights(self, *args, **kwargs):
        fit(self, *args, **kwargs)
        self.column_weights_ = np.asarray(chosen["weights"], dtype=np.float64)
        return self

    monkeypatch.setattr(TableCodec, "fit", fit_with_weights)
    return lambda weights: chosen.update(weights=weights)


def test_column_weights_decide_which_columns_the_code_keeps(set_column_weights):
    # Four independent numbers and a category through a one-number code: it can keep one
    # number. Weighted 10 against 1, column x0 is the one kept (squared error 0.002,
    # the others about 1); weighted 0, its loss does not train at all (error above 2).
    # The category comes first in the table, last in the network's (grouped) layout.
    rng = np.random.RandomState(0)
    numbers = [f"x{j}" for j in range(4)]
    table = pd.DataFrame(rng.normal(size=(200, 4)), columns=numbers)
    table.insert(0, "kind", pd.Categorical(rng.choice(["a", "b", "c"], size=200)))
    params = dict(n_components=1, hidden_layer_sizes=(16,), max_iter=60, early_stopping=False,
                  learning_rate_init=1e-2, random_state=0)
    errors = {}
    for first in (10.0, 0.0):
        set_column_weights([1.0, first, 1.0, 1.0, 1.0])
        ae = TabularAE(**params).fit(table)
        assert ae.column_weights_[1] == first
        restored = ae.inverse_transform(ae.transform(table))
        difference = np.asarray(restored[numbers], dtype=float) - table[numbers].to_numpy()
        errors[first] = (difference**2).mean(axis=0)
    heavy, ignored = errors[10.0], errors[0.0]
    assert heavy[0] < 0.1 and heavy[0] < 0.2 * heavy[1:].min()
    assert ignored[0] > 0.9 and ignored[0] > ignored[1:].max()
    assert heavy[0] < 0.1 * ignored[0]
