"""Extra loss terms added to the reconstruction loss.

Each function takes tensors and returns a scalar tensor (a mean over the batch).
"""

import torch

__all__ = ["kl_standard_normal"]


def kl_standard_normal(mean, log_var):
    """KL divergence from N(mean, exp(log_var)) to N(0, I), summed over units, averaged over rows.

    Parameters
    ----------
    mean, log_var : torch.Tensor of shape (B, n_components)
        Parameters of the diagonal Gaussian posterior q(z | x).

    Returns
    -------
    kl : torch.Tensor
        A scalar.

    Examples
    --------
    >>> import torch
    >>> from skae.penalties import kl_standard_normal
    >>> float(kl_standard_normal(torch.zeros(4, 2), torch.zeros(4, 2)))
    0.0
    """
    return 0.5 * (mean.pow(2) + log_var.exp() - 1.0 - log_var).sum(1).mean()
