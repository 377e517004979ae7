"""AutoencoderOutlierDetector: planted outliers, thresholds, bad input, pipelines, the benchmark."""

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.datasets import load_digits
from sklearn.exceptions import NotFittedError
from sklearn.metrics import roc_auc_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils._param_validation import InvalidParameterError
from skorch.callbacks import Callback

import skae
from benchmarks import outliers as bench
from skae import AutoencoderOutlierDetector, AutoencoderTransformer, VariationalAE
from skae.outlier import _codes_and_errors, default_members

SMALL = dict(n_components=4, hidden_layer_sizes=(32,), max_iter=30, batch_size=32, random_state=0)


def _planted_cluster(draw=0, n_inliers=400, n_outliers=20):
    """Correlated Gaussian inliers in 8-d, and a tight cluster of outliers off their plane.

    The two sources are fixed; ``draw`` seeds the rows drawn from them.
    """
    source = np.random.RandomState(0)
    mixing = source.normal(size=(3, 8))
    direction = source.normal(size=8)
    center = 3.0 * np.sqrt((mixing**2).sum(axis=0) + 0.01) * direction / np.linalg.norm(direction)
    rng = np.random.RandomState(100 + draw)
    inliers = rng.normal(size=(n_inliers, 3)) @ mixing + 0.1 * rng.normal(size=(n_inliers, 8))
    outliers = center + 0.1 * rng.normal(size=(n_outliers, 8))
    X = np.vstack([inliers, outliers])
    is_outlier = np.r_[np.zeros(n_inliers), np.ones(n_outliers)]
    order = rng.permutation(len(X))
    return X[order], is_outlier[order]


@pytest.fixture(scope="module")
def planted():
    """Digits '0' as inliers, plus 18 rows (about 9%) of other digits as outliers."""
    X, y = load_digits(return_X_y=True)
    rng = np.random.RandomState(0)
    outliers = rng.choice(np.flatnonzero(y != 0), 18, replace=False)
    rows = np.concatenate([np.flatnonzero(y == 0), outliers])
    is_inlier = np.r_[np.ones(np.sum(y == 0)), np.zeros(len(outliers))]
    return X[rows], is_inlier


@pytest.fixture(scope="module")
def cluster():
    X, is_outlier = _planted_cluster()
    return X, is_outlier, AutoencoderOutlierDetector(contamination=0.05, random_state=0).fit(X)


# ------------------------------------------------------------ the default ensemble
def test_default_separates_a_planted_cluster_fitted_on_it(cluster):
    X, is_outlier, detector = cluster
    # The cluster is 5% of the training rows: it must not be learnt as normal.
    assert roc_auc_score(is_outlier, -detector.score_samples(X)) > 0.95
    flagged = detector.predict(X) == -1
    assert abs(flagged.mean() - 0.05) <= 1 / len(X)
    assert is_outlier[flagged].mean() > 0.8
    # New rows from the same two sources are ranked the same way.
    X_new, is_outlier_new = _planted_cluster(draw=1)
    assert roc_auc_score(is_outlier_new, -detector.score_samples(X_new)) > 0.9


def test_default_ensemble_is_sized_from_the_number_of_features():
    for n_features in (1, 2, 10, 64, 784):
        members = default_members(n_features)
        views = [view for view, _ in members]
        assert views.count("reconstruction") == 2 and views.count("latent") == 3
        for view, params in members:
            assert 1 <= params["n_components"] <= n_features
            if view == "latent" and n_features > 1:
                assert params["n_components"] < n_features  # a code narrower than the input
            assert params["early_stopping"] is False  # every setting given, none inherited
        codes = sorted(p["n_components"] for v, p in members if v == "latent")
        if n_features >= 64:
            assert codes[0] < codes[1] < codes[2]
    assert [p["n_components"] for _, p in default_members(784)][:2] == [32, 32]


def test_default_is_reproducible_and_leaves_its_input_alone(cluster):
    X, _, detector = cluster
    copy = X.copy()
    again = AutoencoderOutlierDetector(contamination=0.05, random_state=0).fit(X)
    np.testing.assert_array_equal(again.score_samples(X), detector.score_samples(X))
    other = AutoencoderOutlierDetector(contamination=0.05, random_state=1).fit(X)
    assert not np.array_equal(other.score_samples(X), detector.score_samples(X))
    np.testing.assert_array_equal(X, copy)
    assert detector.estimator is None and len(detector.estimators_) == 5
    assert all(isinstance(ae, AutoencoderTransformer) for ae in detector.estimators_)


def test_default_standardizes_the_features_itself(cluster):
    X, is_outlier, _ = cluster
    scales = np.logspace(-3, 4, X.shape[1])
    detector = AutoencoderOutlierDetector(random_state=0).fit(X * scales + 50.0)
    np.testing.assert_allclose(detector.mean_, (X * scales + 50.0).mean(axis=0))
    assert roc_auc_score(is_outlier, -detector.score_samples(X * scales + 50.0)) > 0.95


def test_default_statistics_come_from_the_most_normal_rows(cluster):
    X, is_outlier, detector = cluster
    # A typical training row scores about -1: every view is divided by its training median.
    assert np.median(detector.score_samples(X)) == pytest.approx(-1.0, abs=0.1)
    assert set(detector.view_medians_) == {"reconstruction", "latent"}
    Z = detector._standardize(X)
    for autoencoder, stats in zip(detector.estimators_, detector.member_statistics_):
        assert stats["scale"].shape == (X.shape[1],) and np.all(stats["scale"] > 0)
        _, errors = _codes_and_errors(autoencoder, Z)
        # Re-estimated without the cluster, badly reconstructed: below the mean over all rows.
        assert stats["scale"].sum() < errors.mean(axis=0).sum()
        inlier_scale = errors[is_outlier == 0].mean(axis=0).sum()
        np.testing.assert_allclose(stats["scale"].sum(), inlier_scale, rtol=0.5)


# ------------------------------------------------------------ thresholds
@pytest.mark.parametrize("contamination", [0.5, 0.2, 0.01])
def test_contamination_sets_the_flagged_share_of_training_rows(cluster, contamination):
    X, _, _ = cluster
    detector = AutoencoderOutlierDetector(contamination=contamination, random_state=0).fit(X)
    scores = detector.score_samples(X)
    assert detector.offset_ == pytest.approx(np.percentile(scores, 100 * contamination))
    assert abs(np.mean(detector.predict(X) == -1) - contamination) <= 1 / len(X)


def test_tiny_contamination_flags_at_most_one_training_row(cluster):
    X, _, _ = cluster
    labels = AutoencoderOutlierDetector(contamination=1e-6, random_state=0).fit_predict(X)
    assert np.sum(labels == -1) <= 1


def test_auto_contamination_is_tukeys_fence_and_assumes_no_share():
    X = np.random.RandomState(0).normal(size=(300, 5))
    detector = AutoencoderOutlierDetector(random_state=0).fit(X)
    scores = detector.score_samples(X)
    q1, q3 = np.percentile(scores, [25, 75])
    assert detector.offset_ == pytest.approx(q1 - 1.5 * (q3 - q1))
    # Clean Gaussian data: a few rows in the far tail at most.
    assert np.mean(detector.predict(X) == -1) < 0.1


def test_auto_contamination_with_a_wrapped_autoencoder(planted):
    X, is_inlier = planted
    X = StandardScaler().fit_transform(X)
    detector = AutoencoderOutlierDetector(AutoencoderTransformer(**SMALL)).fit(X)
    scores = detector.score_samples(X)
    q1, q3 = np.percentile(scores, [25, 75])
    assert detector.offset_ == pytest.approx(q1 - 1.5 * (q3 - q1))
    labels = detector.fit_predict(X)
    assert 0 < np.mean(labels == -1) < 0.25
    assert np.mean(is_inlier[labels == -1] == 0) > 0.5


def test_bad_parameters_and_unfitted():
    X = np.random.RandomState(0).normal(size=(20, 3))
    for contamination in (0.0, 0.5000001, 0.6, -0.1, "most"):
        with pytest.raises(InvalidParameterError, match="contamination"):
            AutoencoderOutlierDetector(contamination=contamination).fit(X)
    with pytest.raises(InvalidParameterError, match="estimator"):
        AutoencoderOutlierDetector(StandardScaler()).fit(X)
    with pytest.raises(NotFittedError):
        AutoencoderOutlierDetector().predict(X)
    with pytest.raises(ValueError, match="minimum of 2"):
        AutoencoderOutlierDetector().fit(X[:1])


# ------------------------------------------------------------ prediction
def test_single_row_predict_matches_the_batch(cluster):
    X, _, detector = cluster
    for row in (0, int(np.argmin(detector.score_samples(X)))):
        single = detector.predict(X[row : row + 1])
        assert single.shape == (1,) and single.dtype == np.int64
        assert single[0] == detector.predict(X)[row]
        np.testing.assert_allclose(
            detector.score_samples(X[row : row + 1]),
            detector.score_samples(X)[row : row + 1],
            rtol=1e-6,
        )


@pytest.mark.parametrize("value", [np.nan, np.inf, -np.inf])
def test_non_finite_rows_at_predict_are_named_and_the_model_is_unchanged(cluster, value):
    X, _, detector = cluster
    before = detector.score_samples(X)
    weights = [p.detach().clone() for ae in detector.estimators_ for p in ae.module_.parameters()]
    bad = X[:12].copy()
    bad[3, 1] = bad[7, 0] = value
    for method in ("predict", "score_samples", "decision_function"):
        kind = "NaN" if np.isnan(value) else "infinity"
        message = rf"X has {kind} values in 2 of its 12 rows \(row indices: 3, 7\)"
        with pytest.raises(ValueError, match=message):
            getattr(detector, method)(bad)
    np.testing.assert_array_equal(detector.score_samples(X), before)
    after = [p for ae in detector.estimators_ for p in ae.module_.parameters()]
    assert all(torch_equal(a, b) for a, b in zip(weights, after))
    assert np.isnan(bad[3, 1]) or np.isinf(bad[3, 1])  # the caller's array is left as it was


def torch_equal(a, b):
    return bool((a == b).all())


def test_non_finite_rows_at_fit_and_with_a_wrapped_autoencoder():
    X = np.random.RandomState(0).normal(size=(60, 4))
    X[[5, 40], 2] = np.inf
    with pytest.raises(ValueError, match=r"rows \(row indices: 5, 40\)"):
        AutoencoderOutlierDetector().fit(X)
    X[[5, 40], 2] = 0.0
    wrapped = AutoencoderOutlierDetector(AutoencoderTransformer(**SMALL)).fit(X)
    frame = pd.DataFrame(X[:5], columns=list("abcd"))
    frame.iloc[4, 0] = np.nan
    with pytest.raises(ValueError, match=r"1 of its 5 rows \(row indices: 4\)"):
        wrapped.predict(frame.to_numpy())


def test_many_bad_rows_are_listed_in_short():
    X = np.random.RandomState(0).normal(size=(60, 4))
    detector = AutoencoderOutlierDetector(AutoencoderTransformer(**SMALL)).fit(X)
    X[:30, 0] = np.nan
    with pytest.raises(ValueError, match=r"30 of its 60 rows \(row indices: 0, 1, .*, 9, \.\.\.\)"):
        detector.predict(X)


# ------------------------------------------------------------ a failed fit changes nothing
class _RaiseAtEpoch(Callback):
    """Raise ``RuntimeError`` at the end of the wrapped autoencoder's first epoch."""

    def on_epoch_end(self, net, **kwargs):
        raise RuntimeError("the autoencoder failed")


def _fitted_state(detector):
    return {name: value for name, value in vars(detector).items() if name.endswith("_")}


def test_a_failed_refit_leaves_the_fitted_detector_as_it_was(cluster, monkeypatch):
    X, _, fitted = cluster
    detector = clone(fitted).fit(X)
    before, scores = _fitted_state(detector), detector.score_samples(X)
    bad = X.copy()
    bad[5, 0] = np.nan
    failing = AutoencoderTransformer(**SMALL, callbacks=[_RaiseAtEpoch()])
    fits = []

    class FailsAtTheThirdMember(AutoencoderTransformer):
        def fit(self, X, y=None):
            fits.append(1)
            if len(fits) == 3:
                raise KeyboardInterrupt  # an interruption halfway through the ensemble
            return super().fit(X, y)

    with pytest.raises(ValueError, match="NaN"):
        detector.fit(bad)
    with pytest.raises(RuntimeError, match="the autoencoder failed"):  # other mode, other width
        detector.set_params(estimator=failing).fit(X[:, :5])
    detector.set_params(estimator=None)
    monkeypatch.setattr(skae.outlier, "AutoencoderTransformer", FailsAtTheThirdMember)
    with pytest.raises(KeyboardInterrupt):
        detector.fit(X[:, :5])
    assert len(fits) == 3
    after = _fitted_state(detector)
    assert after.keys() == before.keys() and not hasattr(detector, "estimator_")
    assert all(after[name] is value for name, value in before.items())
    np.testing.assert_array_equal(detector.score_samples(X), scores)


def test_a_failed_first_fit_leaves_the_detector_unfitted():
    X = np.random.RandomState(0).normal(size=(60, 4))
    failing = AutoencoderTransformer(**SMALL, callbacks=[_RaiseAtEpoch()])
    detector = AutoencoderOutlierDetector(failing)
    with pytest.raises(RuntimeError, match="the autoencoder failed"):
        detector.fit(X)
    assert not _fitted_state(detector)
    with pytest.raises(NotFittedError):
        detector.predict(X)
    detector.set_params(estimator=None, random_state=0).fit(X)  # then fits as new
    assert detector.n_features_in_ == 4 and detector.predict(X).shape == (60,)


# ------------------------------------------------------------ a wrapped autoencoder
@pytest.mark.parametrize(
    "autoencoder", [None, AutoencoderTransformer(**SMALL), VariationalAE(**SMALL)]
)
def test_planted_digits_are_found(planted, autoencoder):
    X, is_inlier = planted
    detector = make_pipeline(
        StandardScaler(), AutoencoderOutlierDetector(autoencoder, contamination=0.1, random_state=0)
    ).fit(X)
    scores = detector.score_samples(X)
    assert roc_auc_score(is_inlier, scores) > 0.95
    labels = detector.predict(X)
    # contamination=0.1 flags 10% of the training rows (up to rounding), and
    # most flagged rows are the planted outliers (9% of the rows).
    assert set(np.unique(labels)) == {-1, 1}
    assert abs(np.mean(labels == -1) - 0.1) <= 1 / len(X)
    assert np.mean(is_inlier[labels == -1] == 0) > 0.6


def test_score_is_the_wrapped_autoencoders_score_and_decision_is_shifted(planted):
    X, _ = planted
    X = StandardScaler().fit_transform(X)
    for autoencoder in (AutoencoderTransformer(**SMALL), VariationalAE(**SMALL)):
        detector = AutoencoderOutlierDetector(autoencoder, contamination=0.2).fit(X)
        # The negative reconstruction error, or the ELBO for a VAE.
        expected = clone(autoencoder).fit(X).score_samples(X)
        np.testing.assert_allclose(detector.score_samples(X), expected)
        np.testing.assert_allclose(detector.offset_, np.percentile(expected, 20))
        decision = detector.decision_function(X)
        np.testing.assert_allclose(decision, expected - detector.offset_)
        np.testing.assert_array_equal(detector.predict(X), np.where(decision < 0, -1, 1))


def test_fit_predict_matches_fit_then_predict_and_random_state_overrides(planted):
    X, _ = planted
    X = StandardScaler().fit_transform(X)
    detector = AutoencoderOutlierDetector(AutoencoderTransformer(**SMALL), contamination=0.05)
    np.testing.assert_array_equal(detector.fit_predict(X), detector.fit(X).predict(X))
    # random_state overrides the wrapped autoencoder's seed.
    unseeded = AutoencoderTransformer(**{**SMALL, "random_state": None})
    first = AutoencoderOutlierDetector(unseeded, random_state=3).fit(X).score_samples(X)
    second = AutoencoderOutlierDetector(unseeded, random_state=3).fit(X).score_samples(X)
    np.testing.assert_array_equal(first, second)


def test_refit_switches_between_the_ensemble_and_a_wrapped_autoencoder():
    X = np.random.RandomState(0).normal(size=(60, 4))
    detector = AutoencoderOutlierDetector(random_state=0).fit(X)
    assert hasattr(detector, "estimators_") and not hasattr(detector, "estimator_")
    detector.set_params(estimator=AutoencoderTransformer(**{**SMALL, "n_components": 2})).fit(X)
    assert hasattr(detector, "estimator_") and not hasattr(detector, "estimators_")
    np.testing.assert_allclose(detector.score_samples(X), detector.estimator_.score_samples(X))
    given = detector.estimator
    assert not hasattr(given, "module_")  # the given autoencoder is cloned, never fitted


@pytest.mark.parametrize("autoencoder", [None, AutoencoderTransformer(**SMALL)])
def test_pipeline_with_dataframe_forwards_feature_names(planted, autoencoder):
    X, _ = planted
    columns = [f"pixel_{i}" for i in range(X.shape[1])]
    frame = pd.DataFrame(X, columns=columns)
    detector = AutoencoderOutlierDetector(autoencoder, contamination=0.1, random_state=0)
    pipeline = make_pipeline(StandardScaler().set_output(transform="pandas"), detector).fit(frame)
    fitted = pipeline[-1]
    assert list(fitted.feature_names_in_) == columns
    assert fitted.n_features_in_ == X.shape[1]
    assert pipeline.predict(frame).shape == (len(X),)
    with pytest.raises(ValueError, match="feature names"):
        fitted.predict(frame.iloc[:, ::-1])


def test_wraps_a_table_autoencoder_with_missing_values():
    """Inputs are the wrapped autoencoder's: a DataFrame with a categorical column and NaN."""
    rng = np.random.RandomState(0)
    frame = pd.DataFrame(
        {
            "x": rng.normal(size=200),
            "kind": pd.Categorical(rng.choice(["a", "b"], 200)),
            "y": rng.normal(size=200),
        }
    )
    frame.loc[3, "x"] = np.nan
    table = skae.TabularAE(
        n_components=2, hidden_layer_sizes=(8,), max_iter=5, random_state=0, missing="learn"
    )
    detector = AutoencoderOutlierDetector(table, contamination=0.1).fit(frame)
    assert detector.__sklearn_tags__().input_tags.allow_nan
    assert not AutoencoderOutlierDetector().__sklearn_tags__().input_tags.allow_nan
    assert list(detector.feature_names_in_) == ["x", "kind", "y"]
    assert np.mean(detector.predict(frame) == -1) == pytest.approx(0.1, abs=1 / 200)


def test_the_default_ensemble_saves_and_loads(cluster, tmp_path):
    X, _, detector = cluster
    skae.save(detector, tmp_path / "detector.skae")
    loaded = skae.load(tmp_path / "detector.skae")
    np.testing.assert_array_equal(loaded.score_samples(X), detector.score_samples(X))
    np.testing.assert_array_equal(loaded.predict(X), detector.predict(X))


# ------------------------------------------------------------ the benchmark
def test_benchmark_tables_follow_their_recipes():
    X, is_outlier = bench.build_table("wine", 0)
    assert X.shape == (129, 13) and is_outlier.sum() == 10  # ADBench's wine
    for kind in ("local", "global", "dependency", "clustered"):
        table = bench.TABLES[f"breast_cancer_{kind}"]
        X, is_outlier = bench.build_table(f"breast_cancer_{kind}", 0)
        assert table.kind == kind and X.shape[1] == 30
        assert is_outlier.mean() == pytest.approx(bench.GENERATED_OUTLIER_FRACTION, abs=0.01)
    # Global outliers fill the widened box of the normal rows; local ones spread wider than them.
    X, is_outlier = bench.build_table("breast_cancer_global", 0)
    normal = X[is_outlier == 0]
    assert (X[is_outlier == 1].std(axis=0) > normal.std(axis=0)).mean() > 0.9
    X, is_outlier = bench.build_table("breast_cancer_local", 0)
    assert np.median(X[is_outlier == 1].std(axis=0) / X[is_outlier == 0].std(axis=0)) > 1.5
    # Dependency outliers keep the marginals and lose the correlations.
    X, is_outlier = bench.build_table("breast_cancer_dependency", 0)
    corr = lambda rows: np.abs(np.corrcoef(rows, rowvar=False))[np.triu_indices(30, 1)].mean()
    outliers, normal = X[is_outlier == 1], X[is_outlier == 0]
    assert corr(outliers) < 0.75 * corr(normal[: len(outliers)])  # as many rows: the same noise
    # The split keeps outliers on both sides; the scaler sees the training rows only.
    X_train, X_test, y_train, y_test = bench.split_and_scale(*bench.build_table("wine", 0), seed=0)
    assert y_train.sum() == 7 and y_test.sum() == 3
    np.testing.assert_allclose(X_train.mean(axis=0), 0, atol=1e-12)


def test_benchmark_slice_runs_and_reports(tmp_path):
    planned = bench.plan({"quick": True, "seeds": 3, "data_dir": None})
    runs = [r for r in planned if r["table"] == "wine"]
    assert {r["method"] for r in runs} == set(bench.METHODS) and {r["seed"] for r in runs} == {100}
    fast = [r for r in runs if r["method"] in ("skae", "IForest", "LOF", "PCA")]
    rows = pd.DataFrame([{**r, **bench.run_one(r)} for r in fast])
    assert rows.roc_auc.between(0, 1).all() and rows.ap.between(0, 1).all()
    assert (rows.fit_seconds > 0).all() and set(rows.n_rows) == {129}
    section = bench.report(rows, tmp_path)
    assert "## Outlier detection" in section and "| wine" in section
    assert (tmp_path / "outliers.png").stat().st_size > 0
