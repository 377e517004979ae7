"""AutoencoderClassifier and AutoencoderRegressor: a head on a pretrained encoder.

The autoencoder learns from every row, labeled or not; the labeled rows then
train a head on its codes, first with the encoder frozen, then end to end.
Both phases run through ``skae._engine.TrainingEngine`` with a batch
``(X, y)``, like every other fit in skae.
"""

import copy
import warnings
from numbers import Integral, Real

import numpy as np
import scipy.sparse as sp
import torch
import torch.nn.functional as F
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin, clone, _fit_context
from sklearn.frozen import FrozenEstimator
from sklearn.utils import TransformerTags, check_random_state, get_tags
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import (
    check_array,
    check_consistent_length,
    _num_samples,
    check_is_fitted,
    column_or_1d,
    validate_data,
)
from skorch.callbacks import Callback

from ._base import (
    OPTIMIZERS,
    AvailableDevice,
    BaseAutoencoder,
    PositiveIntegerSizes,
    _discard,
    check_float32_range,
    map_batches,
    resolve_device,
)
from ._data import LazyRows
from ._engine import EarlyStoppingFromStart, TrainingEngine
from ._graph import induce, neighbor_affinity, spread_labels, unit_rows
from ._random import seeded_torch
from ._rollback import rollback_on_error
from ._threads import torch_threads
from .autoencoder import AutoencoderTransformer
from .denoising import DenoisingAE
from .nn import ACTIVATIONS, make_mlp

__all__ = ["AutoencoderClassifier", "AutoencoderRegressor"]

# Widest code of the default autoencoders (never wider than the input).
DEFAULT_N_COMPONENTS = 32

# How far the labels travel when they are spread to train the network on
# (the final spreading, to predict, uses ``spreading_alpha``).
PSEUDO_LABEL_ALPHA = 0.99

# Labeled rows held out to choose between the graph's and the head's
# predictions: this share of them, when it makes at least
# ``MIN_VALIDATION_PER_CLASS`` rows per class (fewer labels: the graph's;
# 30 rows in all chose worse at 5% labels: letter 0.742 -> 0.729).
VALIDATION_FRACTION = 0.1
MIN_VALIDATION_PER_CLASS = 5

# What a fit with ``n_neighbors`` (the label graph) sets and a fit without it does not.
GRAPH_ATTRIBUTES = (
    "label_distributions_",
    "_reference_rows",
    "_reference_codes",
    "_induction_neighbors",
    "_unit_norm_rows",
)

# The classifier's ``"auto"`` epochs: at least these many, and enough for
# these many optimizer steps (times the squared share of true labels) on
# small data.
AUTO_FROZEN_EPOCHS, AUTO_FROZEN_STEPS = 5, 150
AUTO_FINE_TUNING_EPOCHS, AUTO_FINE_TUNING_STEPS = 30, 1000

# The ways of predicting a classifier chooses from, preferred in this order on ties.
COMBINATIONS = ("graph", "mean", "head")


class _EncoderHead(torch.nn.Module):
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
    >>> from skae.supervised import _EncoderHead
    >>> net = _EncoderHead(Autoencoder(make_mlp([4, 2]), make_mlp([2, 4])), make_mlp([2, 3]))
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


class _Phase(Callback):
    """Record the training phase (``"frozen"`` or ``"fine-tuning"``) in the history."""

    def __init__(self, phase=None):
        self.phase = phase

    def on_epoch_end(self, net, **kwargs):
        net.history.record("phase", self.phase)


class _BaseAutoencoderSupervised(BaseEstimator):
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
            encoded = self.autoencoder_._validate_input(X, reset=False)
        return encoded

    # ------------------------------------------------------- subclass hooks
    def _encode_targets(self, y):
        """Return ``(labeled, targets)``: a row mask and the labeled rows' targets."""
        raise NotImplementedError

    def _loss(self, output, batch, X_input):
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
        with rollback_on_error(self):
            _check_2d_dense(X)
            validate_data(self, X, reset=True, skip_check_array=True)
            n_samples = _num_samples(X)  # the autoencoder checks the rest
            if n_samples < 2:
                raise ValueError(
                    f"Found array with {n_samples} sample(s) while a minimum of 2 is "
                    f"required by {type(self).__name__}."
                )
            y = column_or_1d(y, warn=True)
            check_consistent_length(X, y)
            labeled, targets = self._encode_targets(y)
            rng = check_random_state(self.random_state)
            self.autoencoder_ = self._fitted_autoencoder(X, rng)
            X_encoded = self._network_input(X, reset=False)
            if isinstance(X_encoded, LazyRows):  # the labeled rows go to the device whole
                X_encoded = X_encoded[0 : len(X_encoded)]
            seed = rng.randint(np.iinfo(np.int32).max)
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
        seed = rng.randint(np.iinfo(np.int32).max)
        if autoencoder is None:  # (no width for a malformed X: its validation will say so)
            n_features = max(1, getattr(self, "n_features_in_", 1))
            autoencoder = self._default_autoencoder(min(DEFAULT_N_COMPONENTS, n_features))
            autoencoder.set_params(random_state=seed)
        else:
            autoencoder = clone(autoencoder)
            if autoencoder.random_state is None:
                autoencoder.set_params(random_state=seed)
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
        return _EncoderHead(module, head).to(device)

    def _train(self, module, data, seed):
        """Train ``module`` on ``data`` (row-aligned arrays, the inputs first), both phases.

        Sets ``module_`` (the trained module, float64, evaluation mode),
        ``history_``, ``loss_curve_`` and ``n_iter_``.
        """
        device = self._device()
        # Copies on the device: the inputs in float32, the rest as they are.
        tensors = [torch.tensor(np.asarray(data[0], dtype=np.float32), device=device)]
        tensors += [torch.as_tensor(array, device=device) for array in data[1:]]
        phase = _Phase()
        engine = TrainingEngine(
            module,
            loss_fn=self._loss,
            generator=torch.Generator().manual_seed(int(seed)),
            optimizer=OPTIMIZERS.get(self.optimizer, self.optimizer),
            optimizer__weight_decay=self.alpha,
            lr=self.learning_rate_init,
            batch_size=self.batch_size,
            callbacks=[
                ("phase", phase),
                (  # raises skae's StopTraining: a KeyboardInterrupt reaches the caller
                    "early_stopping",
                    EarlyStoppingFromStart(
                        monitor="train_loss",
                        patience=self.n_iter_no_change,
                        threshold=self.tol,
                        threshold_mode="abs",
                        sink=print if self.verbose else _discard,
                    ),
                ),
            ],
            device=device,
            verbose=self.verbose,
        )
        engine.initialize()
        data = tuple(tensors)
        fine_tuning_rate = self.fine_tuning_learning_rate
        if fine_tuning_rate is None:
            fine_tuning_rate = self.learning_rate_init / 10
        frozen_epochs, fine_tuning_epochs = self._phase_epochs(len(tensors[0]))
        for phase.phase, epochs, rate in (
            ("frozen", frozen_epochs, self.learning_rate_init),
            ("fine-tuning", fine_tuning_epochs, fine_tuning_rate),
        ):
            if epochs:
                module.freeze_encoder(phase.phase == "frozen")
                for group in engine.optimizer_.param_groups:
                    group["lr"] = rate
                engine.partial_fit(data, epochs=epochs)
        module.freeze_encoder(False)
        self.history_ = engine.history
        self.loss_curve_ = [float(v) for v in self.history_[:, "train_loss"]]
        self.n_iter_ = len(self.history_)
        self.module_ = module.double().eval()

    def _phase_epochs(self, n_rows):
        """Epochs of the frozen and the fine-tuning phases, training on ``n_rows`` rows."""
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


_SHARED_PARAMETERS = """\
    autoencoder : skae autoencoder, FrozenEstimator of one, or None, default=None
        The autoencoder whose encoder the head sits on (e.g.
        ``AutoencoderTransformer``, ``DenoisingAE``, ``TabularAE``), cloned and
        trained on all rows of ``X``. The head reads what the encoder reads:
        the autoencoder's own encoding of ``X`` (a ``TabularAE``'s columns), so
        ``X`` is what the autoencoder takes. ``None`` uses
        {default_autoencoder}. An unset ``random_state``
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
    freeze_epochs : {epochs_type}, default={freeze_epochs}
        Epochs training the head with the encoder frozen (its weights, dropout
        and batch-norm statistics unchanged).{auto_frozen}
    max_iter : {epochs_type}, default={max_iter}
        Epochs fine-tuning encoder and head together afterwards. ``0`` keeps
        the encoder frozen (a probe on the autoencoder's codes).{auto_fine_tuning}
    learning_rate_init : float, default=1e-2
        Learning rate of the optimizer while the encoder is frozen.
    fine_tuning_learning_rate : float or None, default=None
        Learning rate of the fine-tuning phase; ``None`` uses
        ``learning_rate_init / 10``, so that a few labels do not undo what
        the encoder learned from all rows.
    batch_size : int, default={batch_size}
        {batch_rows} per batch.
    alpha : float, default={alpha}
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
"""

_SHARED_ATTRIBUTES = """\
    autoencoder_ : skae autoencoder
        The fitted autoencoder, as trained without labels (its encoder is not
        the fine-tuned one).
    module_ : skae.supervised._EncoderHead
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


def _parameters(**values):
    """The shared parameter section, with each estimator's defaults filled in."""
    text = _SHARED_PARAMETERS
    for key, value in values.items():
        text = text.replace("{" + key + "}", str(value))
    return text


_CLASSIFIER_PARAMETERS = _parameters(
    default_autoencoder="``DenoisingAE(n_components=min(32, n_features), "
    "hidden_layer_sizes=(256,), noise_level=0.3, max_iter=100)``",
    epochs_type='int or "auto"',
    freeze_epochs='"auto"',
    auto_frozen=(
        f'\n        ``"auto"``: {AUTO_FROZEN_EPOCHS} epochs, or enough for {AUTO_FROZEN_STEPS} '
        "optimizer steps\n        times the squared share of truly labeled rows among "
        "the training\n        rows, if more (small data)."
    ),
    max_iter='"auto"',
    auto_fine_tuning=(
        f'\n        ``"auto"``: {AUTO_FINE_TUNING_EPOCHS} epochs, or enough for '
        f"{AUTO_FINE_TUNING_STEPS} optimizer steps\n        times the squared share of "
        "truly labeled rows, if more."
    ),
    batch_size=128,
    batch_rows="Training rows (labeled or pseudo-labeled)",
    alpha="1e-4",
) + """\
    n_neighbors : int or None, default=10
        Neighbours of each row in the k-nearest-neighbour graphs the labels
        spread over (at most ``n_samples - 1``). ``None``: no graph, the
        unlabeled rows only train the autoencoder and the head learns from
        the labeled rows (the head's predictions).
    spreading_alpha : float in [0, 1), default=0.9
        How far the labels travel in the final spreading, the one that
        predicts: the weight of a row's neighbours against its own label
        (Zhou et al., 2004). The spreading that makes the network's pseudo
        labels uses 0.99.
    unlabeled_label : object, default=-1
        The label that marks an unlabeled row, as in scikit-learn's
        semi-supervised estimators; e.g. ``"unlabeled"`` or ``None`` with
        string classes.
"""


class AutoencoderClassifier(ClassifierMixin, _BaseAutoencoderSupervised):
    __doc__ = f"""Classifier on the encoder of an autoencoder, semi-supervised.

    Rows whose label is ``unlabeled_label`` (``-1`` by default, as in
    scikit-learn's semi-supervised estimators) are unlabeled. With the
    default ``n_neighbors=10`` the unlabeled rows are used three times:

    1. the autoencoder is trained on every row;
    2. the labels are spread (label spreading, Zhou et al., 2004) over the
       sum of two k-nearest-neighbour graphs of the training rows, one over
       the rows as the encoder reads them (scaled to unit norm when no value
       is negative, as pixels or counts, whose norm is an intensity) and one
       over the autoencoder's codes; every row gets the class the spreading
       gives it, weighted
       by its confidence (one minus the normalized entropy), and the
       encoder with a head (linear by default) is trained on all rows with
       the cross-entropy loss: ``freeze_epochs`` epochs with the encoder
       frozen, then ``max_iter`` epochs end to end;
    3. the labels are spread again, ``spreading_alpha``, over the graphs of
       the rows and of the fine-tuned codes; a new row gets the weighted mean
       of the label distributions of its ``n_neighbors`` nearest training
       rows, in each space, averaged over the two.

    With many labels (at least {MIN_VALIDATION_PER_CLASS} rows per class in
    {VALIDATION_FRACTION:.0%} of the labeled rows), that share of them is held
    out of steps 2 and 3 (they stay, unlabeled, in the graphs) and decides
    between the graph's prediction, the head's and their mean (``combination_``);
    its labels join the final spreading, not the head's training. With
    fewer labels the graph's prediction is used. ``n_neighbors=None`` trains
    the head on the labeled rows only, on the pretrained encoder.

    Parameters
    ----------
{_CLASSIFIER_PARAMETERS}
    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        The labels seen among the labeled rows.
    label_distributions_ : ndarray of shape (n_samples, n_classes)
        The final spreading's class distribution of each training row (a
        labeled row's is its label); absent with ``n_neighbors=None``.
    combination_ : {{"graph", "head", "mean"}}
        What ``predict_proba`` returns: the graph's distributions, the head's
        softmax, or their mean (``"head"`` with ``n_neighbors=None``).
    combination_scores_ : dict
        Accuracy of each way of predicting on the held-out labeled rows;
        empty when no rows were held out.
{_SHARED_ATTRIBUTES}
    See Also
    --------
    sklearn.semi_supervised.LabelSpreading : Label spreading over the input features.
    sklearn.semi_supervised.SelfTrainingClassifier : Another way to use unlabeled rows.
    AutoencoderRegressor : The regression counterpart.

    References
    ----------
    Zhou, D., Bousquet, O., Lal, T. N., Weston, J., & Schölkopf, B. (2004).
    Learning with local and global consistency. NIPS 16, 321-328.

    Iscen, A., Tolias, G., Avrithis, Y., & Chum, O. (2019). Label propagation
    for deep semi-supervised learning. CVPR, 5070-5079.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.datasets import load_digits
    >>> from sklearn.preprocessing import MinMaxScaler
    >>> from skae import AutoencoderClassifier, DenoisingAE
    >>> X, y = load_digits(return_X_y=True)
    >>> X = MinMaxScaler().fit_transform(X)
    >>> y_partial = np.where(np.arange(len(y)) % 20 == 0, y, -1)  # 5% labeled
    >>> ae = DenoisingAE(n_components=16, hidden_layer_sizes=(64,), max_iter=5)
    >>> clf = AutoencoderClassifier(ae, freeze_epochs=2, max_iter=3, random_state=0)
    >>> clf.fit(X, y_partial).predict_proba(X[:3]).shape
    (3, 10)
    >>> clf.classes_
    array([0, 1, 2, 3, 4, 5, 6, 7, 8, 9])
    >>> clf.combination_
    'graph'
    """

    _parameter_constraints: dict = {
        **_BaseAutoencoderSupervised._parameter_constraints,
        "freeze_epochs": [Interval(Integral, 0, None, closed="left"), StrOptions({"auto"})],
        "max_iter": [Interval(Integral, 0, None, closed="left"), StrOptions({"auto"})],
        "n_neighbors": [Interval(Integral, 1, None, closed="left"), None],
        "spreading_alpha": [Interval(Real, 0, 1, closed="left")],
        "unlabeled_label": "no_validation",
    }

    def __init__(
        self,
        autoencoder=None,
        *,
        refit_autoencoder=True,
        head_hidden_layer_sizes=(),
        head_activation="relu",
        freeze_epochs="auto",
        max_iter="auto",
        learning_rate_init=1e-2,
        fine_tuning_learning_rate=None,
        batch_size=128,
        alpha=1e-4,
        optimizer="adam",
        n_iter_no_change=10,
        tol=1e-4,
        n_neighbors=10,
        spreading_alpha=0.9,
        unlabeled_label=-1,
        device="auto",
        n_jobs=None,
        random_state=None,
        verbose=0,
    ):
        self.autoencoder = autoencoder
        self.refit_autoencoder = refit_autoencoder
        self.head_hidden_layer_sizes = head_hidden_layer_sizes
        self.head_activation = head_activation
        self.freeze_epochs = freeze_epochs
        self.max_iter = max_iter
        self.learning_rate_init = learning_rate_init
        self.fine_tuning_learning_rate = fine_tuning_learning_rate
        self.batch_size = batch_size
        self.alpha = alpha
        self.optimizer = optimizer
        self.n_iter_no_change = n_iter_no_change
        self.tol = tol
        self.n_neighbors = n_neighbors
        self.spreading_alpha = spreading_alpha
        self.unlabeled_label = unlabeled_label
        self.device = device
        self.n_jobs = n_jobs
        self.random_state = random_state
        self.verbose = verbose

    @property
    def _n_outputs(self):
        return len(self.classes_)

    def _phase_epochs(self, n_rows):
        # Steps in proportion to the squared share of true labels among the
        # training targets: a long fit of pseudo labels learns their mistakes
        # (150 rows, 10% labeled: in proportion to the share lost 1-2 points).
        share = getattr(self, "_labeled_share", 1.0) ** 2
        batches = -(-n_rows // self.batch_size)
        frozen, fine_tuning = self.freeze_epochs, self.max_iter
        if frozen == "auto":
            steps = int(np.ceil(share * AUTO_FROZEN_STEPS))
            frozen = max(AUTO_FROZEN_EPOCHS, -(-steps // batches))
        if fine_tuning == "auto":
            steps = int(np.ceil(share * AUTO_FINE_TUNING_STEPS))
            fine_tuning = max(AUTO_FINE_TUNING_EPOCHS, -(-steps // batches))
        return frozen, fine_tuning

    @staticmethod
    def _default_autoencoder(n_components):
        return DenoisingAE(
            n_components=n_components, hidden_layer_sizes=(256,), noise_level=0.3, max_iter=100
        )

    def _encode_targets(self, y):
        unlabeled = _unlabeled_rows(y, self.unlabeled_label)
        labeled = ~unlabeled
        if not labeled.any():
            raise ValueError(
                f"Every label is the unlabeled marker unlabeled_label={self.unlabeled_label!r}: "
                "AutoencoderClassifier needs at least one labeled row of each of 2 classes. "
                "Label some rows, or fit an autoencoder (e.g. DenoisingAE) on X alone."
            )
        y_labeled = y[labeled]
        if y_labeled.dtype == object:  # e.g. strings and a -1 marker: only the labels remain
            y_labeled = np.asarray(y_labeled.tolist())
        check_classification_targets(y_labeled)
        self.classes_ = np.unique(y_labeled)
        if len(self.classes_) < 2:
            raise ValueError(
                f"AutoencoderClassifier needs labeled rows of at least 2 classes; got 1 "
                f"class ({np.asarray(self.classes_[0]).tolist()!r}) besides the unlabeled "
                f"rows (unlabeled_label={self.unlabeled_label!r}). Label some rows of "
                "another class, or fit an autoencoder (e.g. DenoisingAE) on X alone."
            )
        return labeled, np.searchsorted(self.classes_, y_labeled)

    def _loss(self, output, batch, X_input):
        if len(batch) == 2:
            return F.cross_entropy(output[0], batch[1])
        losses = F.cross_entropy(output[0], batch[1], reduction="none")
        weights = batch[2]
        return (losses * weights).sum() / weights.sum().clamp_min(1e-12)

    # ------------------------------------------------- graph (n_neighbors)
    def _fit_network(self, X, labeled, targets, seed):
        """Pseudo labels from the graphs, the network on all rows, the final spreading."""
        if self.n_neighbors is None:
            # What the graph of an earlier fit left would otherwise outlive it.
            for name in GRAPH_ATTRIBUTES:
                self.__dict__.pop(name, None)
            self._labeled_share = 1.0
            super()._fit_network(X, labeled, targets, seed)
            self.combination_, self.combination_scores_ = "head", {}
            return
        n_classes = len(self.classes_)
        n_neighbors = min(self.n_neighbors, len(X) - 1)
        labels = np.full(len(X), -1)
        labels[labeled] = targets
        held_out = self._held_out_rows(labels, seed)
        fit_labels = np.where(held_out, -1, labels)
        # Non-negative inputs (pixels, counts): their norm is an intensity, left out.
        self._unit_norm_rows = bool(np.nanmin(X) >= 0)
        rows = _graph_rows(X, self._unit_norm_rows)
        network = self._network(X)
        row_graph = neighbor_affinity(rows, n_neighbors)
        codes = self._codes_of(network, X)
        pseudo = spread_labels(
            row_graph + neighbor_affinity(codes, n_neighbors),
            fit_labels,
            n_classes,
            PSEUDO_LABEL_ALPHA,
        )
        confidence = 1.0 - _entropy(pseudo) / np.log(n_classes)
        confidence[fit_labels >= 0] = 1.0
        self._labeled_share = float(np.mean(fit_labels >= 0))
        self._train(
            network, (X, pseudo.argmax(axis=1), confidence.astype(np.float32)), seed
        )
        codes = self._codes_of(self.module_, X)
        graph = row_graph + neighbor_affinity(codes, n_neighbors)
        self.combination_, self.combination_scores_ = "graph", {}
        if held_out.any():
            graph_proba = spread_labels(graph, fit_labels, n_classes, self.spreading_alpha)
            head_proba = _softmax(self._map_batches(
                X[held_out], lambda batch: self.module_(batch)[0], n_classes
            ))
            candidates = _combinations(graph_proba[held_out], head_proba)
            truth = labels[held_out]
            self.combination_scores_ = {
                name: float(np.mean(proba.argmax(axis=1) == truth))
                for name, proba in candidates.items()
            }
            self.combination_ = max(COMBINATIONS, key=self.combination_scores_.get)
        self.label_distributions_ = spread_labels(graph, labels, n_classes, self.spreading_alpha)
        self._reference_rows, self._reference_codes = rows, codes
        self._induction_neighbors = min(self.n_neighbors, len(X))

    def _held_out_rows(self, labels, seed):
        """Mask of the labeled rows that choose ``combination_`` (none when labels are few)."""
        from sklearn.model_selection import train_test_split

        labeled = np.flatnonzero(labels >= 0)
        n_classes = len(self.classes_)
        n_held_out = int(VALIDATION_FRACTION * len(labeled))
        counts = np.bincount(labels[labeled], minlength=n_classes)
        mask = np.zeros(len(labels), dtype=bool)
        if n_held_out < MIN_VALIDATION_PER_CLASS * n_classes or counts.min() < 2:
            return mask
        _, chosen = train_test_split(
            labeled, test_size=n_held_out, stratify=labels[labeled], random_state=seed
        )
        mask[chosen] = True
        return mask

    def _codes_of(self, module, X):
        """Codes of ``X`` (the network's input) by ``module``'s encoder, float64."""
        with torch.no_grad():
            sample = torch.as_tensor(np.asarray(X[:1], dtype=np.float32))
            parameter = next(module.parameters())
            n_code = module.encode(sample.to(parameter.device, parameter.dtype)).shape[1]
        return map_batches(
            X,
            lambda batch: module.encode(batch),
            n_code,
            device=parameter.device,
            n_jobs=self.n_jobs,
            dtype=np.float64,
            input_dtype=np.float32 if parameter.dtype == torch.float32 else np.float64,
        )

    def predict_proba(self, X):
        """Class probabilities.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Data to classify.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes), dtype float64
            Probabilities of ``classes_``, in that order.
        """
        check_is_fitted(self)
        X = self._network_input(X, reset=False)
        if isinstance(X, LazyRows):
            X = X[0 : len(X)]
        n_classes = len(self.classes_)
        outputs = self._map_batches(
            X, lambda batch: torch.cat(self.module_(batch), dim=1), n_classes + self._n_code
        )
        head_proba = _softmax(outputs[:, :n_classes])
        if self.combination_ == "head":
            return head_proba
        k = self._induction_neighbors
        graph_proba = 0.5 * (
            induce(
                self._reference_rows,
                self.label_distributions_,
                _graph_rows(X, self._unit_norm_rows),
                k,
            )
            + induce(
                self._reference_codes,
                self.label_distributions_,
                outputs[:, n_classes:],
                k,
            )
        )
        return _combinations(graph_proba, head_proba)[self.combination_]

    @property
    def _n_code(self):
        return self.module_.head[0].in_features

    def predict(self, X):
        """Predict class labels.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Data to classify.

        Returns
        -------
        y : ndarray of shape (n_samples,)
            The most probable class of each row.
        """
        proba = self.predict_proba(X)
        return self.classes_[np.argmax(proba, axis=1)]

    def score(self, X, y, sample_weight=None):
        """Accuracy on ``X`` and its labels ``y``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Test rows.
        y : array-like of shape (n_samples,)
            Their labels, every one among ``classes_`` (no unlabeled marker).
        sample_weight : array-like of shape (n_samples,), default=None
            Weights of the rows.

        Returns
        -------
        score : float
            The mean accuracy.
        """
        check_is_fitted(self)
        labels = column_or_1d(y, warn=True)
        unseen = ~np.isin(labels, self.classes_)
        if unseen.any():
            found = list(dict.fromkeys(labels[unseen].tolist()))[:5]
            raise ValueError(
                f"y holds labels not seen at fit: {found} (first ones); the classifier knows "
                f"classes_={self.classes_.tolist()}. Score on rows of known classes only"
                + (
                    f", without the unlabeled marker {self.unlabeled_label!r}."
                    if self.unlabeled_label in found
                    else "."
                )
            )
        return super().score(X, y, sample_weight=sample_weight)


_REGRESSOR_PARAMETERS = _parameters(
    default_autoencoder="``AutoencoderTransformer(n_components=min(32, n_features), "
    "hidden_layer_sizes=(128,), max_iter=100)``",
    epochs_type="int",
    freeze_epochs=100,
    auto_frozen="",
    max_iter=50,
    auto_fine_tuning="",
    batch_size=32,
    batch_rows="Labeled rows",
    alpha="1e-2",
)


class AutoencoderRegressor(RegressorMixin, _BaseAutoencoderSupervised):
    __doc__ = f"""Regressor on the encoder of an autoencoder, semi-supervised.

    The autoencoder is trained on every row of ``X``, labeled or not; a head
    (linear by default) is then trained on the codes of the labeled rows
    with the encoder frozen for ``freeze_epochs`` epochs, and encoder and
    head are fine-tuned together for ``max_iter`` epochs, with the squared
    error on the standardized target. Rows whose target is NaN are
    unlabeled.

    Parameters
    ----------
{_REGRESSOR_PARAMETERS}
    Attributes
    ----------
{_SHARED_ATTRIBUTES}
    See Also
    --------
    AutoencoderClassifier : The classification counterpart.
    sklearn.neural_network.MLPRegressor : A network trained on labeled rows only.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.datasets import load_diabetes
    >>> from sklearn.preprocessing import StandardScaler
    >>> from skae import AutoencoderRegressor, AutoencoderTransformer
    >>> X, y = load_diabetes(return_X_y=True)
    >>> X = StandardScaler().fit_transform(X)
    >>> y_partial = np.where(np.arange(len(y)) % 2 == 0, y, np.nan)  # half labeled
    >>> ae = AutoencoderTransformer(n_components=5, hidden_layer_sizes=(16,), max_iter=5)
    >>> reg = AutoencoderRegressor(ae, freeze_epochs=5, max_iter=5, random_state=0)
    >>> reg.fit(X, y_partial).predict(X[:3]).shape
    (3,)
    """

    _n_outputs = 1

    @staticmethod
    def _default_autoencoder(n_components):
        return AutoencoderTransformer(
            n_components=n_components, hidden_layer_sizes=(128,), max_iter=100
        )

    def __init__(
        self,
        autoencoder=None,
        *,
        refit_autoencoder=True,
        head_hidden_layer_sizes=(),
        head_activation="relu",
        freeze_epochs=100,
        max_iter=50,
        learning_rate_init=1e-2,
        fine_tuning_learning_rate=None,
        batch_size=32,
        alpha=1e-2,
        optimizer="adam",
        n_iter_no_change=10,
        tol=1e-4,
        device="auto",
        n_jobs=None,
        random_state=None,
        verbose=0,
    ):
        self.autoencoder = autoencoder
        self.refit_autoencoder = refit_autoencoder
        self.head_hidden_layer_sizes = head_hidden_layer_sizes
        self.head_activation = head_activation
        self.freeze_epochs = freeze_epochs
        self.max_iter = max_iter
        self.learning_rate_init = learning_rate_init
        self.fine_tuning_learning_rate = fine_tuning_learning_rate
        self.batch_size = batch_size
        self.alpha = alpha
        self.optimizer = optimizer
        self.n_iter_no_change = n_iter_no_change
        self.tol = tol
        self.device = device
        self.n_jobs = n_jobs
        self.random_state = random_state
        self.verbose = verbose

    def _encode_targets(self, y):
        try:
            y = np.asarray(y, dtype=np.float64)
        except (TypeError, ValueError) as error:
            raise ValueError(f"AutoencoderRegressor needs a numeric target y: {error}") from None
        if np.isinf(y).any():
            raise ValueError(
                "Input y contains infinity; mark unlabeled rows with NaN, not inf."
            )
        labeled = ~np.isnan(y)
        if not labeled.any():
            raise ValueError(
                "Input y contains NaN only; NaN marks unlabeled rows, and "
                "AutoencoderRegressor needs some labeled rows."
            )
        y = y[labeled]
        check_float32_range(y, type(self).__name__, what="y")
        self._y_mean = float(y.mean())
        self._y_scale = float(y.std()) or 1.0
        return labeled, ((y - self._y_mean) / self._y_scale).astype(np.float32)

    def _loss(self, output, batch, X_input):
        return F.mse_loss(output[0][:, 0], batch[1])

    def predict(self, X):
        """Predict targets.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Data to predict.

        Returns
        -------
        y : ndarray of shape (n_samples,), dtype float64
            The predictions.
        """
        return self._outputs(X)[:, 0] * self._y_scale + self._y_mean


def _check_2d_dense(X):
    """Refuse sparse and non-2-D input with scikit-learn's messages (the head needs dense rows)."""
    if sp.issparse(X):
        check_array(X, accept_sparse=False)
    ndim = getattr(X, "ndim", None)
    if ndim is None and not hasattr(X, "columns"):  # lists and other array-likes
        ndim = np.asarray(X).ndim
    if ndim is not None and ndim != 2:
        check_array(X, dtype=None, ensure_all_finite=False)


def _unlabeled_rows(y, marker):
    """Mask of the entries of ``y`` equal to ``marker`` (NaN markers match NaN)."""
    if isinstance(marker, float) and np.isnan(marker):
        return np.asarray([isinstance(v, float) and np.isnan(v) for v in y.tolist()], dtype=bool)
    if y.dtype.kind in "USb" and not isinstance(marker, (str, bytes)):
        return np.zeros(len(y), dtype=bool)  # a string array holds no number
    if y.dtype.kind in "iufb" and isinstance(marker, (str, bytes)):
        return np.zeros(len(y), dtype=bool)
    return np.asarray([value == marker for value in y.tolist()], dtype=bool)


def _graph_rows(X, unit_norm):
    """The network's input rows as the graph sees them: missing values (NaN) as 0,
    scaled to unit norm if ``unit_norm``."""
    X = np.nan_to_num(np.asarray(X, dtype=np.float64), nan=0.0)
    return unit_rows(X) if unit_norm else X


def _entropy(distributions):
    """Shannon entropy (nats) of each row of ``distributions``."""
    safe = np.where(distributions > 0, distributions, 1.0)
    return -(distributions * np.log(safe)).sum(axis=1)


def _combinations(graph_proba, head_proba):
    """The candidate predictions: the graph's, the head's and their mean."""
    return {
        "graph": graph_proba,
        "mean": 0.5 * (graph_proba + head_proba),
        "head": head_proba,
    }


def _softmax(logits):
    logits = logits - logits.max(axis=1, keepdims=True)
    proba = np.exp(logits)
    return proba / proba.sum(axis=1, keepdims=True)
