"""Extra loss terms added to the reconstruction loss.

Each function takes tensors and returns a scalar tensor (a mean over the batch).
"""

import math

import torch
import torch.nn.functional as F

from .nn import LinearSkip

__all__ = [
    "contractive",
    "jacobian_norm_autograd",
    "jacobian_norm_closed_form",
    "jacobian_norm_layerwise",
    "kl_sparsity",
    "kl_standard_normal",
    "l1_activity",
]


def kl_standard_normal(mean, log_var, reduction="mean"):
    """KL divergence from N(mean, exp(log_var)) to N(0, I), summed over units, averaged over rows.

    Parameters
    ----------
    mean, log_var : torch.Tensor of shape (B, n_components)
        Parameters of the diagonal Gaussian posterior q(z | x).
    reduction : {"mean", "none"}, default="mean"
        ``"mean"`` averages over rows; ``"none"`` returns one value per row.

    Returns
    -------
    kl : torch.Tensor
        A scalar, or shape ``(B,)`` with ``reduction="none"``.

    Examples
    --------
    >>> import torch
    >>> from skae.penalties import kl_standard_normal
    >>> float(kl_standard_normal(torch.zeros(4, 2), torch.zeros(4, 2)))
    0.0
    """
    kl = 0.5 * (mean.pow(2) + log_var.exp() - 1.0 - log_var).sum(1)  # (B,)
    return kl if reduction == "none" else kl.mean()


def l1_activity(code):
    """Mean absolute value of the code entries: the L1 activity penalty.

    Parameters
    ----------
    code : torch.Tensor of shape (B, n_components)
        The codes of a batch.

    Returns
    -------
    penalty : torch.Tensor
        A scalar, ``mean(|code|)``.

    Examples
    --------
    >>> import torch
    >>> from skae.penalties import l1_activity
    >>> float(l1_activity(torch.tensor([[1.0, -3.0], [0.0, 0.0]])))
    1.0
    """
    return code.abs().mean()


# Keeps the logarithms of kl_sparsity finite when a unit is always off or on.
_KL_EPS = 1e-6


def kl_sparsity(code, target):
    """KL sparsity penalty: sum over units of KL(target || mean activation of the unit).

    ``rho_hat_j`` is the mean of code unit ``j`` over the batch and
    ``KL(rho || rho_hat) = rho log(rho / rho_hat) + (1 - rho) log((1 - rho) /
    (1 - rho_hat))``, the divergence between Bernoulli distributions (Ng,
    "Sparse autoencoder", CS294A lecture notes, 2011). It is zero exactly when
    every unit's mean activation equals ``target``.

    Parameters
    ----------
    code : torch.Tensor of shape (B, n_components)
        The codes of a batch, in (0, 1) (e.g. sigmoid outputs).
    target : float
        The wanted mean activation ``rho``, in (0, 1).

    Returns
    -------
    penalty : torch.Tensor
        A scalar.

    Examples
    --------
    >>> import torch
    >>> from skae.penalties import kl_sparsity
    >>> abs(float(kl_sparsity(torch.full((8, 3), 0.05), 0.05))) < 1e-6
    True
    >>> float(kl_sparsity(torch.full((8, 3), 0.5), 0.05)) > 0
    True
    """
    rho_hat = code.mean(0).clamp(_KL_EPS, 1.0 - _KL_EPS)  # (n_components,)
    return _summed_kl(float(target), rho_hat)


def _summed_kl(rho, rho_hat):
    """sum_j KL(rho || rho_hat_j), as cross-entropy - entropy: one fused op, not a dozen."""
    cross_entropy = F.binary_cross_entropy(rho_hat, torch.full_like(rho_hat, rho), reduction="sum")
    entropy = -(rho * math.log(rho) + (1.0 - rho) * math.log1p(-rho))
    return cross_entropy - entropy * len(rho_hat)


def l1_activity_and_grad(code):
    """``l1_activity(code)`` and its gradient with respect to ``code``, without autograd.

    Examples
    --------
    >>> import torch
    >>> from skae.penalties import l1_activity_and_grad
    >>> value, grad = l1_activity_and_grad(torch.tensor([[1.0, -3.0], [0.0, 0.0]]))
    >>> float(value), grad.tolist()
    (1.0, [[0.25, -0.25], [0.0, 0.0]])
    """
    return code.abs().mean(), code.sign().div_(code.numel())


def kl_sparsity_and_grad(code, target):
    """``kl_sparsity(code, target)`` and its gradient with respect to ``code``, without autograd.

    Examples
    --------
    >>> import torch
    >>> from skae.penalties import kl_sparsity, kl_sparsity_and_grad
    >>> code = torch.rand(8, 3, requires_grad=True)
    >>> kl_sparsity(code, 0.1).backward()
    >>> value, grad = kl_sparsity_and_grad(code.detach(), 0.1)
    >>> torch.allclose(grad, code.grad)
    True
    """
    mean = code.mean(0)  # (n_components,)
    rho_hat = mean.clamp(_KL_EPS, 1.0 - _KL_EPS)
    rho = float(target)
    # d KL / d rho_hat_j, zero where the clamp is active; each row adds 1 / B of rho_hat_j.
    slope = (rho_hat - rho) / (rho_hat * (1.0 - rho_hat))
    slope = torch.where(mean == rho_hat, slope, torch.zeros_like(slope)) / len(code)
    return _summed_kl(rho, rho_hat), slope.expand_as(code)  # a view: the same for every row


# Derivative of an elementwise activation, written from its output h = f(a).
ACTIVATION_SLOPES = {
    "identity": lambda h: torch.ones_like(h),
    "sigmoid": lambda h: h * (1.0 - h),
    "tanh": lambda h: 1.0 - h * h,
}
_SLOPE_OF_MODULE = {
    torch.nn.Identity: "identity",
    torch.nn.Sigmoid: "sigmoid",
    torch.nn.Tanh: "tanh",
}


def _reduce(per_row, reduction):
    return per_row if reduction == "none" else per_row.mean()


def jacobian_norm_closed_form(code, weight, activation="sigmoid", reduction="mean"):
    """Squared Frobenius norm of a one-layer encoder's Jacobian, in closed form.

    For ``h = f(x @ weight.T + bias)`` with an elementwise ``f``, the
    Jacobian is ``diag(f'(a)) @ weight``, so ``||J(x)||_F^2 = sum_j f'(a_j)^2
    ||weight_j||^2`` (Rifai et al., 2011), with ``f'`` written from the
    output: ``h (1 - h)`` for the sigmoid, ``1 - h^2`` for tanh, 1 for the
    identity. Costs one product of size ``(B, n_components)``.

    Parameters
    ----------
    code : torch.Tensor of shape (B, n_components)
        The encoder's outputs ``h``.
    weight : torch.Tensor of shape (n_components, n_features)
        The weight of the encoder's linear layer.
    activation : {"sigmoid", "tanh", "identity"}, default="sigmoid"
        The encoder's activation ``f``.
    reduction : {"mean", "none"}, default="mean"
        Average over rows, or return one value per row.

    Returns
    -------
    norm : torch.Tensor
        A scalar, or shape ``(B,)`` with ``reduction="none"``.

    Examples
    --------
    >>> import torch
    >>> from skae.penalties import jacobian_norm_closed_form
    >>> layer = torch.nn.Linear(3, 2)
    >>> with torch.no_grad():
    ...     _ = layer.weight.fill_(1.0), layer.bias.fill_(0.0)
    >>> code = torch.sigmoid(layer(torch.zeros(1, 3)))  # h = 0.5: slope 0.25
    >>> float(jacobian_norm_closed_form(code, layer.weight).detach())  # 2 * 0.25**2 * 3
    0.375
    """
    if activation == "identity":  # J = W at every row: two operations
        norm = weight.pow(2).sum()
        return norm if reduction == "mean" else norm.expand(len(code))
    slope = ACTIVATION_SLOPES[activation](code)  # (B, n_components)
    per_row = slope.pow(2) @ weight.pow(2).sum(1)  # (B,)
    return _reduce(per_row, reduction)


def jacobian_norm_autograd(encoder, X, reduction="mean"):
    """Squared Frobenius norm of an encoder's Jacobian at each row, by batched autograd.

    One forward pass of ``encoder`` on ``X``, then one reverse pass per code
    unit, vectorized with ``torch.vmap`` (``torch.autograd.grad`` with
    ``is_grads_batched=True``), with ``create_graph=True`` so that the result
    can be differentiated with respect to the encoder's weights. The
    Jacobian of row ``i`` is exact when rows do not interact, that is without
    batch normalization in training mode. Costs about ``n_components``
    backward passes of the encoder.

    Parameters
    ----------
    encoder : callable
        Maps a tensor ``(B, n_features)`` to codes ``(B, n_components)``, row by row.
    X : torch.Tensor of shape (B, n_features)
        The inputs.
    reduction : {"mean", "none"}, default="mean"
        Average over rows, or return one value per row.

    Returns
    -------
    norm : torch.Tensor
        A scalar, or shape ``(B,)`` with ``reduction="none"``.

    Examples
    --------
    >>> import torch
    >>> from skae.penalties import jacobian_norm_autograd
    >>> W = torch.tensor([[1.0, 2.0], [0.0, 3.0]])
    >>> float(jacobian_norm_autograd(lambda x: x @ W.T, torch.ones(5, 2)))  # ||W||_F^2
    14.0
    """
    with torch.enable_grad():
        X = X.detach().requires_grad_(True)
        code = encoder(X)  # (B, n_components)
        n_units = code.shape[1]
        eye = torch.eye(n_units, dtype=code.dtype, device=code.device)
        basis = eye.unsqueeze(1).expand(n_units, *code.shape)  # (n_components, B, n_components)
        (jacobian,) = torch.autograd.grad(
            code, X, basis, create_graph=True, is_grads_batched=True
        )  # (n_components, B, n_features)
    return _reduce(jacobian.pow(2).sum((0, 2)), reduction)


# Modules that act on each entry separately: their Jacobian is a diagonal of slopes.
_ELEMENTWISE = (
    torch.nn.Identity,
    torch.nn.ReLU,
    torch.nn.LeakyReLU,
    torch.nn.ELU,
    torch.nn.SELU,
    torch.nn.GELU,
    torch.nn.Sigmoid,
    torch.nn.Tanh,
    torch.nn.Dropout,
)


def _slope(layer, pre):
    """``(layer(pre), slope)`` with the elementwise derivative, kept differentiable."""
    out = layer(pre)
    if isinstance(layer, torch.nn.Identity):
        return out, None
    (slope,) = torch.autograd.grad(out.sum(), pre, create_graph=True)  # (B, width)
    return out, slope


def _chain_factors(layers, h):
    """Forward ``h`` through linear and elementwise layers; ``None`` for any other layer.

    Returns the output and ``[[W_1, S_1], ..., [W_L, S_L]]``: each linear
    layer's weight and the product of the slopes of the elementwise layers
    after it (``None`` for none), so that ``J = S_L W_L ... S_1 W_1``.
    """
    factors = []
    for layer in layers:
        if isinstance(layer, torch.nn.Linear):
            h = layer(h)
            factors.append([layer.weight, None])
        elif isinstance(layer, _ELEMENTWISE) and factors:
            h, slope = _slope(layer, h)
            if slope is not None:
                factors[-1][1] = slope if factors[-1][1] is None else factors[-1][1] * slope
        else:
            return None
    return (h, factors) if factors else None


def _left_product(factors):
    """``G`` of shape (B or 1, n_out, width of layer 1) with ``J = G @ W_1``."""
    G = None
    for weight, slope in reversed(factors[1:]):
        if G is None:
            G = weight.unsqueeze(0) if slope is None else slope.unsqueeze(2) * weight
        else:
            G = G @ weight if slope is None else (G * slope.unsqueeze(1)) @ weight
    first_slope = factors[0][1]
    if G is None:  # a single linear layer: G is the diagonal of its slopes
        n_out = factors[0][0].shape[0]
        eye = torch.eye(n_out, dtype=factors[0][0].dtype, device=factors[0][0].device)
        G = eye.unsqueeze(0)
    return G if first_slope is None else G * first_slope.unsqueeze(1)


def _frobenius_rows(G, weight, n_rows):
    """``||G_i @ weight||_F^2`` for each row, through the Gram matrix when cheaper."""
    G = G.expand(n_rows, -1, -1)  # (B, k, h)
    width, n_features = weight.shape
    # Costs per (row, unit, h): Gram h + h d / (B k) multiplications, direct d.
    if width + width * n_features / (G.shape[0] * G.shape[1]) < n_features:
        gram = weight @ weight.T  # (h, h)
        return ((G @ gram) * G).sum((1, 2))  # trace(G gram G^T) per row, (B,)
    return (G @ weight).pow(2).sum((1, 2))  # (B,)


def _layerwise_factors(encoder, X):
    """``(G, W)`` with the Jacobian at row i equal to ``G[i] @ W``, or ``None`` if unsupported."""
    if isinstance(encoder, LinearSkip):  # act(linear(x) + mlp(x))
        chain = _chain_factors(list(encoder.mlp), X)
        if chain is None:
            return None
        mlp_out, factors = chain
        _, out_slope = _slope(encoder.activation, encoder.linear(X) + mlp_out)
        G_mlp = _left_product(factors).expand(len(X), -1, -1)  # (B, k, h_1)
        n_out = G_mlp.shape[1]
        eye = torch.eye(n_out, dtype=X.dtype, device=X.device).expand(len(X), n_out, n_out)
        G = torch.cat([eye, G_mlp], dim=2)  # (B, k, k + h_1)
        weight = torch.cat([encoder.linear.weight, factors[0][0]], dim=0)  # (k + h_1, d)
        return (G if out_slope is None else G * out_slope.unsqueeze(2)), weight
    layers = list(encoder) if isinstance(encoder, torch.nn.Sequential) else [encoder]
    chain = _chain_factors(layers, X)
    if chain is None:
        return None
    return _left_product(chain[1]), chain[1][0][0]


def jacobian_norm_layerwise(encoder, X, reduction="mean"):
    """Squared Frobenius norm of an MLP encoder's Jacobian, as a product of layer factors.

    For an encoder of linear layers and elementwise activations, ``J(x) =
    S_L W_L ... S_1 W_1`` with ``S_l`` the diagonal of the activations'
    slopes at ``x`` (taken by autograd of each activation alone, so any
    elementwise activation works, and kept differentiable). The product is
    formed from the code side down to the first layer's width, and
    ``||G W_1||_F^2 = trace(G (W_1 W_1^T) G^T)`` avoids ever forming the
    ``(B, n_components, n_features)`` Jacobian when the first layer is
    narrower than the input. Exact, and about twice as fast as
    :func:`jacobian_norm_autograd` on a 784-256-64-10 encoder. Supports
    ``torch.nn.Sequential`` encoders (as built by ``skae.nn.make_mlp``) and
    ``skae.nn.LinearSkip``; dropout counts as elementwise (its mask is the
    one drawn in this forward pass).

    Parameters
    ----------
    encoder : torch.nn.Sequential or skae.nn.LinearSkip
        Linear layers and elementwise activations (and dropout).
    X : torch.Tensor of shape (B, n_features)
        The inputs.
    reduction : {"mean", "none"}, default="mean"
        Average over rows, or return one value per row.

    Returns
    -------
    norm : torch.Tensor
        A scalar, or shape ``(B,)`` with ``reduction="none"``.

    Raises
    ------
    ValueError
        If the encoder holds a layer that is neither linear nor elementwise
        (e.g. batch normalization); use :func:`jacobian_norm_autograd`.

    Examples
    --------
    >>> import torch
    >>> from skae.nn import make_mlp
    >>> from skae.penalties import jacobian_norm_autograd, jacobian_norm_layerwise
    >>> _ = torch.manual_seed(0)
    >>> encoder, X = make_mlp([6, 5, 4, 2], activation="tanh"), torch.randn(8, 6)
    >>> bool(torch.isclose(jacobian_norm_layerwise(encoder, X), jacobian_norm_autograd(encoder, X)))
    True
    """
    with torch.enable_grad():
        factors = _layerwise_factors(encoder, X.detach())
        if factors is None:
            raise ValueError(
                f"jacobian_norm_layerwise needs an encoder of linear layers and elementwise "
                f"activations; {type(encoder).__name__} holds another layer (e.g. batch "
                "normalization). Use jacobian_norm_autograd."
            )
        return _reduce(_frobenius_rows(*factors, len(X)), reduction)


def _single_layer(encoder):
    """``(linear, activation)`` when ``encoder`` is one linear layer and an elementwise activation."""
    layers = list(encoder) if isinstance(encoder, torch.nn.Sequential) else [encoder]
    if not layers or not isinstance(layers[0], torch.nn.Linear) or len(layers) > 2:
        return None
    activation = "identity" if len(layers) == 1 else _SLOPE_OF_MODULE.get(type(layers[1]))
    return None if activation is None else (layers[0], activation)


def contractive(encoder, X, code=None, reduction="mean"):
    """Contractive penalty: squared Frobenius norm of the encoder's Jacobian (Rifai et al., 2011).

    All three ways are exact; the cheapest that applies is used:

    - :func:`jacobian_norm_closed_form` when ``encoder`` is a single
      ``torch.nn.Linear``, alone or followed by ``Sigmoid``, ``Tanh`` or
      ``Identity`` (in a ``torch.nn.Sequential``);
    - :func:`jacobian_norm_layerwise` for deeper encoders of linear layers
      and elementwise activations (``Sequential`` or ``skae.nn.LinearSkip``);
    - :func:`jacobian_norm_autograd` (batched autograd) for any other
      encoder, e.g. with batch normalization.

    Parameters
    ----------
    encoder : torch.nn.Module
        Maps ``(B, n_features)`` to codes ``(B, n_components)``.
    X : torch.Tensor of shape (B, n_features)
        The inputs.
    code : torch.Tensor of shape (B, n_components), default=None
        ``encoder(X)`` if already computed (saves a forward pass in closed form).
    reduction : {"mean", "none"}, default="mean"
        Average over rows, or return one value per row.

    Returns
    -------
    norm : torch.Tensor
        A scalar, or shape ``(B,)`` with ``reduction="none"``.

    Examples
    --------
    >>> import torch
    >>> from skae.penalties import contractive, jacobian_norm_autograd
    >>> _ = torch.manual_seed(0)
    >>> encoder = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.Sigmoid())
    >>> X = torch.randn(10, 4)
    >>> closed_form = contractive(encoder, X)
    >>> bool(torch.isclose(closed_form, jacobian_norm_autograd(encoder, X)))
    True
    """
    layer = _single_layer(encoder)
    if layer is None:
        with torch.enable_grad():
            factors = _layerwise_factors(encoder, X.detach())
        if factors is None:
            return jacobian_norm_autograd(encoder, X, reduction)
        return _reduce(_frobenius_rows(*factors, len(X)), reduction)
    linear, activation = layer
    code = encoder(X) if code is None else code
    return jacobian_norm_closed_form(code, linear.weight, activation, reduction)
