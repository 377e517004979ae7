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

import numpy as np
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
    ``evaluate``), then puts the current weights back unchanged. With
    ``by_rows`` (and an engine whose loss has a per-row form, its
    ``evaluate_rows``), it also sums, for each ``alpha`` and for the
    current weights, each validation row's loss minus the start's, and
    their squares: what a paired standard error over rows needs
    (``skae._budget.surest_gain``); the mean losses then come from the
    same per-row losses (one pass over the rows for each point).

    Parameters
    ----------
    alphas : sequence of float, default=()
        The points of the path scored after each epoch; none: the start only.
    by_rows : bool, default=False
        Whether to record the per-row moments ``row_moments_``.

    Attributes
    ----------
    start_ : list of torch.Tensor
        The parameters when training began.
    losses_ : list of list of float
        Per epoch, the validation loss at each of ``alphas`` (empty without
        validation rows).
    row_moments_ : list of numpy.ndarray of shape (len(alphas) + 1, 3), or None
        With ``by_rows``: per epoch, for each of ``alphas`` and then the
        current weights, the validation rows counted and the sums over them
        of ``d`` and of ``d ** 2``, ``d`` being the row's loss per weight
        (feature or observed cell) minus the start's; a row of weight 0 (no
        cell to score) is not counted. ``None`` without per-row losses.
    """

    def __init__(self, alphas=(), by_rows=False):
        self.alphas = alphas
        self.by_rows = by_rows

    def on_train_begin(self, net, X_valid=None, **kwargs):
        self.start_ = [p.detach().clone() for p in net.module_.parameters()]
        self.losses_ = []
        self.row_moments_, self._start_rows = None, None
        if self.by_rows and X_valid is not None:
            rows = net.evaluate_rows(X_valid)
            if rows is not None:
                self._start_rows = _per_weight(*rows)
                self.row_moments_ = []

    def on_epoch_end(self, net, dataset_valid=None, **kwargs):
        if dataset_valid is None or not (self.alphas or self._start_rows is not None):
            return
        parameters = list(net.module_.parameters())
        current = [p.detach().clone() for p in parameters]
        row, moments = [], []
        try:
            for alpha in self.alphas:
                _interpolate(parameters, self.start_, current, float(alpha))
                if self._start_rows is None:
                    row.append(float(net.evaluate(dataset_valid)))
                else:
                    loss, sums = self._scored_by_rows(net, dataset_valid)
                    row.append(loss)
                    moments.append(sums)
        finally:
            with torch.no_grad():
                for parameter, value in zip(parameters, current):
                    parameter.copy_(value)
        if self._start_rows is not None:
            moments.append(self._scored_by_rows(net, dataset_valid)[1])
            self.row_moments_.append(np.array(moments))
        self.losses_.append(row)

    def _scored_by_rows(self, net, X_valid):
        """The mean loss (``evaluate``'s), and the rows with the sums of ``d`` and ``d ** 2``."""
        losses, weights = net.evaluate_rows(X_valid)
        total, weight = losses.sum(), weights.sum()
        if net.parallel is not None:  # every rank's rows, as ``evaluate``
            total, weight = net.parallel.all_sum([total, weight])
        difference = _per_weight(losses, weights) - self._start_rows
        difference = difference[np.isfinite(difference)]
        sums = len(difference), difference.sum(), (difference * difference).sum()
        return (float(total / weight) if weight > 0 else 0.0), sums


def _per_weight(losses, weights):
    """Each row's loss over its weight (NaN for a row of weight 0: no cell to score)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(weights > 0, losses / weights, np.nan)
