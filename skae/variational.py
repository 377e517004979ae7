"""VariationalAE: a variational autoencoder behind the transformer API."""

import math
from numbers import Integral, Real

import numpy as np
import torch
import torch.nn.functional as F
from sklearn.decomposition import PCA
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, validate_parameter_constraints
from sklearn.utils._set_output import ADAPTERS_MANAGER, _get_output_config
from sklearn.utils.validation import check_is_fitted

from ._base import BaseAutoencoder
from ._engine import EarlyStoppingFromStart
from .nn import LinearSkip, VariationalAutoencoder, last_linear, linearize_sigmoid_output, make_mlp
from .penalties import kl_standard_normal

__all__ = ["VariationalAE"]

_HALF_LOG_2PI = 0.5 * math.log(2.0 * math.pi)

# Per-element negative log-likelihood -log p(x | z) of the decoder's output.
NEGATIVE_LOG_LIKELIHOODS = {
    # Gaussian with unit variance around the reconstruction.
    "mse": lambda reconstruction, X: 0.5 * (reconstruction - X).pow(2) + _HALF_LOG_2PI,
    # Bernoulli whose probability is the reconstruction.
    "bce": lambda reconstruction, X: F.binary_cross_entropy(reconstruction, X, reduction="none"),
}


class _WarmupEarlyStopping(EarlyStoppingFromStart):
    """Early stopping that counts no misses during the KL warm-up epochs.

    During warm-up the KL weight grows, so the training loss may rise while
    the model improves: these epochs never stop training, and when the
    training loss is monitored they do not set the best score either (the
    validation loss always uses the full ``beta``, so it stays comparable).
    """

    def __init__(
        self,
        warmup=0,
        monitor="valid_loss",
        patience=5,
        threshold=1e-4,
        threshold_mode="rel",
        lower_is_better=True,
        sink=print,
        load_best=False,
    ):
        super().__init__(
            monitor=monitor,
            patience=patience,
            threshold=threshold,
            threshold_mode=threshold_mode,
            lower_is_better=lower_is_better,
            sink=sink,
            load_best=load_best,
        )
        self.warmup = warmup

    def on_epoch_end(self, net, **kwargs):
        if len(net.history) > self.warmup:
            return super().on_epoch_end(net, **kwargs)
        patience, self.patience = self.patience, math.inf
        try:
            super().on_epoch_end(net, **kwargs)
        finally:
            self.patience = patience
        self.misses_ = 0
        if self.monitor == "train_loss":
            self.dynamic_threshold_ = math.inf if self.lower_is_better else -math.inf


class VariationalAE(BaseAutoencoder):
    """Variational autoencoder (VAE): a probabilistic code, sampling and a density score.

    The encoder gives, for each row, the mean and log-variance of a Gaussian
    posterior q(z | x) over a code of ``n_components`` values; training draws
    a code from it with the reparameterization trick, decodes it, and
    minimizes the negative evidence lower bound (ELBO) with a weight ``beta``
    on its KL term::

        loss = E_q[-log p(x | z)] + beta * KL(q(z | x) || N(0, I))

    Both terms are summed over features (or code units) and averaged over
    rows, so with ``beta=1`` (after warm-up) the training loss is exactly the
    negative ELBO per row, in nats. The likelihood p(x | z) is a Gaussian
    with unit variance around the reconstruction for ``loss="mse"`` (scale
    the data, e.g. with ``StandardScaler``, so that unit variance is the
    right noise level), and a Bernoulli whose probabilities are the
    reconstruction for ``loss="bce"`` (data in [0, 1]).

    ``transform`` returns the posterior mean (deterministic), ``sample`` draws
    codes from the prior and decodes them, and ``score_samples`` returns each
    row's ELBO (higher = more typical).

    Parameters
    ----------
    n_components : int, default=2
        Size of the code. At most ``n_features``.
    beta : float, default=1.0
        Weight of the KL term. ``1`` gives the ELBO; larger values give a
        smoother, more disentangled code at the cost of reconstruction
        (beta-VAE); ``0`` gives an autoencoder with a noisy code.
    kl_warmup : int, default=0
        Number of epochs over which the KL weight grows linearly from 0 to
        ``beta`` (weight ``beta * min(1, (epoch - 1) / kl_warmup)`` at epoch
        ``epoch``, counted from 1 and continued by ``partial_fit``), a common
        remedy for posterior collapse. Early stopping starts counting after
        the warm-up. The validation loss always uses the full ``beta``.
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
        The likelihood: ``"mse"`` a unit-variance Gaussian, ``"bce"`` a
        Bernoulli (needs data in [0, 1]).
    init : {"pca", "random"}, default="pca"
        ``"pca"`` starts the VAE at probabilistic PCA (Tipping & Bishop,
        1999), which is the optimum of a linear VAE: a linear path from input
        to posterior (mean and log-variance) and from code to output, beside
        the hidden layers, whose last layer starts at zero. With PCA's
        eigenvalues ``lambda_j``, directions ``u_j`` and a noise variance
        ``s2``, unit ``j`` starts with decoder weights
        ``u_j * sqrt(lambda_j - s2)``, posterior mean
        ``sqrt(lambda_j - s2) / lambda_j * u_j . (x - mean)`` and posterior
        variance ``s2 / lambda_j``; units with ``lambda_j <= s2`` start
        collapsed to the prior. For ``loss="mse"``, ``s2 = beta``, the
        exact optimum of the linear beta-VAE with this likelihood, so
        training can only improve on it; for ``loss="bce"`` there is no
        closed form and ``s2`` is ``beta`` times PCA's maximum-likelihood
        noise variance (the mean discarded eigenvalue), a heuristic start.
        ``"random"`` is a plain MLP with PyTorch's default initialization.
    dropout : float, default=0.0
        Dropout probability after each hidden activation.
    batch_norm : bool, default=False
        Whether to add batch normalization to the hidden layers.
    alpha : float, default=0.0
        Weight decay (L2 penalty) passed to the optimizer.
    batch_size : int, default=256
        Rows per training batch.
    learning_rate_init : float, default=1e-3
        Learning rate of the optimizer.
    max_iter : int, default=200
        Maximum number of epochs.
    optimizer : {"adam", "adamw", "sgd", "rmsprop"} or torch optimizer class, \
default="adam"
        The optimizer.
    early_stopping : bool, default=True
        Whether to hold out ``validation_fraction`` of the rows and stop when
        their loss stops improving, restoring the best weights, the starting
        ones included. The validation loss is the negative ELBO (with
        ``beta``) evaluated at the posterior mean, as in ``score_samples``.
        Otherwise, training uses all rows and stops when the training loss
        stops improving.
    validation_fraction : float, default=0.1
        Fraction of rows held out when ``early_stopping=True``.
    n_iter_no_change : int, default=10
        Epochs without an improvement of at least ``tol`` before stopping.
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
        reparameterization noise. Pass an int for reproducible results.
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
        ``"layerwise"`` pretrains the hidden layers greedily before training
        end to end: each encoder layer and its mirror decoder layer are
        trained as a shallow autoencoder on the codes of the (frozen) layers
        below, for ``pretraining_max_iter`` epochs. The Gaussian code layer
        (means and log-variances) is left to end-to-end training, and with
        ``init="pca"`` training still starts at probabilistic PCA.
    pretraining_max_iter : int, default=20
        Epochs per layer of the greedy phase.

    Attributes
    ----------
    module_ : skae.nn.VariationalAutoencoder
        The trained torch module, with ``posterior``, ``encode`` and ``decode``.
    net_ : skorch.NeuralNet
        The training engine; ``net_.history`` holds per-epoch losses.
    history_ : skorch.History
        Per-epoch records (losses, durations).
    loss_curve_ : list of float
        Training loss (negative beta-weighted ELBO per row) at each epoch.
    validation_scores_ : list of float
        Negative validation loss of the starting weights, then of each epoch,
        in the last ``fit`` (only with ``early_stopping``; ``partial_fit``
        removes it).
    best_validation_score_ : float
        Negative validation loss of the returned weights: the best of
        ``validation_scores_`` (only with ``early_stopping``).
    n_iter_ : int
        Number of epochs run, greedy pretraining included.
    pretraining_loss_curves_ : list of list of float
        With ``pretraining="layerwise"``, the training loss of each hidden
        layer's shallow autoencoder at each epoch of the greedy phase (also
        the first rows of ``history_``, with ``phase="pretraining"``).
    n_features_in_ : int
        Number of features seen during ``fit``.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Names of features seen during ``fit``, when they are all strings.

    Notes
    -----
    The unit noise variance of ``loss="mse"`` makes the data's scale matter:
    a direction whose variance is below ``beta`` is worth less to the ELBO
    than the KL cost of encoding it, so on data with variances much smaller
    than 1 every code unit collapses to the prior and all samples are the
    same row. Standardize the features first.

    See Also
    --------
    AutoencoderTransformer : The deterministic autoencoder.
    sklearn.decomposition.PCA : The linear counterpart (``init="pca"`` starts
        from probabilistic PCA).

    References
    ----------
    Kingma, D. P., & Welling, M. (2014). Auto-encoding variational Bayes. ICLR.

    Higgins, I., et al. (2017). beta-VAE: Learning basic visual concepts with a
    constrained variational framework. ICLR.

    Tipping, M. E., & Bishop, C. M. (1999). Probabilistic principal component
    analysis. Journal of the Royal Statistical Society B, 61(3), 611-622.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from sklearn.preprocessing import StandardScaler
    >>> from skae import VariationalAE
    >>> X = StandardScaler().fit_transform(load_digits().data)
    >>> vae = VariationalAE(n_components=5, max_iter=5, random_state=0)
    >>> vae.fit_transform(X).shape
    (1797, 5)
    >>> vae.sample(3, random_state=0).shape
    (3, 64)
    >>> vae.score_samples(X[:4]).shape
    (4,)
    """

    _parameter_constraints: dict = {
        **BaseAutoencoder._parameter_constraints,
        "beta": [Interval(Real, 0, None, closed="left")],
        "kl_warmup": [Interval(Integral, 0, None, closed="left")],
    }

    def __init__(
        self,
        n_components=2,
        *,
        beta=1.0,
        kl_warmup=0,
        hidden_layer_sizes=(256, 128),
        activation="relu",
        output_activation="auto",
        loss="mse",
        init="pca",
        dropout=0.0,
        batch_norm=False,
        alpha=0.0,
        batch_size=256,
        learning_rate_init=1e-3,
        max_iter=200,
        optimizer="adam",
        early_stopping=True,
        validation_fraction=0.1,
        n_iter_no_change=10,
        tol=1e-4,
        device="auto",
        n_jobs=None,
        random_state=None,
        verbose=0,
        callbacks=None,
        warm_start=False,
        pretraining=None,
        pretraining_max_iter=20,
    ):
        self.n_components = n_components
        self.beta = beta
        self.kl_warmup = kl_warmup
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

    # ------------------------------------------------------------------ hooks
    def _build_module(self, X):
        n_features, k = X.shape[1], self.n_components
        hidden = [int(width) for width in self.hidden_layer_sizes]
        mlp = dict(activation=self.activation, dropout=self.dropout, batch_norm=self.batch_norm)
        output_activation = self._output_activation()
        encoder = make_mlp([n_features, *hidden, 2 * k], **mlp)
        decoder = make_mlp([k, *hidden[::-1], n_features], output_activation=output_activation, **mlp)
        if self.init == "pca":
            if hidden:
                encoder = LinearSkip(torch.nn.Linear(n_features, 2 * k), encoder)
                decoder = LinearSkip(
                    torch.nn.Linear(k, n_features), decoder, activation=output_activation
                )
                for branch in (encoder.mlp, decoder.mlp):
                    torch.nn.init.zeros_(last_linear(branch).weight)
                    torch.nn.init.zeros_(last_linear(branch).bias)
                linears = encoder.linear, decoder.linear
            else:
                linears = encoder[0], decoder[0]
            self._init_probabilistic_pca(*linears, X)
        return VariationalAutoencoder(encoder, decoder)

    @torch.no_grad()
    def _init_probabilistic_pca(self, encoder_linear, decoder_linear, X):
        """Set the linear paths to probabilistic PCA's posterior and decoder.

        With a sigmoid output the decoder is then linearized in logit space
        (``linearize_sigmoid_output``).
        """
        k = self.n_components
        n_pca = min(k, *X.shape)
        pca = PCA(n_components=n_pca, random_state=0).fit(X)
        components = np.zeros((k, X.shape[1]))
        components[:n_pca] = pca.components_
        eigenvalues = np.zeros(k)
        eigenvalues[:n_pca] = pca.explained_variance_
        noise = self.beta * (1.0 if self.loss == "mse" else pca.noise_variance_)
        noise = max(noise, 1e-6 * float(np.sum(np.var(X, axis=0))), 1e-12)
        active = eigenvalues > noise
        safe = np.where(active, eigenvalues, 1.0)
        scale = np.where(active, np.sqrt(np.maximum(eigenvalues - noise, 0.0)), 0.0)
        encoder_weight = (scale / safe)[:, None] * components  # (k, n_features)
        log_var = np.where(active, np.log(noise / safe), 0.0)

        def tensor(a):
            return torch.as_tensor(a, dtype=torch.float32)

        encoder_linear.weight.copy_(tensor(np.vstack([encoder_weight, np.zeros_like(components)])))
        encoder_linear.bias.copy_(tensor(np.concatenate([-encoder_weight @ pca.mean_, log_var])))
        decoder_linear.weight.copy_(tensor(components.T * scale[None, :]))
        decoder_linear.bias.copy_(tensor(pca.mean_))
        if self._output_activation() == "sigmoid":
            linearize_sigmoid_output(decoder_linear, tensor(pca.mean_))

    def _negative_log_likelihood(self, reconstruction, X):
        """Per-row -log p(x | z), summed over features, shape ``(B,)``."""
        return NEGATIVE_LOG_LIKELIHOODS[self.loss](reconstruction, X).sum(1)

    def _kl_weight(self):
        net = self.net_
        if not self.kl_warmup or not net.module_.training:
            return self.beta
        epoch = len(net.history)  # the current epoch, counted from 1
        return self.beta * min(1.0, (epoch - 1) / self.kl_warmup)

    def _training_loss(self, output, X_clean, X_input):
        reconstruction, _, mean, log_var = output
        nll = self._negative_log_likelihood(reconstruction, X_clean).mean()
        return nll + self._kl_weight() * kl_standard_normal(mean, log_var)

    def _early_stopping_callback(self):
        params = super()._early_stopping_callback().get_params()
        return _WarmupEarlyStopping(warmup=self.kl_warmup, **params)

    # ---------------------------------------------------------- inference
    def score_samples(self, X):
        """Evidence lower bound (ELBO) of each row, in nats (higher = more typical).

        The ELBO is ``log p(x | z) - KL(q(z | x) || N(0, I))`` with the
        likelihood of ``loss`` and ``beta=1`` whatever ``beta`` was used in
        training. To be deterministic, the reconstruction term is evaluated
        at the posterior mean rather than averaged over posterior samples (a
        plug-in estimate, not a strict lower bound on log p(x)).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Data to score.

        Returns
        -------
        scores : ndarray of shape (n_samples,), dtype float64
            The per-row ELBO, computed in float64.
        """
        check_is_fitted(self)
        X = self._validate_input(X, reset=False)

        def elbo(batch):
            mean, log_var = self.module_.posterior(batch)
            reconstruction = self.module_.decode(mean).double()
            nll = self._negative_log_likelihood(reconstruction, batch.double())
            kl = kl_standard_normal(mean.double(), log_var.double(), reduction="none")
            return -(nll + kl)[:, None]

        return self._map_batches(X, elbo, 1, dtype=np.float64)[:, 0]

    def sample(self, n_samples=1, random_state=None):
        """Generate rows: draw codes from N(0, I) and decode them.

        Parameters
        ----------
        n_samples : int, default=1
            Number of rows to generate.
        random_state : int, RandomState instance or None, default=None
            Seed of the codes drawn. Pass an int for reproducible samples.

        Returns
        -------
        X_new : ndarray of shape (n_samples, n_features), dtype float32
            The decoder's means for the drawn codes (the mean of p(x | z),
            without the likelihood's noise). A DataFrame with the original
            feature names under ``set_output(transform="pandas")`` (or polars).
        """
        check_is_fitted(self)
        validate_parameter_constraints(
            {"n_samples": [Interval(Integral, 1, None, closed="left")],
             "random_state": ["random_state"]},
            {"n_samples": n_samples, "random_state": random_state},
            caller_name="sample",
        )
        rng = check_random_state(random_state)
        codes = rng.standard_normal((n_samples, self.n_components)).astype(np.float32)
        X_new = self._map_batches(codes, self.module_.decode, self.n_features_in_)
        dense = _get_output_config("transform", self)["dense"]
        if dense == "default":
            return X_new
        columns = getattr(self, "feature_names_in_", None)
        if columns is None:
            columns = [f"x{i}" for i in range(self.n_features_in_)]
        adapter = ADAPTERS_MANAGER.adapters[dense]
        return adapter.create_container(X_new, None, columns=columns, inplace=False)
