"""DenoisingAE: an autoencoder trained to reconstruct clean rows from corrupted ones."""

from numbers import Real

from sklearn.utils._param_validation import Interval, InvalidParameterError, StrOptions

from ._base import BaseAutoencoder
from ._data import tensor_rows
from ._docstrings import EXACT_PCA_START, fill_parameter_docs
from .nn import activate_idle_units, pca_linears
from .noise import NOISE_ALIASES, NOISES, PROBABILITY_NOISES, corrupt

__all__ = ["DenoisingAE"]


@fill_parameter_docs(**EXACT_PCA_START)
class DenoisingAE(BaseAutoencoder):
    """Denoising autoencoder: learns to undo a corruption of its input.

    Each training batch is corrupted afresh (by ``noise``, drawn from
    ``random_state``) before it enters the encoder, and the network is
    trained to reconstruct the clean batch (Vincent et al., 2008, 2010). To
    undo the noise the code must capture how the features depend on one
    another, not copy them, so the code may be wider than the input
    (``n_components > n_features``). The corruption is the public function
    :func:`skae.noise.corrupt`.

    Only training batches are corrupted, afresh at every step:
    ``transform``, ``inverse_transform``, ``score`` and ``score_samples``
    use the clean input. With ``early_stopping``, the validation loss is
    what training minimizes, the error in reconstructing the clean
    validation rows from a corrupted copy, drawn once per ``fit`` so that
    epochs are compared on the same noise.

    Parameters
    ----------
    n_components : int, default=2
        Size of the code. May exceed ``n_features`` (an overcomplete code).
    noise : {"gaussian", "masking", "salt_pepper", "swap"}, default="masking"
        The corruption of a training batch:

        - ``"gaussian"``: add Gaussian noise of standard deviation
          ``noise_level`` to every entry;
        - ``"masking"``: set each entry to zero with probability ``noise_level``
          (``"mask"``, the spelling :class:`TabularAE` used, is accepted too);
        - ``"salt_pepper"``: set each entry, with probability ``noise_level``,
          to the minimum or the maximum (equally likely) of its column in the
          batch;
        - ``"swap"``: replace each entry, with probability ``noise_level``, by
          the same column's value in another row of the batch drawn at random.
    noise_level : float, default=0.2
        Standard deviation of the Gaussian noise, or probability that an entry
        is corrupted, which must then be below 1.
    hidden_layer_sizes : array-like of int, default=(256, 128)
        Widths of the encoder's hidden layers; the decoder mirrors them. An
        empty tuple gives a single linear layer each way.
    activation : {"relu", "tanh", "logistic", "sigmoid", "elu", "gelu", "selu", \
"leaky_relu", "identity"}, default="relu"
        Activation of the hidden layers.
    output_activation : {"auto", "identity", "sigmoid"}, default="auto"
        Activation of the reconstruction. ``"auto"`` is ``"sigmoid"`` for
        ``loss="bce"`` and ``"identity"`` otherwise.
    loss : {"mse", "bce"}, default="mse"
        Reconstruction loss. ``"bce"`` (binary cross-entropy) needs data in [0, 1].
    init : {"pca", "random"}, default="pca"
        %(init)s
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
        %(early_stopping)s
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
        Seed for weight initialization, shuffling, dropout and the
        corruption. Pass an int for reproducible results.
    verbose : int, default=0
        Show a progress bar over epochs when positive.
    callbacks : list of skorch callbacks or (name, callback) tuples, default=None
        Passed to the skorch training engine (copied at ``fit``).
    warm_start : bool, default=False
        Whether ``fit`` continues from the current weights and optimizer
        state. The training parameters (``learning_rate_init``, ``alpha``,
        ``batch_size``, ``early_stopping``, ...) are read anew at each call;
        changing one the architecture depends on (``n_components``,
        ``hidden_layer_sizes``, ``activation``, ...) raises an error.
    pretraining : {"layerwise"} or None, default=None
        %(pretraining)s
    pretraining_max_iter : int, default=20
        Epochs per layer of the greedy phase.

    distributed : bool, default=False
        %(distributed)s

    Attributes
    ----------
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
    pretraining_loss_curves_ : list of list of float
        With ``pretraining="layerwise"``, the training loss of each layer's
        shallow autoencoder at each epoch of the greedy phase. These epochs
        also start ``loss_curve_`` and ``history_`` (rows with
        ``phase="pretraining"`` and ``layer``).
    n_features_in_ : int
        Number of features seen during ``fit``.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Names of features seen during ``fit``, when they are all strings.

    See Also
    --------
    skae.noise.corrupt : The corruption, usable on its own.
    AutoencoderTransformer : The same network without corruption.

    References
    ----------
    Vincent, P., Larochelle, H., Bengio, Y., & Manzagol, P.-A. (2008).
    Extracting and composing robust features with denoising autoencoders.
    ICML, 1096-1103.

    Vincent, P., Larochelle, H., Lajoie, I., Bengio, Y., & Manzagol, P.-A.
    (2010). Stacked denoising autoencoders. JMLR, 11, 3371-3408.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from sklearn.preprocessing import MinMaxScaler
    >>> from skae import DenoisingAE
    >>> X = MinMaxScaler().fit_transform(load_digits().data)
    >>> dae = DenoisingAE(n_components=5, noise="swap", noise_level=0.15,
    ...                   max_iter=5, random_state=0)
    >>> dae.fit_transform(X).shape
    (1797, 5)
    >>> dae.score(X) < 0  # negative reconstruction error of the clean rows
    True
    """

    _parameter_constraints: dict = {
        **BaseAutoencoder._parameter_constraints,
        "noise": [StrOptions(set(NOISES) | set(NOISE_ALIASES))],
        "noise_level": [Interval(Real, 0, None, closed="left")],
    }

    _allows_overcomplete = True

    def __init__(
        self,
        n_components=2,
        *,
        noise="masking",
        noise_level=0.2,
        hidden_layer_sizes=(256, 128),
        activation="relu",
        output_activation="auto",
        loss="mse",
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
        pretraining=None,
        pretraining_max_iter=20,
        distributed=False,
    ):
        self.n_components = n_components
        self.noise = noise
        self.noise_level = noise_level
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.output_activation = output_activation
        self.loss = loss
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
        self.pretraining = pretraining
        self.pretraining_max_iter = pretraining_max_iter
        self.distributed = distributed

    def _adjust_start(self, module, X):
        super()._adjust_start(module, X)
        if self.init == "pca":  # let the units beyond PCA's rank learn
            activate_idle_units(*pca_linears(module), tensor_rows(X))

    def _validate_params(self):
        super()._validate_params()
        noise = NOISE_ALIASES.get(self.noise, self.noise)
        if noise in PROBABILITY_NOISES and self.noise_level >= 1:
            raise InvalidParameterError(
                f"The 'noise_level' parameter of {type(self).__name__} must be a float "
                f"in the range [0, 1) for noise={noise!r}, where it is the probability "
                f"that an entry is corrupted. Got {self.noise_level!r} instead."
            )

    def _corrupts_validation(self):
        # Early stopping scores what training optimizes, the denoising of the
        # validation rows, corrupted once per fit so that epochs compare alike.
        return True

    def _corrupt(self, X, generator):
        return corrupt(X, self.noise, self.noise_level, generator)  # (B, n_features)
