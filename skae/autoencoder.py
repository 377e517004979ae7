"""AutoencoderTransformer: a deep undercomplete autoencoder."""

from ._base import BaseAutoencoder
from ._docstrings import EXACT_PCA_START, fill_parameter_docs

__all__ = ["AutoencoderTransformer"]


@fill_parameter_docs(**EXACT_PCA_START)
class AutoencoderTransformer(BaseAutoencoder):
    """Deep autoencoder for nonlinear dimensionality reduction.

    An encoder MLP maps each row to a code of ``n_components`` values and a
    mirrored decoder maps it back; both are trained together to minimize the
    reconstruction error. ``transform`` returns the codes, ``inverse_transform``
    the reconstructions, and ``score`` the negative mean reconstruction error,
    so the estimator drops into a ``Pipeline`` and ``GridSearchCV`` like
    ``PCA``.

    Parameters
    ----------
    n_components : int, default=2
        Size of the code. At most ``n_features``.
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
    sklearn.decomposition.PCA : The linear counterpart.

    References
    ----------
    Hinton, G. E., & Salakhutdinov, R. R. (2006). Reducing the dimensionality
    of data with neural networks. Science, 313(5786), 504-507.

    Bengio, Y., Lamblin, P., Popovici, D., & Larochelle, H. (2007). Greedy
    layer-wise training of deep networks. NIPS 19, 153-160.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from sklearn.preprocessing import MinMaxScaler
    >>> from skae import AutoencoderTransformer
    >>> X = MinMaxScaler().fit_transform(load_digits().data)
    >>> ae = AutoencoderTransformer(n_components=5, max_iter=5, random_state=0)
    >>> ae.fit_transform(X).shape
    (1797, 5)
    >>> ae.inverse_transform(ae.transform(X[:2])).shape
    (2, 64)
    """

    def __init__(
        self,
        n_components=2,
        *,
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
