"""AutoencoderImputer: scikit-learn's imputer API on arrays and DataFrames."""

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline

from benchmarks import imputation
from skae import AutoencoderImputer, TabularAE
from skae._budget import LOWEST_MEAN, SUREST_GAIN

FAST = dict(hidden_layer_sizes=(32,), n_components=8, max_iter=40, batch_size=64, random_state=0)


def low_rank(n=400, seed=0):
    """Five correlated features driven by two factors, plus a little noise."""
    rng = np.random.default_rng(seed)
    Z = rng.normal(size=(n, 2))
    return np.tanh(Z @ rng.normal(size=(2, 5))) * [1, 2, 3, 4, 5] + 0.05 * rng.normal(size=(n, 5))


def remove(X, rate, seed=0, value=np.nan):
    holes = np.random.default_rng(seed).random(X.shape) < rate
    damaged = X.copy()
    damaged[holes] = value
    return damaged, holes


def test_fills_every_hole_and_beats_mean_imputation():
    X = low_rank()
    damaged, holes = remove(X, 0.2)
    before = damaged.copy()
    filled = AutoencoderImputer(**FAST).fit_transform(damaged)
    np.testing.assert_array_equal(damaged, before)  # input untouched
    assert filled.shape == X.shape and not np.isnan(filled).any()
    np.testing.assert_array_equal(filled[~holes], X[~holes])
    mean = SimpleImputer().fit_transform(damaged)
    rmse = np.sqrt(np.mean((filled[holes] - X[holes]) ** 2))
    rmse_mean = np.sqrt(np.mean((mean[holes] - X[holes]) ** 2))
    assert rmse < 0.7 * rmse_mean


def test_transform_on_new_rows_and_refinements():
    X = low_rank(seed=1)
    damaged, holes = remove(X, 0.2, seed=1)
    imputer = AutoencoderImputer(n_refinements=2, **FAST).fit(damaged[:300])
    filled = imputer.transform(damaged[300:])
    assert not np.isnan(filled).any()
    hole = holes[300:]
    mean = np.nanmean(damaged[:300], axis=0)
    rmse = np.sqrt(np.mean((filled[hole] - X[300:][hole]) ** 2))
    rmse_mean = np.sqrt(np.mean((np.broadcast_to(mean, hole.shape)[hole] - X[300:][hole]) ** 2))
    assert rmse < 0.8 * rmse_mean


def test_custom_missing_values_placeholder():
    X = np.round(low_rank() * 10).astype(np.int64)
    X = X - X.min() + 1  # all positive; -1 marks a hole
    damaged, holes = remove(X, 0.1, value=-1)
    filled = AutoencoderImputer(missing_values=-1, **FAST).fit_transform(damaged)
    assert not (filled == -1).any() and not np.isnan(filled).any()
    np.testing.assert_array_equal(filled[~holes], X[~holes])


def test_float32_is_preserved():
    damaged, _ = remove(low_rank().astype(np.float32), 0.1)
    filled = AutoencoderImputer(**{**FAST, "max_iter": 2}).fit_transform(damaged)
    assert filled.dtype == np.float32


def test_dataframe_with_mixed_types_keeps_index_and_dtypes():
    rng = np.random.default_rng(0)
    n = 400
    z = rng.normal(size=n)
    frame = pd.DataFrame(
        {
            "x": 100 * z + rng.normal(scale=5, size=n),
            "y": pd.array(np.round(3 * z).astype(int), dtype="Int64"),
            "flag": pd.array(z > 0, dtype="boolean"),
            "level": pd.Categorical(np.where(z > 0.5, "high", np.where(z < -0.5, "low", "mid"))),
        },
        index=pd.Index(np.arange(n) * 2 + 5),
    )
    holes = pd.DataFrame(rng.random(frame.shape) < 0.15, index=frame.index, columns=frame.columns)
    damaged = frame.mask(holes)
    filled = AutoencoderImputer(**FAST).fit_transform(damaged)
    assert isinstance(filled, pd.DataFrame)
    assert filled.index.equals(frame.index) and filled.dtypes.equals(frame.dtypes)
    assert not filled.isna().any().any()
    hole = holes["level"]
    majority = frame["level"].value_counts(normalize=True).max()
    accuracy = (filled["level"][hole] == frame["level"][hole]).mean()
    assert accuracy > majority
    hole = holes["x"]
    assert np.sqrt(((filled["x"][hole] - frame["x"][hole]) ** 2).mean()) < 0.7 * frame["x"].std()


def test_set_output_and_feature_names():
    X = pd.DataFrame(remove(low_rank(), 0.1)[0], columns=list("abcde"))
    imputer = AutoencoderImputer(**{**FAST, "max_iter": 2}).set_output(transform="pandas")
    filled = imputer.fit_transform(X)
    assert list(filled.columns) == list("abcde")
    assert list(imputer.get_feature_names_out()) == list("abcde")


def test_in_a_pipeline_before_a_classifier():
    X = low_rank(seed=2)
    y = (X[:, 0] > np.median(X[:, 0])).astype(int)
    damaged, _ = remove(X, 0.1, seed=2)
    model = make_pipeline(AutoencoderImputer(**FAST), LogisticRegression()).fit(damaged, y)
    assert model.score(damaged, y) > 0.8


def test_rejects_strings_with_numeric_arrays():
    with pytest.raises(ValueError):
        AutoencoderImputer(missing_values="?", **FAST).fit(low_rank())


def test_imputation_slice_scores_held_out_cells_in_standardized_units():
    runs = [r for r in imputation.plan({"quick": True, "seeds": 1, "data_dir": None})
            if r["dataset"] == "wine" and r["mask"] == 0
            and r["method"] in ("SimpleImputer", "KNNImputer")]
    assert [r["method"] for r in runs] == ["SimpleImputer", "KNNImputer"]
    mean_rmse, knn_rmse = (imputation.run_one(run)["rmse"] for run in runs)
    # Standardized on the training rows: mean imputation errs by about one standard deviation.
    assert 0.8 < mean_rmse < 1.2 and knn_rmse < mean_rmse


def test_imputation_section_pairs_each_split_with_the_best_peer():
    rmse = {("SimpleImputer", 0): 1.0, ("KNNImputer", 0): 0.5, ("AutoencoderImputer", 0): 0.4,
            ("SimpleImputer", 1): 1.0, ("KNNImputer", 1): 0.5, ("AutoencoderImputer", 1): 0.6}
    rows = pd.DataFrame([{"dataset": "wine", "seed": seed, "mask": 0, "method": method,
                          "rmse": value, "fit_seconds": 1.0, "epochs": 10}
                         for (method, seed), value in rmse.items()])
    row = imputation.against_best_peer(rows).iloc[0]
    assert row["best peer"] == "KNNImputer"
    assert row["AE / best (mean RMSE)"] == "1.000"  # 0.5 against 0.5
    assert row["worst split"] == "1.200"  # seed 1: 0.6 against 0.5


def test_its_network_keeps_the_lowest_mean_rule_when_cloned():
    # Below 1,000 rows the imputer's TabularAE chooses its training length by the lowest
    # cross-validated loss (skae._budget.LOWEST_MEAN); a clone of it (e.g. refitted in a
    # GridSearchCV) must choose the same way, and train to the same model.
    X, _ = remove(low_rank(n=150), 0.2)
    imputer = AutoencoderImputer(hidden_layer_sizes=(8,), max_iter=20, blend=False,
                                 random_state=0).fit(X)  # the network trained on X itself
    network = imputer.estimator_
    assert network._selection_rule is LOWEST_MEAN
    again = clone(network).fit(X)
    assert again._selection_rule is LOWEST_MEAN
    assert again.n_iter_ == network.n_iter_
    np.testing.assert_allclose(again.impute(X), network.impute(X), rtol=1e-6, atol=1e-6)
    assert clone(TabularAE())._selection_rule is SUREST_GAIN


def _rmse(imputer, damaged, X, holes):
    filled = imputer.transform(damaged)
    return np.sqrt(np.mean((filled[holes] - X[holes]) ** 2))


def test_blends_with_the_nearest_neighbours_where_they_know_better():
    # Rows in 12 tight clusters: a row's neighbours know its hidden cells, a small network
    # trained briefly does not, nor does one Gaussian. The weights, chosen on cells hidden
    # from the network, go to the neighbours, and the blend beats the network alone.
    rng = np.random.default_rng(0)
    X = (3 * rng.normal(size=(12, 6)))[rng.integers(12, size=400)] + 0.01 * rng.normal(size=(400, 6))
    damaged, holes = remove(X, 0.2)
    blended = AutoencoderImputer(**FAST).fit(damaged)
    alone = AutoencoderImputer(**FAST, blend=False).fit(damaged)
    weights = blended.blend_weights_
    assert weights["neighbors"] > 0.5 and sum(weights.values()) == pytest.approx(1.0)
    assert min(weights.values()) >= 0 and hasattr(blended, "neighbors_")
    assert alone.blend_weights_ == {"network": 1.0, "neighbors": 0.0, "gaussian": 0.0}
    assert not hasattr(alone, "neighbors_") and not hasattr(alone, "gaussian_mean_")
    assert _rmse(blended, damaged, X, holes) < 0.8 * _rmse(alone, damaged, X, holes)


def test_blends_with_the_gaussian_where_the_columns_are_linear():
    # Columns that are linear functions of three factors: the Gaussian's conditional mean
    # is exact (up to its ridge); the weights go to it.
    rng = np.random.default_rng(2)
    X = rng.normal(size=(400, 3)) @ rng.normal(size=(3, 8))
    damaged, holes = remove(X, 0.2, seed=2)
    imputer = AutoencoderImputer(**FAST).fit(damaged)
    assert imputer.blend_weights_["gaussian"] > 0.5
    assert _rmse(imputer, damaged, X, holes) < 0.05 * np.std(X)


def test_the_blend_keeps_a_dataframes_dtypes_and_observed_cells():
    rng = np.random.default_rng(1)
    X = (3 * rng.normal(size=(8, 3)))[rng.integers(8, size=300)] + 0.01 * rng.normal(size=(300, 3))
    frame = pd.DataFrame({"a": X[:, 0], "b": X[:, 1],
                          "n": pd.array(np.round(10 * X[:, 2]), dtype="Int64"),
                          "c": pd.Categorical(np.where(X[:, 0] > 0, "x", "y"))})
    damaged = frame.mask(pd.DataFrame(rng.random(frame.shape) < 0.2, columns=frame.columns))
    imputer = AutoencoderImputer(**FAST).fit(damaged)
    assert imputer.blend_weights_["network"] < 1  # clusters: the neighbours help
    filled = imputer.transform(damaged)
    assert filled.dtypes.equals(frame.dtypes) and filled.notna().all().all()
    observed = damaged.notna()
    assert filled.where(observed).equals(damaged.where(observed))
    assert set(filled["c"]) <= {"x", "y"}


def test_too_few_cells_to_check_keep_the_network_alone():
    X, _ = remove(low_rank(n=30), 0.2)
    imputer = AutoencoderImputer(**FAST).fit(X)
    assert imputer.blend_weights_ == {"network": 1.0, "neighbors": 0.0, "gaussian": 0.0}
    assert not np.isnan(imputer.transform(X)).any()


def test_a_validation_fold_without_an_observed_cell_does_not_divide_by_zero():
    # Three rows, one missing: some cross-validation fold validates on the missing
    # cell alone, whose loss has no observed cell to weigh (found by hypothesis).
    filled = AutoencoderImputer(random_state=0, max_iter=3).fit_transform(
        pd.DataFrame({"c0": [None, 0, 0]})
    )
    assert filled["c0"].tolist() == [0, 0, 0]
