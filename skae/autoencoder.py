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
%(mlp_parameters)s
    random_state : int, RandomState instance or None, default=None
        Seed for weight initialization, shuffling and dropout. Pass an int
        for reproducible results.
%(fit_parameters)s

    Attributes
    ----------
%(training_attributes)s
%(pretraining_attributes)s

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
