"""AutoencoderOutlierDetector: outlier detection by any skae autoencoder's score."""

from numbers import Real

import numpy as np
from sklearn.base import BaseEstimator, OutlierMixin, _fit_context, clone
from sklearn.utils import get_tags
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions
from sklearn.utils.validation import check_is_fitted

from .autoencoder import AutoencoderTransformer

__all__ = ["AutoencoderOutlierDetector"]

# Tukey's fence: rows scoring below Q1 - TUKEY_K * IQR are outliers under contamination="auto".
TUKEY_K = 1.5


class AutoencoderOutlierDetector(OutlierMixin, BaseEstimator):
    """Outlier detection from an autoencoder's per-row score.

    An autoencoder trained on (mostly) normal data reconstructs normal rows
    well and unusual rows badly. This meta-estimator fits a clone of
    ``estimator`` and uses its ``score_samples`` as the normality score: the
    negative reconstruction error for a deterministic autoencoder, the
    evidence lower bound for a :class:`VariationalAE`. It follows the
    contract of :class:`sklearn.ensemble.IsolationForest`: higher
    ``score_samples`` means more normal, ``decision_function`` is
    ``score_samples - offset_`` (negative for outliers) and ``predict``
    returns +1 for inliers and -1 for outliers.

    Scale the data first (e.g. ``make_pipeline(StandardScaler(), detector)``):
    the reconstruction error adds up over features, so a feature with a large
    scale dominates it.

    Parameters
    ----------
    estimator : skae autoencoder, default=None
        The autoencoder to train, cloned at ``fit``; any estimator with
        ``fit`` and ``score_samples`` (higher = more normal). ``None`` uses
        ``AutoencoderTransformer()``.
    contamination : "auto" or float, default="auto"
        Expected proportion of outliers in the training data, which sets the
        threshold ``offset_``. With a float in (0, 0.5], ``offset_`` is that
        percentile of the training scores, so that fraction of the training
        rows is flagged. With ``"auto"``, ``offset_`` is Tukey's lower fence
        of the training scores, ``Q1 - 1.5 * (Q3 - Q1)`` (the lower whisker
        of a box plot): no proportion is assumed, and the flagged fraction
        depends on the shape of the score distribution.
    random_state : int, RandomState instance or None, default=None
        When not None, the ``random_state`` given to the clone of
        ``estimator`` (overriding its own), so that the detector is
        reproducible whatever autoencoder it wraps. Pass an int for
        reproducible results.

    Attributes
    ----------
    estimator_ : estimator
        The fitted clone of ``estimator``.
    offset_ : float
        The threshold: ``decision_function = score_samples - offset_``.
    n_features_in_ : int
        Number of features seen during ``fit``.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Names of features seen during ``fit``, when they are all strings.

    See Also
    --------
    sklearn.ensemble.IsolationForest : Outlier detection by random partitions.
    sklearn.neighbors.LocalOutlierFactor : Outlier detection by local density.

    References
    ----------
    Sakurada, M., & Yairi, T. (2014). Anomaly detection using autoencoders with
    nonlinear dimensionality reduction. MLSDA Workshop, 4-11.

    An, J., & Cho, S. (2015). Variational autoencoder based anomaly detection
    using reconstruction probability. Special Lecture on IE, 2(1), 1-18.

    Tukey, J. W. (1977). Exploratory Data Analysis. Addison-Wesley.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.datasets import load_digits
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn.preprocessing import StandardScaler
    >>> from skae import AutoencoderOutlierDetector, AutoencoderTransformer
    >>> X, y = load_digits(return_X_y=True)
    >>> ae = AutoencoderTransformer(n_components=4, hidden_layer_sizes=(32,),
    ...                             max_iter=5, random_state=0)
    >>> detector = make_pipeline(
    ...     StandardScaler(), AutoencoderOutlierDetector(ae, contamination=0.1)
    ... ).fit(X)
    >>> labels = detector.predict(X)
    >>> np.unique(labels).tolist()
    [-1, 1]
    >>> round(float(np.mean(labels == -1)), 2)
    0.1
    """

    _parameter_constraints: dict = {
        "estimator": [HasMethods(["fit", "score_samples"]), None],
        "contamination": [StrOptions({"auto"}), Interval(Real, 0, 0.5, closed="right")],
        "random_state": ["random_state"],
    }

    def __init__(self, estimator=None, *, contamination="auto", random_state=None):
        self.estimator = estimator
        self.contamination = contamination
        self.random_state = random_state

    # The autoencoder validates its own parameters when it is fitted.
    @_fit_context(prefer_skip_nested_validation=False)
    def fit(self, X, y=None):
        """Train the autoencoder on ``X`` and set the threshold.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data, numeric and scaled, mostly normal rows.
        y : None
            Ignored.

        Returns
        -------
        self : object
            The fitted detector.
        """
        estimator = AutoencoderTransformer() if self.estimator is None else self.estimator
        self.estimator_ = clone(estimator)
        if self.random_state is not None and "random_state" in self.estimator_.get_params():
            self.estimator_.set_params(random_state=self.random_state)
        self.estimator_.fit(X)
        self.n_features_in_ = self.estimator_.n_features_in_
        if hasattr(self.estimator_, "feature_names_in_"):
            self.feature_names_in_ = self.estimator_.feature_names_in_
        elif hasattr(self, "feature_names_in_"):
            del self.feature_names_in_
        scores = self.estimator_.score_samples(X)
        if self.contamination == "auto":
            q1, q3 = np.percentile(scores, [25.0, 75.0])
            self.offset_ = float(q1 - TUKEY_K * (q3 - q1))
        else:
            self.offset_ = float(np.percentile(scores, 100.0 * self.contamination))
        return self

    def score_samples(self, X):
        """Normality score of each row (higher = more normal).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Rows to score.

        Returns
        -------
        scores : ndarray of shape (n_samples,), dtype float64
            The autoencoder's ``score_samples``: minus the reconstruction
            error, or the ELBO for a :class:`VariationalAE`.
        """
        check_is_fitted(self)
        return self.estimator_.score_samples(X)

    def decision_function(self, X):
        """Shifted score: negative for outliers, non-negative for inliers.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Rows to score.

        Returns
        -------
        scores : ndarray of shape (n_samples,), dtype float64
            ``score_samples(X) - offset_``.
        """
        return self.score_samples(X) - self.offset_

    def predict(self, X):
        """Label each row as an inlier (+1) or an outlier (-1).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Rows to label.

        Returns
        -------
        labels : ndarray of shape (n_samples,), dtype int64
            +1 where ``decision_function(X) >= 0``, -1 elsewhere.
        """
        return np.where(self.decision_function(X) < 0, -1, 1).astype(np.int64)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.non_deterministic = False
        # Inputs are the autoencoder's: e.g. NaN for TabularAE(missing="learn").
        estimator = AutoencoderTransformer() if self.estimator is None else self.estimator
        tags.input_tags = get_tags(estimator).input_tags
        return tags
