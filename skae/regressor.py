"""AutoencoderRegressor: a head on a pretrained encoder, trained on the labeled rows."""

import numpy as np
import torch.nn.functional as F
from sklearn.base import RegressorMixin

from ._distributed import active_parallel
from ._docstrings import fill_docstring
from ._head import SHARED_ATTRIBUTES, BaseAutoencoderSupervised, parameters_doc
from ._validation import check_float32_range
from .autoencoder import AutoencoderTransformer

__all__ = ["AutoencoderRegressor"]


_REGRESSOR_PARAMETERS = parameters_doc(
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
    distributed_targets=(
        "\n        ``y_mean_`` and ``y_scale_`` are those of every rank's labeled targets."
    ),
)


@fill_docstring(parameters=_REGRESSOR_PARAMETERS, shared_attributes=SHARED_ATTRIBUTES)
class AutoencoderRegressor(RegressorMixin, BaseAutoencoderSupervised):
    """Regressor on the encoder of an autoencoder, semi-supervised.

    The autoencoder is trained on every row of ``X``, labeled or not; a head
    (linear by default) is then trained on the codes of the labeled rows
    with the encoder frozen for ``freeze_epochs`` epochs, and encoder and
    head are fine-tuned together for ``max_iter`` epochs, with the squared
    error on the standardized target. Rows whose target is NaN are
    unlabeled.

    Parameters
    ----------
%(parameters)s
    Attributes
    ----------
    y_mean_ : float
        Mean of the labeled targets; the head learns the standardized target.
    y_scale_ : float
        Standard deviation of the labeled targets (1 when they are constant).
%(shared_attributes)s
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
        distributed=False,
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
        self.distributed = distributed

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
        return labeled, y

    def _finish_targets(self, y):
        """The standardized targets: ``y_mean_`` and ``y_scale_`` from every rank's."""
        parallel = active_parallel()
        if parallel is None:
            mean, std = float(y.mean()), float(y.std())
        else:
            mean = float(parallel.column_means(y[:, None])[0][0])
            std = float(np.sqrt(parallel.column_means(((y - mean) ** 2)[:, None])[0][0]))
        self.y_mean_, self.y_scale_ = mean, std or 1.0
        return ((y - self.y_mean_) / self.y_scale_).astype(np.float32)

    def _loss(self, output, batch, X_input, epoch=None):
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
        return self._outputs(X)[:, 0] * self.y_scale_ + self.y_mean_
