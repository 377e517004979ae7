"""AutoencoderTransformer: what it learns, and how it behaves as a scikit-learn estimator."""

import pickle

import numpy as np
import pandas as pd
import pytest
import torch
from scipy.linalg import subspace_angles
from sklearn.base import clone
from sklearn.datasets import load_digits, make_swiss_roll
from sklearn.decomposition import PCA
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skae import AutoencoderTransformer, DivergenceError

SMALL = dict(hidden_layer_sizes=(16,), max_iter=3, batch_size=64, random_state=0)


def pca_mse(X_train, X_test, k):
    pca = PCA(k).fit(X_train)
    return np.mean((pca.inverse_transform(pca.transform(X_test)) - X_test) ** 2)


def test_linear_autoencoder_learns_pca_subspace():
    rng = np.random.RandomState(0)
    # Data with a clear 3-dimensional principal subspace in 10 dimensions.
    X = rng.normal(size=(600, 3)) @ rng.normal(size=(3, 10)) * 3 + rng.normal(size=(600, 10)) * 0.3
    ae = AutoencoderTransformer(
        n_components=3,
        hidden_layer_sizes=(),
        activation="identity",
        init="random",
        max_iter=400,
        learning_rate_init=1e-2,
        early_stopping=False,
        tol=0.0,
        n_iter_no_change=50,
        random_state=0,
    ).fit(X)
    pca = PCA(3).fit(X)
    decoder_columns = ae.module_.decoder[0].weight.detach().numpy()  # (n_features, 3)
    angles = subspace_angles(decoder_columns, pca.components_.T)
    assert np.max(angles) < 0.05
    pca_error = np.mean((pca.inverse_transform(pca.transform(X)) - X) ** 2)
    assert -ae.score(X) <= 1.03 * pca_error


def test_deep_autoencoder_beats_pca_on_swiss_roll():
    X, _ = make_swiss_roll(n_samples=1500, noise=0.05, random_state=0)
    X = StandardScaler().fit_transform(X)
    X_train, X_test = train_test_split(X, random_state=0)
    ae = AutoencoderTransformer(
        n_components=1, hidden_layer_sizes=(64, 32), max_iter=150, random_state=0
    ).fit(X_train)
    assert -ae.score(X_test) < 0.7 * pca_mse(X_train, X_test, 1)


def test_pca_init_starts_at_pca_solution(digits_standardized):
    X_train, X_test, _, _ = digits_standardized
    ae = AutoencoderTransformer(n_components=5, max_iter=1, learning_rate_init=1e-9,
                                early_stopping=False, random_state=0)
    ae.fit(X_train)
    assert -ae.score(X_test) == pytest.approx(pca_mse(X_train, X_test, 5), rel=1e-3)


@pytest.mark.parametrize("early_stopping", [True, "auto"])
def test_the_start_is_fitted_on_training_rows_only(early_stopping):
    """The PCA start never sees the validation rows, so its validation score is honest."""
    X = np.random.RandomState(0).normal(size=(60, 5)).astype(np.float32)
    in_sample = pca_mse(X, X, 2)  # the least squared error any rank-2 PCA has on X
    ae = AutoencoderTransformer(n_components=2, hidden_layer_sizes=(4,), max_iter=1,
                                learning_rate_init=1e-9, early_stopping=early_stopping,
                                random_state=0).fit(X)
    if early_stopping == "auto":  # 5 folds: each start is a PCA of the other 48 rows
        assert -ae.validation_scores_[0] > 1.1 * in_sample
    else:  # the start is a PCA of the 54 training rows, not of all 60
        assert -ae.score(X) > in_sample * (1 + 1e-4)


@pytest.mark.parametrize("k", [2, 10])
def test_pca_init_with_sigmoid_output_starts_near_pca(k):
    # loss="bce" puts a sigmoid on the output: the start is PCA's, linearized in logit space.
    X_train, X_test = train_test_split(load_digits().data / 16.0, test_size=0.25, random_state=0)
    ae = AutoencoderTransformer(
        n_components=k, loss="bce", max_iter=1, learning_rate_init=1e-9, random_state=0
    ).fit(X_train)
    reconstruction = ae.inverse_transform(ae.transform(X_test))
    ratio = np.mean((reconstruction - X_test) ** 2) / pca_mse(X_train, X_test, k)
    assert ratio < 1.2  # a sigmoid on PCA's output, unlinearized, gives 3x (k=2) to 8x (k=10)


def test_pipeline_on_dataframe_and_grid_search(digits_standardized):
    data = load_digits(as_frame=True)
    X, y = data.data.iloc[:600], data.target.iloc[:600]
    pipe = make_pipeline(
        StandardScaler(),
        AutoencoderTransformer(n_components=8, **SMALL),
        LogisticRegression(max_iter=200),
    )
    pipe.fit(X, y)
    assert pipe.score(X, y) > 0.5
    assert pipe.predict(X).shape == y.shape
    pipe.set_params(autoencodertransformer__n_components=4)
    assert pipe.get_params()["autoencodertransformer__n_components"] == 4

    X_scaled = StandardScaler().fit_transform(X)
    search = GridSearchCV(
        AutoencoderTransformer(**SMALL),
        {"n_components": [2, 12], "hidden_layer_sizes": [(8,), (16,)]},
        cv=2,
    ).fit(X_scaled)
    # No y and no scorer: the search ranks by reconstruction score, and more components reconstruct better.
    assert search.best_params_["n_components"] == 12
    assert np.isfinite(search.cv_results_["mean_test_score"]).all()


def test_clone_and_pickle_give_identical_transforms(digits_standardized):
    X_train, X_test, _, _ = digits_standardized
    ae = AutoencoderTransformer(n_components=4, **SMALL).fit(X_train)
    restored = pickle.loads(pickle.dumps(ae))
    np.testing.assert_array_equal(ae.transform(X_test), restored.transform(X_test))
    refit = clone(ae).fit(X_train)
    np.testing.assert_array_equal(ae.transform(X_test), refit.transform(X_test))
    assert "n_components" in clone(ae).get_params() and not hasattr(clone(ae), "module_")


def test_random_state_determinism_and_global_rng_untouched(digits_standardized):
    X_train, X_test, _, _ = digits_standardized
    params = dict(SMALL, dropout=0.1)
    np.random.seed(123)
    torch.manual_seed(123)
    numpy_state, torch_state = np.random.get_state()[1].copy(), torch.get_rng_state().clone()
    first = AutoencoderTransformer(n_components=4, **params).fit(X_train).transform(X_test)
    second = AutoencoderTransformer(n_components=4, **params).fit(X_train).transform(X_test)
    other = AutoencoderTransformer(n_components=4, **{**params, "random_state": 1}).fit(X_train)
    np.testing.assert_array_equal(first, second)
    assert not np.allclose(first, other.transform(X_test))
    np.testing.assert_array_equal(np.random.get_state()[1], numpy_state)
    assert torch.equal(torch.get_rng_state(), torch_state)


def test_fitted_attributes_and_early_stopping(digits_standardized):
    X_train, _, _, _ = digits_standardized
    ae = AutoencoderTransformer(
        n_components=4,
        hidden_layer_sizes=(16,),
        max_iter=200,
        early_stopping=True,
        n_iter_no_change=2,
        tol=0.5,  # improvements this large stop quickly
        random_state=0,
    ).fit(X_train)
    assert ae.n_iter_ < 200
    assert len(ae.loss_curve_) == ae.n_iter_
    assert len(ae.validation_scores_) == ae.n_iter_ + 1  # the starting weights' score first
    assert ae.n_features_in_ == X_train.shape[1]
    reconstruction, code = ae.module_(torch.as_tensor(X_train[:3]))
    assert tuple(code.shape) == (3, 4) and tuple(reconstruction.shape) == (3, 64)


def test_partial_fit_and_warm_start_continue_training(digits_standardized):
    X_train, _, _, _ = digits_standardized
    ae = AutoencoderTransformer(n_components=4, **SMALL)
    ae.partial_fit(X_train)
    assert ae.n_iter_ == 1
    weights = ae.module_.encoder.linear.weight.detach().clone()
    ae.partial_fit(X_train)
    assert ae.n_iter_ == 2
    assert not torch.equal(weights, ae.module_.encoder.linear.weight)

    warm = AutoencoderTransformer(n_components=4, warm_start=True, **SMALL).fit(X_train)
    module = warm.module_
    warm.fit(X_train)
    assert warm.module_ is module and warm.n_iter_ == 2 * SMALL["max_iter"]


def test_pandas_and_polars_output(digits_standardized):
    X_train, X_test, _, _ = digits_standardized
    columns = [f"pixel_{i}" for i in range(64)]
    index = pd.RangeIndex(1000, 1000 + len(X_test))
    frame = pd.DataFrame(X_test, columns=columns, index=index)
    ae = AutoencoderTransformer(n_components=3, **SMALL).fit(pd.DataFrame(X_train, columns=columns))
    ae.set_output(transform="pandas")
    codes = ae.transform(frame)
    assert list(codes.columns) == [f"autoencodertransformer{i}" for i in range(3)]
    assert codes.index.equals(index)
    reconstruction = ae.inverse_transform(codes)
    assert list(reconstruction.columns) == columns and reconstruction.index.equals(index)
    assert reconstruction.dtypes.iloc[0] == np.float32

    pl = pytest.importorskip("polars")
    ae.set_output(transform="polars")
    assert isinstance(ae.transform(frame), pl.DataFrame)
    assert ae.inverse_transform(ae.transform(frame)).columns == columns


def test_default_output_is_float32_arrays(digits_standardized):
    X_train, X_test, _, _ = digits_standardized
    ae = AutoencoderTransformer(n_components=3, **SMALL).fit(X_train.astype(np.float64))
    assert ae.transform(X_test.astype(np.float64)).dtype == np.float32
    assert ae.inverse_transform(ae.transform(X_test)).dtype == np.float32
    assert ae.score_samples(X_test).dtype == np.float64
    assert ae.score(X_test) == pytest.approx(ae.score_samples(X_test).mean())


@pytest.mark.parametrize(
    "X, error, match",
    [
        (np.array([[0.0, np.nan], [1.0, 2.0], [3.0, 4.0]]), ValueError, "NaN"),
        (np.array([[0.0, np.inf], [1.0, 2.0], [3.0, 4.0]]), ValueError, "infinity"),
        (pd.DataFrame({"a": [1.0, 2.0, 3.0], "b": ["x", "y", "z"]}), ValueError, "OneHotEncoder"),
        (np.array([["a", "b"], ["c", "d"]], dtype=object), ValueError, "OneHotEncoder"),
        (np.empty((0, 3)), ValueError, "0 sample"),
        (np.ones((1, 3)), ValueError, "1 sample"),
        (np.ones(5), ValueError, "2D array"),
        (np.array([[1e39, 0.0], [1.0, 2.0], [3.0, 4.0]]), ValueError, "float32"),
    ],
)
def test_bad_input_gets_a_clear_error(X, error, match):
    with pytest.raises(error, match=match):
        AutoencoderTransformer(n_components=1, **SMALL).fit(X)


def test_errors_at_transform_and_for_bce(digits_standardized):
    X_train, _, _, _ = digits_standardized
    with pytest.raises(NotFittedError):
        AutoencoderTransformer().transform(X_train)
    ae = AutoencoderTransformer(n_components=2, **SMALL).fit(X_train)
    with pytest.raises(ValueError, match="64 features"):
        ae.transform(X_train[:, :10])
    with pytest.raises(ValueError, match="codes of 2 features"):
        ae.inverse_transform(np.zeros((3, 5)))
    with pytest.raises(ValueError, match=r"needs data in \[0, 1\]"):
        AutoencoderTransformer(loss="bce", **SMALL).fit(X_train)
    with pytest.raises(ValueError, match="n_components=70 is larger than n_features=64"):
        AutoencoderTransformer(n_components=70, **SMALL).fit(X_train)


def test_bce_on_unit_interval_data():
    X = load_digits().data / 16.0
    ae = AutoencoderTransformer(n_components=8, loss="bce", **SMALL).fit(X)
    reconstruction = ae.inverse_transform(ae.transform(X))
    assert reconstruction.min() >= 0 and reconstruction.max() <= 1  # sigmoid output
    assert np.isfinite(ae.score(X))


def test_input_is_never_modified(digits_standardized):
    X_train, _, _, _ = digits_standardized
    X = X_train.astype(np.float64)
    frame = pd.DataFrame(X.copy())
    before, frame_before = X.copy(), frame.copy()
    ae = AutoencoderTransformer(n_components=2, **SMALL).fit(X)
    ae.transform(X), ae.score(X), ae.fit(frame).transform(frame)
    np.testing.assert_array_equal(X, before)
    pd.testing.assert_frame_equal(frame, frame_before)


def test_diverging_loss_raises_and_leaves_estimator_unfitted(digits_standardized):
    X_train, _, _, _ = digits_standardized
    ae = AutoencoderTransformer(
        n_components=2, hidden_layer_sizes=(16,), optimizer="sgd", learning_rate_init=1e6,
        init="random", max_iter=5, random_state=0,
    )
    with pytest.raises(DivergenceError, match="learning rate"):
        ae.fit(X_train * 1e3)
    with pytest.raises(NotFittedError):
        ae.transform(X_train)
