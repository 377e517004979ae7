"""AutoencoderOutlierDetector: outliers found by an ensemble of autoencoders, or by any one."""

import math
from numbers import Real

import numpy as np
import scipy.sparse as sp
import torch
from sklearn.base import BaseEstimator, OutlierMixin, _fit_context, clone
from sklearn.utils import check_random_state, get_tags
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions
from sklearn.utils.validation import check_is_fitted, validate_data

from ._data import reused_pca
from ._distributed import active_parallel, check_process_group, data_parallel
from ._random import draw_seed
from ._rollback import rollback_on_error
from ._validation import check_float32_range
from .autoencoder import AutoencoderTransformer

__all__ = ["AutoencoderOutlierDetector"]

# Tukey's fence: rows scoring below Q1 - TUKEY_K * IQR are outliers under contamination="auto".
TUKEY_K = 1.5

# The default ensemble, chosen on the design tables of benchmarks/outliers.py
# and checked on held-out ones (docs/user_guide/outlier.rst). Every training
# setting of the inner autoencoders is set here, so that a change to the
# estimators' own defaults does not change the detector.
_COMMON = dict(
    activation="relu",
    output_activation="identity",
    loss="mse",
    optimizer="adam",
    learning_rate_init=1e-3,
    early_stopping=False,
    tol=0.0,
    pretraining=None,
    warm_start=False,
    verbose=0,
    callbacks=None,
)
# A regularized reconstruction model (the reference architecture of Aggarwal,
# 2017, as in PyOD), trained briefly: dropout and batch normalization keep it
# from reconstructing the rare rows it is fitted on.
RECONSTRUCTION_MEMBER = dict(
    _COMMON,
    hidden_layer_sizes=(64, 32),
    init="random",
    dropout=0.1,
    batch_norm=True,
    alpha=1e-5,
    batch_size=32,
    max_iter=10,
    n_iter_no_change=10,
)
RECONSTRUCTION_MAX_CODE = 32
# How many of them, differing by their seed only: their average varies less
# from seed to seed than one does.
RECONSTRUCTION_MEMBERS = 2
# PCA-started autoencoders whose code is modelled too (latent + residual score).
LATENT_MEMBER = dict(
    _COMMON,
    init="pca",
    dropout=0.0,
    batch_norm=False,
    alpha=0.0,
    batch_size=64,
    max_iter=10,
    n_iter_no_change=10,
)
# Their hidden layer: 2 * n_features units, clipped to [32, LATENT_MAX_WIDTH].
LATENT_MAX_WIDTH = 64
# Their code sizes, as multiples of ceil(sqrt(n_features)).
LATENT_CODE_FACTORS = (0.5, 1.0, 2.0)
# Share of the training rows, the lowest-scoring, that the score's statistics
# are re-estimated on, so that the outliers in the training data do not set them.
KEEP_FRACTION = 0.9
# Feature error scales are floored at this fraction of their mean, so that a
# feature the model reconstructs (nearly) exactly cannot dominate the score.
SCALE_FLOOR = 1e-3
TINY = 1e-12
# Fitted attributes of one mode or the other, cleared when the detector is fitted again.
FITTED_BY_MODE = (
    "estimator_", "estimators_", "mean_", "scale_", "member_statistics_", "view_medians_"
)


def default_members(n_features):
    """The default ensemble for ``n_features`` features: ``(view, params)`` per autoencoder.

    ``view`` is ``"reconstruction"`` (scored by the standardized
    reconstruction error) or ``"latent"`` (scored by the latent Mahalanobis
    distance plus the standardized reconstruction error).
    """
    width = int(min(LATENT_MAX_WIDTH, max(32, 2 * n_features)))
    base = math.ceil(math.sqrt(n_features))
    code = min(RECONSTRUCTION_MAX_CODE, n_features)
    members = [
        ("reconstruction", dict(RECONSTRUCTION_MEMBER, n_components=code))
        for _ in range(RECONSTRUCTION_MEMBERS)
    ]
    for factor in LATENT_CODE_FACTORS:
        code = int(min(max(1, n_features - 1), max(1, round(base * factor))))
        params = dict(LATENT_MEMBER, n_components=code, hidden_layer_sizes=(width,))
        members.append(("latent", params))
    return members


def _scale_floor(scale):
    return np.maximum(scale, SCALE_FLOOR * scale.mean() + TINY)


def _residual(stats, errors):
    return np.mean(errors / stats["scale"], axis=1)


def _distance(stats, codes):
    centered = codes - stats["code_mean"]
    return np.einsum("ij,jk,ik->i", centered, stats["code_precision"], centered)


def member_outlyingness(stats, codes, errors):
    """One member's outlyingness of rows (higher = more unusual), from their codes and errors.

    ``mean_j(error_j / scale_j)``, each feature's squared error over its mean
    on the training rows, divided by its training median; for the latent
    view, plus the Mahalanobis distance of the code to the training codes,
    divided by its training median, so that both parts weigh the same.
    """
    score = _residual(stats, errors) / stats["residual_median"]
    if stats["view"] == "latent":
        score = score + _distance(stats, codes) / stats["distance_median"]
    return score


class _RowStatistics:
    """Means, covariances and quantiles over this process's rows, or every rank's.

    ``parallel``: the ``DataParallel`` of a distributed fit, whose
    statistics are those of one process holding every rank's rows.
    """

    def __init__(self, parallel=None):
        self.parallel = parallel

    def mean(self, values):
        if self.parallel is None:
            return values.mean(axis=0)
        return self.parallel.column_means(values)[0]

    def quantile(self, values, q):
        if self.parallel is not None:
            values = self.parallel.gather_values(values)
        return np.quantile(values, q)

    def median(self, values):
        if self.parallel is not None:
            values = self.parallel.gather_values(values)
        return np.median(values)

    def count(self, mask):
        n = int(mask.sum())
        return n if self.parallel is None else self.parallel.total(n)

    def covariance(self, values):
        if self.parallel is None:
            return np.atleast_2d(np.cov(values, rowvar=False))
        centered = values - self.mean(values)
        n_rows = self.parallel.total(len(values))
        return self.parallel.all_sum(centered.T @ centered) / max(n_rows - 1, 1)


def fit_member_statistics(view, codes, errors, parallel=None):
    """The statistics of ``member_outlyingness`` from one member's training codes and errors.

    Estimated twice: on every training row, then on the ``KEEP_FRACTION``
    lowest-scoring ones. A dict of arrays and floats (so that ``skae.save``
    stores it). With ``parallel`` (a distributed fit), from every rank's rows.
    """
    over = _RowStatistics(parallel)
    stats = {"view": view}
    rows = np.ones(len(errors), dtype=bool)
    for _ in range(2):
        stats["scale"] = _scale_floor(over.mean(errors[rows]))
        stats["residual_median"] = max(float(over.median(_residual(stats, errors)[rows])), TINY)
        if view == "latent":
            stats["code_mean"] = over.mean(codes[rows])
            covariance = over.covariance(codes[rows])
            ridge = 1e-6 * max(float(np.trace(covariance)) / len(covariance), TINY)
            stats["code_precision"] = np.linalg.pinv(covariance + ridge * np.eye(len(covariance)))
            stats["distance_median"] = max(float(over.median(_distance(stats, codes)[rows])), TINY)
        outlyingness = member_outlyingness(stats, codes, errors)
        rows = outlyingness <= over.quantile(outlyingness, KEEP_FRACTION)
        if over.count(rows) < 2:  # a covariance needs 2 rows: keep the estimates from every row
            break
    return stats


def _codes_and_errors(autoencoder, Z):
    """Codes and squared reconstruction errors (float64) of standardized rows ``Z``.

    Computed by a float64 copy of the network, so that a row's values do not
    depend on the rows computed with it (float32 outputs change in their
    last bits with the batch).
    """
    module = autoencoder._float64_module()
    n_components = autoencoder._n_features_out

    def codes_and_reconstructions(batch):  # (B, n_features) -> (B, n_components + n_features)
        codes = module.encode(batch)
        return torch.cat([codes, module.decode(codes)], 1)

    both = autoencoder._map_batches(
        Z,
        codes_and_reconstructions,
        n_components + Z.shape[1],
        dtype=np.float64,
        input_dtype=np.float64,
    )
    codes, reconstruction = both[:, :n_components], both[:, n_components:]
    return codes, (Z.astype(np.float64) - reconstruction) ** 2


def _non_finite_rows(X, allow_nan):
    """``(rows, n_rows, kinds)``: the rows of ``X`` holding infinity (or NaN, unless allowed).

    ``kinds`` names what was found (``"NaN"``, ``"infinity"``); None when ``X``
    is not numeric (the wrapped estimator validates it then).
    """
    if sp.issparse(X):
        X = X.tocsr()
        values = X.data
        found_rows = np.repeat(np.arange(X.shape[0]), np.diff(X.indptr))
        nan, inf = np.isnan(values), np.isinf(values)
        bad = inf if allow_nan else nan | inf
        kinds = [k for k, hit in (("NaN", nan[bad].any()), ("infinity", inf[bad].any())) if hit]
        return np.unique(found_rows[bad]), X.shape[0], kinds
    try:
        values = np.asarray(X)
        if values.ndim != 2 or np.iscomplexobj(values):
            return None  # validation rejects these with its own message
        values = values.astype(np.float64)
    except (TypeError, ValueError):  # e.g. categorical columns: the estimator checks them
        return None
    nan, inf = np.isnan(values), np.isinf(values)
    bad = inf if allow_nan else nan | inf
    kinds = [k for k, hit in (("NaN", nan[bad].any()), ("infinity", inf[bad].any())) if hit]
    return np.flatnonzero(bad.any(axis=1)), len(values), kinds


class AutoencoderOutlierDetector(OutlierMixin, BaseEstimator):
    """Outlier detection by an ensemble of autoencoders, or by any skae autoencoder's score.

    An autoencoder trained on (mostly) normal rows reconstructs them well and
    unusual rows badly, and maps unusual rows to unusual codes. By default
    (``estimator=None``) the detector standardizes the features and trains a
    small ensemble, sized from the number of features ``d``:

    * a *reconstruction* view: two autoencoders ``d-64-32-c-32-64-d``
      (``c = min(32, d)``, different seeds) with dropout and batch
      normalization, trained for 10 epochs, scored by their reconstruction
      error, each feature's squared error divided by its mean on the
      training rows;
    * a *latent* view: three PCA-started autoencoders with one hidden layer
      of ``2 d`` units (clipped to [32, 64]) and codes of about
      ``sqrt(d) / 2``, ``sqrt(d)`` and ``2 sqrt(d)`` values, trained for 10
      epochs, each scored by
      the same standardized error plus the Mahalanobis distance of the row's
      code to the training codes (a Gaussian model of the code: rows far out
      along the data's main directions are caught too).

    The scores' statistics (feature error scales, code mean and covariance)
    are re-estimated on the 90% lowest-scoring training rows, so that the
    outliers the detector is fitted on do not set them. Each member's score,
    then each view's, is divided by its median on the training rows, and the
    views are averaged.

    With an ``estimator``, the detector fits a clone of it and uses its
    ``score_samples``: the negative reconstruction error of a deterministic
    autoencoder, the evidence lower bound of a :class:`VariationalAE`.

    Either way the detector follows the contract of
    :class:`sklearn.ensemble.IsolationForest`: higher ``score_samples`` means
    more normal, ``decision_function`` is ``score_samples - offset_``
    (negative for outliers) and ``predict`` returns +1 for inliers and -1
    for outliers.

    Parameters
    ----------
    estimator : skae autoencoder, default=None
        The autoencoder to train, cloned at ``fit``: any estimator with
        ``fit`` and ``score_samples`` (higher = more normal). Scale the data
        for it first (e.g. ``make_pipeline(StandardScaler(), detector)``).
        ``None`` trains the default ensemble described above, which
        standardizes the features itself.
    contamination : "auto" or float, default="auto"
        Expected proportion of outliers in the training data, which sets the
        threshold ``offset_``. With a float in (0, 0.5], ``offset_`` is that
        percentile of the training scores, so that fraction of the training
        rows is flagged. With ``"auto"``, ``offset_`` is Tukey's lower fence
        of the training scores, ``Q1 - 1.5 * (Q3 - Q1)`` (the lower whisker
        of a box plot): no proportion is assumed, and the flagged fraction
        depends on the shape of the score distribution.
    random_state : int, RandomState instance or None, default=None
        Seeds the ensemble's autoencoders or, when not None, is given to the
        clone of ``estimator`` (overriding its own), so that the detector is
        reproducible whatever it wraps. Pass an int for reproducible results.
    distributed : bool, default=False
        Whether ``fit`` trains one detector with the other ranks of the
        initialized ``torch.distributed`` process group, each rank passing
        its own rows: the autoencoders are trained with ``distributed=True``
        (an ``estimator`` must take that parameter), and the statistics of
        the scores (``mean_``, ``scale_``, the members' error scales, code
        covariances and medians, ``offset_``) are those of every rank's rows:
        the medians and percentiles gather one number per row and member
        from every rank. Every rank ends with the same detector. ``True``
        without a process group is an error. See the user guide's
        *Distributed training*.

    Attributes
    ----------
    estimators_ : list of AutoencoderTransformer
        The fitted autoencoders of the default ensemble (``estimator=None``).
    estimator_ : estimator
        The fitted clone of ``estimator`` (when one is given).
    member_statistics_ : list of dict
        For each of ``estimators_``, its view (``"reconstruction"`` or
        ``"latent"``) and the statistics of its score on the training rows:
        each feature's mean squared error ``scale``, the code's mean and
        precision matrix (latent view), and the medians each part is divided by.
    view_medians_ : dict
        Median of each view's score on the training rows.
    mean_ : ndarray of shape (n_features_in_,)
        Mean of each feature on the training rows (``estimator=None``).
    scale_ : ndarray of shape (n_features_in_,)
        Standard deviation of each feature on the training rows, 1 for a
        constant feature (``estimator=None``).
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

    Notes
    -----
    The ensemble's settings are fixed rules of ``n_features``, chosen on part
    of the tables of ``benchmarks/outliers.py`` (ADBench's protocol: fitted
    on rows that hold the outliers, without labels) and checked on the
    others; the user guide (:ref:`outlier`) gives its ROC-AUC beside
    IsolationForest, LOF, OneClassSVM, PCA and PyOD's AutoEncoder, table by
    table.

    References
    ----------
    Sakurada, M., & Yairi, T. (2014). Anomaly detection using autoencoders with
    nonlinear dimensionality reduction. MLSDA Workshop, 4-11.

    Chen, J., Sathe, S., Aggarwal, C., & Turaga, D. (2017). Outlier detection
    with autoencoder ensembles. SIAM SDM, 90-98.

    Aggarwal, C. C. (2017). Outlier Analysis (2nd ed.), chapter 3. Springer.

    Han, S., Hu, X., Huang, H., Jiang, M., & Zhao, Y. (2022). ADBench:
    Anomaly detection benchmark. NeurIPS 35, 32142-32159.

    An, J., & Cho, S. (2015). Variational autoencoder based anomaly detection
    using reconstruction probability. Special Lecture on IE, 2(1), 1-18.

    Tukey, J. W. (1977). Exploratory Data Analysis. Addison-Wesley.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.metrics import roc_auc_score
    >>> from skae import AutoencoderOutlierDetector
    >>> rng = np.random.RandomState(0)
    >>> inliers = rng.normal(size=(300, 6)) @ rng.normal(size=(6, 6))
    >>> outliers = rng.uniform(-8, 8, size=(15, 6))
    >>> X = np.vstack([inliers, outliers])
    >>> detector = AutoencoderOutlierDetector(contamination=0.05, random_state=0).fit(X)
    >>> labels = detector.predict(X)
    >>> np.unique(labels).tolist()
    [-1, 1]
    >>> is_outlier = np.r_[np.zeros(300), np.ones(15)]
    >>> bool(roc_auc_score(is_outlier, -detector.score_samples(X)) > 0.9)
    True
    """

    _parameter_constraints: dict = {
        "estimator": [HasMethods(["fit", "score_samples"]), None],
        "contamination": [StrOptions({"auto"}), Interval(Real, 0, 0.5, closed="right")],
        "random_state": ["random_state"],
        "distributed": ["boolean"],
    }

    def __init__(
        self, estimator=None, *, contamination="auto", random_state=None, distributed=False
    ):
        self.estimator = estimator
        self.contamination = contamination
        self.random_state = random_state
        self.distributed = distributed

    # The wrapped autoencoders validate their own parameters when they are fitted.
    @_fit_context(prefer_skip_nested_validation=False)
    def fit(self, X, y=None):
        """Train the autoencoder(s) on ``X`` and set the threshold.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data, numeric, mostly normal rows (a few outliers among
            them are expected).
        y : None
            Ignored.

        Returns
        -------
        self : object
            The fitted detector. A fit that raises (bad input, a failing
            autoencoder, an interruption) leaves the detector as it was
            before it: fitted as before, or unfitted.
        """
        parallel = check_process_group(self.distributed)
        with rollback_on_error(self), data_parallel(parallel):
            if parallel is None:
                self._reject_non_finite(X)
            else:  # a rank whose rows fail stops every rank
                parallel.agree(lambda: self._reject_non_finite(X), type(self).__name__)
            for name in FITTED_BY_MODE:
                self.__dict__.pop(name, None)
            if self.estimator is None:
                scores = self._fit_ensemble(X)
            else:
                scores = self._fit_estimator(X)
            if parallel is not None:  # the percentiles of every rank's rows
                scores = parallel.gather_values(scores)
            if self.contamination == "auto":
                q1, q3 = np.percentile(scores, [25.0, 75.0])
                self.offset_ = float(q1 - TUKEY_K * (q3 - q1))
            else:
                self.offset_ = float(np.percentile(scores, 100.0 * self.contamination))
        return self

    def _fit_estimator(self, X):
        self.estimator_ = clone(self.estimator)
        if self.random_state is not None and "random_state" in self.estimator_.get_params():
            self.estimator_.set_params(random_state=self.random_state)
        if active_parallel() is not None:
            if "distributed" not in self.estimator_.get_params():
                raise ValueError(
                    f"{type(self).__name__}(distributed=True) trains its estimator over the "
                    f"ranks, but {type(self.estimator).__name__} has no distributed "
                    "parameter. Pass a skae autoencoder, or set distributed=False."
                )
            self.estimator_.set_params(distributed=True)
        self.estimator_.fit(X)
        self.n_features_in_ = self.estimator_.n_features_in_
        if hasattr(self.estimator_, "feature_names_in_"):
            self.feature_names_in_ = self.estimator_.feature_names_in_
        elif hasattr(self, "feature_names_in_"):
            del self.feature_names_in_
        return self.estimator_.score_samples(X)

    def _fit_ensemble(self, X):
        def validate():
            rows = validate_data(self, X, dtype=np.float64, ensure_min_samples=2)
            check_float32_range(rows, type(self).__name__)
            return rows

        parallel = active_parallel()
        over = _RowStatistics(parallel)
        # Distributed: every rank raises when one fails, or when their features differ.
        X = validate() if parallel is None else parallel.check_rows(validate, type(self).__name__)
        self.mean_ = over.mean(X)
        scale = X.std(axis=0) if parallel is None else np.sqrt(over.mean((X - self.mean_) ** 2))
        self.scale_ = np.where(scale > 0, scale, 1.0)
        Z = self._standardize(X)
        rng = check_random_state(self.random_state)
        distributed = {} if parallel is None else {"distributed": True}
        self.estimators_, self.member_statistics_, parts = [], [], []
        with reused_pca():  # the PCA-started members diagonalize the same rows once
            for view, params in default_members(X.shape[1]):
                seed = draw_seed(rng)
                autoencoder = AutoencoderTransformer(**params, **distributed, random_state=seed)
                autoencoder.fit(Z)
                codes_and_errors = _codes_and_errors(autoencoder, Z)
                self.estimators_.append(autoencoder)
                self.member_statistics_.append(
                    fit_member_statistics(view, *codes_and_errors, parallel)
                )
                parts.append(codes_and_errors)
        outlyingness = self._view_outlyingness(parts)
        self.view_medians_ = {
            view: max(float(over.median(values)), TINY) for view, values in outlyingness.items()
        }
        return self._combine(outlyingness)

    def _standardize(self, X):
        check_float32_range(X, type(self).__name__)
        Z = (X - self.mean_) / self.scale_
        check_float32_range(
            Z, type(self).__name__, what="X, standardized by the training mean_ and scale_,"
        )
        return Z.astype(np.float32)

    def _view_outlyingness(self, parts):
        """Mean member outlyingness of each view, from each member's ``(codes, errors)``."""
        sums, counts = {}, {}
        for stats, (codes, errors) in zip(self.member_statistics_, parts):
            view = stats["view"]
            sums[view] = sums.get(view, 0.0) + member_outlyingness(stats, codes, errors)
            counts[view] = counts.get(view, 0) + 1
        return {view: sums[view] / counts[view] for view in sums}

    def _combine(self, outlyingness):
        """The ensemble's ``score_samples``: minus the mean of the median-scaled views."""
        total = sum(o / self.view_medians_[view] for view, o in outlyingness.items())
        return -total / len(outlyingness)

    def _reject_non_finite(self, X):
        allow_nan = self.__sklearn_tags__().input_tags.allow_nan
        found = _non_finite_rows(X, allow_nan)
        if found is None or not len(found[0]):
            return
        rows, n_rows, kinds = found
        shown = ", ".join(str(int(row)) for row in rows[:10]) + (", ..." if len(rows) > 10 else "")
        raise ValueError(
            f"X has {' and '.join(kinds)} values in {len(rows)} of its {n_rows} rows "
            f"(row indices: {shown}). "
            f"{type(self).__name__} scores finite rows only: drop these rows, or fill in their "
            "missing values first (e.g. sklearn.impute.SimpleImputer in a pipeline)."
        )

    def score_samples(self, X):
        """Normality score of each row (higher = more normal).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Rows to score.

        Returns
        -------
        scores : ndarray of shape (n_samples,), dtype float64
            For the default ensemble, minus the mean of its views'
            standardized scores (about -1 for a typical training row);
            otherwise the wrapped autoencoder's ``score_samples`` (minus the
            reconstruction error, or the ELBO for a :class:`VariationalAE`).
        """
        check_is_fitted(self)
        self._reject_non_finite(X)
        if hasattr(self, "estimators_"):
            Z = self._standardize(validate_data(self, X, dtype=np.float64, reset=False))
            parts = [_codes_and_errors(autoencoder, Z) for autoencoder in self.estimators_]
            return self._combine(self._view_outlyingness(parts))
        return np.asarray(self.estimator_.score_samples(X), dtype=np.float64)

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

    def __sklearn_is_fitted__(self):
        return hasattr(self, "offset_")

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.non_deterministic = False
        if self.estimator is not None:
            # Inputs are the autoencoder's: e.g. NaN for TabularAE(missing="learn").
            tags.input_tags = get_tags(self.estimator).input_tags
        return tags
