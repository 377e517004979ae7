"""AutoencoderOutlierDetector: planted outliers, thresholds, pipelines and DataFrames."""

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

import skae
from benchmarks import outliers
from skae import AutoencoderOutlierDetector, AutoencoderTransformer, VariationalAE

SMALL = dict(n_components=4, hidden_layer_sizes=(32,), max_iter=30, batch_size=32, random_state=0)


@pytest.fixture(scope="module")
def planted():
    """Digits '0' as inliers, plus 18 rows (about 9%) of other digits as outliers."""
    X, y = load_digits(return_X_y=True)
    rng = np.random.RandomState(0)
    outliers = rng.choice(np.flatnonzero(y != 0), 18, replace=False)
    rows = np.concatenate([np.flatnonzero(y == 0), outliers])
    is_inlier = np.r_[np.ones(np.sum(y == 0)), np.zeros(len(outliers))]
    return X[rows], is_inlier


@pytest.mark.parametrize("autoencoder", [AutoencoderTransformer(**SMALL), VariationalAE(**SMALL)])
def test_planted_outliers_are_found(planted, autoencoder):
    X, is_inlier = planted
    detector = make_pipeline(
        StandardScaler(), AutoencoderOutlierDetector(autoencoder, contamination=0.1)
    ).fit(X)
    scores = detector.score_samples(X)
    assert roc_auc_score(is_inlier, scores) > 0.95
    labels = detector.predict(X)
    # contamination=0.1 flags 10% of the training rows (up to rounding), and
    # most flagged rows are the planted outliers (9% of the rows).
    assert set(np.unique(labels)) == {-1, 1}
    assert abs(np.mean(labels == -1) - 0.1) <= 1 / len(X)
    assert np.mean(is_inlier[labels == -1] == 0) > 0.6


def test_score_is_the_autoencoders_score_and_decision_is_shifted(planted):
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


def test_auto_contamination_is_tukeys_lower_fence(planted):
    X, is_inlier = planted
    X = StandardScaler().fit_transform(X)
    detector = AutoencoderOutlierDetector(AutoencoderTransformer(**SMALL)).fit(X)
    scores = detector.score_samples(X)
    q1, q3 = np.percentile(scores, [25, 75])
    assert detector.offset_ == pytest.approx(q1 - 1.5 * (q3 - q1))
    labels = detector.fit_predict(X)
    # No proportion assumed: it flags some rows, far fewer than half, mostly outliers.
    assert 0 < np.mean(labels == -1) < 0.25
    assert np.mean(is_inlier[labels == -1] == 0) > 0.5


def test_fit_predict_matches_fit_then_predict_and_is_reproducible(planted):
    X, _ = planted
    X = StandardScaler().fit_transform(X)
    detector = AutoencoderOutlierDetector(AutoencoderTransformer(**SMALL), contamination=0.05)
    np.testing.assert_array_equal(detector.fit_predict(X), detector.fit(X).predict(X))
    # random_state overrides the wrapped autoencoder's seed.
    unseeded = AutoencoderTransformer(**{**SMALL, "random_state": None})
    first = AutoencoderOutlierDetector(unseeded, random_state=3).fit(X).score_samples(X)
    second = AutoencoderOutlierDetector(unseeded, random_state=3).fit(X).score_samples(X)
    np.testing.assert_array_equal(first, second)


def test_pipeline_with_dataframe_forwards_feature_names(planted):
    X, _ = planted
    columns = [f"pixel_{i}" for i in range(X.shape[1])]
    frame = pd.DataFrame(X, columns=columns)
    detector = AutoencoderOutlierDetector(AutoencoderTransformer(**SMALL), contamination=0.1)
    pipeline = make_pipeline(StandardScaler().set_output(transform="pandas"), detector).fit(frame)
    fitted = pipeline[-1]
    assert list(fitted.feature_names_in_) == columns
    assert list(fitted.estimator_.feature_names_in_) == columns
    assert fitted.n_features_in_ == X.shape[1]
    assert pipeline.predict(frame).shape == (len(X),)
    with pytest.raises(ValueError, match="feature names"):
        fitted.predict(frame.iloc[:, ::-1])


def test_default_estimator_and_the_given_one_are_left_untouched():
    X = np.random.RandomState(0).normal(size=(60, 4))
    detector = AutoencoderOutlierDetector(random_state=0).fit(X)
    assert detector.estimator is None
    assert isinstance(detector.estimator_, AutoencoderTransformer)
    given = AutoencoderTransformer(**{**SMALL, "n_components": 2})
    AutoencoderOutlierDetector(given).fit(X)
    assert not hasattr(given, "module_")


def test_bad_parameters_and_unfitted():
    X = np.random.RandomState(0).normal(size=(20, 3))
    for contamination in (0.0, 0.6, "most"):
        with pytest.raises(InvalidParameterError, match="contamination"):
            AutoencoderOutlierDetector(contamination=contamination).fit(X)
    with pytest.raises(InvalidParameterError, match="estimator"):
        AutoencoderOutlierDetector(StandardScaler()).fit(X)
    with pytest.raises(NotFittedError):
        AutoencoderOutlierDetector().predict(X)


def test_benchmark_split_and_table(capsys):
    """The outlier benchmark's protocol: clean one-class training rows, 10% outliers in test."""
    X, y = load_digits(return_X_y=True)
    X_train, X_test, is_outlier = outliers.one_class_split(X, y, inlier=3, outlier_fraction=0.1, seed=0)
    assert len(X_train) + np.sum(is_outlier == 0) == np.sum(y == 3)
    assert {tuple(row) for row in X_train} <= {tuple(row) for row in X[y == 3]}
    assert abs(np.mean(is_outlier) - 0.1) < 0.02
    results = outliers.main(["--datasets", "digits", "--classes", "1"])
    assert set(results.method) >= {"AE", "VAE", "PCA", "IForest", "LOF", "OCSVM"}
    assert results.roc_auc.between(0, 1).all() and results.ap.between(0, 1).all()
    assert "vs PCA" in capsys.readouterr().out


def test_wraps_a_table_autoencoder_with_missing_values():
    """Inputs are the wrapped autoencoder's: a DataFrame with a categorical column and NaN."""
    rng = np.random.RandomState(0)
    frame = pd.DataFrame(
        {"x": rng.normal(size=200), "kind": pd.Categorical(rng.choice(["a", "b"], 200)), "y": rng.normal(size=200)}
    )
    frame.loc[3, "x"] = np.nan
    table = skae.TabularAE(n_components=2, hidden_layer_sizes=(8,), max_iter=5, random_state=0, missing="learn")
    detector = AutoencoderOutlierDetector(table, contamination=0.1).fit(frame)
    assert detector.__sklearn_tags__().input_tags.allow_nan
    assert not AutoencoderOutlierDetector().__sklearn_tags__().input_tags.allow_nan
    assert list(detector.feature_names_in_) == ["x", "kind", "y"]
    assert np.mean(detector.predict(frame) == -1) == pytest.approx(0.1, abs=1 / 200)
