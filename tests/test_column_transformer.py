"""The scikit-learn way: ColumnTransformer (scale + one-hot) in front of a skae autoencoder."""

import numpy as np
import pandas as pd
import pytest
from sklearn.compose import make_column_transformer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from skae import AutoencoderTransformer

FAST = dict(hidden_layer_sizes=(16,), max_iter=10, batch_size=64, random_state=0)
NUMERIC = ["income", "ratio", "member"]  # the boolean is scaled as 0/1
CATEGORICAL = ["color", "size"]


def preprocessor():
    return make_column_transformer(
        (StandardScaler(), NUMERIC),
        (OneHotEncoder(handle_unknown="ignore", sparse_output=False), CATEGORICAL),
    )


def test_grid_search_without_y_picks_by_reconstruction(mixed_table):
    X = mixed_table(n=400)
    pipe = make_pipeline(preprocessor(), AutoencoderTransformer(**FAST))
    search = GridSearchCV(pipe, {"autoencodertransformer__n_components": [1, 4]}, cv=3)
    search.fit(X)
    # A wider code reconstructs better, so the reconstruction score prefers it.
    assert search.best_params_ == {"autoencodertransformer__n_components": 4}
    scores = search.cv_results_["mean_test_score"]
    assert np.all(np.isfinite(scores)) and np.all(scores <= 0)
    codes = search.best_estimator_.transform(X)
    assert codes.shape == (len(X), 4)


def test_grid_search_with_a_classifier_and_pandas_output(mixed_table):
    X = mixed_table(n=400)
    y = (X["income"] > 50_000).astype(int)  # the latent factor's sign, up to noise
    pipe = make_pipeline(
        preprocessor(), AutoencoderTransformer(n_components=2, **FAST), LogisticRegression()
    ).set_output(transform="pandas")
    search = GridSearchCV(pipe, {"autoencodertransformer__hidden_layer_sizes": [(8,), (16,)]}, cv=3)
    search.fit(X, y)
    assert search.best_score_ > 0.8
    codes = search.best_estimator_[:-1].transform(X)
    assert isinstance(codes, pd.DataFrame) and codes.index.equals(X.index)
    assert list(codes.columns) == ["autoencodertransformer0", "autoencodertransformer1"]


def test_unknown_category_passes_through_the_pipeline(mixed_table):
    X = mixed_table(n=400)
    pipe = make_pipeline(preprocessor(), AutoencoderTransformer(n_components=2, **FAST)).fit(X)
    new = X.iloc[:3].copy()
    new.loc[new.index[0], "size"] = "XXL"
    codes = pipe.transform(new)  # the unknown level is encoded as all zeros
    assert np.isfinite(codes).all() and codes.shape == (3, 2)
    known = pipe.transform(X.iloc[:3])
    assert not np.allclose(codes[0], known[0]) and np.allclose(codes[1:], known[1:])


def test_autoencoder_alone_refuses_the_raw_table_with_a_hint(mixed_table):
    X = mixed_table(n=400)
    with pytest.raises(ValueError, match="ColumnTransformer"):
        AutoencoderTransformer(**FAST).fit(X)
