"""AutoencoderImputer: scikit-learn's imputer API over a masked tabular autoencoder."""

import warnings
from numbers import Integral

import numpy as np
import pandas as pd
from pandas.api.types import is_integer_dtype
from sklearn.base import (
    BaseEstimator,
    OneToOneFeatureMixin,
    TransformerMixin,
    _fit_context,
)
from sklearn.utils import get_tags
from sklearn.utils._missing import is_scalar_nan
from sklearn.utils._param_validation import Interval, MissingValues
from sklearn.utils.validation import check_is_fitted, validate_data

from ._columns import TableCodec, column_as_float
from ._distributed import check_process_group
from ._docstrings import fill_budget_docs
from ._random import draw_seed
from ._rollback import rollback_on_error
from .tabular import TabularAE

__all__ = ["AutoencoderImputer"]

# Parameters passed through to the TabularAE doing the work.
_SHARED = (
    "n_components",
    "categorical_features",
    "noise_level",
    "hidden_layer_sizes",
    "activation",
    "dropout",
    "alpha",
    "batch_size",
    "learning_rate_init",
    "max_iter",
    "early_stopping",
    "validation_fraction",
    "n_iter_no_change",
    "tol",
    "device",
    "n_jobs",
    "random_state",
    "verbose",
    "distributed",
)

# The check cells that choose the blend of the fills (see AutoencoderImputer's class
# docstring): this fraction of the observed numeric cells, in at most MAX_CHECK_ROWS
# rows, and only in columns with at least MIN_COLUMN_OBSERVED observed cells; with
# fewer than MIN_CHECK_CELLS, the network alone.
CHECK_FRACTION = 0.1
MAX_CHECK_ROWS = 1000
MIN_COLUMN_OBSERVED = 20
MIN_CHECK_CELLS = 20
# The Gaussian fill: expectation-maximization of a Gaussian on the standardized
# numeric columns (this many iterations, on at most GAUSSIAN_MAX_ROWS rows), with this
# ridge added to the covariance (the columns have unit variance).
GAUSSIAN_ITERATIONS = 5
GAUSSIAN_MAX_ROWS = 5000
GAUSSIAN_RIDGE = 1e-3
# The fills blended, in the order of blend_weights_.
FILLS = ("network", "neighbors", "gaussian")


def _gaussian_fill(values, mean, covariance, *, with_covariance=False):
    """Each row's missing cells at their Gaussian conditional mean given its observed cells.

    ``x_m = mean_m - P_mm^-1 P_mo (x_o - mean_o)``, with ``P`` the precision
    matrix. Returns the filled values and, when ``with_covariance``, the sum
    over rows of the conditional covariances ``P_mm^-1`` (placed in an array
    of ``covariance``'s shape), which the M step adds.
    """
    precision = np.linalg.inv(covariance)
    missing = np.isnan(values)
    filled = np.where(missing, mean, values)
    spread = np.zeros_like(covariance)
    for i in np.flatnonzero(missing.any(axis=1)):
        hole, seen = missing[i], ~missing[i]
        inner = precision[np.ix_(hole, hole)]
        shift = precision[np.ix_(hole, seen)] @ (values[i, seen] - mean[seen])
        filled[i, hole] = mean[hole] - np.linalg.solve(inner, shift)
        if with_covariance:
            spread[np.ix_(hole, hole)] += np.linalg.inv(inner)
    return filled, spread


def _fit_gaussian(values, rng):
    """Mean and covariance of a Gaussian fitted to ``values`` (NaN: missing) by EM.

    ``GAUSSIAN_ITERATIONS`` iterations from the observed means and the
    covariance of the mean-filled table, on at most ``GAUSSIAN_MAX_ROWS``
    rows; ``GAUSSIAN_RIDGE`` is added to the covariance's diagonal.
    """
    if len(values) > GAUSSIAN_MAX_ROWS:
        values = values[np.sort(rng.permutation(len(values))[:GAUSSIAN_MAX_ROWS])]
    ridge = GAUSSIAN_RIDGE * np.eye(values.shape[1])
    mean = np.nan_to_num(np.nanmean(values, axis=0))
    centred = np.where(np.isnan(values), 0.0, values - mean)
    covariance = centred.T @ centred / len(values) + ridge
    for _ in range(GAUSSIAN_ITERATIONS):
        filled, spread = _gaussian_fill(values, mean, covariance, with_covariance=True)
        mean = filled.mean(axis=0)
        centred = filled - mean
        covariance = (centred.T @ centred + spread) / len(values) + ridge
    return mean, covariance


def _convex_weights(fills, target):
    """Weights >= 0 summing to 1 of the columns of ``fills`` closest to ``target`` (least squares).

    Every subset of the columns is solved with the sum constraint; the best
    solution with no negative weight is kept (at worst a single column).

    Examples
    --------
    >>> import numpy as np
    >>> from skae.impute import _convex_weights
    >>> target = np.array([1.0, 2.0, 3.0])
    >>> _convex_weights(np.column_stack([target + 1, target - 1]), target).tolist()
    [0.5, 0.5]
    >>> _convex_weights(np.column_stack([target, target + 5]), target).tolist()
    [1.0, 0.0]
    """
    n_fills = fills.shape[1]
    best, weights = np.inf, np.eye(n_fills)[0]
    for subset in range(1, 2**n_fills):
        used = [k for k in range(n_fills) if subset >> k & 1]
        chosen = fills[:, used]
        if len(used) == 1:
            head = np.zeros(0)
        else:  # the last weight is 1 minus the others
            head = np.linalg.lstsq(chosen[:, :-1] - chosen[:, [-1]], target - chosen[:, -1],
                                   rcond=None)[0]
        part = np.append(head, 1.0 - head.sum())
        if (part < 0).any():
            continue
        error = float(np.sum((chosen @ part - target) ** 2))
        if error < best:
            best, weights = error, np.zeros(n_fills)
            weights[used] = part
    return weights

class ImputationNetwork(TabularAE):
    """The ``TabularAE`` that ``AutoencoderImputer`` trains (its ``estimator_``).

    A ``TabularAE`` whose cross-validated training length (below 1,000 rows)
    is the one of the lowest mean fold loss, refit for as many epochs
    (``skae._budget.LOWEST_MEAN``), not the shortest one near the PCA start:
    imputing promises nothing about PCA. Declared on the class, so that a
    clone or a saved and loaded copy keeps it.
    """

    _cv_rule = "lowest_mean"

@fill_budget_docs
class AutoencoderImputer(OneToOneFeatureMixin, TransformerMixin, BaseEstimator):
    """Impute missing values with a denoising autoencoder trained on the observed cells.

    A :class:`TabularAE` with ``missing="learn"`` and masking noise is
    trained on the table with holes: every missing cell enters the network as
    zero plus a missing indicator, the loss counts observed cells only, and a
    fraction ``noise_level`` of the observed cells are hidden in the same way
    at each step, so that the network learns to predict any cell from the
    others. ``transform`` fills each missing cell from the reconstruction.
    Mixed tables are handled as :class:`TabularAE` does: numeric columns
    are imputed on their scale, categorical ones with their most likely
    category, booleans as booleans, integers rounded.

    A column with no observed value at ``fit`` (all missing) cannot be
    learned: a warning says so and, as in ``SimpleImputer``, it is kept and
    filled with 0 (False for a boolean column) with
    ``keep_empty_features=True`` (the default here, so that the output has
    one column per input column), or left out of ``transform``'s output with
    ``keep_empty_features=False``. A categorical column with no observed
    value is an error.

    **A blend of three fills** (``blend``). The network is one way to fill a
    numeric hole; two others win on some tables: the values of the row's
    nearest neighbours (where rows form tight groups: near-duplicates,
    clusters, digits drawn alike) and the conditional mean of a Gaussian
    (where the columns depend on one another linearly, as IterativeImputer
    assumes). Which wins on a table is measured in ``fit``: a tenth of the
    observed numeric cells (of at most 1,000 rows) are hidden from the
    network while it trains, then filled by the network, by a
    :class:`~sklearn.impute.KNNImputer` and by a Gaussian fitted by
    expectation-maximization, both of the standardized numeric columns with
    those cells hidden too. The numeric holes are then filled by the convex
    combination of the three (``blend_weights_``) with the least squared
    error on those cells: ``{"network": 1, ...}`` keeps the network alone.
    Boolean and categorical holes come from the network.

    Optionally (``n_refinements``) the imputation is refined: the filled
    table is fed back with the imputed cells shown as observed, and the
    missing cells are re-predicted.

    Parameters
    ----------
    missing_values : int, float, str, np.nan, None or pandas.NA, default=np.nan
        The placeholder for missing values. NaN, None and ``pd.NA`` are always
        treated as missing as well.
    n_components : int, default=32
        Size of the code. It may exceed the number of columns: the masking
        noise keeps the network from copying its input.
    categorical_features : "auto" or array-like, default="auto"
        Columns to treat as categorical, see :class:`TabularAE`.
    noise_level : float, default=0.25
        Fraction of observed cells hidden at each training step.
    n_refinements : int, default=0
        Number of refinement passes after the first imputation. Each pass
        feeds the completed table back, imputed cells shown as observed, and
        re-predicts the missing cells. Off by default: on the six tables of
        ``benchmarks/imputation.py`` (held-out rows, 20% of cells missing, 3
        seeds) 3 passes raised the RMSE on every table (satimage 0.220 to
        0.292, wine 0.677 to 0.719; the others by 0.001 to 0.03): imputed
        cells fed back as observed compound their errors.
    blend : bool, default=True
        Whether to blend the network's fill of numeric holes with the nearest
        neighbours' and a Gaussian's (see above). False: the network alone,
        trained on every observed cell. The blend needs the rows in memory
        and in one process: a ``fit`` on a ``numpy.memmap`` (out of core) or
        with ``distributed=True`` uses the network alone, as with False.
    n_neighbors : int, default=5
        Neighbours of the ``KNNImputer`` fill in the blend.
    hidden_layer_sizes : array-like of int, default=(128, 128)
        Widths of the encoder's hidden layers; the decoder mirrors them.
    activation : str, default="relu"
        Activation of the hidden layers.
    dropout : float, default=0.0
        Dropout probability after each hidden activation.
    alpha : float, default=0.0
        Weight decay (L2 penalty) passed to the optimizer.
    batch_size : int or "auto", default="auto"
        %(batch_size)s
    learning_rate_init : float, default=1e-3
        %(learning_rate_init)s
    max_iter : int or "auto", default="auto"
        %(max_iter)s
    early_stopping : bool or "auto", default="auto"
        %(validation_lowest)s The validation rows have
        ``noise_level`` of their cells hidden once, so that the loss measures
        how well hidden cells are predicted. ``False``: train on all rows and
        stop when the training loss stops improving.
    validation_fraction : float, default=0.1
        Fraction of rows in early stopping's validation split.
    n_iter_no_change : int or "auto", default="auto"
        %(n_iter_no_change)s
    tol : float, default=1e-4
        Minimal improvement of the monitored loss.
    device : str or torch.device, default="auto"
        ``"auto"`` uses CUDA when available, else the CPU.
    n_jobs : int, default=None
        Number of torch threads, see :class:`TabularAE`.
    random_state : int, RandomState instance or None, default=None
        Seed for initialization, shuffling and noise.
    verbose : int, default=0
        Show a progress bar over epochs when positive.
    keep_empty_features : bool, default=True
        What to do with the columns that have no observed value at ``fit``:
        keep them, filled with 0 (False for a boolean column), as
        ``SimpleImputer(keep_empty_features=True)`` does, or, when False,
        leave them out of ``transform``'s output and of
        ``get_feature_names_out``, as ``SimpleImputer``'s default does.
    distributed : bool, default=False
        Whether ``fit`` trains one model with the other ranks of the
        initialized ``torch.distributed`` process group, each rank passing
        its own rows: the :class:`TabularAE` is trained with
        ``distributed=True`` (its column encoding, gradients, budget and
        early stopping from every rank's rows), and every rank ends with the
        same imputer. ``True`` without a process group is an error. See the
        user guide's *Distributed training*.

    Attributes
    ----------
    estimator_ : ImputationNetwork
        The fitted autoencoder: a ``TabularAE`` (subclass) trained on the
        observed cells (less the check cells of the blend), whose
        cross-validated training length is the one of the lowest mean fold
        loss.
    blend_weights_ : dict of str to float
        The weights of the ``"network"``, ``"neighbors"`` and ``"gaussian"``
        fills of the numeric holes (>= 0, summing to 1), chosen in ``fit`` on
        cells hidden from the network; ``{"network": 1.0, ...}`` with
        ``blend=False`` or when fewer than 20 cells could be hidden.
    neighbors_ : KNNImputer
        The nearest-neighbour imputer of the standardized numeric columns,
        fitted on every observed cell of the training rows. Only when its
        weight is positive.
    gaussian_mean_, gaussian_covariance_ : ndarray
        The Gaussian of the standardized numeric columns, fitted on every
        observed cell of the training rows. Only when its weight is
        positive.
    n_iter_ : int
        Number of epochs the autoencoder's solver ran, cross-validation folds
        included (``estimator_.n_iter_``); the training length of the
        returned network is ``estimator_.n_epochs_``.
    n_features_in_ : int
        Number of features seen during ``fit``.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Names of features seen during ``fit``, when they are all strings.

    See Also
    --------
    TabularAE : The autoencoder doing the work, with its ``impute`` method.
    sklearn.impute.IterativeImputer : Round-robin regression of each feature.
    sklearn.impute.KNNImputer : Imputation from the nearest neighbours.

    References
    ----------
    Gondara, L., & Wang, K. (2018). MIDA: Multiple imputation using denoising
    autoencoders. PAKDD 2018, 260-272.

    Little, R. J. A., & Rubin, D. B. (2019). Statistical Analysis with
    Missing Data (3rd ed.), chapter 11 (the EM algorithm for a multivariate
    normal with missing values). Wiley.

    Wolpert, D. H. (1992). Stacked generalization. Neural Networks, 5(2),
    241-259.

    Examples
    --------
    >>> import numpy as np
    >>> from skae import AutoencoderImputer
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(200, 1)) @ np.ones((1, 4))
    >>> X[rng.random(X.shape) < 0.1] = np.nan
    >>> imputer = AutoencoderImputer(hidden_layer_sizes=(16,), max_iter=5, random_state=0)
    >>> X_filled = imputer.fit_transform(X)
    >>> bool(np.isnan(X_filled).any())
    False
    """

    _parameter_constraints: dict = {
        "missing_values": [MissingValues()],
        **{key: TabularAE._parameter_constraints[key] for key in _SHARED},
        "n_refinements": [Interval(Integral, 0, None, closed="left")],
        "blend": ["boolean"],
        "n_neighbors": [Interval(Integral, 1, None, closed="left")],
        "keep_empty_features": ["boolean"],
    }

    def __init__(
        self,
        missing_values=np.nan,
        *,
        n_components=32,
        categorical_features="auto",
        noise_level=0.25,
        n_refinements=0,
        blend=True,
        n_neighbors=5,
        hidden_layer_sizes=(128, 128),
        activation="relu",
        dropout=0.0,
        alpha=0.0,
        batch_size="auto",
        learning_rate_init=1e-3,
        max_iter="auto",
        early_stopping="auto",
        validation_fraction=0.1,
        n_iter_no_change="auto",
        tol=1e-4,
        device="auto",
        n_jobs=None,
        random_state=None,
        verbose=0,
        keep_empty_features=True,
        distributed=False,
    ):
        self.missing_values = missing_values
        self.n_components = n_components
        self.categorical_features = categorical_features
        self.noise_level = noise_level
        self.n_refinements = n_refinements
        self.blend = blend
        self.n_neighbors = n_neighbors
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.dropout = dropout
        self.alpha = alpha
        self.batch_size = batch_size
        self.learning_rate_init = learning_rate_init
        self.max_iter = max_iter
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.tol = tol
        self.device = device
        self.n_jobs = n_jobs
        self.random_state = random_state
        self.verbose = verbose
        self.keep_empty_features = keep_empty_features
        self.distributed = distributed

    def _with_nan(self, X, *, reset):
        """Validate ``X``; return it with ``missing_values`` replaced by NaN (a copy if needed).

        At ``fit``, a 2-D ``numpy.memmap`` whose missing values are NaN is
        returned as it is: the network reads it batch by batch (out of core,
        see ``TabularAE``) and checks it.
        """
        if reset and isinstance(X, np.memmap) and X.ndim == 2 and is_scalar_nan(self.missing_values):
            validate_data(self, X, reset=True, skip_check_array=True)
            return X
        if isinstance(X, pd.DataFrame):
            validate_data(self, X, reset=reset, skip_check_array=True)
            if is_scalar_nan(self.missing_values) or self.missing_values is pd.NA:
                return X
            return X.mask(X.isin([self.missing_values]))
        numeric = not isinstance(self.missing_values, str) and (
            reset or self.estimator_.codec_.all_numeric
        )
        X = validate_data(
            self,
            X,
            reset=reset,
            dtype=[np.float64, np.float32] if numeric else None,
            ensure_all_finite="allow-nan",
            ensure_min_samples=2 if reset else 1,
        )
        if is_scalar_nan(self.missing_values) or self.missing_values is pd.NA:
            return X
        if self.missing_values is None and numeric:
            return X
        if isinstance(self.missing_values, str) and X.dtype.kind in "iufb":
            raise ValueError(
                f"missing_values={self.missing_values!r} is a string but X is numeric; "
                "pass a number (or np.nan) as missing_values."
            )
        holes = X == self.missing_values
        if holes.any():
            X = X.astype(np.float64 if X.dtype.kind in "iub" else X.dtype, copy=True)
            X[holes] = np.nan
        return X

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Train the autoencoder on the observed cells of ``X``.

        Parameters
        ----------
        X : DataFrame or array-like of shape (n_samples, n_features)
            Data with missing values.
        y : None
            Ignored.

        Returns
        -------
        self : object
            The fitted imputer.
        """
        with rollback_on_error(self):  # a failed fit leaves the imputer as it was
            parallel = check_process_group(self.distributed)
            if parallel is None:
                X = self._with_nan(X, reset=True)
            else:  # a rank whose rows fail stops every rank
                X = parallel.agree(lambda: self._with_nan(X, reset=True), type(self).__name__)
            table, check = None, None
            if parallel is None and not isinstance(X, np.memmap):  # the blend: rows in memory
                table = X if isinstance(X, pd.DataFrame) else pd.DataFrame(X, copy=False)
                check = self._check_cells(table)
            params = {key: getattr(self, key) for key in _SHARED}
            estimator = ImputationNetwork(**params, missing="learn", noise="masking")
            with warnings.catch_warnings():  # said below, with what this imputer does
                warnings.filterwarnings("ignore", message=r"Column\(s\) .* no observed value")
                self.estimator_ = estimator.fit(X if check is None else self._hide(X, check))
            self.estimator_.codec_.name = type(self).__name__  # for transform's errors
            self.n_iter_ = self.estimator_.n_iter_
            self._fit_blend(X, table, check)
        self._warn_empty_features()
        return self

    def transform(self, X):
        """Impute all missing values in ``X``.

        Parameters
        ----------
        X : DataFrame or array-like of shape (n_samples, n_features)
            Data with missing values. Not modified.

        Returns
        -------
        X_filled : DataFrame or ndarray of shape (n_samples, n_features)
            ``X`` with its missing cells filled: a DataFrame with the same
            index, columns and dtypes for a DataFrame, else an ndarray.
            Without the columns that had no observed value at ``fit`` when
            ``keep_empty_features=False``.
        """
        check_is_fitted(self)
        X = self._with_nan(X, reset=False)
        filled = self.estimator_.impute(X)
        for _ in range(self.n_refinements):
            # The completed table goes back in, imputed cells shown as observed,
            # and the missing cells of X are predicted again.
            filled = self.estimator_.impute(X, source=filled)
        if self.blend_weights_["network"] < 1:
            filled = self._blend(X, filled)
        empty = self.estimator_.codec_.empty_
        if self.keep_empty_features or not empty:
            return filled
        if isinstance(filled, pd.DataFrame):
            return filled.drop(columns=filled.columns[empty])
        return np.delete(filled, empty, axis=1)

    # ------------------------------------------------ the blend of fills
    def _numeric_columns(self):
        """Positions of the numeric columns with observed values at ``fit``."""
        codec = self.estimator_.codec_
        return [j for j in codec.groups_["numeric"] if j not in codec.empty_]

    def _standardized(self, table):
        """The numeric columns of ``table``, standardized as the network sees them (NaN: missing)."""
        codec = self.estimator_.codec_
        names = [str(c) for c in table.columns]
        position = {j: g for g, j in enumerate(codec.groups_["numeric"])}
        columns = self._numeric_columns()
        values = np.empty((len(table), len(columns)))
        for i, j in enumerate(columns):
            g = position[j]
            column = column_as_float(table.iloc[:, j], names[j])
            values[:, i] = (column - codec.mean_[g]) / codec.scale_[g]
        return values

    def _check_cells(self, table):
        """The observed numeric cells hidden from the network to choose the blend, or None.

        A boolean mask of ``table``'s shape: ``CHECK_FRACTION`` of the
        observed cells of the numeric columns holding at least
        ``MIN_COLUMN_OBSERVED`` observed values, in at most
        ``MAX_CHECK_ROWS`` rows drawn at random; None when ``blend`` is
        False or fewer than ``MIN_CHECK_CELLS`` cells qualify.
        """
        if not self.blend:
            return None
        rng = np.random.default_rng(draw_seed(self.random_state))
        observed = table.notna().to_numpy()
        with warnings.catch_warnings():  # the network's fit says it
            warnings.filterwarnings("ignore", message=r"Column\(s\) .* no observed value")
            codec = TableCodec(self.categorical_features, missing="learn").fit(table)
        numeric = np.zeros(table.shape[1], dtype=bool)
        numeric[codec.groups_["numeric"]] = True
        numeric &= observed.sum(axis=0) >= MIN_COLUMN_OBSERVED
        rows = np.zeros(len(table), dtype=bool)
        rows[rng.permutation(len(table))[:MAX_CHECK_ROWS]] = True
        check = observed & numeric[None, :] & rows[:, None]
        check &= rng.random(check.shape) < CHECK_FRACTION
        return check if check.sum() >= MIN_CHECK_CELLS else None

    @staticmethod
    def _hide(X, check):
        """A copy of ``X`` with the ``check`` cells missing."""
        if isinstance(X, pd.DataFrame):
            # Integer columns become nullable integers (not floats): the network keeps
            # rounding them.
            nullable = {
                column: f"{'U' if dtype.kind == 'u' else ''}Int{8 * dtype.itemsize}"
                for column, dtype, hidden in zip(X.columns, X.dtypes, check.any(axis=0))
                if hidden and isinstance(dtype, np.dtype) and dtype.kind in "iu"
            }
            X = X.astype(nullable) if nullable else X
            return X.mask(pd.DataFrame(check, index=X.index, columns=X.columns))
        hidden = np.array(X, dtype=np.float64 if X.dtype.kind in "iub" else X.dtype, copy=True)
        hidden[check] = np.nan
        return hidden

    def _fit_blend(self, X, table, check):
        """Choose ``blend_weights_`` on the check cells; keep the fills that get a weight.

        The network (trained without the check cells), a ``KNNImputer`` and a
        Gaussian of the standardized numeric columns (the check cells hidden
        from them too) fill the check cells; the weights are the convex
        combination of the three with the least squared error there.
        """
        self.blend_weights_ = dict(zip(FILLS, (1.0, 0.0, 0.0)))
        if check is None:
            return
        from sklearn.impute import KNNImputer  # on first use: sklearn.neighbors costs 0.1 s

        rng = np.random.default_rng(draw_seed(self.random_state))
        check = check[:, self._numeric_columns()]
        rows = check.any(axis=1)
        truth = self._standardized(table)
        hidden = np.where(check, np.nan, truth)
        shown = self._hide(X, self._full_mask(check, X.shape[1]))
        shown = shown.iloc[rows] if isinstance(shown, pd.DataFrame) else shown[rows]
        by_network = self.estimator_.impute(shown)
        if not isinstance(by_network, pd.DataFrame):
            by_network = pd.DataFrame(by_network)
        neighbors = KNNImputer(n_neighbors=self.n_neighbors, keep_empty_features=True)
        fills = np.column_stack([
            self._standardized(by_network)[check[rows]],
            neighbors.fit(hidden).transform(hidden[rows])[check[rows]],
            _gaussian_fill(hidden[rows], *_fit_gaussian(hidden, rng))[0][check[rows]],
        ])
        weights = _convex_weights(fills, truth[check])
        self.blend_weights_ = dict(zip(FILLS, weights.tolist()))
        if weights[1] > 0:
            self.neighbors_ = neighbors.fit(truth)
        if weights[2] > 0:
            self.gaussian_mean_, self.gaussian_covariance_ = _fit_gaussian(truth, rng)

    def _full_mask(self, check, n_columns):
        """``check`` (numeric columns only) as a mask over every column."""
        full = np.zeros((len(check), n_columns), dtype=bool)
        full[:, self._numeric_columns()] = check
        return full

    def _blend(self, X, filled):
        """``filled`` (the network's) with its numeric holes blended with the other fills."""
        codec = self.estimator_.codec_
        table = X if isinstance(X, pd.DataFrame) else pd.DataFrame(X, copy=False)
        values = self._standardized(table)
        holes = np.isnan(values)
        if not holes.any():
            return filled
        weights = self.blend_weights_
        others = np.zeros_like(values)  # the weighted sum of the other fills, standardized
        if weights["neighbors"] > 0:
            others += weights["neighbors"] * self.neighbors_.transform(values)
        if weights["gaussian"] > 0:
            by_gaussian = _gaussian_fill(values, self.gaussian_mean_, self.gaussian_covariance_)
            others += weights["gaussian"] * by_gaussian[0]
        position = {j: g for g, j in enumerate(codec.groups_["numeric"])}
        for i, j in enumerate(self._numeric_columns()):
            hole = holes[:, i]
            if not hole.any():
                continue
            g = position[j]
            theirs = others[hole, i] * codec.scale_[g] + (1 - weights["network"]) * codec.mean_[g]
            if isinstance(filled, pd.DataFrame):
                column = filled.iloc[:, j]
                values_j = np.array(column.to_numpy(dtype=np.float64, na_value=np.nan))
                blended = weights["network"] * values_j[hole] + theirs
                values_j[hole] = np.round(blended) if is_integer_dtype(column.dtype) else blended
                filled.iloc[:, j] = pd.Series(values_j, index=filled.index).astype(column.dtype)
            else:
                filled[hole, j] = weights["network"] * filled[hole, j] + theirs
        return filled

    def _warn_empty_features(self):
        """Say which columns had no observed value at ``fit``, and what becomes of them."""
        empty = self.estimator_.codec_.empty_
        if not empty:
            return
        names = [str(name) for name in np.asarray(self.estimator_.codec_.columns_)[empty]]
        what = (
            "They are kept and filled with 0 (False for a boolean column), as "
            "SimpleImputer(keep_empty_features=True) does; drop them, or pass "
            "keep_empty_features=False to leave them out of the output."
            if self.keep_empty_features
            else "They are left out of transform's output (keep_empty_features=False)."
        )
        warnings.warn(
            f"Column(s) {names} have no observed value to learn from. {what}",
            UserWarning,
            stacklevel=3,
        )

    def get_feature_names_out(self, input_features=None):
        """Names of the output columns: the input's, less the empty ones when they are dropped.

        Parameters
        ----------
        input_features : array-like of str or None, default=None
            Input feature names, checked against ``feature_names_in_`` when
            that is set; ``x0, x1, ...`` when None and it is not.

        Returns
        -------
        feature_names_out : ndarray of str
            One name per column of ``transform``'s output.
        """
        names = super().get_feature_names_out(input_features)
        if self.keep_empty_features:
            return names
        return np.delete(names, self.estimator_.codec_.empty_)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        tags.non_deterministic = get_tags(TabularAE(device=self.device)).non_deterministic
        return tags
