"""The encoder-plus-head machinery shared by AutoencoderClassifier and AutoencoderRegressor.

The autoencoder learns from every row, labeled or not; the labeled rows then
train a head on its codes, first with the encoder frozen, then end to end.
Both phases run through one ``skae._engine.TrainingEngine`` with a batch
``(X, y)``, built by the engine factory (``skae._training``) like every
other fit in skae; the fine-tuning phase lowers its learning rate through
the engine (``configure``). ``BaseAutoencoderSupervised`` owns
``fit``, ``transform`` and the training of both phases; a subclass encodes
its targets, gives the loss and predicts.
"""

import copy
import warnings
from numbers import Integral, Real

import numpy as np
import scipy.sparse as sp
import torch
from sklearn.base import BaseEstimator, _fit_context, clone
from sklearn.frozen import FrozenEstimator
from sklearn.utils import TransformerTags, check_random_state, get_tags
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import (
    _num_samples,
    check_array,
    check_consistent_length,
    check_is_fitted,
    column_or_1d,
    validate_data,
)
from skorch.callbacks import Callback

from ._base import BaseAutoencoder, validated_input
from ._data import LazyRows
from ._distributed import active_parallel, check_process_group, data_parallel
from ._docstrings import render
from ._random import draw_seed, seeded_torch, torch_generator
from ._rollback import rollback_on_error
from ._threads import torch_threads
from ._training import OPTIMIZERS, engine_settings, new_early_stopping, new_engine
from ._validation import (
    AvailableDevice,
    PositiveIntegerSizes,
    map_batches,
    resolve_device,
)
from .nn import ACTIVATIONS, make_mlp

# Widest code of the default autoencoders (never wider than the input).
DEFAULT_N_COMPONENTS = 32


def _check_2d_dense(X):
    """Refuse sparse and non-2-D input with scikit-learn's messages (the head needs dense rows)."""
    if sp.issparse(X):
        check_array(X, accept_sparse=False)
    ndim = getattr(X, "ndim", None)
    if ndim is None and not hasattr(X, "columns"):  # lists and other array-likes
        ndim = np.asarray(X).ndim
    if ndim is not None and ndim != 2:
        check_array(X, dtype=None, ensure_all_finite=False)


class EncoderHead(torch.nn.Module):
    """An autoencoder's encoder followed by a head; ``forward`` returns ``(output, code)``.

    Used by ``AutoencoderClassifier`` and ``AutoencoderRegressor``. While the
    encoder is frozen (``freeze_encoder(True)``), its parameters do not
    require gradients and it stays in evaluation mode (no dropout, batch
    norm statistics unchanged), so training moves the head only.

    Parameters
    ----------
    autoencoder : torch.nn.Module
        A module with an ``encode`` method mapping ``(B, n_features)`` to
        codes ``(B, n_components)``; only the parameters ``encode`` uses
        receive gradients.
    head : torch.nn.Module
        Maps codes to outputs ``(B, n_outputs)``.

    Examples
    --------
    >>> import torch
    >>> from skae.nn import Autoencoder, make_mlp
    >>> from skae._head import EncoderHead
    >>> net = EncoderHead(Autoencoder(make_mlp([4, 2]), make_mlp([2, 4])), make_mlp([2, 3]))
    >>> output, code = net(torch.zeros(5, 4))
    >>> tuple(output.shape), tuple(code.shape)
    ((5, 3), (5, 2))
    """

    def __init__(self, autoencoder, head):
        super().__init__()
        self.autoencoder = autoencoder
        self.head = head
        self.encoder_frozen = False

    def freeze_encoder(self, frozen=True):
        """Freeze (or unfreeze) the encoder's parameters and training mode."""
        self.encoder_frozen = frozen
        for parameter in self.autoencoder.parameters():
            parameter.requires_grad_(not frozen)
        return self.train(self.training)

    def train(self, mode=True):
        super().train(mode)
        if self.encoder_frozen:
            self.autoencoder.eval()
        return self

    def encode(self, x):
        """Map inputs ``(B, n_features)`` to codes ``(B, n_components)``."""
        return self.autoencoder.encode(x)

    def forward(self, x):
        code = self.encode(x)  # (B, n_components)
        return self.head(code), code



class PhaseRecorder(Callback):
    """Record the training phase (``"frozen"`` or ``"fine-tuning"``) in the history."""

    def __init__(self, phase=None):
        self.phase = phase

    def on_epoch_end(self, net, **kwargs):
        net.history.record("phase", self.phase)


class BaseAutoencoderSupervised(BaseEstimator):
    """Shared fit and inference of AutoencoderClassifier and AutoencoderRegressor."""

    _parameter_constraints: dict = {
        "autoencoder": [BaseAutoencoder, FrozenEstimator, None],
        "refit_autoencoder": ["boolean"],
        "head_hidden_layer_sizes": [PositiveIntegerSizes()],
        "head_activation": [StrOptions(set(ACTIVATIONS))],
        "freeze_epochs": [Interval(Integral, 0, None, closed="left")],
        "max_iter": [Interval(Integral, 0, None, closed="left")],
        "learning_rate_init": [Interval(Real, 0, None, closed="neither")],
        "fine_tuning_learning_rate": [Interval(Real, 0, None, closed="neither"), None],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "alpha": [Interval(Real, 0, None, closed="left")],
        "optimizer": [StrOptions(set(OPTIMIZERS)), type],
        "n_iter_no_change": [Interval(Integral, 1, None, closed="left")],
        "tol": [Interval(Real, 0, None, closed="left")],
        "device": [AvailableDevice()],
        "n_jobs": BaseAutoencoder._parameter_constraints["n_jobs"],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
        "distributed": ["boolean"],
    }

    def _network_input(self, X, *, reset):
        """Validate ``X`` and return what the encoder's network reads from it.

        That is the autoencoder's own encoding of ``X``, the one its
        ``transform`` makes (a ``TabularAE``'s one-hot columns, standardized
        numbers and missing indicators; a float array for the others): the
        autoencoder validates ``X``, this estimator records its width and
        column names.
        """
        _check_2d_dense(X)
        validate_data(self, X, reset=reset, skip_check_array=True)
        with warnings.catch_warnings():  # said once, by this estimator's validation
            warnings.filterwarnings("ignore", message="X does not have valid feature names")
            warnings.filterwarnings("ignore", message="X has feature names, but")
            encoded = validated_input(self.autoencoder_, X)
        return encoded

    # ------------------------------------------------------- subclass hooks
    def _encode_targets(self, y):
        """Return ``(labeled, targets)``: a row mask and the labeled rows' targets.

        Local to this process: ``_finish_targets`` then sees every rank's targets.
        """
        raise NotImplementedError

    def _finish_targets(self, targets):
        """The targets the head learns, from ``_encode_targets``'s (every rank's if distributed)."""
        return targets

    def _check_distributed(self):
        """The ``DataParallel`` of the process group when ``distributed=True``, else None."""
        return check_process_group(getattr(self, "distributed", False))

    def _loss(self, output, batch, X_input, epoch=None):
        """The training loss of a batch ``(X, targets, ...)`` (``epoch``: the engine's)."""
        raise NotImplementedError

    # -------------------------------------------------------------- fitting
    @_fit_context(prefer_skip_nested_validation=False)
    def fit(self, X, y):
        """Train the autoencoder on all rows, then the head on the labeled rows.

        A ``fit`` that raises leaves the estimator as it was before the call.
        So does Ctrl-C: the ``KeyboardInterrupt`` reaches the caller at once,
        whether in the autoencoder's training (no head training follows) or
        in the head's.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data, labeled and unlabeled rows, as the autoencoder takes
            it (scaled numbers; a DataFrame of mixed columns for
            ``TabularAE``).
        y : array-like of shape (n_samples,)
            Targets; unlabeled rows are marked as described in the class
            docstring.

        Returns
        -------
        self : object
            The fitted estimator.
        """
        if self.freeze_epochs == 0 and self.max_iter == 0:
            raise ValueError(
                "freeze_epochs=0 and max_iter=0 would leave the head untrained: set "
                "freeze_epochs (frozen-encoder epochs) or max_iter (fine-tuning epochs) > 0."
            )
        if y is None:
            raise ValueError(
                f"{type(self).__name__} requires y to be passed, but the target y is None."
            )
        parallel = self._check_distributed()
        with rollback_on_error(self), data_parallel(parallel):

            def check_and_encode_targets():  # this process's rows
                _check_2d_dense(X)
                validate_data(self, X, reset=True, skip_check_array=True)
                n_samples = _num_samples(X)  # the autoencoder checks the rest
                if n_samples < 2:
                    raise ValueError(
                        f"Found array with {n_samples} sample(s) while a minimum of 2 is "
                        f"required by {type(self).__name__}."
                    )
                y_1d = column_or_1d(y, warn=True)
                check_consistent_length(X, y_1d)
                return self._encode_targets(y_1d)

            if parallel is None:
                labeled, targets = check_and_encode_targets()
            else:  # a rank whose rows fail stops every rank
                labeled, targets = parallel.agree(check_and_encode_targets, type(self).__name__)
            targets = self._finish_targets(targets)
            rng = check_random_state(self.random_state)
            self.autoencoder_ = self._fitted_autoencoder(X, rng)
            X_encoded = self._network_input(X, reset=False)
            if isinstance(X_encoded, LazyRows):  # the labeled rows go to the device whole
                X_encoded = X_encoded[0 : len(X_encoded)]
            seed = draw_seed(rng)
            with torch_threads(self.n_jobs), seeded_torch(seed, self._device()):
                self._fit_network(X_encoded, labeled, targets, seed)
        return self

    def _fit_network(self, X, labeled, targets, seed):
        """Train encoder + head on the labeled rows of ``X`` (the network's input)."""
        module = self._network(X)
        self._train(module, (X[labeled], targets), seed)

    def _fitted_autoencoder(self, X, rng):
        """The autoencoder to start from, fitted: a copy, the one passed is never modified."""
        autoencoder = self.autoencoder
        if isinstance(autoencoder, FrozenEstimator) or not self.refit_autoencoder:
            frozen = getattr(autoencoder, "estimator", autoencoder)
            how = (
                "FrozenEstimator(autoencoder)"
                if isinstance(autoencoder, FrozenEstimator)
                else "refit_autoencoder=False"
            )
            if frozen is None or not isinstance(frozen, BaseAutoencoder):
                raise ValueError(
                    f"{how} uses a fitted skae autoencoder as it is; got {frozen!r}. Pass "
                    "a fitted skae autoencoder, or refit_autoencoder=True to train one on X."
                )
            if not frozen.__sklearn_is_fitted__():
                raise ValueError(
                    f"{how} uses the autoencoder as it is, but this "
                    f"{type(frozen).__name__} is not fitted. Fit it first, or set "
                    "refit_autoencoder=True to train it on X."
                )
            n_features = getattr(self, "n_features_in_", frozen.n_features_in_)
            if frozen.n_features_in_ != n_features:
                raise ValueError(
                    f"The fitted autoencoder expects {frozen.n_features_in_} features, "
                    f"but X has {n_features}. Pass data with the same features, or set "
                    "refit_autoencoder=True to train it on X."
                )
            return copy.deepcopy(frozen)
        seed = draw_seed(rng)
        if autoencoder is None:  # (no width for a malformed X: its validation will say so)
            n_features = max(1, getattr(self, "n_features_in_", 1))
            autoencoder = self._default_autoencoder(min(DEFAULT_N_COMPONENTS, n_features))
            autoencoder.set_params(random_state=seed)
        else:
            autoencoder = clone(autoencoder)
            if autoencoder.random_state is None:
                autoencoder.set_params(random_state=seed)
        if active_parallel() is not None:  # trained over the ranks too
            autoencoder.set_params(distributed=True)
        return autoencoder.fit(X)

    def __sklearn_clone__(self):
        """An unfitted copy, except that a fitted autoencoder used as is stays fitted.

        With ``refit_autoencoder=False`` the fitted autoencoder is data, not a
        hyperparameter: inside ``GridSearchCV`` or ``cross_validate`` each
        clone starts from (a copy of) it, as with ``FrozenEstimator``.
        """
        cloned = super().__sklearn_clone__()
        if not self.refit_autoencoder and isinstance(self.autoencoder, BaseAutoencoder):
            if self.autoencoder.__sklearn_is_fitted__():
                cloned.autoencoder = copy.deepcopy(self.autoencoder)
        return cloned

    def _network(self, X):
        """A copy of the autoencoder's network with a new head, float32, on the device."""
        device = self._device()
        module = copy.deepcopy(self.autoencoder_.module_).to(device).float()
        with torch.no_grad():
            sample = torch.as_tensor(np.asarray(X[:1], dtype=np.float32), device=device)
            n_code = module.encode(sample).shape[1]
        head = make_mlp(
            [n_code, *[int(w) for w in self.head_hidden_layer_sizes], self._n_outputs],
            activation=self.head_activation,
        )
        network = EncoderHead(module, head).to(device)
        parallel = active_parallel()
        if parallel is not None:  # every rank starts from rank 0's head
            parallel.broadcast_module(network)
        return network

    def _train(self, module, data, seed, labeled_share=1.0):
        """Train ``module`` on ``data`` (row-aligned arrays, the inputs first), both phases.

        ``labeled_share`` is the share of true labels among the targets (the
        rest are pseudo labels), which ``_phase_epochs`` may read.

        Sets ``module_`` (the trained module, float64, evaluation mode),
        ``history_``, ``loss_curve_`` and ``n_iter_``.
        """
        device = self._device()
        # Copies on the device: the inputs in float32, the rest as they are.
        tensors = [torch.tensor(np.asarray(data[0], dtype=np.float32), device=device)]
        tensors += [torch.as_tensor(array, device=device) for array in data[1:]]
        fine_tuning_rate = self.fine_tuning_learning_rate
        if fine_tuning_rate is None:
            fine_tuning_rate = self.learning_rate_init / 10
        parallel = active_parallel()
        n_rows = len(tensors[0]) if parallel is None else parallel.total(len(tensors[0]))
        frozen_epochs, fine_tuning_epochs = self._phase_epochs(n_rows, labeled_share)
        phase = PhaseRecorder()
        stopping = new_early_stopping(  # raises skae's StopTraining, not KeyboardInterrupt
            patience=self.n_iter_no_change, tol=self.tol, verbose=self.verbose
        )
        settings = engine_settings(
            loss_fn=self._loss,
            optimizer=self.optimizer,
            alpha=self.alpha,
            fuse=False,
            lr=self.learning_rate_init,
            batch_size=self.batch_size,
            max_epochs=max(frozen_epochs, fine_tuning_epochs),
            callbacks=[("phase", phase), ("early_stopping", stopping)],
            parallel=parallel,  # distributed=True: gradients averaged over ranks
            device=device,
            verbose=self.verbose,
        )
        engine = new_engine(module, torch_generator(seed), settings)
        data = tuple(tensors)
        for phase.phase, epochs, rate in (
            ("frozen", frozen_epochs, self.learning_rate_init),
            ("fine-tuning", fine_tuning_epochs, fine_tuning_rate),
        ):
            if epochs:
                module.freeze_encoder(phase.phase == "frozen")
                engine.configure(lr=rate)
                engine.partial_fit(data, epochs=epochs)
        module.freeze_encoder(False)
        self.history_ = engine.history
        self.loss_curve_ = [float(v) for v in self.history_[:, "train_loss"]]
        self.n_iter_ = len(self.history_)
        self.module_ = module.double().eval()

    def _phase_epochs(self, n_rows, labeled_share):
        """Epochs of the frozen and the fine-tuning phases, training on ``n_rows`` rows
        of which a share ``labeled_share`` is truly labeled."""
        return self.freeze_epochs, self.max_iter

    def _device(self):
        return resolve_device(self.device)

    # ------------------------------------------------------------ inference
    def _map_batches(self, X, function, n_columns):
        """``function`` (float64 tensor -> tensor) on row batches of ``X``, no gradients."""
        device = next(self.module_.parameters()).device
        return map_batches(
            X,
            function,
            n_columns,
            device=device,
            n_jobs=self.n_jobs,
            dtype=np.float64,
            input_dtype=np.float64,
        )

    def _outputs(self, X):
        """Head outputs for ``X``, float64, shape ``(n_samples, n_outputs)``."""
        check_is_fitted(self)
        X = self._network_input(X, reset=False)
        return self._map_batches(X, lambda batch: self.module_(batch)[0], self._n_outputs)

    def transform(self, X):
        """Encode ``X`` with the fine-tuned encoder.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Data to encode.

        Returns
        -------
        codes : ndarray of shape (n_samples, n_components), dtype float64
            The codes the head sees.
        """
        check_is_fitted(self)
        X = self._network_input(X, reset=False)
        n_code = self.module_.head[0].in_features
        return self._map_batches(X, self.module_.encode, n_code)

    def fit_transform(self, X, y):
        """Fit on ``X`` and ``y``, then return the codes of ``X``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data.
        y : array-like of shape (n_samples,)
            Targets, with unlabeled rows marked.

        Returns
        -------
        codes : ndarray of shape (n_samples, n_components), dtype float64
            ``self.fit(X, y).transform(X)``.
        """
        return self.fit(X, y).transform(X)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        autoencoder = self.autoencoder
        if autoencoder is None:
            autoencoder = self._default_autoencoder(DEFAULT_N_COMPONENTS)
        inner = get_tags(autoencoder)
        # The inputs are the autoencoder's (e.g. NaN for TabularAE(missing="learn")),
        # dense: the head trains on the labeled rows at once.
        tags.input_tags = copy.copy(inner.input_tags)
        tags.input_tags.sparse = False
        # CUDA kernels may reduce in a different order from one run to the next.
        tags.non_deterministic = self._device() != "cpu" or inner.non_deterministic
        tags.transformer_tags = TransformerTags(preserves_dtype=["float64"])  # transform
        return tags


SHARED_PARAMETERS = """\
    autoencoder : skae autoencoder, FrozenEstimator of one, or None, default=None
        The autoencoder whose encoder the head sits on (e.g.
        ``AutoencoderTransformer``, ``DenoisingAE``, ``TabularAE``), cloned and
        trained on all rows of ``X``. The head reads what the encoder reads:
        the autoencoder's own encoding of ``X`` (a ``TabularAE``'s columns), so
        ``X`` is what the autoencoder takes. ``None`` uses
        %(default_autoencoder)s. An unset ``random_state``
        is drawn from this estimator's. A fitted autoencoder wrapped in
        :class:`sklearn.frozen.FrozenEstimator` is used as it is, like
        ``refit_autoencoder=False``.
    refit_autoencoder : bool, default=True
        If False, use the fitted ``autoencoder`` as it is (a copy: the original
        is never modified), e.g. an autoencoder trained on another dataset
        with the same features (transfer); an unfitted one is an error.
        ``clone``, and so ``GridSearchCV`` and ``cross_validate``, keep it
        fitted.
    head_hidden_layer_sizes : array-like of int, default=()
        Hidden layers of the head; ``()`` is a linear head on the codes.
    head_activation : {"relu", "tanh", "logistic", "sigmoid", "elu", "gelu", \
"selu", "leaky_relu", "identity"}, default="relu"
        Activation of the head's hidden layers.
    freeze_epochs : %(epochs_type)s, default=%(freeze_epochs)s
        Epochs training the head with the encoder frozen (its weights, dropout
        and batch-norm statistics unchanged).%(auto_frozen)s
    max_iter : %(epochs_type)s, default=%(max_iter)s
        Epochs fine-tuning encoder and head together afterwards. ``0`` keeps
        the encoder frozen (a probe on the autoencoder's codes).%(auto_fine_tuning)s
    learning_rate_init : float, default=1e-2
        Learning rate of the optimizer while the encoder is frozen.
    fine_tuning_learning_rate : float or None, default=None
        Learning rate of the fine-tuning phase; ``None`` uses
        ``learning_rate_init / 10``, so that a few labels do not undo what
        the encoder learned from all rows.
    batch_size : int, default=%(batch_size)s
        %(batch_rows)s per batch.
    alpha : float, default=%(alpha)s
        Weight decay (L2 penalty) of the trainable parameters.
    optimizer : {"adam", "adamw", "sgd", "rmsprop"} or torch optimizer class, \
default="adam"
        The optimizer.
    n_iter_no_change : int, default=10
        Each phase stops after this many epochs without an improvement of
        the training loss of at least ``tol``.
    tol : float, default=1e-4
        Minimal improvement of the training loss.
    device : str or torch.device, default="auto"
        Device of the head training and inference; ``"auto"`` uses CUDA when
        available, else the CPU. The autoencoder's own ``device`` decides
        where it is trained.
    n_jobs : int, default=None
        Number of torch threads while the head trains and during inference
        (see ``AutoencoderTransformer``); the autoencoder trains with its own
        ``n_jobs``.
    random_state : int, RandomState instance or None, default=None
        Seed for the autoencoder (when its own is unset), the head's
        initialization and shuffling.
    verbose : int, default=0
        Show progress bars over epochs when positive.
    distributed : bool, default=False
        Whether ``fit`` trains one model with the other ranks of the
        initialized ``torch.distributed`` process group (launched by
        ``torchrun`` or ``accelerate launch``), each rank passing its own rows
        and targets: the autoencoder is trained with ``distributed=True``
        (unless used as it is), the head's gradients are averaged over ranks
        at every step, and its epochs and early stopping count every rank's
        rows. Every rank needs labeled rows, and ends with the same fitted
        model. ``True`` without a process group is an error. See the user
        guide's *Distributed training*.{distributed_targets}
"""

SHARED_ATTRIBUTES = """\
    autoencoder_ : skae autoencoder
        The fitted autoencoder, as trained without labels (its encoder is not
        the fine-tuned one).
    module_ : skae._head.EncoderHead
        The fine-tuned encoder and the head, in float64 (evaluation mode).
    history_ : skorch.History
        Per-epoch records of the head training, with a ``"phase"`` key
        (``"frozen"`` or ``"fine-tuning"``).
    loss_curve_ : list of float
        Training loss at each epoch, both phases.
    n_iter_ : int
        Number of epochs of head training, both phases.
    n_features_in_ : int
        Number of features seen during ``fit``.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Names of features seen during ``fit``, when they are all strings.
"""


def parameters_doc(**values):
    """The shared parameter section, with each estimator's defaults filled in."""
    return render(SHARED_PARAMETERS, values)
