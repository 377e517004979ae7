"""ContractiveAE: an autoencoder whose code is penalized for reacting to small input changes."""

from numbers import Real

from sklearn.utils._param_validation import Interval, StrOptions

from ._base import BaseAutoencoder
from ._data import tensor_rows
from ._docstrings import fill_parameter_docs
from .nn import (
    activate_idle_units,
    linearize_sigmoid_code,
    pca_linears,
    scale_code_to_linear_range,
)
from .penalties import contractive

__all__ = ["ContractiveAE"]


@fill_parameter_docs(
    how="exactly at PCA's solution with an identity code (near it with a sigmoid or tanh "
    "code, see ``code_activation``)",
    start="its PCA-based start, see ``init``",
)
class ContractiveAE(BaseAutoencoder):
    """Contractive autoencoder: a code that is locally insensitive to its input.

    The reconstruction loss is augmented by ``contractive_weight`` times the
    squared Frobenius norm of the Jacobian of the code with respect to the
    input, averaged over the batch's rows (Rifai et al., 2011): the code
    must change little when the input moves off the data, while the
    reconstruction keeps it sensitive along the data. Because the penalty,
    not the bottleneck, keeps the network from copying its input, the code
    may be wider than the input (``n_components > n_features``).

    How the penalty is computed (see :func:`skae.penalties.contractive`):

    - with ``hidden_layer_sizes=()`` the encoder is one linear layer and
      ``code_activation``, whose Jacobian norm has a closed form
      (``sum_j f'(a_j)^2 ||W_j||^2``; Rifai et al.'s model is
      ``code_activation="sigmoid"``), costing almost nothing;
    - with hidden layers it is exact too, as a product of per-layer factors
      (:func:`skae.penalties.jacobian_norm_layerwise`: one extra forward
      pass of the encoder, then products no wider than the first hidden
      layer);
    - with ``batch_norm=True`` (not elementwise) it falls back to batched
      reverse-mode autograd (:func:`skae.penalties.jacobian_norm_autograd`),
      about twice as slow; rows then interact through the batch
      statistics, and the per-row Jacobian includes that coupling.

    Parameters
    ----------
    n_components : int, default=2
        Size of the code. May exceed ``n_features`` (an overcomplete code).
    contractive_weight : float, default=0.01
        Weight of the Jacobian penalty (lambda), >= 0.
    code_activation : {"identity", "sigmoid", "tanh"}, default="identity"
        Activation of the code. With ``init="pca"``, a saturating code starts
        in its linear range: each unit's PCA score is scaled to standard
        deviation 0.5 on the training data, the decoder undoing the scale
        (``skae.nn.scale_code_to_linear_range``), and a sigmoid code is
        centred at activation 0.5 with the decoder undoing its slope there
        (``skae.nn.linearize_sigmoid_code``). The reconstruction then starts
        close to PCA's, not exactly at it: what remains of the curvature
        costs a few per cent of the variance the code carries (measured: 5
        per cent above PCA's held-out error on standardized digits, tested;
        about twice PCA's small error on tables it reconstructs almost
        exactly).
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
        Seed for weight initialization, shuffling and dropout. Pass an int
        for reproducible results.
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
    AutoencoderTransformer : The same network without the penalty.
    skae.penalties.contractive : The penalty.

    References
    ----------
    Rifai, S., Vincent, P., Muller, X., Glorot, X., & Bengio, Y. (2011).
    Contractive auto-encoders: explicit invariance during feature
    extraction. ICML, 833-840.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from sklearn.preprocessing import MinMaxScaler
    >>> from skae import ContractiveAE
    >>> X = MinMaxScaler().fit_transform(load_digits().data)
    >>> cae = ContractiveAE(n_components=5, hidden_layer_sizes=(32,),
    ...                     contractive_weight=0.01, max_iter=5, random_state=0)
    >>> cae.fit_transform(X).shape
    (1797, 5)
    """

    _parameter_constraints: dict = {
        **BaseAutoencoder._parameter_constraints,
        "contractive_weight": [Interval(Real, 0, None, closed="left")],
        "code_activation": [StrOptions({"identity", "sigmoid", "tanh"})],
    }

    _allows_overcomplete = True
    _architecture_params = (*BaseAutoencoder._architecture_params, "code_activation")

    def __init__(
        self,
        n_components=2,
        *,
        contractive_weight=0.01,
        code_activation="identity",
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
        self.contractive_weight = contractive_weight
        self.code_activation = code_activation
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

    @property
    def _code_activation(self):
        return self.code_activation

    def _adjust_start(self, module, X):
        super()._adjust_start(module, X)
        if self.init == "pca":
            encoder_linear, decoder_linear = pca_linears(module)
            rows = tensor_rows(X)
            activate_idle_units(encoder_linear, decoder_linear, rows)
            if self.code_activation != "identity":  # start tanh / sigmoid near their slope at 0
                scale_code_to_linear_range(encoder_linear, decoder_linear, rows)
            if self.code_activation == "sigmoid":
                linearize_sigmoid_code(encoder_linear, decoder_linear)

    def _penalty(self, output, X_input):
        if self.contractive_weight == 0:
            return None
        encoder = self.net_.module_.encoder
        return self.contractive_weight * contractive(encoder, X_input, code=output[1])
