"""SparseAE: an autoencoder whose code is kept sparse by a penalty."""

from numbers import Real

import numpy as np
from sklearn.utils._param_validation import Interval, StrOptions

from ._base import INFERENCE_BATCH_ROWS, BaseAutoencoder
from ._data import row_blocks, tensor_rows
from ._docstrings import fill_parameter_docs
from .nn import activate_idle_units, linearize_sigmoid_code, pca_linears
from .penalties import kl_sparsity, kl_sparsity_and_grad, l1_activity, l1_activity_and_grad

__all__ = ["SparseAE"]

# Sparsity penalty -> activation of the code layer it needs.
CODE_ACTIVATIONS = {"l1": "relu", "kl": "sigmoid"}


@fill_parameter_docs(
    how="at PCA's projection through the sparse code's activation, not at PCA's solution "
    "(the further from it the larger the PCA scores; see above)",
    start="its PCA-based start, see ``init``",
)
class SparseAE(BaseAutoencoder):
    """Sparse autoencoder: a code penalized towards few active units.

    The reconstruction loss is augmented by a sparsity penalty on the code
    of each training batch, weighted by ``sparsity_weight``:

    - ``sparsity="kl"``: ``sum_j KL(rho || rho_hat_j)``, where ``rho_hat_j``
      is the mean activation of code unit ``j`` over the batch and ``rho`` is
      ``sparsity_target`` (Ng, 2011). The code is a sigmoid, in (0, 1), and
      each unit is pushed to be active on about a fraction ``rho`` of rows.
    - ``sparsity="l1"``: ``mean |h|`` over the batch's code entries. The
      code is a ReLU, so the penalty drives entries to exactly zero (a
      linear code would only shrink towards zero, and the decoder could
      undo the shrinkage by scaling up).

    Because the penalty, not the bottleneck, keeps the network from
    copying its input, the code may be wider than the input
    (``n_components > n_features``).

    With ``init="pca"``, the code's pre-activation starts at PCA's
    projection and the decoder at PCA's reconstruction; units beyond the
    data's rank start at random directions so that they can learn. The code
    activation then moves the start away from PCA's solution. For ``"kl"``
    the sigmoid code starts at mean activation ``sparsity_target``, where
    the penalty is zero, with the decoder undoing the sigmoid's slope there
    (``skae.nn.linearize_sigmoid_code``); around a small target the sigmoid
    is linear only for small scores, so the reconstruction starts above
    PCA's, the more so the larger the scores (measured on digits,
    ``n_components=5``: 1.4 times PCA's error on pixels scaled to [0, 1],
    2.8 times on standardized pixels). For ``"l1"`` the ReLU zeroes the
    negative half of each PCA score (1.6 and 1.3 times PCA's error).
    Starting either code in a linear range (scores scaled down, or the ReLU
    shifted to pass them all) brings the start to PCA's but was measured to
    train to a worse held-out reconstruction, so it is not done.

    Parameters
    ----------
    n_components : int, default=2
        Size of the code. May exceed ``n_features`` (an overcomplete code).
    sparsity : {"kl", "l1"}, default="kl"
        The sparsity penalty, and with it the code activation: ``"kl"``
        (sigmoid code) or ``"l1"`` (ReLU code).
    sparsity_weight : float, default=0.1
        Weight of the sparsity penalty (lambda), >= 0.
    sparsity_target : float, default=0.05
        Target mean activation ``rho`` of each code unit, in (0, 1); used by
        ``sparsity="kl"`` only.
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
    mean_activation_ : ndarray of shape (n_components,)
        Mean activation of each code unit on the data of the last call to
        ``fit`` or ``partial_fit``.
    n_features_in_ : int
        Number of features seen during ``fit``.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Names of features seen during ``fit``, when they are all strings.

    See Also
    --------
    AutoencoderTransformer : The same network without the penalty.
    skae.penalties.kl_sparsity, skae.penalties.l1_activity : The penalties.

    References
    ----------
    Ng, A. (2011). Sparse autoencoder. CS294A Lecture notes, Stanford
    University.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from sklearn.preprocessing import MinMaxScaler
    >>> from skae import SparseAE
    >>> X = MinMaxScaler().fit_transform(load_digits().data)
    >>> sae = SparseAE(n_components=100, sparsity_target=0.05, max_iter=5,
    ...                random_state=0)
    >>> codes = sae.fit_transform(X)
    >>> codes.shape
    (1797, 100)
    >>> sae.mean_activation_.shape
    (100,)
    """

    _parameter_constraints: dict = {
        **BaseAutoencoder._parameter_constraints,
        "sparsity": [StrOptions(set(CODE_ACTIVATIONS))],
        "sparsity_weight": [Interval(Real, 0, None, closed="left")],
        "sparsity_target": [Interval(Real, 0, 1, closed="neither")],
    }

    _allows_overcomplete = True
    # The penalty depends on the code alone, and _code_penalty_and_grad gives its
    # gradient: the hand-written backward pass applies.
    _hand_backprop = True
    # _fit adds mean_activation_, from the codes of one block of rows at a time.
    _lazy_fit = True
    # The code's activation depends on the sparsity penalty.
    _architecture_params = (*BaseAutoencoder._architecture_params, "sparsity")

    def __init__(
        self,
        n_components=2,
        *,
        sparsity="kl",
        sparsity_weight=0.1,
        sparsity_target=0.05,
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
        self.sparsity = sparsity
        self.sparsity_weight = sparsity_weight
        self.sparsity_target = sparsity_target
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
        return CODE_ACTIVATIONS[self.sparsity]

    def _adjust_start(self, module, X):
        super()._adjust_start(module, X)
        if self.init == "pca":
            encoder_linear, decoder_linear = pca_linears(module)
            activate_idle_units(encoder_linear, decoder_linear, tensor_rows(X))
            if self.sparsity == "kl":
                linearize_sigmoid_code(encoder_linear, decoder_linear, self.sparsity_target)

    def _penalty(self, output, X_input):
        if self.sparsity_weight == 0:
            return None
        code = output[1]  # (B, n_components)
        if self.sparsity == "kl":
            return self.sparsity_weight * kl_sparsity(code, self.sparsity_target)
        return self.sparsity_weight * l1_activity(code)

    def _code_penalty_and_grad(self, code):
        if self.sparsity == "kl":
            value, grad = kl_sparsity_and_grad(code, self.sparsity_target)
        else:
            value, grad = l1_activity_and_grad(code)
        return self.sparsity_weight * value, self.sparsity_weight * grad

    def _fit(self, X, **kwargs):
        super()._fit(X, **kwargs)
        self.module_.eval()
        total = np.zeros(self._n_features_out)
        for block in row_blocks(X, INFERENCE_BATCH_ROWS):  # the codes of a block at a time
            codes = self._map_batches(block, self.module_.encode, self._n_features_out)
            total += codes.sum(0, dtype=np.float64)
        self.mean_activation_ = total / len(X)
        return self
