"""TabularAE: an autoencoder that reads a table of mixed column types, with holes."""

from numbers import Real

import numpy as np
import pandas as pd
import torch
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils._set_output import _get_output_config
from sklearn.utils.validation import check_array, check_is_fitted, validate_data

from ._base import BaseAutoencoder
from ._columns import TableCodec
from ._docstrings import fill_budget_docs
from .nn import Autoencoder, init_linear_pca, make_encoder_decoder, pca_linears
from .noise import NOISE_ALIASES

__all__ = ["TabularAE"]


def _mask_noise(X, drop, cell_of_input, fill, generator):
    """Masking noise: the input columns of dropped cells take their ``fill`` value."""
    return torch.where(drop[:, cell_of_input], fill, X)  # (B, n_in)


def _swap_noise(X, drop, cell_of_input, fill, generator):
    """Swap noise: a dropped cell takes the same cell of a random row (whole one-hot block)."""
    rows = torch.randint(len(X), drop.shape, generator=generator).to(X.device)  # (B, n_cells)
    swapped = X.gather(0, rows[:, cell_of_input])  # (B, n_in)
    return torch.where(drop[:, cell_of_input], swapped, X)


# Corruptions acting on whole table cells (a one-hot block and its missing
# indicator move together).
NOISES = {"masking": _mask_noise, "swap": _swap_noise}


@fill_budget_docs
class TabularAE(BaseAutoencoder):
    """Autoencoder for tables with numeric, boolean and categorical columns.

    Takes a pandas DataFrame directly. Numeric columns are standardized (with
    ``mean_`` and ``scale_`` learned at ``fit``), boolean columns become 0/1,
    and categorical ones (category, string or object dtype, or listed in
    ``categorical_features``) are one-hot encoded. The decoder outputs one
    value per numeric column, one logit per boolean column and one logit per
    category, and each column is reconstructed with its own loss: squared
    error on the standardized scale for numeric columns, binary
    cross-entropy for boolean ones and cross-entropy for categorical ones.

    **Weighting.** Each column's loss is divided by the loss of the best
    constant prediction on the training data: 1 for a standardized numeric
    column (its variance), the entropy of the empirical distribution for a
    boolean or categorical column (floored at 0.1, so a near-constant column
    weighs at most 10 times more). A column predicted no better than by its
    marginal distribution costs about 1 whatever its type or its number of
    categories, and the training loss is the mean of these normalized losses
    over the observed cells: no column type dominates, and a 20-level
    categorical does not outweigh a numeric column.

    ``transform`` returns codes; ``inverse_transform`` decodes them back into
    a DataFrame with the original columns and dtypes (categories as their
    labels, booleans as booleans, integers rounded). Categories unseen at
    ``fit`` are encoded as all zeros with a warning, as
    ``OneHotEncoder(handle_unknown="ignore")`` does. Plain numeric arrays are
    accepted too, every column then being numeric.

    With ``missing="learn"``, NaN, ``None`` and ``pd.NA`` are allowed: a
    missing cell enters the network as zero plus a missing indicator, the
    loss counts only observed cells, and :meth:`impute` fills the holes from
    the reconstruction. The network is also trained with masking noise
    (``noise="auto"``): a fraction ``noise_level`` of the observed cells are
    hidden in the same way, so that it learns to predict a cell from the
    other columns.

    Unlike the autoencoders of numeric columns, ``TabularAE`` does not train
    out of core: its column encoding is learned from the whole table and
    applied to it at once, so a ``numpy.memmap`` is read whole into one
    encoded float32 array, and sparse input is refused (see the scale guide).

    Parameters
    ----------
    n_components : int, default=2
        Size of the code. At most the number of encoded columns (a numeric
        or boolean column is one, a categorical column one per category),
        unless ``noise`` is active.
    categorical_features : "auto" or array-like of str, int or bool, default="auto"
        Columns to treat as categorical. ``"auto"``: the columns whose dtype is
        category, string or object. Otherwise, names or positions of columns
        (or a boolean mask) treated as categorical in addition, e.g. integer
        codes.
    missing : {"error", "learn"}, default="error"
        ``"error"`` rejects missing values with a clear error. ``"learn"``
        accepts them: the network sees a missing indicator per column and the
        loss ignores missing cells. A numeric or boolean column with no
        observed value at ``fit`` is kept with a warning and decoded (and
        imputed) as 0 (False), as ``SimpleImputer(keep_empty_features=True)``
        does; a categorical one is an error.
    noise : {"auto", "masking", "swap"} or None, default="auto"
        Corruption of the training input, by whole cells (a categorical
        column's one-hot block moves as one). ``"masking"`` (also spelled
        ``"mask"``, as in earlier versions) hides a cell as a
        missing one (zero, plus the missing indicator with
        ``missing="learn"``); ``"swap"`` replaces it by the same column's cell
        from another row of the batch, so it keeps the column's type and
        distribution. ``"auto"`` is ``"masking"`` with ``missing="learn"`` and no
        noise otherwise. The loss always compares to the clean table.
    noise_level : float, default=0.2
        Fraction of cells corrupted.
    hidden_layer_sizes : array-like of int, default=(256, 128)
        Widths of the encoder's hidden layers; the decoder mirrors them.
    activation : {"relu", "tanh", "logistic", "sigmoid", "elu", "gelu", "selu", \
"leaky_relu", "identity"}, default="relu"
        Activation of the hidden layers.
    init : {"pca", "random"}, default="pca"
        ``"pca"`` adds a linear path set to PCA's projection and
        reconstruction of the encoded table beside the hidden layers, whose
        last layer starts at zero; the output biases of boolean and
        categorical columns start at the log-odds of their training
        frequencies. ``"random"``: a plain MLP with PyTorch's initialization.
    dropout : float, default=0.0
        Dropout probability after each hidden activation.
    batch_norm : bool, default=False
        Whether to add batch normalization to the hidden layers.
    alpha : float, default=0.0
        Weight decay (L2 penalty) passed to the optimizer.
    batch_size : int or "auto", default="auto"
        %(batch_size)s
    learning_rate_init : float, default=1e-3
        %(learning_rate_init)s
    max_iter : int or "auto", default="auto"
        %(max_iter)s
    optimizer : {"adam", "adamw", "sgd", "rmsprop"} or torch optimizer class, \
default="adam"
        The optimizer.
    early_stopping : bool or "auto", default="auto"
        %(validation)s The validation loss counts
        observed cells; with ``noise``, the validation rows are corrupted
        once, so that it measures how well hidden cells are predicted.
        ``False``: train on all rows and stop when the training loss stops
        improving.
    validation_fraction : float, default=0.1
        Fraction of rows in early stopping's validation split.
    n_iter_no_change : int or "auto", default="auto"
        %(n_iter_no_change)s
    tol : float, default=1e-4
        Minimal improvement of the monitored loss.
    device : str or torch.device, default="auto"
        ``"auto"`` uses CUDA when available, else the CPU.
    n_jobs : int, default=None
        Number of torch threads during ``fit`` and inference. ``None`` uses
        ``OMP_NUM_THREADS`` when set (as in joblib workers), otherwise 1
        (safe on a busy machine, see the performance guide); ``-1`` uses all
        physical cores. torch's setting is restored afterwards.
    random_state : int, RandomState instance or None, default=None
        Seed for weight initialization, shuffling, noise and dropout. Pass an
        int for reproducible results.
    verbose : int, default=0
        Show a progress bar over epochs when positive.
    callbacks : list of skorch callbacks or (name, callback) tuples, default=None
        Passed to the skorch training engine (copied at ``fit``).
    warm_start : bool, default=False
        Whether ``fit`` continues from the current weights, optimizer state
        and column encoding. The training parameters (``learning_rate_init``,
        ``alpha``, ``batch_size``, ``early_stopping``, ...) are read anew at
        each call; changing one the architecture depends on
        (``n_components``, ``hidden_layer_sizes``, ``activation``, ...)
        raises an error.

    distributed : bool, default=False
        %(distributed)s

    Attributes
    ----------
    feature_types_ : ndarray of shape (n_features_in_,), dtype object
        ``"numeric"``, ``"binary"`` or ``"categorical"`` for each column.
    mean_ : ndarray of shape (n_numeric,)
        Mean of each numeric column (over observed cells), in column order.
    scale_ : ndarray of shape (n_numeric,)
        Standard deviation of each numeric column (1 for a constant column).
    categories_ : list of ndarray
        The categories of each categorical column, in column order; the
        position in the array is the one-hot position.
    column_weights_ : ndarray of shape (n_features_in_,)
        Weight of each column's loss (one over its baseline loss).
    codec_ : skae._columns.TableCodec
        The column codec learned at ``fit``: column types, encoding and
        decoding, per-column losses. The five attributes above are its own.
    module_ : skae.nn.Autoencoder
        The trained torch module, with ``encode`` and ``decode``.
    net_ : skorch.NeuralNet
        The training engine; ``net_.history`` holds per-epoch losses.
    history_ : skorch.History
        Per-epoch records (losses, durations).
    loss_curve_ : list of float
        %(loss_curve_)s
    validation_scores_ : list of float
        Negative validation loss of the starting weights, then of each epoch,
        in the last ``fit`` (only with ``early_stopping``; ``partial_fit``
        removes it). After cross-validation, the mean over the folds of
        the score after ``n`` epochs, at index ``n``, up to the chosen count
        (the final model then takes as many optimizer steps on all rows).
    best_validation_score_ : float
        Negative validation loss of the returned weights: the best of
        ``validation_scores_``; after cross-validation, its score at the
        chosen point (a length and a shrinkage, ``skae._budget.surest_gain``)
        (only with ``early_stopping``).
    n_iter_ : int
        %(n_iter_)s
    n_epochs_ : int
        %(n_epochs_)s
    n_features_in_ : int
        Number of columns seen during ``fit``.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Names of columns seen during ``fit``, when they are all strings.

    See Also
    --------
    AutoencoderTransformer : For numeric data already encoded.
    AutoencoderImputer : scikit-learn's imputer API on top of this model.
    sklearn.preprocessing.OneHotEncoder : The encoding used for categories.

    References
    ----------
    Gondara, L., & Wang, K. (2018). MIDA: Multiple imputation using denoising
    autoencoders. PAKDD 2018, 260-272.

    Examples
    --------
    >>> import pandas as pd
    >>> from skae import TabularAE
    >>> X = pd.DataFrame({
    ...     "size": [1.0, 2.5, 3.0, 4.5, 5.0, 6.5] * 10,
    ...     "color": pd.Categorical(["red", "blue", "red", "green", "blue", "red"] * 10),
    ...     "ok": [True, False, True, True, False, True] * 10,
    ... })
    >>> ae = TabularAE(n_components=2, hidden_layer_sizes=(16,), max_iter=5, random_state=0)
    >>> ae.fit_transform(X).shape
    (60, 2)
    >>> ae.feature_types_.tolist()
    ['numeric', 'categorical', 'binary']
    >>> ae.set_output(transform="pandas")
    TabularAE(...)
    >>> ae.inverse_transform(ae.transform(X)).dtypes.astype(str).tolist()
    ['float64', 'category', 'bool']
    """

    _parameter_constraints: dict = {
        **{
            key: value
            for key, value in BaseAutoencoder._parameter_constraints.items()
            if key not in ("loss", "output_activation", "pretraining", "pretraining_max_iter")
        },
        "categorical_features": [StrOptions({"auto"}), "array-like"],
        "missing": [StrOptions({"error", "learn"})],
        "noise": [StrOptions({"auto", *NOISES, *NOISE_ALIASES}), None],
        "noise_level": [Interval(Real, 0, 1, closed="left")],
    }
    # The column encoding, learned at fit, decides the network's input.
    _architecture_params = (
        *BaseAutoencoder._architecture_params,
        "categorical_features",
        "missing",
    )

    def __init__(
        self,
        n_components=2,
        *,
        categorical_features="auto",
        missing="error",
        noise="auto",
        noise_level=0.2,
        hidden_layer_sizes=(256, 128),
        activation="relu",
        init="pca",
        dropout=0.0,
        batch_norm=False,
        alpha=0.0,
        batch_size="auto",
        learning_rate_init=1e-3,
        max_iter="auto",
        optimizer="adam",
        early_stopping="auto",
        validation_fraction=0.1,
        n_iter_no_change="auto",
        tol=1e-4,
        device="auto",
        n_jobs=None,
        random_state=None,
        verbose=0,
        callbacks=None,
        warm_start=False,
        distributed=False,
    ):
        self.n_components = n_components
        self.categorical_features = categorical_features
        self.missing = missing
        self.noise = noise
        self.noise_level = noise_level
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.init = init
        self.dropout = dropout
        self.batch_norm = batch_norm
        self.alpha = alpha
        self.batch_size = batch_size
        self.learning_rate_init = learning_rate_init
        self.max_iter = max_iter
        self.optimizer = optimizer
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.tol = tol
        self.device = device
        self.n_jobs = n_jobs
        self.random_state = random_state
        self.verbose = verbose
        self.callbacks = callbacks
        self.warm_start = warm_start
        self.distributed = distributed

    # The column encoding is learned from the rows fit is given: on each rank its own.
    _supports_distributed = False
    _no_distributed_reason = (
        "its column encoding (categories, scales) is learned from the rows fit is given, "
        "which would differ from rank to rank."
    )

    # The column codec's fitted attributes, read from ``codec_`` (see the class docstring).
    feature_types_ = property(lambda self: self.codec_.feature_types_)
    mean_ = property(lambda self: self.codec_.mean_)
    scale_ = property(lambda self: self.codec_.scale_)
    categories_ = property(lambda self: self.codec_.categories_)
    column_weights_ = property(lambda self: self.codec_.column_weights_)

    # ------------------------------------------------------------ columns
    def _noise(self):
        """The corruption in use: a key of ``NOISES`` or None."""
        if self.noise == "auto":
            return "masking" if self.missing == "learn" else None
        return NOISE_ALIASES.get(self.noise, self.noise) if self.noise_level > 0 else None

    def _as_table(self, X, *, reset, min_samples):
        """Validate ``X`` and return it as a pandas DataFrame (not copied)."""
        if not isinstance(X, pd.DataFrame) and hasattr(X, "to_pandas") and hasattr(X, "columns"):
            X = X.to_pandas()  # polars
        if isinstance(X, pd.DataFrame):
            validate_data(self, X, reset=reset, skip_check_array=True)
            if X.shape[0] < min_samples or X.shape[1] < 1:
                raise ValueError(
                    f"Found array with {X.shape[0]} sample(s) and {X.shape[1]} feature(s) "
                    f"while a minimum of {min_samples} sample(s) and 1 feature is required "
                    f"by {type(self).__name__}."
                )
            return X
        numeric = reset or self.codec_.all_numeric
        try:
            X = validate_data(
                self,
                X,
                reset=reset,
                dtype=[np.float64, np.float32] if numeric else None,
                ensure_all_finite="allow-nan" if self.missing == "learn" else True,
                ensure_min_samples=min_samples,
            )
        except ValueError as error:
            if "NaN" in str(error):
                raise ValueError(
                    f"{error} Pass missing='learn' to {type(self).__name__} to train on "
                    "the observed cells only and impute the missing ones."
                ) from error
            raise
        return pd.DataFrame(X, copy=False)

    def _validate_input(self, X, *, reset, min_samples=1):
        """Validate ``X`` and return the network's float32 input.

        With ``reset=True`` (a new ``fit``) the columns' encoding is learned
        first, from ``X``.
        """
        from_frame = isinstance(X, pd.DataFrame) or hasattr(X, "to_pandas")
        table = self._as_table(X, reset=reset, min_samples=min_samples)
        if reset:
            codec = TableCodec(
                self.categorical_features, missing=self.missing, name=type(self).__name__
            )
            self.codec_ = codec.fit(table, from_frame=from_frame)
        return self.codec_.encode(table)

    def _check_fit_data(self, X):
        n_encoded = self.codec_.n_encoded_
        if self.n_components > n_encoded and self._noise() is None:
            raise ValueError(
                f"n_components={self.n_components} is larger than the {n_encoded} encoded "
                f"columns: {type(self).__name__} with a code that wide can learn the "
                "identity. Lower n_components, or set noise='masking' or 'swap'."
            )

    # ---------------------------------------------------------- network
    def _build_network(self, n_features):
        codec = self.codec_
        encoder, decoder, _ = make_encoder_decoder(
            n_features,  # the encoded cells, then the missing indicators if any
            self.hidden_layer_sizes,
            self.n_components,
            codec.n_encoded_,
            linear_path=self.init == "pca" and len(self.hidden_layer_sizes) > 0,
            activation=self.activation,
            dropout=self.dropout,
            batch_norm=self.batch_norm,
        )
        module = Autoencoder(encoder, decoder)
        # The tensors the loss and the noise need, as buffers of the network: they
        # follow it to its device, and into its state (save / load, pickling).
        module.register_buffer("cell_of_input", torch.as_tensor(codec.cell_of_input()))
        module.register_buffer("masked_input", torch.as_tensor(codec.masked_input()))
        weights = codec.column_weights_[codec.order_]
        module.register_buffer("column_weights", torch.as_tensor(weights, dtype=torch.float32))
        return module

    def _adjust_start(self, module, X):
        if self.init != "pca":
            return
        # PCA of the encoded cells (not the missing indicators); logits start at the priors.
        codec = self.codec_
        encoder_linear, decoder_linear = pca_linears(module)
        components, mean = self._pca_solution(X[:, : codec.n_encoded_])
        init_linear_pca(encoder_linear, decoder_linear, components, mean)
        n_numeric = len(codec.groups_["numeric"])
        with torch.no_grad():
            decoder_linear.bias[n_numeric:] = torch.as_tensor(codec.log_priors_)

    def _corrupt(self, X, generator):
        noise = self._noise()
        if noise is None:
            return X
        module = self.module_
        n_cells = self.codec_.n_columns
        drop = torch.rand(len(X), n_cells, generator=generator) < self.noise_level
        return NOISES[noise](
            X, drop.to(X.device), module.cell_of_input, module.masked_input, generator
        )

    def _corrupts_validation(self):
        # With noise, early stopping measures how well hidden cells are predicted,
        # not how well visible ones are copied.
        return self._noise() is not None

    def _reconstruction_errors(self, reconstruction, X, reduction="none"):
        """Weighted loss of each cell ``(B, n_columns)``, zero where missing, or their mean.

        The mean (``reduction="mean"``) is over the observed cells: the
        training loss of the base's ``_training_loss``.
        """
        codec = self.codec_
        cells = codec.cell_losses(reconstruction, X) * self.module_.column_weights
        observed = codec.observed(X)
        if reduction == "none":
            return cells * observed
        return (cells * observed).sum() / observed.sum().clamp(min=1.0)

    def _output_activation(self):
        # Standardized values and logits: each column's loss applies its own link.
        return "identity"

    # --------------------------------------------------------- decoding
    def _as_output(self, table, like_input):
        """A decoded table, converted to the output container."""
        dense = _get_output_config("transform", self)["dense"]
        if dense == "polars":
            import polars as pl

            return pl.from_pandas(table)
        if dense == "default" and not like_input:
            return table.to_numpy(dtype=np.float32)
        return table

    def inverse_transform(self, X):
        """Decode codes back into a table.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_components)
            Codes, as returned by ``transform``.

        Returns
        -------
        X_original : DataFrame of shape (n_samples, n_features_in_)
            The reconstructed table, with the columns and dtypes seen during
            ``fit``: categories decoded to their labels (the most likely
            one), booleans as booleans, integers rounded. The index is ``X``'s
            when ``X`` is a DataFrame (as ``transform`` returns under
            ``set_output(transform="pandas")``), else a range. When ``fit``
            saw a plain array, an ndarray of float32 unless the output is set
            to pandas or polars.
        """
        check_is_fitted(self)
        codes = check_array(X, dtype=[np.float32, np.float64], input_name="X")
        if codes.shape[1] != self._n_features_out:
            raise ValueError(
                f"X has {codes.shape[1]} features, but inverse_transform expects "
                f"codes of {self._n_features_out} features (n_components)."
            )
        codec = self.codec_
        raw = self._map_batches(codes, self.module_.decode, codec.n_encoded_)
        index = X.index if isinstance(X, pd.DataFrame) else None
        return self._as_output(codec.decode(raw, index), like_input=codec.dtypes_ is not None)

    def impute(self, X, source=None):
        """Fill the missing cells of ``X`` from the reconstruction.

        Parameters
        ----------
        X : DataFrame or array-like of shape (n_samples, n_features_in_)
            A table with missing values (NaN, None or ``pd.NA``). Not modified.
        source : DataFrame or array-like of shape (n_samples, n_features_in_), default=None
            The table whose reconstruction fills ``X``'s missing cells, row
            for row: ``X`` itself when None, or e.g. ``X`` imputed once, its
            imputed cells shown as observed (``AutoencoderImputer``'s
            ``n_refinements``).

        Returns
        -------
        X_filled : DataFrame or ndarray
            A copy of ``X`` whose missing cells hold the decoded
            reconstruction (the most likely category, the rounded integer,
            ...). A DataFrame keeps its index, columns and dtypes; an array
            comes back as an array.
        """
        check_is_fitted(self)
        if self.missing != "learn":
            raise ValueError(
                f"impute needs a {type(self).__name__} fitted with missing='learn'; this one "
                f"has missing={self.missing!r}."
            )
        codec = self.codec_
        table = self._as_table(X, reset=False, min_samples=1)
        shown = table if source is None else self._as_table(source, reset=False, min_samples=1)
        raw = self._map_batches(
            codec.encode(shown), lambda batch: self.module_(batch)[0], codec.n_encoded_
        )
        decoded = codec.decode(raw, shown.index)
        return codec.fill(table, decoded, table.isna(), as_frame=isinstance(X, pd.DataFrame))

    def score_samples(self, X):
        """Negative reconstruction loss of each row (higher is better).

        Parameters
        ----------
        X : DataFrame or array-like of shape (n_samples, n_features_in_)
            Data to reconstruct.

        Returns
        -------
        scores : ndarray of shape (n_samples,), dtype float64
            Minus the weighted mean, over the row's observed cells, of the
            per-column losses (see the class description), computed by a
            float64 copy of the network, so that a row's score does not
            depend on the rows scored with it.
        """
        check_is_fitted(self)
        X = self._validate_input(X, reset=False)

        def negative_losses(module, batch):  # float64 throughout: (B, n_inputs) -> (B,)
            errors = self._reconstruction_errors(module(batch)[0], batch)
            observed = self.codec_.observed(batch)
            return -(errors.sum(1) / observed.sum(1).clamp(min=1.0))

        return self._score_batches(X, negative_losses)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = self.missing == "learn"
        return tags
