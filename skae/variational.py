"""VariationalAE: a variational autoencoder behind the transformer API."""

import math
from numbers import Integral, Real

import numpy as np
import torch
import torch.nn.functional as F
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import (
    Interval,
    StrOptions,
    validate_parameter_constraints,
)
from sklearn.utils.validation import check_is_fitted

from ._base import BaseAutoencoder
from ._data import column_variances, streamed_pca
from ._distributed import active_parallel
from ._docstrings import fill_budget_docs
from ._engine import DivergenceError
from ._output import output_container
from .nn import (
    LinearSkip,
    VariationalAutoencoder,
    last_linear,
    linearize_sigmoid_output,
    make_mlp,
    pca_linears,
)
from .penalties import kl_standard_normal

__all__ = ["VariationalAE"]

_LOG_2PI = math.log(2.0 * math.pi)

# The noise variance never goes below this fraction of the training data's mean
# feature variance, so that a constant feature does not give an infinite density.
NOISE_VARIANCE_FLOOR = 1e-6


# A learned Gaussian likelihood is contaminated by a Cauchy tail of weight
# ROW_CONTAMINATION / n_features per entry (about one far entry in 1,000 rows): on
# Gaussian data it costs a row at most -n_features * log(1 - weight) ~ 1e-3 nats, and
# an entry far outside what the decoder predicts costs about
# log(n_features / ROW_CONTAMINATION) + 2 log(|residual| / noise sd) nats, not
# residual^2 / (2 noise variance).
ROW_CONTAMINATION = 1e-3
_LOG_PI = math.log(math.pi)


def gaussian_log_likelihood(reconstruction, X, noise_variance, contamination=None):
    """Per-row log-likelihood of ``X``, summed over features, ``(B,)``.

    ``log N(X; reconstruction, diag(noise_variance))``; with a
    ``contamination`` ``c`` in (0, 1), each entry's density is instead the
    mixture ``(1 - c) N(x; mu, s2) + c Cauchy(x; mu, sqrt(s2))`` (a
    contaminated Gaussian: the same centre and scale, heavier tails), whose
    cost grows like ``2 log |x - mu|`` instead of ``(x - mu)^2 / (2 s2)``.
    """
    return entry_log_likelihoods(reconstruction, X, noise_variance, contamination).sum(1)


def entry_log_likelihoods(reconstruction, X, noise_variance, contamination=None):
    """Per-entry log-densities ``(B, n_features)`` of ``gaussian_log_likelihood``."""
    standardized = (X - reconstruction).pow(2) / noise_variance  # (B, n_features)
    gaussian = -0.5 * (standardized + torch.log(noise_variance) + _LOG_2PI)
    if contamination is None or float(contamination) <= 0.0:
        return gaussian
    contamination = contamination.to(gaussian)
    core = gaussian + torch.log1p(-contamination)
    tail = (
        torch.log(contamination) - _LOG_PI - 0.5 * torch.log(noise_variance)
        - torch.log1p(standardized)
    )
    # logaddexp, not core + softplus(tail - core): exact when a far entry's core is -1e9.
    return torch.logaddexp(core, tail)


def bernoulli_log_likelihood(reconstruction, X, noise_variance=None, contamination=None):
    """Per-row log-likelihood of ``X`` given Bernoulli probabilities, ``(B,)``."""
    return -F.binary_cross_entropy(reconstruction, X, reduction="none").sum(1)


# log p(x | z) of the decoder's output, by ``loss``.
LOG_LIKELIHOODS = {"mse": gaussian_log_likelihood, "bce": bernoulli_log_likelihood}


def posterior_expectation(function, mean, log_var):
    """``E[function(z)]`` for ``z ~ N(mean, diag(exp(log_var)))``, by the spherical cubature rule.

    The ``2k`` nodes ``mean +/- sqrt(k) * std_j * e_j``, equally weighted,
    integrate every polynomial of degree at most 3 in ``z`` exactly
    (Arasaratnam & Haykin, 2009): the Gaussian log-likelihood of a decoder
    linear in the code, for instance. Deterministic, unlike a Monte Carlo
    estimate.

    Parameters
    ----------
    function : callable
        Maps codes ``(B, k)`` to values ``(B, ...)``, one per row.
    mean, log_var : torch.Tensor of shape (B, k)
        The diagonal Gaussian.

    Returns
    -------
    expectation : torch.Tensor of shape (B, ...)

    Examples
    --------
    >>> import torch
    >>> from skae.variational import posterior_expectation
    >>> mean, log_var = torch.tensor([[1.0, -2.0]]), torch.log(torch.tensor([[4.0, 0.25]]))
    >>> posterior_expectation(lambda z: z.pow(2).sum(1), mean, log_var)  # 1 + 4 + 4 + 0.25
    tensor([9.2500])
    """
    k = mean.shape[1]
    spread = torch.exp(0.5 * log_var) * math.sqrt(k)  # (B, k)
    total = 0.0
    for j, unit in enumerate(torch.eye(k, dtype=mean.dtype, device=mean.device)):
        step = spread[:, j : j + 1] * unit  # (B, k), nonzero in column j only
        total = total + function(mean + step) + function(mean - step)
    return total / (2 * k)


def _probabilistic_pca_noise(eigenvalues, discarded, n_dims, beta):
    """Noise variance of the linear beta-VAE optimum, and which of the ``k`` units it keeps.

    With unit ``j`` kept when ``eigenvalues[j] > beta * s2``, the optimum is
    ``s2 = (discarded + sum of the dropped eigenvalues) / (n_dims - beta * n_kept)``
    (for ``beta=1`` and every unit kept, PCA's ``noise_variance_``). The
    largest self-consistent number of kept units is chosen.
    """
    for n_kept in range(len(eigenvalues), -1, -1):
        denominator = n_dims - beta * n_kept
        if denominator <= 0:
            continue
        noise = (discarded + eigenvalues[n_kept:].sum()) / denominator
        kept_ok = n_kept == 0 or eigenvalues[n_kept - 1] > beta * noise
        dropped_ok = n_kept == len(eigenvalues) or eigenvalues[n_kept] <= beta * noise
        if kept_ok and dropped_ok:
            return noise
    return (discarded + eigenvalues.sum()) / n_dims


@fill_budget_docs
class VariationalAE(BaseAutoencoder):
    """Variational autoencoder (VAE): a probabilistic code, sampling and a density score.

    The encoder gives, for each row, the mean and log-variance of a Gaussian
    posterior q(z | x) over a code of ``n_components`` values; training draws
    a code from it with the reparameterization trick, decodes it, and
    minimizes the negative evidence lower bound (ELBO) with a weight ``beta``
    on its KL term::

        loss = E_q[-log p(x | z)] + beta * KL(q(z | x) || N(0, I))

    Both terms are summed over features (or code units) and averaged over
    rows, so with ``beta=1`` (after warm-up) the training loss is the
    negative ELBO per row, in nats. The likelihood p(x | z) is, for
    ``loss="mse"``, a Gaussian around the reconstruction whose variance
    ``noise_variance_`` is learned with the network (a calibrated decoder:
    with it, the linear VAE's optimum is probabilistic PCA, and the ELBO
    does not depend on how the data are scaled beyond the change of units);
    for ``loss="bce"``, a Bernoulli whose probabilities are the
    reconstruction (data in [0, 1]). Once training moves away from the
    start, the model's learned Gaussian likelihood has heavier tails: each
    entry is drawn, with probability ``c = 1e-3 / n_features`` (about one
    entry in 1,000 rows), from a Cauchy of the same centre and scale
    instead (a contaminated Gaussian). The network is still fitted under
    the Gaussian (the ``c -> 0`` member), and since the mixture's density
    is at least ``1 - c`` times the Gaussian's, every row's ELBO is at
    most ``-n_features * log(1 - c) ~ 1e-3`` nats below the Gaussian
    model's; an entry far outside what the decoder predicts (a standardized
    pixel that was almost constant on the training rows) costs about
    ``log(1 / c) + 2 log(|residual| / s)`` nats instead of
    ``residual**2 / (2 s**2)``, so a few such entries no longer decide the
    mean ELBO of a set of rows. Early stopping's validation loss and the
    scores use the model with its tail.

    ``transform`` returns the posterior mean (deterministic), ``sample`` draws
    codes from the prior and decodes them, and ``score_samples`` returns each
    row's ELBO in nats (higher = more typical), comparable with
    ``sklearn.decomposition.PCA().score_samples``.

    Parameters
    ----------
    n_components : int, default=2
        Size of the code. At most ``n_features``.
    beta : float, default=1.0
        Weight of the KL term. ``1`` gives the ELBO; larger values give a
        smoother, more disentangled code at the cost of reconstruction
        (beta-VAE); ``0`` gives an autoencoder with a noisy code.
    noise_variance : {"learned", "learned_per_feature"} or float, default="learned"
        The variance of the Gaussian likelihood (``loss="mse"``; ignored for
        ``"bce"``). ``"learned"``: one variance for every feature, the
        isotropic noise of probabilistic PCA (``PCA.noise_variance_``,
        ``GaussianMixture``'s ``covariance_type="spherical"``).
        ``"learned_per_feature"``: one per feature, the diagonal noise of
        factor analysis (``FactorAnalysis.noise_variance_``,
        ``covariance_type="diag"``). A learned variance is the mean squared
        residual of the reconstruction (the value that maximizes the
        likelihood), recomputed at every training batch and pooled over the
        epoch (Rybkin et al., 2021), and never below a floor of
        ``1e-6`` times the mean feature variance of the training data, so a
        constant feature gets a finite density. When early stopping keeps a
        trained epoch, the variance is then raised to the validation rows'
        mean squared residual where that is larger: the training rows'
        residual underestimates new rows' once the network starts to fit
        their noise. A float fixes the variance of a plain Gaussian, without
        the Cauchy tail (``1.0`` is the unit-variance Gaussian, a squared
        error; it makes the ELBO depend on the data's scale and can collapse
        the code).
    kl_warmup : int, default=0
        Number of epochs over which the KL weight grows linearly from 0 to
        ``beta`` (weight ``beta * min(1, (epoch - 1) / kl_warmup)`` at epoch
        ``epoch``, counted from 1 and continued by ``partial_fit``), a remedy
        for posterior collapse with a fixed noise variance. Early stopping
        starts counting after the warm-up. The validation loss always uses
        the full ``beta``. With the default learned variance and
        ``init="pca"``, training starts at the linear optimum and needs none.
%(layer_parameters)s
    loss : {"mse", "bce"}, default="mse"
        The likelihood: ``"mse"`` a Gaussian of variance ``noise_variance``
        (its negative log-likelihood is a scaled squared error), ``"bce"`` a
        Bernoulli (needs data in [0, 1]).
    init : {"pca", "random"}, default="pca"
        ``"pca"`` starts the VAE at probabilistic PCA (Tipping & Bishop,
        1999), which is the optimum of a linear VAE: a linear path from input
        to posterior (mean and log-variance) and from code to output, beside
        the hidden layers, whose last layer starts at zero. With PCA's
        eigenvalues ``lambda_j``, directions ``u_j`` and a noise variance
        ``s2``, unit ``j`` starts with decoder weights
        ``u_j * sqrt(lambda_j - beta * s2)``, posterior mean
        ``sqrt(lambda_j - beta * s2) / lambda_j * u_j . (x - mean)`` and
        posterior variance ``beta * s2 / lambda_j``; units with
        ``lambda_j <= beta * s2`` start collapsed to the prior. For
        ``loss="mse"``, ``s2`` starts at the optimum of the linear beta-VAE:
        PCA's ``noise_variance_`` (the mean discarded eigenvalue) for
        ``beta=1``, or the fixed ``noise_variance``, and the likelihood is a
        plain Gaussian (its Cauchy tail comes with the first training
        step). The PCA is that of the rows the network trains on: with a
        validation split (``early_stopping=True``, or ``"auto"`` from about
        1,000 rows), the rows passed to ``fit`` less that split; without
        one, or for the final model after cross-validation, all of them. The starting ELBO is then the
        log-likelihood of probabilistic PCA fitted on those rows,
        ``PCA(n_components).fit(X_train).score_samples``, and early
        stopping, which counts the start as a candidate, never ends below
        it on the validation rows. For ``loss="bce"`` there is no
        closed form and ``s2`` is ``beta`` times PCA's noise variance, a
        heuristic start (linearized in logit space). ``"random"`` is a plain
        MLP with PyTorch's default initialization.
    dropout : float, default=0.0
        Dropout probability after each hidden activation.
    batch_norm : bool, default=False
        Whether to add batch normalization to the hidden layers.
    alpha : float, default=0.0
        Weight decay (L2 penalty) passed to the optimizer.
    batch_size : int or "auto", default=256
        %(batch_size)s The VAE's default stays 256 rows (its density results
        were measured with it).
    learning_rate_init : float, default=1e-3
        %(learning_rate_init)s
    max_iter : int or "auto", default=200
        %(max_iter)s
    optimizer : {"adam", "adamw", "sgd", "rmsprop"} or torch optimizer class, \
default="adam"
        The optimizer.
    early_stopping : bool or "auto", default="auto"
        ``True``: hold out ``validation_fraction`` of the rows and stop when
        their loss stops improving, restoring the best weights (and noise
        variance), the starting ones included: with ``init="pca"`` the
        validation ELBO ends no lower than that of probabilistic PCA fitted
        on the other rows (the rows the network trains on). The
        validation loss is the negative ELBO (with ``beta``) computed as in
        ``score_samples``. ``False``: train on all rows and stop when the
        training loss stops improving. ``"auto"`` (the default, as for the
        other autoencoders): the split when it holds 100 rows or more (from
        about 1,000 rows: the same as ``True``), cross-validated epochs
        below, where a tenth of the rows is too few to choose on; the final
        model, trained on all rows, then keeps its training rows' noise
        variance (not raised to new rows' residual).
    validation_fraction : float, default=0.1
        Fraction of rows in early stopping's validation split.
    n_iter_no_change : int or "auto", default="auto"
        %(n_iter_no_change)s On small data an epoch is a few steps and the
        validation loss is noisy, and the ELBO can plateau for a while
        before a code unit starts carrying information.
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
%(run_parameters)s
    pretraining : {"layerwise"} or None, default=None
        ``"layerwise"`` pretrains the hidden layers greedily before training
        end to end: each encoder layer and its mirror decoder layer are
        trained as a shallow autoencoder on the codes of the (frozen) layers
        below, for ``pretraining_max_iter`` epochs. The Gaussian code layer
        (means and log-variances) is left to end-to-end training, and with
        ``init="pca"`` training still starts at probabilistic PCA.
    pretraining_max_iter : int, default=20
        Epochs per layer of the greedy phase.

    distributed : bool, default=False
        %(distributed)s

    Attributes
    ----------
    module_ : skae.nn.VariationalAutoencoder
        The trained torch module, with ``posterior``, ``encode``, ``decode``
        and the ``noise_variance`` buffer.
    noise_variance_ : float or ndarray of shape (n_features,)
        The variance of the Gaussian likelihood (``loss="mse"`` only): a
        float, or one per feature with
        ``noise_variance="learned_per_feature"``.
    net_ : skorch.NeuralNet
        The training engine; ``net_.history`` holds per-epoch losses.
    history_ : skorch.History
        Per-epoch records: losses, durations and, with ``loss="mse"``, the
        ``noise_variance`` (mean over features) at the end of each epoch.
    loss_curve_ : list of float
        %(loss_curve_)s Here the negative beta-weighted ELBO per row.
%(validation_attributes)s
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
    A fixed ``noise_variance`` makes the data's scale matter: a direction
    whose variance is below ``beta * noise_variance`` is worth less to the
    ELBO than the KL cost of encoding it, so on data with variances much
    smaller than the noise variance every code unit collapses to the prior
    and all samples are the same row. The learned variance (the default)
    adapts to the data instead.

    ``score_samples`` evaluates the expectation in the ELBO by a cubature
    rule (exact while the decoder is linear in the code, an approximation
    otherwise) so that the score is deterministic; ``n_importance_samples``
    gives the importance-weighted bound instead.

    See Also
    --------
    AutoencoderTransformer : The deterministic autoencoder.
    sklearn.decomposition.PCA : The linear counterpart (``init="pca"`` starts
        from probabilistic PCA; ``PCA.score`` is the density to beat).
    sklearn.decomposition.FactorAnalysis : The linear model with one noise
        variance per feature.

    References
    ----------
    Kingma, D. P., & Welling, M. (2014). Auto-encoding variational Bayes. ICLR.

    Higgins, I., et al. (2017). beta-VAE: Learning basic visual concepts with a
    constrained variational framework. ICLR.

    Tipping, M. E., & Bishop, C. M. (1999). Probabilistic principal component
    analysis. Journal of the Royal Statistical Society B, 61(3), 611-622.

    Lucas, J., Tucker, G., Grosse, R., & Norouzi, M. (2019). Don't blame the
    ELBO! A linear VAE perspective on posterior collapse. NeurIPS.

    Rybkin, O., Daniilidis, K., & Levine, S. (2021). Simple and effective VAE
    training with calibrated decoders. ICML.

    Burda, Y., Grosse, R., & Salakhutdinov, R. (2016). Importance weighted
    autoencoders. ICLR.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from sklearn.decomposition import PCA
    >>> from sklearn.preprocessing import MinMaxScaler
    >>> from skae import VariationalAE
    >>> X = MinMaxScaler().fit_transform(load_digits().data)
    >>> vae = VariationalAE(n_components=2, max_iter=5, random_state=0)
    >>> vae.fit_transform(X).shape
    (1797, 2)
    >>> bool(vae.score(X) > PCA(n_components=2).fit(X).score(X))  # nats per row
    True
    >>> vae.sample(3, random_state=0).shape
    (3, 64)
    >>> vae.score_samples(X[:4], n_importance_samples=16).shape
    (4,)
    """

    # The noise variance's shape (one, or one per feature) and a fixed value are built in.
    _architecture_params = (*BaseAutoencoder._architecture_params, "noise_variance")

    _parameter_constraints: dict = {
        **BaseAutoencoder._parameter_constraints,
        "beta": [Interval(Real, 0, None, closed="left")],
        "noise_variance": [
            StrOptions({"learned", "learned_per_feature"}),
            Interval(Real, 0, None, closed="neither"),
        ],
        "kl_warmup": [Interval(Integral, 0, None, closed="left")],
    }

    def __init__(
        self,
        n_components=2,
        *,
        beta=1.0,
        noise_variance="learned",
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
        self.beta = beta
        self.noise_variance = noise_variance
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
        self.distributed = distributed

    # ------------------------------------------------------------------ hooks
    def _build_network(self, n_features):
        k = self.n_components
        hidden = [int(width) for width in self.hidden_layer_sizes]
        mlp = dict(activation=self.activation, dropout=self.dropout, batch_norm=self.batch_norm)
        output_activation = self._output_activation()
        encoder = make_mlp([n_features, *hidden, 2 * k], **mlp)
        decoder = make_mlp(
            [k, *hidden[::-1], n_features], output_activation=output_activation, **mlp
        )
        if self.init == "pca" and hidden:  # linear paths beside the MLPs, which start at zero
            encoder = LinearSkip(torch.nn.Linear(n_features, 2 * k), encoder)
            decoder = LinearSkip(
                torch.nn.Linear(k, n_features), decoder, activation=output_activation
            )
            for branch in (encoder.mlp, decoder.mlp):
                torch.nn.init.zeros_(last_linear(branch).weight)
                torch.nn.init.zeros_(last_linear(branch).bias)
        if self.loss != "mse":
            return VariationalAutoencoder(encoder, decoder)
        width = n_features if self.noise_variance == "learned_per_feature" else 1
        # The noise variance and its floor are set by _adjust_start (or loaded).
        return VariationalAutoencoder(encoder, decoder, torch.ones(width))

    @torch.no_grad()
    def _adjust_start(self, module, X):
        """The noise variance's floor and start; with ``init="pca"``, probabilistic PCA."""
        floor = self._noise_variance_floor(X)
        noise = self.noise_variance if isinstance(self.noise_variance, Real) else 1.0
        if self.init == "pca":
            noise = self._init_probabilistic_pca(*pca_linears(module), X, floor)
        if self.loss != "mse":
            return
        module.noise_variance_floor.copy_(torch.tensor(float(floor), dtype=torch.float64))
        # Through float64: a variance beyond float32's range becomes inf (and training then
        # stops with DivergenceError's advice to scale the data), not a RuntimeError here.
        shape = module.noise_variance.shape
        module.noise_variance.copy_(torch.full(shape, float(noise), dtype=torch.float64))
        module.noise_contamination.zero_()  # the start: a Gaussian likelihood, PCA's exactly

    def _noise_variance_floor(self, X):
        """The smallest learned noise variance: a fraction of X's mean feature variance."""
        parallel = active_parallel()
        if parallel is not None:  # every rank's rows (distributed=True)
            scale = float(np.mean(parallel.feature_variances(X)[0]))
        else:
            scale = float(np.mean(column_variances(X))) if X.size else 0.0
        return NOISE_VARIANCE_FLOOR * (scale if scale > 0 else 1.0)

    @torch.no_grad()
    def _init_probabilistic_pca(self, encoder_linear, decoder_linear, X, floor):
        """Set the linear paths to probabilistic PCA's posterior and decoder; return its noise.

        PCA is the streamed solver every start shares
        (``skae._data.streamed_pca``), with its eigenvalues and total
        variance: probabilistic PCA's noise variance (scikit-learn's
        ``PCA.noise_variance_``) is the mean of the eigenvalues beyond the
        code among ``min(n_samples, n_features)``. With a sigmoid output the
        decoder is then linearized in logit space (``linearize_sigmoid_output``).
        """
        k = self.n_components
        n_samples, n_features = X.shape
        parallel = active_parallel()  # distributed=True: PCA of every rank's rows
        if parallel is not None:
            n_samples = parallel.total(n_samples)
        n_pca = min(k, n_samples, n_features)
        try:
            with np.errstate(over="ignore", invalid="ignore"):  # reported just below
                pca_components, mean, explained, total = (
                    streamed_pca if parallel is None else parallel.pca
                )(X, n_pca, return_variances=True)
            finite = np.all(np.isfinite(pca_components)) and np.isfinite(total)
        except np.linalg.LinAlgError:
            finite = False
        if not finite:  # fit's DivergenceError handler adds the advice
            raise DivergenceError(
                "The probabilistic PCA start failed: X's covariance is not finite in float32."
            )
        components = np.zeros((k, n_features))
        components[:n_pca] = pca_components
        eigenvalues = np.zeros(k)
        eigenvalues[:n_pca] = explained
        n_dims = min(n_samples, n_features)  # PCA's noise_variance_ averages over these
        discarded = max(total - explained.sum(), 0.0)
        pca_noise = discarded / (n_dims - n_pca) if n_pca < n_dims else 0.0
        if self.loss != "mse":
            noise_variance = pca_noise  # a heuristic: no closed form
        elif isinstance(self.noise_variance, Real):
            noise_variance = float(self.noise_variance)
        else:  # the optimum of the linear beta-VAE with a learned variance
            noise_variance = _probabilistic_pca_noise(eigenvalues, discarded, n_dims, self.beta)
            noise_variance = max(noise_variance, floor)
        # The posterior's scale: beta times the noise variance, kept away from zero
        # (1e-6 times the total variance, ddof=0).
        noise = max(self.beta * noise_variance, 1e-6 * total * (n_samples - 1) / n_samples, 1e-12)
        active = eigenvalues > noise
        safe = np.where(active, eigenvalues, 1.0)
        scale = np.where(active, np.sqrt(np.maximum(eigenvalues - noise, 0.0)), 0.0)
        encoder_weight = (scale / safe)[:, None] * components  # (k, n_features)
        log_var = np.where(active, np.log(noise / safe), 0.0)

        def tensor(a):
            return torch.as_tensor(a, dtype=torch.float32)

        encoder_linear.weight.copy_(tensor(np.vstack([encoder_weight, np.zeros_like(components)])))
        encoder_linear.bias.copy_(tensor(np.concatenate([-encoder_weight @ mean, log_var])))
        decoder_linear.weight.copy_(tensor(components.T * scale[None, :]))
        decoder_linear.bias.copy_(tensor(mean))
        if self._output_activation() == "sigmoid":
            linearize_sigmoid_output(decoder_linear, tensor(mean))
        return noise_variance

    def _log_likelihood(self, reconstruction, X, noise_variance, contamination=None):
        """Per-row log p(x | z), summed over features, shape ``(B,)``."""
        return LOG_LIKELIHOODS[self.loss](reconstruction, X, noise_variance, contamination)

    def _kl_weight(self, epoch):
        """The KL term's weight at training ``epoch`` (counted from 1): ``beta`` after warm-up."""
        if not self.kl_warmup or not self.net_.module_.training:
            return self.beta
        return self.beta * min(1.0, (epoch - 1) / self.kl_warmup)

    def _training_loss(self, output, X_clean, X_input, epoch=None):
        reconstruction, _, mean, log_var = output
        module = self.net_.module_
        kl = kl_standard_normal(mean, log_var)
        if not module.training:  # validation: the beta-weighted ELBO of score_samples
            expected = self._expected_log_likelihood(module, X_clean, mean, log_var)
            return -expected.mean() + self.beta * kl
        noise_variance = module.noise_variance
        if noise_variance is None or not isinstance(self.noise_variance, str):
            log_likelihood = self._log_likelihood(reconstruction, X_clean, noise_variance)
            return -log_likelihood.mean() + self._kl_weight(epoch) * kl
        # A learned variance: the mean squared residual, pooled over the epoch (nn.py).
        # The network is fitted under the Gaussian (the tail's c -> 0 member), the
        # model it gives has the Cauchy tail: validation and scores use it.
        squared_residuals = (reconstruction.detach() - X_clean).pow(2)  # (B, n_features)
        parallel = self.net_.parallel  # distributed=True: every rank's residuals
        reduce = None if parallel is None else parallel.sum_with_count
        noise_variance = module.update_noise_variance(squared_residuals, epoch, reduce=reduce)
        self.net_.history.record("noise_variance", float(noise_variance.mean()))
        module.noise_contamination.fill_(ROW_CONTAMINATION / X_clean.shape[1])
        log_likelihood = self._log_likelihood(reconstruction, X_clean, noise_variance)
        return -log_likelihood.mean() + self._kl_weight(epoch) * kl

    def _expected_log_likelihood(self, module, X, mean, log_var, dtype=None):
        """``E_q[log p(x | z)]`` per row, ``(B,)``, by ``posterior_expectation``.

        ``dtype`` (e.g. ``torch.float64``) is the precision of the
        likelihood; the network runs in its own.
        """
        noise_variance, contamination = module.noise_variance, module.noise_contamination
        if dtype is not None:
            X = X.to(dtype)
            noise_variance = None if noise_variance is None else noise_variance.to(dtype)
            contamination = None if contamination is None else contamination.to(dtype)

        def log_likelihood(z):
            reconstruction = module.decode(z)
            if dtype is not None:
                reconstruction = reconstruction.to(dtype)
            return self._log_likelihood(reconstruction, X, noise_variance, contamination)

        return posterior_expectation(log_likelihood, mean, log_var)

    def _early_stopping_callback(self):
        """The base's, with no miss counted during the KL warm-up and the noise calibrated.

        During warm-up the KL weight grows, so the training loss may rise
        while the model improves; when a trained epoch's weights are kept,
        ``_calibrate_noise_variance`` runs on the validation rows.
        """
        stopping = super()._early_stopping_callback()
        stopping.set_params(warmup_epochs=self.kl_warmup, on_kept=self._calibrate_noise_variance)
        return stopping

    @torch.no_grad()
    def _calibrate_noise_variance(self, module, X):
        """Raise a learned noise variance to the mean expected squared residual of ``X``, if larger.

        Called by early stopping on the validation rows when it keeps a
        trained epoch: the training rows' residual then underestimates new
        rows'. The start (probabilistic PCA) keeps its own noise variance.
        """
        if module.noise_variance is None or not isinstance(self.noise_variance, str):
            return
        was_training = module.training
        module.eval()
        total, rows = 0.0, 0
        batch_size = self.net_.batch_size
        if isinstance(X, torch.Tensor):
            batches = (X[start : start + batch_size] for start in range(0, len(X), batch_size))
        else:  # rows left where they are (skae._data.LazyRows)
            batches = X.batches(batch_size)
        for batch in batches:
            mean, log_var = module.posterior(batch)
            residuals = posterior_expectation(
                lambda z: (module.decode(z) - batch).double().pow(2), mean, log_var
            )  # (B, n_features)
            total, rows = total + residuals.sum(0), rows + len(batch)
        module.train(was_training)
        parallel = active_parallel()
        if parallel is not None:  # the validation rows of every rank
            local = np.zeros(X.shape[1]) if rows == 0 else total.cpu().numpy()
            sums = parallel.all_sum(np.append(local, rows))
            total, rows = torch.from_numpy(sums[:-1]), sums[-1]
        estimate = total / rows
        if module.noise_variance.numel() == 1:
            estimate = estimate.mean().reshape(1)
        raised = torch.maximum(estimate.to(module.noise_variance), module.noise_variance)
        module.noise_variance.copy_(raised)

    @property
    def noise_variance_(self):
        """The likelihood's noise variance: a float, or one per feature (``loss="mse"`` only)."""
        noise_variance = getattr(getattr(self, "net_", None), "module_", None)
        noise_variance = getattr(noise_variance, "noise_variance", None)
        if noise_variance is None:
            raise AttributeError(f"{type(self).__name__} has no attribute 'noise_variance_'")
        if noise_variance.numel() > 1 or self.noise_variance == "learned_per_feature":
            return noise_variance.detach().double().cpu().numpy()
        return float(noise_variance)

    # ---------------------------------------------------------- inference
    def score_samples(self, X, *, n_importance_samples=None, random_state=0):
        """Evidence lower bound (ELBO) of each row, in nats (higher = more typical).

        The ELBO is ``E_q[log p(x | z)] - KL(q(z | x) || N(0, I))``, a lower
        bound on the row's log-density ``log p(x)``, with the likelihood of
        ``loss`` and ``beta=1`` whatever ``beta`` was used in training. It is
        in the units of ``sklearn.decomposition.PCA().score_samples``: the
        log-density of the data as given to ``fit``. The KL term is exact;
        the expectation is computed by the spherical cubature rule
        (``posterior_expectation``), exact while the decoder is linear in
        the code (at the start of ``init="pca"``, where the ELBO equals
        probabilistic PCA's log-likelihood) and deterministic otherwise.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Data to score.
        n_importance_samples : int, default=None
            When given, return instead the importance-weighted bound of Burda
            et al. (2016) with this many draws ``z_1..z_K`` from ``q(z | x)``,
            ``log (1/K) sum_k p(x, z_k) / q(z_k | x)``: a tighter lower bound
            on ``log p(x)`` as ``K`` grows (``K=1`` is a one-draw estimate of
            the ELBO), the figure papers report. Costs ``K`` decoder passes.
        random_state : int, RandomState instance or None, default=0
            Seed of the importance draws. Every row uses the same ``K``
            standard normal draws (scaled by its own posterior), so a row's
            bound does not depend on the other rows, and with an int the
            result is the same at every call.

        Returns
        -------
        scores : ndarray of shape (n_samples,), dtype float64
            The per-row bound, computed by a float64 copy of the network, so
            that a row's bound does not depend on the rows scored with it
            (to about 1e-12).
        """
        check_is_fitted(self)
        validate_parameter_constraints(
            {"n_importance_samples": [Interval(Integral, 1, None, closed="left"), None],
             "random_state": ["random_state"]},
            {"n_importance_samples": n_importance_samples, "random_state": random_state},
            caller_name="score_samples",
        )
        X = self._validate_input(X, reset=False)
        if n_importance_samples is None:

            def elbo(module, batch):  # float64 throughout: (B, n_features) -> (B,)
                mean, log_var = module.posterior(batch)
                expected = self._expected_log_likelihood(module, batch, mean, log_var)
                return expected - kl_standard_normal(mean, log_var, reduction="none")

            return self._score_batches(X, elbo)
        draws = check_random_state(random_state).standard_normal(
            (n_importance_samples, self.n_components)
        )
        draws = torch.as_tensor(draws, dtype=torch.float64, device=self._scoring_device())

        def importance_weighted_bound(module, batch):  # float64 throughout
            mean, log_var = module.posterior(batch)
            std = torch.exp(0.5 * log_var)
            noise_variance, contamination = module.noise_variance, module.noise_contamination
            log_weights = []
            for eps in draws:  # (k,)
                z = mean + std * eps  # (B, k)
                log_likelihood = self._log_likelihood(
                    module.decode(z), batch, noise_variance, contamination
                )
                log_prior = -0.5 * (z.pow(2) + _LOG_2PI).sum(1)
                log_posterior = -0.5 * (eps.pow(2) + log_var + _LOG_2PI).sum(1)
                log_weights.append(log_likelihood + log_prior - log_posterior)
            log_weights = torch.stack(log_weights)  # (K, B)
            return torch.logsumexp(log_weights, 0) - math.log(n_importance_samples)

        return self._score_batches(X, importance_weighted_bound)

    def score(self, X, y=None, *, n_importance_samples=None, random_state=0):
        """Mean ELBO per row on ``X``, in nats (higher is better).

        Comparable with ``sklearn.decomposition.PCA().score``, the mean
        log-likelihood of probabilistic PCA; this lets ``GridSearchCV``
        choose among models with no ``y`` and no scorer.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Data to score.
        y : None
            Ignored.
        n_importance_samples : int, default=None
            Average the importance-weighted bound with this many draws
            instead (see ``score_samples``).
        random_state : int, RandomState instance or None, default=0
            Seed of the importance draws.

        Returns
        -------
        score : float
            The mean of ``score_samples(X)``.
        """
        scores = self.score_samples(
            X, n_importance_samples=n_importance_samples, random_state=random_state
        )
        return float(np.mean(scores))

    def sample(self, n_samples=1, random_state=None, *, add_noise=False):
        """Generate rows: draw codes from N(0, I) and decode them.

        Parameters
        ----------
        n_samples : int, default=1
            Number of rows to generate.
        random_state : int, RandomState instance or None, default=None
            Seed of the codes (and noise) drawn. Pass an int for reproducible
            samples.
        add_noise : bool, default=False
            Whether to draw each row from the likelihood ``p(x | z)`` too,
            so that the rows are draws from the model's density ``p(x)``:
            Gaussian noise of variance ``noise_variance_`` (or, with the
            probability of the likelihood's tail, Cauchy noise of that scale)
            added to the decoded mean (``loss="mse"``), or values 0 and 1 drawn with the
            decoded probabilities (``loss="bce"``). By default the rows are
            the decoded means ``E[x | z]``, smooth and noise-free (for images,
            the usual picture).

        Returns
        -------
        X_new : ndarray of shape (n_samples, n_features), dtype float32
            The generated rows. A DataFrame with the original feature names
            under ``set_output(transform="pandas")`` (or polars).
        """
        check_is_fitted(self)
        validate_parameter_constraints(
            {"n_samples": [Interval(Integral, 1, None, closed="left")],
             "random_state": ["random_state"],
             "add_noise": ["boolean"]},
            {"n_samples": n_samples, "random_state": random_state, "add_noise": add_noise},
            caller_name="sample",
        )
        rng = check_random_state(random_state)
        codes = rng.standard_normal((n_samples, self.n_components)).astype(np.float32)
        X_new = self._map_batches(codes, self.module_.decode, self.n_features_in_)
        if add_noise and self.loss == "bce":
            X_new = (rng.uniform(size=X_new.shape) < X_new).astype(np.float32)
        elif add_noise:  # the Gaussian, or with probability c its Cauchy tail
            scale = np.sqrt(np.asarray(self.noise_variance_, dtype=np.float64))
            noise = rng.standard_normal(X_new.shape)
            tail = rng.uniform(size=X_new.shape) < float(self.module_.noise_contamination)
            noise[tail] = rng.standard_cauchy(int(tail.sum()))
            X_new = (X_new + scale * noise).astype(np.float32)
        return output_container(self, X_new)
