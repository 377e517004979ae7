"""BaseAutoencoder: the scikit-learn contract shared by every skae autoencoder."""

import copy
import math
from numbers import Integral, Real

import numpy as np
import torch
import torch.nn.functional as F
from sklearn.base import (
    BaseEstimator,
    ClassNamePrefixFeaturesOutMixin,
    TransformerMixin,
    _fit_context,
)
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_array, check_is_fitted

from ._budget import (
    SELECTION_RULES,
    refit_epochs,
)
from ._data import (
    CorruptedOnce,
    LazyRows,
    abs_max,
    is_dask_collection,
    lazy_rows,
    map_dask_blocks,
    streamed_pca,
)
from ._distributed import active_parallel, check_process_group, data_parallel
from ._engine import DivergenceError
from ._output import output_container
from ._pretraining import PRETRAINING_METHODS, pretrain
from ._random import draw_seed, seeded_torch, torch_generator
from ._rollback import rollback_on_error
from ._threads import torch_threads
from ._training import OPTIMIZERS, engine_settings, new_early_stopping, new_engine
from ._training_length import TrainingLength
from ._validation import (
    FLOAT32_MAX,
    AvailableDevice,
    PositiveIntegerSizes,
    comparable,
    map_batches,
    resolve_device,
    to_tensor,
    validate_numeric,
)
from .nn import (
    ACTIVATIONS,
    Autoencoder,
    init_linear_pca,
    linearize_sigmoid_output,
    make_encoder_decoder,
    pca_linears,
)

__all__ = ["BaseAutoencoder"]

# Reconstruction losses: loss(reconstruction, X, reduction="mean" | "none").
RECONSTRUCTION_LOSSES = {"mse": F.mse_loss, "bce": F.binary_cross_entropy}

def validated_input(autoencoder, X):
    """``X`` validated against the fitted ``autoencoder``, as its network reads it.

    That is what the autoencoder's ``transform`` encodes: a ``TabularAE``'s
    one-hot columns, standardized numbers and missing indicators, a float
    array (or ``LazyRows``) for the others. The supervised heads read their
    input through this function; ``_validate_input`` stays the hook a
    subclass overrides.
    """
    return autoencoder._validate_input(X, reset=False)


class BaseAutoencoder(
    TrainingLength, ClassNamePrefixFeaturesOutMixin, TransformerMixin, BaseEstimator
):
    """Base class for skae autoencoders; not for direct use.

    Subclasses declare their hyperparameters in ``__init__`` and override
    some of these hooks:

    * ``_build_network(n_features)``: the torch module, whose ``forward``
      returns ``(reconstruction, code, ...)`` and which has ``encode`` and
      ``decode``, built from the parameters alone (``skae.load`` rebuilds a
      saved network with it);
    * ``_adjust_start(module, X)``: the start, set from the training rows
      (PCA's solution with ``init="pca"``). The one place a start reads the
      data, through the streamed PCA (``_pca_solution``) or block by block,
      so that overriding it keeps out-of-core fitting;
    * ``_corrupt(X, generator)``: the batch the network sees during training
      (the clean batch by default), with ``_corrupts_validation()`` saying
      whether early stopping scores corrupted validation rows too;
    * ``_penalty(output, X_input)``: a term added to the reconstruction loss
      (none by default).

    Everything else, from validation to the training loop and batched
    inference, lives here and in ``skae._engine``.

    Three class attributes declare what the fast paths may assume about a
    class's hooks (in the spirit of scikit-learn's tags):

    * ``_hand_backprop``: the training loss is the mean squared
      reconstruction error (with ``loss="mse"``) plus the penalty that
      ``_code_penalty_and_grad(code)`` returns with its gradient with respect
      to the code (none when it is ``None``), so the hand-written backward
      pass of ``skae._backprop`` may replace autograd. Vouches for
      ``_training_loss``, ``_reconstruction_errors``, ``_penalty`` and
      ``_code_penalty_and_grad``.
    * ``_lazy_fit``: ``fit`` can train on rows left where they are
      (``numpy.memmap``, ``scipy.sparse``; see ``skae._data``), reading them
      one batch or block at a time. Vouches for ``_build_module``,
      ``_training_tensors``, ``_validate_input``, ``_fit`` and
      ``_check_fit_data``. ``_build_network`` reads no data and
      ``_adjust_start`` reads it only through streamed helpers (its
      contract), so overriding them keeps the flag.
    * ``_network_is_transform``: ``transform`` and ``inverse_transform`` are
      the network alone, so that ``skae.export_onnx`` reproduces them.
      Vouches for ``transform``, ``inverse_transform``, ``_validate_input``
      and ``_map_batches``.

    Each is true here. A flag vouches for the hooks of the class that
    declares it and of the classes above: a class that takes one of those
    hooks from further down its method resolution order (its own body, or a
    mixin) loses the flag, set to False when the class is created, unless
    its own body declares the flag again. So a ``SparseAE`` subclass that
    overrides ``_penalty`` trains its own penalty with autograd, where
    ``SparseAE``, which defines ``_penalty`` and ``_code_penalty_and_grad``
    together, declares ``_hand_backprop = True``.

    Examples
    --------
    A new autoencoder overrides a hook; here, a small L2 penalty on the code:

    >>> import numpy as np
    >>> from skae import AutoencoderTransformer, BaseAutoencoder
    >>> class ShrunkCodeAE(AutoencoderTransformer):
    ...     def _penalty(self, output, X_input):
    ...         return 1e-3 * output[1].pow(2).mean()  # output = (reconstruction, code)
    >>> X = np.random.RandomState(0).normal(size=(100, 6))
    >>> ae = ShrunkCodeAE(n_components=2, hidden_layer_sizes=(8,), max_iter=3,
    ...                   random_state=0).fit(X)
    >>> isinstance(ae, BaseAutoencoder), ae.transform(X).shape
    (True, (100, 2))
    """

    _parameter_constraints: dict = {
        "n_components": [Interval(Integral, 1, None, closed="left")],
        "hidden_layer_sizes": [PositiveIntegerSizes()],
        "activation": [StrOptions(set(ACTIVATIONS))],
        "output_activation": [StrOptions({"auto", "identity", "sigmoid"})],
        "loss": [StrOptions(set(RECONSTRUCTION_LOSSES))],
        "init": [StrOptions({"pca", "random"})],
        "dropout": [Interval(Real, 0, 1, closed="left")],
        "batch_norm": ["boolean"],
        "alpha": [Interval(Real, 0, None, closed="left")],
        "batch_size": [Interval(Integral, 1, None, closed="left"), StrOptions({"auto"})],
        "learning_rate_init": [Interval(Real, 0, None, closed="neither")],
        "max_iter": [Interval(Integral, 1, None, closed="left"), StrOptions({"auto"})],
        "optimizer": [StrOptions(set(OPTIMIZERS)), type],
        "early_stopping": ["boolean", StrOptions({"auto"})],
        "validation_fraction": [Interval(Real, 0, 1, closed="neither")],
        "n_iter_no_change": [Interval(Integral, 1, None, closed="left"), StrOptions({"auto"})],
        "tol": [Interval(Real, 0, None, closed="left")],
        "device": [AvailableDevice()],
        "n_jobs": [
            Interval(Integral, 1, None, closed="left"),
            Interval(Integral, None, -1, closed="right"),
            None,
        ],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
        "callbacks": [list, None],
        "warm_start": ["boolean"],
        "pretraining": [StrOptions(PRETRAINING_METHODS), None],
        "pretraining_max_iter": [Interval(Integral, 1, None, closed="left")],
        "distributed": ["boolean"],
    }

    # Whether a code wider than the input is allowed (a regularizer must then
    # keep the network from learning the identity).
    _allows_overcomplete = False
    # Activation of the code layer.
    _code_activation = "identity"
    # Parameters the network's architecture depends on: fixed once it is built
    # (warm_start and partial_fit refuse a change).
    _architecture_params = (
        "n_components",
        "hidden_layer_sizes",
        "activation",
        "output_activation",
        "loss",
        "init",
        "dropout",
        "batch_norm",
    )

    # Whether ``distributed=True`` trains one model over a process group (skae._distributed),
    # and why not when it does not.
    _supports_distributed = True
    _no_distributed_reason = ""

    # Capability flags (see the class docstring) and the hooks each vouches for.
    _hand_backprop = True
    _lazy_fit = True
    _network_is_transform = True
    _CAPABILITY_HOOKS = {
        "_hand_backprop": (
            "_training_loss",
            "_reconstruction_errors",
            "_penalty",
            "_code_penalty_and_grad",
        ),
        "_lazy_fit": (
            "_build_module",
            "_training_tensors",
            "_validate_input",
            "_fit",
            "_check_fit_data",
        ),
        "_network_is_transform": (
            "transform",
            "inverse_transform",
            "_validate_input",
            "_map_batches",
        ),
    }

    def __init_subclass__(cls, **kwargs):
        """Withdraw each flag that a hook of the new class comes from below (see the docstring)."""
        super().__init_subclass__(**kwargs)
        mro = cls.__mro__

        def depth(name):  # position in the MRO of the class that defines ``name``
            return next((i for i, owner in enumerate(mro) if name in vars(owner)), len(mro))

        for flag, hooks in cls._CAPABILITY_HOOKS.items():
            if any(depth(hook) < depth(flag) for hook in hooks):
                setattr(cls, flag, False)

    # ------------------------------------------------------------------ hooks
    def _build_module(self, X):
        """The torch module for training rows ``X``, at its start.

        ``_build_network`` builds it (torch's random initialization), then
        ``_adjust_start`` sets the start from ``X``. Subclasses override
        those two, not this.
        """
        module = self._build_network(X.shape[1])
        self._adjust_start(module, X)
        return module

    def _build_network(self, n_features):
        """The untrained torch module for inputs of ``n_features`` columns, from the parameters.

        Reads no data: ``skae.load`` rebuilds a fitted estimator's network
        with it before loading the saved weights.
        """
        encoder, decoder, _ = make_encoder_decoder(
            n_features,
            self.hidden_layer_sizes,
            self.n_components,
            n_features,
            linear_path=self.init == "pca" and len(self.hidden_layer_sizes) > 0,
            code_activation=self._code_activation,
            output_activation=self._output_activation(),
            activation=self.activation,
            dropout=self.dropout,
            batch_norm=self.batch_norm,
        )
        return Autoencoder(encoder, decoder)

    def _adjust_start(self, module, X):
        """Set ``module``'s start from the training rows ``X``, in place.

        ``X`` is a float32 ndarray, or a ``LazyRows`` for rows left where
        they are: read it with ``self._pca_solution`` (the streamed PCA every
        start shares), ``skae._data.tensor_rows`` (for ``skae.nn``'s start
        functions) or ``skae._data.row_blocks``, never whole, and the class
        keeps ``_lazy_fit``. Here: with ``init="pca"``, PCA's projection and
        reconstruction (``skae.nn.init_linear_pca``), linearized under a
        sigmoid output.
        """
        if self.init != "pca":
            return
        encoder_linear, decoder_linear = pca_linears(module)
        components, mean = self._pca_solution(X)
        init_linear_pca(encoder_linear, decoder_linear, components, mean)
        if self._output_activation() == "sigmoid":
            linearize_sigmoid_output(decoder_linear, mean)

    def _corrupt(self, X, generator):
        """Return the training batch the network sees; the clean batch by default."""
        return X

    def _penalty(self, output, X_input):
        """Return a term added to the training loss, or ``None``."""
        return None

    # How cross-validation chooses the training length: a name in
    # ``skae._budget.SELECTION_RULES``.
    _cv_rule = "surest_gain"

    @property
    def _selection_rule(self):
        return SELECTION_RULES[self._cv_rule]

    # ``code -> (penalty, gradient with respect to the code)``: ``_penalty`` and its
    # gradient for the hand-written backward pass, when the penalty depends on
    # the code alone; ``None`` when there is no penalty. A subclass that defines it
    # with ``_penalty`` declares ``_hand_backprop = True`` (see SparseAE).
    _code_penalty_and_grad = None

    # --------------------------------------------------------------- losses
    def _output_activation(self):
        if self.output_activation == "auto":
            return "sigmoid" if self.loss == "bce" else "identity"
        return self.output_activation

    def _reconstruction_errors(self, reconstruction, X, reduction="none"):
        """Reconstruction loss per element ``(B, n_features)``, or its mean."""
        return RECONSTRUCTION_LOSSES[self.loss](reconstruction, X, reduction=reduction)

    def _training_loss(self, output, X_clean, X_input, epoch=None):
        """The loss of a batch (``epoch``: the engine's epoch, unused here)."""
        if isinstance(X_clean, tuple):  # an (input, target) batch, e.g. corrupted and clean
            X_clean = X_clean[1]
        loss = self._reconstruction_errors(output[0], X_clean, reduction="mean")
        penalty = self._penalty(output, X_input)
        return loss if penalty is None else loss + penalty

    # ------------------------------------------------------------ fitting
    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Train the autoencoder on ``X``.

        A ``fit`` that raises leaves the estimator as it was before the
        call: fitted as before, or unfitted. So does Ctrl-C: the
        ``KeyboardInterrupt`` reaches the caller at once, with no further
        epoch or cross-validation fold (skae's early stopping ends training
        with its own signal, ``skae.StopTraining``). A loss that
        becomes NaN or infinite, or rises far above its value at the
        start (by more than 1,000 times its magnitude, at least 1), raises
        ``DivergenceError``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data, numeric. Scale it first (e.g. ``StandardScaler``).
        y : None
            Ignored.

        Returns
        -------
        self : object
            The fitted estimator.
        """
        warm = self.warm_start and self.__sklearn_is_fitted__()
        parallel = self._check_distributed()
        with self._rollback_on_error(warm), data_parallel(parallel):
            X = self._validate_fit_input(X, reset=not warm, min_samples=2)
            self._fit(X, reset=not warm, epochs=None, early_stopping=True)
        return self

    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y=None):
        """Train for one epoch on ``X``, continuing from the current weights.

        The first call initializes the network. Each call makes one pass over
        ``X`` whatever ``max_iter`` is; early stopping does not apply. The
        training parameters (``learning_rate_init``, ``alpha``,
        ``batch_size``, ...) are read anew at every call; those the network's
        architecture depends on cannot change between calls. A call that
        raises (Ctrl-C included) leaves the estimator as it was before it.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            A chunk of training data.
        y : None
            Ignored.

        Returns
        -------
        self : object
            The updated estimator.
        """
        warm = self.__sklearn_is_fitted__()
        parallel = self._check_distributed()
        with self._rollback_on_error(warm), data_parallel(parallel):
            X = self._validate_fit_input(X, reset=not warm, min_samples=1 if warm else 2)
            self._fit(X, reset=not warm, epochs=1, early_stopping=False)
        return self

    def _check_distributed(self):
        """The ``DataParallel`` of the process group when ``distributed=True``, else None.

        Raises (on every rank alike) without a process group, or with a
        setting data-parallel training does not cover.
        """
        parallel = check_process_group(getattr(self, "distributed", False))
        if parallel is not None and not self._supports_distributed:
            raise ValueError(
                f"{type(self).__name__} does not support distributed=True yet: "
                f"{self._no_distributed_reason} Set distributed=False."
            )
        return parallel

    def _validate_fit_input(self, X, *, reset, min_samples):
        """``_validate_input`` for ``fit``; under a process group, checked with every rank.

        With ``distributed=True``, a rank whose rows fail validation (or
        ``_check_fit_data``), or ranks with different numbers of features,
        make every rank raise (``DataParallel.check_rows``).
        """
        parallel = active_parallel()
        if parallel is None:
            return self._validate_input(X, reset=reset, min_samples=min_samples)

        def validate():
            rows = self._validate_input(X, reset=reset, min_samples=min_samples)
            self._check_fit_data(rows)
            return rows

        return parallel.check_rows(validate, type(self).__name__)

    def _n_rows(self, X):
        """Rows of ``X`` (``len``), summed over the ranks when training is distributed."""
        parallel = active_parallel()
        return len(X) if parallel is None else parallel.total(len(X))

    def _rollback_on_error(self, warm):
        """``rollback_on_error`` for this fit; a warm one also restores the engine's state."""
        if not warm:  # a new engine is built: the fitted one is not touched
            return rollback_on_error(self)
        net = self.net_
        checkpoint = net.checkpoint()
        return rollback_on_error(self, undo=lambda: net.restore(checkpoint).module_.eval())

    def _fit(self, X, *, reset, epochs, early_stopping):
        """Train on validated ``X``: a new network when ``reset``, else the current one.

        ``epochs=None`` trains for the budget's ``max_epochs``, stopping early
        as the budget says (``skae._budget``): on a validation split, or for
        a number of epochs chosen by cross-validation.
        """
        was_fitted = self.__sklearn_is_fitted__()
        n_epochs_before = len(self.net_.history) if was_fitted else 0
        # n_iter_ and n_epochs_ go on from their values when the network goes on training.
        counts_before = (0, 0) if reset else self._training_lengths()
        with torch_threads(self.n_jobs):
            if not reset:
                self._check_architecture_unchanged()
            self._check_fit_data(X)
            if isinstance(X, np.ndarray):  # what training sees, for float32 and float64 alike
                X = X.astype(np.float32, copy=False)
            n_rows = self._n_rows(X)
            budget = self._training_budget(n_rows, reset=reset, early_stopping=early_stopping)
            if reset:
                seed = draw_seed(self.random_state)
                generator, seed = self._rank_generator(seed)
            else:
                seed, generator = None, self.net_.generator
            torch_seed = draw_seed(generator)
            cross_validation = None
            try:
                if budget.validation == "cv":
                    cross_validation = self._cross_validated_epochs(X, budget, seed)
                    epochs = cross_validation.epochs
                    if self._selection_rule.refit_in_steps:
                        epochs = refit_epochs(
                            epochs, budget.n_fold_rows, n_rows, budget.batch_size
                        )
                    monitor, X_train, X_valid = None, X, None
                elif budget.validation == "holdout":
                    X_train, X_valid = self._holdout(X, budget.n_valid, generator)
                    monitor = "valid_loss"
                else:
                    X_train, X_valid, monitor = X, None, "train_loss"
                if reset:
                    self.net_ = self._start_engine(X_train, seed, generator, budget, monitor)
                    self._n_features_out = self.n_components
                    self._architecture_ = self._architecture()
                else:
                    self.net_.configure(**self._engine_settings(budget, monitor))
                epochs = budget.max_epochs if epochs is None else epochs
                if cross_validation is not None:
                    self._train_toward_start(X_train, epochs, torch_seed, cross_validation.alpha)
                else:
                    self._train(X_train, X_valid, epochs, torch_seed, pretraining=reset)
            except DivergenceError as error:
                outcome = (
                    " The estimator is left as it was before this call "
                    f"({n_epochs_before} epochs)."
                    if was_fitted
                    else " The estimator is left unfitted."
                )
                scale = abs_max(X)
                overflow = (
                    " Squared errors of values this large overflow float32."
                    if scale**2 > FLOAT32_MAX
                    else ""
                )
                raise DivergenceError(
                    f"{error} Largest absolute input value: {scale:.3g}.{overflow} Lower "
                    "learning_rate_init, or scale the data (e.g. StandardScaler)." + outcome
                ) from None
        self._set_fitted_attributes()
        epochs_run = len(self.history_) - (0 if reset else n_epochs_before)
        self._count_epochs(counts_before, epochs_run, cross_validation)
        self._set_validation_scores(None if cross_validation is None else cross_validation[:2])
        if cross_validation is not None:  # the returned weights' point of the path, shrunk or not
            self.best_validation_score_ = -cross_validation.loss
        return self

    def _rank_generator(self, seed):
        """The generator of shuffles and corruption, from ``seed``.

        Under a process group ``seed`` is rank 0's (the network starts from
        the same weights everywhere) and each rank's generator is seeded
        with ``seed + rank``, so that ranks draw different shuffles and noise.
        Without one, or on rank 0, seeded with ``seed``.
        """
        parallel = active_parallel()
        if parallel is not None:
            seed = parallel.broadcast_int(seed)
            return torch_generator(int(seed) + parallel.rank), seed
        return torch_generator(seed), seed

    def _start_engine(self, X_train, seed, generator, budget, monitor):
        """A new engine around a new network, its PCA start fitted on ``X_train`` only."""
        with seeded_torch(seed):  # the network is built on the CPU
            module = self._build_module(X_train)
        parallel = active_parallel()
        if parallel is not None:  # every rank starts from the same weights
            parallel.broadcast_module(module)
        return self._make_engine(module, generator, budget, monitor)

    def _train(self, X_train, X_valid, epochs, torch_seed, *, pretraining):
        """Pretrain (a new network, when asked for), then train ``net_`` for ``epochs`` epochs."""
        X_train, X_valid = self._training_tensors(X_train, X_valid, self.net_.generator)
        with seeded_torch(torch_seed, self.net_.device):  # dropout, sampling
            pretrained = self._pretrain(X_train) if pretraining else []
            if epochs > 0:
                self.net_.partial_fit(X_train, epochs=epochs, X_valid=X_valid)
            if pretrained:  # the greedy phase's epochs first, numbered with fine-tuning's
                self.net_.prepend_history(pretrained)

    def _pretrain(self, X_train):
        """Greedy layer-wise pretraining of ``net_``'s new network, when asked for.

        Sets ``pretraining_loss_curves_`` (or removes it) and returns the
        phase's history rows (``skae._pretraining.pretrain``).
        """
        if getattr(self, "pretraining", None) is None:
            self.__dict__.pop("pretraining_loss_curves_", None)
            return []
        curves, rows = pretrain(
            self.net_,
            X_train,
            n_epochs=self.pretraining_max_iter,
            reconstruction_errors=self._reconstruction_errors,
            corrupt=self._corrupt,
            keep_pca_start=self.init == "pca",
            lr=self.learning_rate_init,
            alpha=self.alpha,
            verbose=self.verbose,
        )
        self.pretraining_loss_curves_ = curves
        return rows

    def _architecture(self):
        """``{name: value}`` of the ``_architecture_params``, comparable from call to call."""
        params = self.get_params(deep=False)
        return {
            name: comparable(params[name]) for name in self._architecture_params if name in params
        }

    def _check_architecture_unchanged(self):
        """Refuse to train the existing network on parameters it was not built with."""
        built = getattr(self, "_architecture_", {})
        now = self._architecture()
        changed = [name for name in built if name in now and now[name] != built[name]]
        if changed:
            what = ", ".join(f"{name} from {built[name]!r} to {now[name]!r}" for name in changed)
            back = ", ".join(f"{name}={built[name]!r}" for name in changed)
            raise ValueError(
                f"{type(self).__name__} changed {what} since its network was built. "
                "warm_start=True and partial_fit continue training that network, whose "
                f"architecture is fixed: set {back} again, or fit with warm_start=False to "
                "train a new network."
            )

    def _engine_settings(self, budget, monitor):
        """The training engine's settings, read from the current parameters and ``budget``.

        ``monitor`` is what early stopping watches (``"valid_loss"`` or
        ``"train_loss"``), or None for a run of fixed length (the final fit
        after cross-validation), which never stops early.
        """
        stopping = self._early_stopping_callback()
        stopping.set_params(
            monitor=monitor or "train_loss",
            patience=budget.patience if monitor else math.inf,
            load_best=monitor == "valid_loss",
        )
        callbacks = [("early_stopping", stopping)]
        callbacks += [
            cb if isinstance(cb, tuple) else (f"user_{i}", cb)
            for i, cb in enumerate(copy.deepcopy(self.callbacks) if self.callbacks else [])
        ]
        return engine_settings(
            loss_fn=self._training_loss,
            corrupt=self._corrupt,
            **self._hand_backprop_settings(),
            optimizer=self.optimizer,
            alpha=self.alpha,
            lr=self.learning_rate_init,
            warmup_steps=budget.warmup_steps,
            parallel=active_parallel(),
            row_loss=self._row_loss(),
            max_epochs=budget.max_epochs,
            batch_size=budget.batch_size,
            callbacks=callbacks,
            device=self._device(),
            verbose=self.verbose,
        )

    def _row_loss(self):
        """The engine's ``row_loss``: validation losses by rows in float64, when the loss allows.

        That is when the training loss is the mean reconstruction error
        (``_training_loss`` and ``_penalty`` are the base's): early stopping
        and cross-validation then decide on losses in which a row counts the
        same whatever its batch. A penalty of the batch (``SparseAE``'s mean
        activation) has no per-row form: such estimators keep the mean of
        per-batch float32 losses.
        """
        own = type(self)
        plain = (
            own._training_loss is BaseAutoencoder._training_loss
            and own._penalty is BaseAutoencoder._penalty
        )
        return self._validation_row_losses if plain else None

    def _validation_row_losses(self, module, batch):
        """Each row's reconstruction error summed over its features, weighted by their count.

        ``module`` and ``batch`` (rows, or ``(input, target)`` rows) are
        float64; the validation loss is the sum of the losses over the sum
        of the weights, the mean reconstruction error of the rows.
        """
        X_input, X_clean = batch if isinstance(batch, tuple) else (batch, batch)
        errors = self._reconstruction_errors(module(X_input)[0], X_clean)  # (B, n_features)
        return errors.sum(1), torch.full((len(errors),), float(errors.shape[1]), dtype=errors.dtype)

    def _make_engine(self, module, generator, budget, monitor, initialize=True):
        """A training engine for ``module`` (``skae._training.new_engine``), from the settings."""
        settings = self._engine_settings(budget, monitor)
        return new_engine(module, generator, settings, initialize=initialize)

    def _hand_backprop_settings(self):
        """The engine's ``hand_backprop`` and ``code_penalty``: by hand when the loss allows.

        That is when the class declares ``_hand_backprop`` (the training loss
        is the mean squared reconstruction error plus the penalty of
        ``_code_penalty_and_grad``) and ``loss="mse"``.
        """
        if not (self._hand_backprop and self.loss == "mse"):
            return {"hand_backprop": False}
        return {"hand_backprop": True, "code_penalty": self._code_penalty_and_grad}

    def _early_stopping_callback(self):
        """The early-stopping callback; ``_engine_settings`` sets its monitor and patience."""
        return new_early_stopping(patience=math.inf, tol=self.tol, verbose=self.verbose)

    def _corrupts_validation(self):
        """Whether early stopping scores corrupted validation rows (see ``_training_tensors``)."""
        return False

    def _training_tensors(self, X_train, X_valid, generator):
        """The training and validation rows as float32 tensors on the training device.

        When ``_corrupts_validation()``, the validation rows are corrupted
        once per call, as ``(corrupted, clean)`` pairs, so that early
        stopping scores what training optimizes on the same noise at every
        epoch: all at once in memory, batch by batch (``CorruptedOnce``)
        for rows left where they are.
        """
        device = self.net_.device

        def tensor(rows):
            return rows.to(device) if isinstance(rows, LazyRows) else to_tensor(rows, device)

        X_train = tensor(X_train)
        if X_valid is None:
            return X_train, None
        X_valid = tensor(X_valid)
        if not self._corrupts_validation():
            return X_train, X_valid
        if isinstance(X_valid, LazyRows):
            seed = draw_seed(generator)
            return X_train, CorruptedOnce(X_valid, self._corrupt, seed)
        return X_train, (self._corrupt(X_valid, generator), X_valid)  # (input, target)

    def _set_fitted_attributes(self):
        """The attributes derived from the engine's history."""
        self.module_.eval()
        # Rows without a loss (an epoch interrupted by KeyboardInterrupt) are skipped.
        self.loss_curve_ = [float(row["train_loss"]) for row in self.history_ if "train_loss" in row]
        # Counted by _fit (cross-validation folds included); the history's length for a
        # network rebuilt from a file that did not store them.
        self.n_iter_ = self.n_epochs_ = len(self.history_)

    def _set_validation_scores(self, cross_validation=None):
        """``validation_scores_`` and ``best_validation_score_`` of this call, or none.

        ``cross_validation``: ``(epochs, mean_curve)`` when the number of
        epochs was chosen by cross-validation.
        """
        if cross_validation is not None:
            epochs, curve = cross_validation  # up to the count chosen on the folds
            self.validation_scores_ = [-float(loss) for loss in curve[: epochs + 1]]
            self.best_validation_score_ = self.validation_scores_[epochs]
            return
        stopping = dict(self.net_.callbacks_).get("early_stopping")
        losses = getattr(stopping, "valid_losses_", None)
        if losses:
            self.validation_scores_ = [-float(loss) for loss in losses]
            self.best_validation_score_ = self.validation_scores_[stopping.best_index_]
        else:  # no validation rows this time: earlier scores describe other weights
            for name in ("validation_scores_", "best_validation_score_"):
                self.__dict__.pop(name, None)

    @property
    def module_(self):
        """The trained torch module: the training engine's ``net_.module_``."""
        try:
            return self.net_.module_
        except AttributeError:
            raise AttributeError(f"{type(self).__name__} has no attribute 'module_'") from None

    @property
    def history_(self):
        """Per-epoch records: the training engine's ``net_.history``."""
        try:
            return self.net_.history
        except AttributeError:
            raise AttributeError(f"{type(self).__name__} has no attribute 'history_'") from None

    def _supports_lazy_fit(self):
        """Whether ``fit`` trains on rows left where they are (a ``LazyRows``)."""
        # The greedy layer-wise phase computes codes of the whole data at once.
        return self._lazy_fit and not getattr(self, "pretraining", None)

    def _device(self):
        return resolve_device(self.device)

    def _pca_solution(self, X):
        """PCA's components (zero-padded to ``n_components`` rows) and mean, as tensors.

        The same solver for in-memory, memmapped and sparse rows
        (``skae._data.streamed_pca``), so that the same rows give the same start.
        """
        parallel = active_parallel()
        if parallel is None:
            n_pca = min(self.n_components, *X.shape)
            components_, mean = streamed_pca(X, n_pca)
        else:  # from every rank's rows, the same on every rank
            components_, mean = parallel.pca(X, min(self.n_components, X.shape[1]))
            n_pca = len(components_)
        components = np.zeros((self.n_components, X.shape[1]), dtype=np.float32)
        components[:n_pca] = components_
        return torch.from_numpy(components), torch.as_tensor(mean, dtype=torch.float32)

    # --------------------------------------------------------- validation
    def _validate_input(self, X, *, reset, min_samples=1):
        # Memmaps, sparse and other sliceable arrays stay where they are (skae/_data.py).
        if self._supports_lazy_fit():
            lazy = lazy_rows(self, X, reset=reset, min_samples=min_samples, scan=reset)
            if lazy is not None:
                return lazy
        return validate_numeric(self, X, reset=reset, min_samples=min_samples)

    def _check_fit_data(self, X):
        n_features = X.shape[1]
        if self.n_components > n_features and not self._allows_overcomplete:
            raise ValueError(
                f"n_components={self.n_components} is larger than n_features={n_features}: "
                f"{type(self).__name__} with a code wider than its input can learn the "
                "identity. Lower n_components, or use DenoisingAE, SparseAE or "
                "ContractiveAE, which allow overcomplete codes."
            )
        # A margin for rounding: MinMaxScaler's output can reach 1 + 2e-16.
        margin = 1e-6
        if self.loss == "bce" and X.size and (X.min() < -margin or X.max() > 1 + margin):
            raise ValueError(
                f"loss='bce' needs data in [0, 1], but X ranges over "
                f"[{X.min():.3g}, {X.max():.3g}]. Scale it with MinMaxScaler, or use loss='mse'."
            )

    # ---------------------------------------------------------- inference
    def _map_batches(self, X, function, n_columns, dtype=np.float32, input_dtype=np.float32):
        """Apply ``function`` (tensor -> tensor) to row batches of ``X`` without gradients."""
        check_is_fitted(self)
        self.module_.eval()
        return map_batches(
            X,
            function,
            n_columns,
            device=self._scoring_device() if input_dtype == np.float64 else self.net_.device,
            n_jobs=self.n_jobs,
            dtype=dtype,
            input_dtype=input_dtype,
        )

    def _scoring_device(self):
        """Where the float64 scoring copy runs: the training device, or the CPU for MPS."""
        device = torch.device(self.net_.device)
        return "cpu" if device.type == "mps" else device  # MPS has no float64

    def _float64_module(self):
        """A float64 copy of ``module_``, in evaluation mode, for scores.

        In float32 a row's output changes in its last bits with the rows
        beside it (matrix products block and vectorize by batch size, and
        the kernels differ between CPUs); in float64 those differences stay
        near 1e-16, so that a score does not depend on its batch. A new copy
        at each call: it always matches the current weights.
        """
        check_is_fitted(self)
        return copy.deepcopy(self.module_).to(self._scoring_device()).double().eval()

    def _score_batches(self, X, function):
        """``function(module64, batch64)`` (one value per row) on batches of ``X``, float64."""
        module = self._float64_module()
        values = self._map_batches(
            X,
            lambda batch: function(module, batch).reshape(-1, 1),
            1,
            dtype=np.float64,
            input_dtype=np.float64,
        )
        return values[:, 0]

    def transform(self, X):
        """Encode ``X``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Data to encode.

        Returns
        -------
        X_new : ndarray of shape (n_samples, n_components), dtype float32
            The codes (a DataFrame under ``set_output(transform="pandas")``;
            a dask array, computed block by block, when ``X`` is a dask
            array or DataFrame).
        """
        check_is_fitted(self)
        if is_dask_collection(X):  # a lazy dask array of codes, block by block
            return map_dask_blocks(X, self.transform, self._n_features_out)
        X = self._validate_input(X, reset=False)
        return self._map_batches(X, self.module_.encode, self._n_features_out)

    def inverse_transform(self, X):
        """Decode codes back to the input space.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_components)
            Codes, as returned by ``transform``.

        Returns
        -------
        X_original : ndarray of shape (n_samples, n_features), dtype float32
            The reconstructions. When ``X`` is a DataFrame and the output is set
            to pandas or polars, a DataFrame with the original feature names
            and ``X``'s index.
        """
        check_is_fitted(self)
        codes = self._validated_codes(X)
        reconstruction = self._map_batches(codes, self.module_.decode, self.n_features_in_)
        return output_container(self, reconstruction, like=X)

    def _validated_codes(self, X):
        """``X`` checked as codes to decode: a float array of ``n_components`` columns."""
        codes = check_array(X, dtype=[np.float32, np.float64], input_name="X")
        if codes.shape[1] != self._n_features_out:
            raise ValueError(
                f"X has {codes.shape[1]} features, but inverse_transform expects "
                f"codes of {self._n_features_out} features (n_components)."
            )
        return codes

    def score_samples(self, X):
        """Negative reconstruction error of each row (higher is better).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Data to reconstruct.

        Returns
        -------
        scores : ndarray of shape (n_samples,), dtype float64
            Minus the mean over features of the per-element loss (squared
            error for ``loss="mse"``). The network runs in float64 here (a
            copy of ``module_``), so that a row's score does not depend on
            the rows scored with it, to about 1e-12.
        """
        check_is_fitted(self)
        X = self._validate_input(X, reset=False)

        def negative_errors(module, batch):  # float64 throughout: (B, n_features) -> (B,)
            return -self._reconstruction_errors(module(batch)[0], batch).mean(1)

        return self._score_batches(X, negative_errors)

    def score(self, X, y=None):
        """Negative mean reconstruction error on ``X`` (higher is better).

        This lets ``GridSearchCV`` compare settings at a fixed code size with
        no ``y`` and no scorer. It always prefers a wider code, so choose
        ``n_components`` by what the codes are for instead (e.g. a supervised
        final step of a ``Pipeline``, searched with ``y``).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Data to reconstruct.
        y : None
            Ignored.

        Returns
        -------
        score : float
            The mean of ``score_samples(X)``.
        """
        return float(np.mean(self.score_samples(X)))

    def __sklearn_is_fitted__(self):
        return hasattr(self, "module_")

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = self._supports_lazy_fit()
        tags.transformer_tags.preserves_dtype = ["float32"]
        # CUDA kernels may reduce in a different order from one run to the next.
        tags.non_deterministic = self._device() != "cpu"
        return tags
