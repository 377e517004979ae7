"""Extra loss terms added to the reconstruction loss.

Each function takes tensors and returns a scalar tensor (a mean over the batch).
"""

import torch

__all__ = ["kl_standard_normal"]


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
