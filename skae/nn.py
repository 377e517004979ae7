"""Torch modules used by skae's estimators.

Pure PyTorch: nothing here knows about NumPy, pandas or scikit-learn.
"""

import math

import torch
from torch import nn

ACTIVATIONS = {
    "relu": nn.ReLU,
    "tanh": nn.Tanh,
    "logistic": nn.Sigmoid,
    "sigmoid": nn.Sigmoid,
    "elu": nn.ELU,
    "gelu": nn.GELU,
    "selu": nn.SELU,
    "leaky_relu": nn.LeakyReLU,
    "identity": nn.Identity,
}


def make_mlp(
    sizes, *, activation="relu", output_activation="identity", dropout=0.0, batch_norm=False
):
    """Build a multilayer perceptron as an ``nn.Sequential``.

    Parameters
    ----------
    sizes : sequence of int
        Layer widths, input first and output last (at least two entries).
    activation : str, default="relu"
        Activation after every hidden layer, a key of ``ACTIVATIONS``.
    output_activation : str, default="identity"
        Activation after the last layer.
    dropout : float, default=0.0
        Dropout probability after every hidden activation.
    batch_norm : bool, default=False
        Whether to add batch normalization before every hidden activation.

    Returns
    -------
    mlp : torch.nn.Sequential
        The network; ``mlp[-2]`` (or ``mlp[-1]`` without output activation) is
        the last ``nn.Linear``.

    Examples
    --------
    >>> from skae.nn import make_mlp
    >>> make_mlp([4, 3, 2])
    Sequential(
      (0): Linear(in_features=4, out_features=3, bias=True)
      (1): ReLU()
      (2): Linear(in_features=3, out_features=2, bias=True)
    )
    """
    layers = []
    n_layers = len(sizes) - 1
    for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(nn.Linear(n_in, n_out))
        if i < n_layers - 1:
            if batch_norm:
                layers.append(nn.BatchNorm1d(n_out))
            layers.append(ACTIVATIONS[activation]())
            if dropout > 0:
                layers.append(nn.Dropout(dropout))
        elif output_activation != "identity":
            layers.append(ACTIVATIONS[output_activation]())
    return nn.Sequential(*layers)


def last_linear(mlp):
    """Return the last ``nn.Linear`` layer of a sequential network."""
    return [layer for layer in mlp if isinstance(layer, nn.Linear)][-1]


class LinearSkip(nn.Module):
    """A linear map plus a nonlinear network: ``linear(x) + mlp(x)``.

    Used by ``init="pca"``: ``linear`` starts at PCA's solution and the last
    layer of ``mlp`` at zero, so the network starts exactly where PCA ends and
    training can only add to it. ``activation`` is applied to the sum.
    """

    def __init__(self, linear, mlp, activation="identity"):
        super().__init__()
        self.linear = linear
        self.mlp = mlp
        self.activation = ACTIVATIONS[activation]()

    def forward(self, x):
        return self.activation(self.linear(x) + self.mlp(x))  # (B, n_out)


def make_encoder_decoder(
    n_in,
    hidden_layer_sizes,
    n_code,
    n_out,
    *,
    linear_path=False,
    code_activation="identity",
    output_activation="identity",
    **mlp_options,
):
    """An MLP encoder and its mirrored decoder, each beside a linear path if asked.

    With ``linear_path`` each part is a ``LinearSkip``: a linear layer beside
    the MLP, whose last layer starts at zero, so that the pair starts as its
    linear paths alone (``init="pca"`` sets them to PCA's solution with
    ``init_linear_pca``).

    Parameters
    ----------
    n_in, n_code, n_out : int
        Widths of the input, the code and the output.
    hidden_layer_sizes : sequence of int
        The encoder's hidden widths; the decoder's are the same, reversed.
    linear_path : bool, default=False
        Whether to add the linear paths.
    code_activation, output_activation : str, default="identity"
        Activations of the code and of the output, keys of ``ACTIVATIONS``.
    **mlp_options
        ``activation``, ``dropout`` and ``batch_norm`` of ``make_mlp``.

    Returns
    -------
    encoder, decoder : torch.nn.Module
        ``n_in -> n_code`` and ``n_code -> n_out``.
    linears : tuple of two torch.nn.Linear
        The layers a PCA start sets: the linear paths, or else the encoder's
        first and the decoder's last linear layers.

    Examples
    --------
    >>> import torch
    >>> from skae.nn import make_encoder_decoder
    >>> encoder, decoder, linears = make_encoder_decoder(4, [8], 2, 4, linear_path=True)
    >>> x = torch.randn(3, 4)
    >>> bool(torch.equal(decoder(encoder(x)), linears[1](linears[0](x))))
    True
    """
    hidden = [int(width) for width in hidden_layer_sizes]
    encoder_sizes = [n_in, *hidden, n_code]
    decoder_sizes = [n_code, *hidden[::-1], n_out]
    if linear_path:
        encoder = LinearSkip(
            nn.Linear(n_in, n_code), make_mlp(encoder_sizes, **mlp_options), code_activation
        )
        decoder = LinearSkip(
            nn.Linear(n_code, n_out), make_mlp(decoder_sizes, **mlp_options), output_activation
        )
        with torch.no_grad():
            for branch in (encoder.mlp, decoder.mlp):
                last_linear(branch).weight.zero_()
                last_linear(branch).bias.zero_()
        return encoder, decoder, (encoder.linear, decoder.linear)
    encoder = make_mlp(encoder_sizes, output_activation=code_activation, **mlp_options)
    decoder = make_mlp(decoder_sizes, output_activation=output_activation, **mlp_options)
    return encoder, decoder, (encoder[0], last_linear(decoder))


class Autoencoder(nn.Module):
    """An encoder and a decoder; ``forward`` returns ``(reconstruction, code)``.

    Parameters
    ----------
    encoder : torch.nn.Module
        Maps a batch ``(B, n_features)`` to codes ``(B, n_components)``.
    decoder : torch.nn.Module
        Maps codes back to ``(B, n_features)``.

    Examples
    --------
    >>> import torch
    >>> from skae.nn import Autoencoder, make_mlp
    >>> ae = Autoencoder(make_mlp([4, 2]), make_mlp([2, 4]))
    >>> reconstruction, code = ae(torch.zeros(3, 4))
    >>> tuple(reconstruction.shape), tuple(code.shape)
    ((3, 4), (3, 2))
    """

    def __init__(self, encoder, decoder):
        super().__init__()
        self.encoder = encoder
        self.decoder = decoder

    def encode(self, x):
        """Map inputs ``(B, n_features)`` to codes ``(B, n_components)``."""
        return self.encoder(x)

    def decode(self, z):
        """Map codes ``(B, n_components)`` to reconstructions ``(B, n_features)``."""
        return self.decoder(z)

    def forward(self, x):
        code = self.encode(x)  # (B, n_components)
        return self.decode(code), code


@torch.no_grad()
def init_linear_pca(encoder_linear, decoder_linear, components, mean):
    """Set a linear encoder/decoder pair to PCA's projection and reconstruction.

    Parameters
    ----------
    encoder_linear, decoder_linear : torch.nn.Linear
        Layers of shape ``n_features -> n_components`` and back. The encoder
        may read more inputs than the ``n_features`` PCA saw (after them, e.g.
        missing indicators): their weights are set to zero.
    components : torch.Tensor of shape (n_components, n_features)
        Orthonormal rows (zero rows allowed when the code is wider than the rank).
    mean : torch.Tensor of shape (n_features,)
        The mean of the training data.
    """
    if encoder_linear.in_features > components.shape[1]:
        encoder_linear.weight.zero_()
    encoder_linear.weight[:, : components.shape[1]] = components
    encoder_linear.bias.copy_(-components @ mean)
    decoder_linear.weight.copy_(components.T)
    decoder_linear.bias.copy_(mean)


def pca_linears(autoencoder):
    """The encoder and decoder layers that ``init_linear_pca`` sets in an ``Autoencoder``.

    The ``linear`` paths of ``LinearSkip`` encoder and decoder, or else the
    encoder's first and the decoder's last linear layers.
    """
    encoder, decoder = autoencoder.encoder, autoencoder.decoder
    if isinstance(encoder, LinearSkip):
        return encoder.linear, decoder.linear
    return encoder[0], last_linear(decoder)


def _projection_moments(blocks, weight):
    """The rows' mean and the standard deviation of their projections ``x @ weight.T``.

    ``blocks`` is an iterable of row blocks ``(B, n_features)``, read twice
    (the mean, then the centered projections); sums are kept in float64.
    Returns float32 tensors of shapes ``(n_features,)`` and ``(n_out,)``, on
    ``weight``'s device, as ``X.mean(0)`` and ``((X - mean) @ weight.T).std(0)``
    of all the rows would give them.
    """
    weight64 = weight.detach().double().cpu()
    total, count = 0.0, 0
    for block in blocks:
        total = total + block.double().sum(0)
        count += len(block)
    mean = total / count  # (n_features,)
    squares = 0.0
    for block in blocks:
        projected = (block.double() - mean) @ weight64.T  # (B, n_out)
        squares = squares + projected.pow(2).sum(0)
    std = (squares / max(count - 1, 1)).sqrt()
    return mean.to(weight), std.to(weight)


@torch.no_grad()
def scale_code_to_linear_range(encoder_linear, decoder_linear, X, spread=0.5):
    """Shrink a PCA-initialized code so that a saturating activation starts in its linear range.

    After ``init_linear_pca`` the code's pre-activations are PCA scores, whose
    standard deviations are the square roots of PCA's eigenvalues: several
    units on standardized data, where ``tanh`` and ``sigmoid`` saturate, so
    the start is far from PCA's reconstruction. This multiplies each code
    unit's encoder row and bias by ``c_j = spread / std_j`` (``std_j`` the
    standard deviation of its pre-activation on ``X``) and divides its
    decoder column by ``c_j``: the linear path computes the same
    reconstruction, while the pre-activations now have standard deviation
    ``spread``, where ``tanh(u)`` is close to ``u`` (and ``sigmoid(u)`` to
    ``1/2 + u/4``, see ``linearize_sigmoid_code``). Units constant on ``X``
    are left alone.

    Parameters
    ----------
    encoder_linear, decoder_linear : torch.nn.Linear
        The layers set by ``init_linear_pca``.
    X : torch.Tensor of shape (n_samples, n_features), or iterable of such tensors
        The training data, or its row blocks (rows left where they are), over
        which the statistics are accumulated in float64.
    spread : float, default=0.5
        Standard deviation of each pre-activation on ``X`` after scaling.

    Examples
    --------
    >>> import torch
    >>> from skae.nn import init_linear_pca, scale_code_to_linear_range
    >>> encoder, decoder = torch.nn.Linear(2, 1), torch.nn.Linear(1, 2)
    >>> X = torch.tensor([[-4.0, 0.0], [0.0, 0.0], [4.0, 0.0]])  # scores of std 4
    >>> init_linear_pca(encoder, decoder, torch.tensor([[1.0, 0.0]]), X.mean(0))
    >>> scale_code_to_linear_range(encoder, decoder, X, spread=0.5)
    >>> round(encoder(X).std().item(), 6)
    0.5
    >>> torch.allclose(decoder(encoder(X)), X)  # the linear path is unchanged
    True
    """
    if isinstance(X, torch.Tensor):
        X = X.to(encoder_linear.weight)
        std = (X @ encoder_linear.weight.T).std(0)  # (n_components,)
    else:
        std = _projection_moments(X, encoder_linear.weight)[1]
    scale = torch.where(std > 1e-12 * std.max(), spread / std, torch.ones_like(std))
    encoder_linear.weight.mul_(scale[:, None])
    encoder_linear.bias.mul_(scale)
    decoder_linear.weight.div_(scale)


@torch.no_grad()
def linearize_sigmoid_code(encoder_linear, decoder_linear, mean_activation=0.5):
    """Start a PCA-initialized sigmoid code at ``mean_activation``, reconstructing about as PCA.

    After ``init_linear_pca``, a sigmoid code is ``h = sigmoid(s)`` of the PCA
    scores ``s``. This shifts it to ``h = sigmoid(s + logit(m))``, about
    ``m + g s`` with ``g = m (1 - m)``, and sets the decoder's linear path to
    ``(h - m) / g`` through PCA's components, so the reconstruction starts at
    PCA's to first order in ``s``.

    Parameters
    ----------
    encoder_linear, decoder_linear : torch.nn.Linear
        The layers set by ``init_linear_pca``.
    mean_activation : float, default=0.5
        The code's starting activation ``m`` at the data mean, in (0, 1).

    Examples
    --------
    >>> import torch
    >>> from skae.nn import init_linear_pca, linearize_sigmoid_code
    >>> encoder, decoder = torch.nn.Linear(2, 1), torch.nn.Linear(1, 2)
    >>> init_linear_pca(encoder, decoder, torch.tensor([[1.0, 0.0]]), torch.zeros(2))
    >>> linearize_sigmoid_code(encoder, decoder, 0.1)
    >>> x = torch.tensor([[0.01, 0.0]])
    >>> torch.allclose(decoder(torch.sigmoid(encoder(x))), x, atol=1e-4)
    True
    """
    slope = mean_activation * (1.0 - mean_activation)
    encoder_linear.bias += math.log(mean_activation / (1.0 - mean_activation))
    decoder_linear.weight /= slope
    decoder_linear.bias -= mean_activation * decoder_linear.weight.sum(1)


@torch.no_grad()
def linearize_sigmoid_output(decoder_linear, mean, margin=0.01):
    """Make a decoder with a sigmoid output start at its linear reconstruction, to first order.

    A decoder set by ``init_linear_pca`` reconstructs ``x`` as ``a = W h + b``
    (about the data mean ``m`` plus PCA's correction); a sigmoid on top would
    give ``sigmoid(a)`` instead, far from it (``sigmoid(0) = 0.5``). This sets
    the layer to ``logit(m) + (a - m) / (m (1 - m))``, whose sigmoid is about
    ``a`` near the mean, so a ``loss="bce"`` network starts near PCA too.

    Parameters
    ----------
    decoder_linear : torch.nn.Linear
        The decoder's linear path, of shape ``n_components -> n_features``.
    mean : torch.Tensor of shape (n_features,)
        The mean of the training data, in [0, 1].
    margin : float, default=0.01
        ``m`` is clipped to ``[margin, 1 - margin]``, so that constant pixels
        (mean 0 or 1) get a finite logit and slope.

    Examples
    --------
    >>> import torch
    >>> from skae.nn import init_linear_pca, linearize_sigmoid_output
    >>> encoder, decoder = torch.nn.Linear(2, 1), torch.nn.Linear(1, 2)
    >>> mean = torch.tensor([0.3, 0.6])
    >>> init_linear_pca(encoder, decoder, torch.tensor([[0.6, 0.8]]), mean)
    >>> linearize_sigmoid_output(decoder, mean)
    >>> x = mean + 0.01 * torch.tensor([0.6, 0.8])  # on PCA's line
    >>> torch.allclose(torch.sigmoid(decoder(encoder(x))), x, atol=1e-4)
    True
    """
    m = mean.to(decoder_linear.weight).clamp(margin, 1.0 - margin)  # (n_features,)
    slope = m * (1.0 - m)
    decoder_linear.weight /= slope[:, None]
    decoder_linear.bias.sub_(m).div_(slope).add_(torch.logit(m))


@torch.no_grad()
def activate_idle_units(encoder_linear, decoder_linear, X):
    """Give the code units that PCA leaves constant on ``X`` random directions to learn from.

    After ``init_linear_pca``, the units beyond PCA's rank (an overcomplete
    code, or data of lower rank) are constant: zero weights both ways, a
    saddle point where a linear or ReLU unit gets no gradient, or a
    direction in which the data do not vary. Their encoder rows become
    random unit directions (from torch's global generator) through the mean
    of ``X``, and their decoder columns zero, so the reconstruction still
    starts at PCA's while the units start with varying inputs.

    Parameters
    ----------
    encoder_linear, decoder_linear : torch.nn.Linear
        The layers set by ``init_linear_pca``.
    X : torch.Tensor of shape (n_samples, n_features), or iterable of such tensors
        The training data, or its row blocks (rows left where they are), over
        which the statistics are accumulated in float64.

    Examples
    --------
    >>> import torch
    >>> from skae.nn import activate_idle_units, init_linear_pca
    >>> encoder, decoder = torch.nn.Linear(2, 3), torch.nn.Linear(3, 2)
    >>> X = torch.tensor([[0.0, 1.0], [2.0, 1.0], [4.0, 1.0]])  # varies along x0 only
    >>> components = torch.tensor([[1.0, 0.0], [0.0, 1.0], [0.0, 0.0]])
    >>> init_linear_pca(encoder, decoder, components, X.mean(0))
    >>> activate_idle_units(encoder, decoder, X)
    >>> encoder(X).std(0).gt(0).tolist()  # every unit now varies
    [True, True, True]
    >>> decoder.weight[:, 1:].abs().sum().item()  # and the new ones are not decoded yet
    0.0
    """
    if isinstance(X, torch.Tensor):
        X = X.to(encoder_linear.weight)
        mean = X.mean(0)  # (n_features,)
        spread = ((X - mean) @ encoder_linear.weight.T).std(0)  # (n_components,)
    else:
        mean, spread = _projection_moments(X, encoder_linear.weight)
    idle = spread <= 1e-5 * spread.max()
    if not idle.any():
        return
    rows = torch.randn(int(idle.sum()), encoder_linear.in_features)  # (n_idle, n_features)
    rows = (rows / rows.norm(dim=1, keepdim=True)).to(encoder_linear.weight)
    encoder_linear.weight[idle] = rows
    encoder_linear.bias[idle] = -(rows @ mean)
    decoder_linear.weight[:, idle] = 0.0


class VariationalAutoencoder(nn.Module):
    """A variational autoencoder: a Gaussian encoder, a decoder and the decoder's noise variance.

    ``forward`` returns ``(reconstruction, z, mean, log_var)``. In training
    mode ``z`` is drawn from the posterior with the reparameterization trick,
    ``z = mean + exp(log_var / 2) * eps``; in evaluation mode ``z = mean``, so
    inference is deterministic.

    Parameters
    ----------
    encoder : torch.nn.Module
        Maps a batch ``(B, n_features)`` to ``(B, 2 * n_components)``: the
        posterior means, then the log-variances.
    decoder : torch.nn.Module
        Maps codes ``(B, n_components)`` back to ``(B, n_features)``.
    noise_variance : torch.Tensor of shape (1,) or (n_features,), default=None
        The variance of a Gaussian likelihood ``p(x | z) = N(decoder(z),
        diag(noise_variance))``, shared by every feature (shape ``(1,)``) or
        one per feature; ``None`` for a likelihood without one (Bernoulli).
        A buffer, saved in the ``state_dict``.
    noise_variance_floor : float, default=0.0
        The smallest value ``update_noise_variance`` sets.

    With a noise variance the module also holds ``noise_contamination``, a
    buffer of shape ``(1,)``, 0 unless its owner sets it: the weight of a
    heavy-tailed part of the likelihood (``skae.variational``).

    Examples
    --------
    >>> import torch
    >>> from skae.nn import VariationalAutoencoder, make_mlp
    >>> vae = VariationalAutoencoder(make_mlp([4, 6]), make_mlp([3, 4])).eval()
    >>> reconstruction, z, mean, log_var = vae(torch.zeros(5, 4))
    >>> tuple(reconstruction.shape), tuple(z.shape), bool(torch.equal(z, mean))
    ((5, 4), (5, 3), True)
    """

    def __init__(self, encoder, decoder, noise_variance=None, noise_variance_floor=0.0):
        super().__init__()
        self.encoder = encoder
        self.decoder = decoder
        if noise_variance is not None:
            noise_variance = torch.as_tensor(noise_variance, dtype=torch.float32).reshape(-1)
        self.register_buffer("noise_variance", noise_variance)
        floor = torch.tensor(float(noise_variance_floor), dtype=torch.float64).float()
        self.register_buffer("noise_variance_floor", floor)
        contamination = None if noise_variance is None else torch.zeros(1)
        self.register_buffer("noise_contamination", contamination)
        self._noise_epoch = None  # the epoch whose batches update_noise_variance averages

    def posterior(self, x):
        """Return the posterior's ``(mean, log_var)``, each ``(B, n_components)``.

        The log-variance is capped at 0: a posterior is never wider than the
        N(0, 1) prior (a wider one only costs KL), so that an input far from
        the training data cannot make ``exp(log_var)``, and the KL term with
        it, overflow.
        """
        mean, log_var = self.encoder(x).chunk(2, dim=1)
        return mean, log_var.clamp(max=0.0)

    def encode(self, x):
        """Map inputs ``(B, n_features)`` to posterior means ``(B, n_components)``."""
        return self.posterior(x)[0]

    def decode(self, z):
        """Map codes ``(B, n_components)`` to reconstructions ``(B, n_features)``."""
        return self.decoder(z)

    def forward(self, x):
        mean, log_var = self.posterior(x)  # (B, n_components) each
        z = mean
        if self.training:
            z = mean + torch.exp(0.5 * log_var) * torch.randn_like(mean)
        return self.decode(z), z, mean, log_var

    @torch.no_grad()
    def update_noise_variance(self, squared_residuals, epoch, reduce=None):
        """Set ``noise_variance`` to the mean squared residual of ``epoch``'s batches so far.

        The mean squared residual is the variance that maximizes a Gaussian
        likelihood given the reconstructions (the M-step of the noise
        variance): over all entries when the variance is shared, per feature
        otherwise. Within one ``epoch`` the batches are pooled, row-weighted;
        a new ``epoch`` starts afresh. The result is at least
        ``noise_variance_floor``.

        Parameters
        ----------
        squared_residuals : torch.Tensor of shape (B, n_features)
            ``(x - reconstruction) ** 2`` of a training batch.
        epoch : int
            The current epoch.
        reduce : callable or None, default=None
            ``reduce(batch_sum, count) -> (batch_sum, count)``: in data-parallel
            training, the sums over every rank's batch of this step.

        Returns
        -------
        noise_variance : torch.Tensor of shape (1,) or (n_features,)
            The updated buffer.
        """
        shared = self.noise_variance.numel() == 1
        batch_sum = squared_residuals.sum() if shared else squared_residuals.sum(0)  # (1,) | (d,)
        count = squared_residuals.numel() if shared else len(squared_residuals)
        if reduce is not None:
            batch_sum, count = reduce(batch_sum, count)
        if self._noise_epoch != epoch:
            self._noise_epoch, self._noise_sum, self._noise_count = epoch, 0.0, 0
        self._noise_sum = self._noise_sum + batch_sum.double()
        self._noise_count += count
        estimate = (self._noise_sum / self._noise_count).clamp_min(float(self.noise_variance_floor))
        self.noise_variance.copy_(estimate.reshape(self.noise_variance.shape))
        return self.noise_variance

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs):
        # Files written before the contamination existed: a Gaussian likelihood.
        key = prefix + "noise_contamination"
        if self.noise_contamination is not None and key not in state_dict:
            state_dict[key] = torch.zeros_like(self.noise_contamination)
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)
