"""The container an estimator's outputs come in: what ``set_output(transform=...)`` asks for.

``output_kind`` reads the setting (``"default"``, ``"pandas"`` or
``"polars"``); ``output_container`` wraps rows of the input space (a
reconstruction, a generated sample) in that container, with the feature
names seen during ``fit``. scikit-learn's ``set_output`` wraps ``transform``
and ``fit_transform`` itself; these serve the methods it does not wrap
(``inverse_transform``, ``sample``).
"""

from sklearn.utils._set_output import ADAPTERS_MANAGER, _get_output_config

__all__ = ["output_container", "output_kind"]


def output_kind(estimator):
    """``"default"`` (arrays), ``"pandas"`` or ``"polars"``, as ``estimator.set_output`` says."""
    return _get_output_config("transform", estimator)["dense"]


def output_container(estimator, values, like=None):
    """Rows of ``estimator``'s input space in the container ``set_output`` asks for.

    Parameters
    ----------
    estimator : fitted estimator
        Its ``set_output`` setting and its input features: the columns are
        named ``feature_names_in_``, or ``x0, x1, ...`` when ``fit`` saw none.
    values : ndarray of shape (n_samples, n_features_in_)
        The rows.
    like : DataFrame or None, default=None
        A DataFrame whose index the output takes (e.g. the codes passed to
        ``inverse_transform``); None gives a range index.

    Returns
    -------
    output : ndarray or DataFrame
        ``values`` itself when no container is set.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.preprocessing import StandardScaler
    >>> from skae._output import output_container
    >>> scaler = StandardScaler().set_output(transform="pandas").fit(np.eye(2))
    >>> output_container(scaler, np.zeros((1, 2))).columns.tolist()
    ['x0', 'x1']
    """
    kind = output_kind(estimator)
    if kind == "default":
        return values
    columns = getattr(estimator, "feature_names_in_", None)
    if columns is None:
        columns = [f"x{i}" for i in range(estimator.n_features_in_)]
    adapter = ADAPTERS_MANAGER.adapters[kind]
    return adapter.create_container(values, like, columns=columns, inplace=False)
