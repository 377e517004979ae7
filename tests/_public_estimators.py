"""Every public skae estimator, with small fast settings, for table-driven tests.

The list is read from ``skae.__all__`` when the tests are collected, so an
estimator added to the package is covered without editing the tests.
"""

import numpy as np
from sklearn.base import BaseEstimator, is_classifier

import skae

# Small, fast settings, applied to every (nested) parameter of these names.
FAST = {
    "hidden_layer_sizes": (4,),
    "max_iter": 2,
    "batch_size": 16,
    "n_components": 2,
    "random_state": 0,
    "freeze_epochs": 1,
    "n_refinements": 0,
}

# Parameters holding an inner autoencoder, None meaning a default (slow) one.
INNER_ESTIMATOR_PARAMS = ("estimator", "autoencoder")


def public_estimator_classes():
    classes = []
    for name in sorted(skae.__all__):
        obj = getattr(skae, name)
        if isinstance(obj, type) and issubclass(obj, BaseEstimator) and not name.startswith("Base"):
            classes.append(obj)
    return classes


def make_fast(cls, **params):
    """An instance of ``cls`` with ``FAST`` settings, then ``params``."""
    estimator = cls()
    for name, value in estimator.get_params(deep=False).items():
        if name in INNER_ESTIMATOR_PARAMS and value is None:
            estimator.set_params(**{name: skae.AutoencoderTransformer()})
    deep = estimator.get_params(deep=True)
    estimator.set_params(
        **{key: FAST[key.rsplit("__", 1)[-1]] for key in deep if key.rsplit("__", 1)[-1] in FAST}
    )
    return estimator.set_params(**params)


def needs_y(estimator):
    return estimator.__sklearn_tags__().target_tags.required


def make_y(estimator, n_samples):
    if is_classifier(estimator):
        return np.arange(n_samples) % 2
    return np.linspace(-1.0, 1.0, n_samples)


def n_rows(X):
    return X.shape[0] if hasattr(X, "shape") and len(X.shape) else len(X)


def fit(estimator, X):
    """``estimator.fit(X)``, with a made-up ``y`` for supervised estimators."""
    if needs_y(estimator):
        return estimator.fit(X, make_y(estimator, n_rows(X)))
    return estimator.fit(X)


OUTPUT_METHODS = ("transform", "predict", "predict_proba", "score_samples", "decision_function")


def outputs(estimator, X):
    """``{method: ndarray}`` for every output method the estimator has."""
    found = {}
    for method in OUTPUT_METHODS:
        if hasattr(estimator, method):
            found[method] = np.asarray(getattr(estimator, method)(X))
    return found


def supports(estimator, what):
    """Whether the estimator declares (by tags or parameters) that it takes ``what``."""
    tags = estimator.__sklearn_tags__().input_tags
    if what == "missing":
        return tags.allow_nan
    if what == "categorical":
        return tags.string or tags.categorical or "categorical_features" in estimator.get_params()
    if what == "sparse":
        return tags.sparse
    if what == "unscaled":  # the table estimators standardize each numeric column themselves
        return "categorical_features" in estimator.get_params()
    if what == "overcomplete":
        return getattr(estimator, "_allows_overcomplete", None)
    raise ValueError(what)
