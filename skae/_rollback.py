"""A fit that fails leaves the estimator as it was: its fitted state is rolled back."""

from contextlib import contextmanager

__all__ = ["rollback_on_error"]


@contextmanager
def rollback_on_error(estimator, undo=None):
    """Put back every attribute of ``estimator`` that is not a parameter if the body raises.

    scikit-learn's estimators compute a fit into local variables and assign
    the fitted attributes once it has succeeded, so a fit that raises leaves
    the estimator as it was. Some steps of a skae fit set attributes on the
    way (``validate_data`` sets ``n_features_in_``, a table's encoding is
    learned before the network is built, the hooks reach the engine being
    trained through ``net_``). This context manager makes such a fit
    atomic: on any exception (``KeyboardInterrupt`` included) the attributes
    that are not parameters are restored to the objects they held before
    the body, and the ones it added are removed. A fitted estimator stays
    fitted as it was; an unfitted one stays unfitted.

    Objects the body changes in place (the weights of a network trained
    further) are the caller's to restore: ``undo()`` is called first.

    Parameters
    ----------
    estimator : BaseEstimator
        The estimator being fitted.
    undo : callable or None, default=None
        Called without arguments before the attributes are restored.

    Examples
    --------
    >>> from sklearn.decomposition import PCA
    >>> from skae._rollback import rollback_on_error
    >>> pca = PCA(n_components=1).fit([[0.0, 1.0], [1.0, 0.0], [2.0, 2.0]])
    >>> try:
    ...     with rollback_on_error(pca):
    ...         _ = pca.fit([[0.0, 1.0, 2.0], [1.0, 0.0, 2.0]])  # succeeds: 3 features now
    ...         raise RuntimeError("a later step fails")
    ... except RuntimeError:
    ...     pass
    >>> pca.n_features_in_
    2
    """
    params = estimator.get_params(deep=False)
    before = {name: value for name, value in vars(estimator).items() if name not in params}
    try:
        yield
    except BaseException:
        if undo is not None:
            undo()
        state = vars(estimator)
        for name in [name for name in state if name not in params and name not in before]:
            del state[name]
        state.update(before)
        raise
