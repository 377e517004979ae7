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


def mixed_table(n=400, seed=0):
    rng = np.random.default_rng(seed)
    z = rng.normal(size=n)
    color = np.where(z > 0.4, "red", np.where(z < -0.4, "blue", "green")).astype(object)
    color[rng.random(n) < 0.03] = "purple"
    frame = pd.DataFrame(
        {
            "income": 50_000 + 20_000 * z + rng.normal(scale=2_000, size=n),
            "ratio": 0.01 * z + rng.normal(scale=0.001, size=n),
            "member": z + rng.normal(scale=0.3, size=n) > 0,
            "color": pd.Categorical(color),
            "size": np.where(z > 1.0, "L", np.where(z > -1.0, "M", "S")).astype(object),
        },
        index=np.arange(n) * 3 + 10,
    )
    return frame, (z > 0).astype(int)


def preprocessor():
    return make_column_transformer(
        (StandardScaler(), NUMERIC),
        (OneHotEncoder(handle_unknown="ignore", sparse_output=False), CATEGORICAL),
    )


def test_grid_search_without_y_picks_by_reconstruction():
    X, _ = mixed_table()
    pipe = make_pipeline(preprocessor(), AutoencoderTransformer(**FAST))
    search = GridSearchCV(pipe, {"autoencodertransformer__n_components": [1, 4]}, cv=3)
    search.fit(X)
    # A wider code reconstructs better, so the reconstruction score prefers it.
    assert search.best_params_ == {"autoencodertransformer__n_components": 4}
    scores = search.cv_results_["mean_test_score"]
    assert np.all(np.isfinite(scores)) and np.all(scores <= 0)
    codes = search.best_estimator_.transform(X)
    assert codes.shape == (len(X), 4)


def test_grid_search_with_a_classifier_and_pandas_output():
    X, y = mixed_table()
    pipe = make_pipeline(
        preprocessor(), AutoencoderTransformer(n_components=2, **FAST), LogisticRegression()
    ).set_output(transform="pandas")
    search = GridSearchCV(pipe, {"autoencodertransformer__hidden_layer_sizes": [(8,), (16,)]}, cv=3)
    search.fit(X, y)
    assert search.best_score_ > 0.8
    codes = search.best_estimator_[:-1].transform(X)
    assert isinstance(codes, pd.DataFrame) and codes.index.equals(X.index)
    assert list(codes.columns) == ["autoencodertransformer0", "autoencodertransformer1"]


def test_unknown_category_passes_through_the_pipeline():
    X, _ = mixed_table()
    pipe = make_pipeline(preprocessor(), AutoencoderTransformer(n_components=2, **FAST)).fit(X)
    new = X.iloc[:3].copy()
    new.loc[new.index[0], "size"] = "XXL"
    codes = pipe.transform(new)  # the unknown level is encoded as all zeros
    assert np.isfinite(codes).all() and codes.shape == (3, 2)
    known = pipe.transform(X.iloc[:3])
    assert not np.allclose(codes[0], known[0]) and np.allclose(codes[1:], known[1:])


def test_autoencoder_alone_refuses_the_raw_table_with_a_hint():
    X, _ = mixed_table()
    with pytest.raises(ValueError, match="ColumnTransformer"):
        AutoencoderTransformer(**FAST).fit(X)
