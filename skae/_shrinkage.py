"""Shrinkage toward the start: the weights ``start + alpha * (trained - start)``.

After cross-validation chooses a training length on a small table
(``skae._budget``), the model trained on all rows is pulled back toward its
PCA start by the fraction of the way that the folds' validation rows support
(``skae._budget.best_shrinkage``). The folds score that path as they train
(``PathLosses``); the refit records its start and is shrunk once trained
(``shrink_toward_start``). The result is one network of the same
architecture, its weights a point of the segment between the start and the
trained network.

Only the module's parameters move; buffers (batch-norm statistics) keep their
trained values.
"""

import torch
from skorch.callbacks import Callback

__all__ = ["PathLosses", "shrink_toward_start"]


def _interpolate(parameters, start, end, alpha):
    """Set ``parameters`` to ``start + alpha * (end - start)``, in place."""
    with torch.no_grad():
        for parameter, first, last in zip(parameters, start, end):
            parameter.copy_(torch.lerp(first, last, alpha))


def shrink_toward_start(module, start, alpha):
    """Set ``module``'s parameters to ``start + alpha * (current - start)``, in place.

    Parameters
    ----------
    module : torch.nn.Module
    start : list of torch.Tensor
        The parameters at the start, in ``module.parameters()`` order.
    alpha : float
        1 keeps the current weights, 0 returns to the start.

    Examples
    --------
    >>> import torch
    >>> from skae._shrinkage import shrink_toward_start
    >>> layer = torch.nn.Linear(1, 1)
    >>> start = [torch.zeros(1, 1), torch.zeros(1)]
    >>> with torch.no_grad():
    ...     _ = layer.weight.fill_(2.0), layer.bias.fill_(4.0)
    >>> shrink_toward_start(layer, start, 0.25)
    >>> layer.weight.item(), layer.bias.item()
    (0.5, 1.0)
    """
    if alpha == 1:
        return
    parameters = list(module.parameters())
    _interpolate(parameters, start, [p.detach().clone() for p in parameters], float(alpha))


class PathLosses(Callback):
    """Records the start's parameters and, after each epoch, the validation loss along the path.

    When training begins (after any greedy pretraining) it copies the
    module's parameters (``start_``). With ``alphas`` and validation rows,
    after each epoch it scores the weights ``start + alpha * (current -
    start)`` for each ``alpha`` on the validation rows (the engine's
    ``evaluate``), then puts the current weights back unchanged.

    Parameters
    ----------
    alphas : sequence of float, default=()
        The points of the path scored after each epoch; none: the start only.

    Attributes
    ----------
    start_ : list of torch.Tensor
        The parameters when training began.
    losses_ : list of list of float
        Per epoch, the validation loss at each of ``alphas`` (empty without
        validation rows).
    """

    def __init__(self, alphas=()):
        self.alphas = alphas

    def on_train_begin(self, net, X_valid=None, **kwargs):
        self.start_ = [p.detach().clone() for p in net.module_.parameters()]
        self.losses_ = []

    def on_epoch_end(self, net, dataset_valid=None, **kwargs):
        if dataset_valid is None or not self.alphas:
            return
        parameters = list(net.module_.parameters())
        current = [p.detach().clone() for p in parameters]
        row = []
        try:
            for alpha in self.alphas:
                _interpolate(parameters, self.start_, current, float(alpha))
                row.append(float(net.evaluate(dataset_valid)))
        finally:
            with torch.no_grad():
                for parameter, value in zip(parameters, current):
                    parameter.copy_(value)
        self.losses_.append(row)
