"""How long a fit trains: its budget, its validation rows, and the length cross-validation chooses.

``TrainingLength`` is a mixin of ``skae._base.BaseAutoencoder``: the
training budget of a call (``skae._budget``), the validation split, the
cross-validated choice of a number of epochs and a shrinkage toward the
start (``skae._budget.choose_training``, ``skae._shrinkage``), and the
epoch counts ``n_iter_`` and ``n_epochs_``. It calls the estimator's
``_start_engine`` and ``_train`` and reads its ``_selection_rule``.
"""

import numpy as np
import torch

from ._budget import choose_training, fold_rows, training_budget
from ._data import LazyRows
from ._distributed import active_parallel
from ._random import draw_seed, torch_generator
from ._shrinkage import PathLosses, shrink_toward_start

__all__ = ["TrainingLength"]


def _take(X, rows):
    """The rows ``rows`` (ints) of an ndarray or a ``LazyRows``, in that order."""
    return X[rows] if isinstance(X, LazyRows) else X[np.asarray(rows)]


class TrainingLength:
    """The training length of an autoencoder's fit (a mixin of ``BaseAutoencoder``)."""

    def _training_lengths(self):
        """``(n_iter_, n_epochs_)`` so far (``len(history_)`` when unknown, e.g. an old file)."""
        n_rows = len(self.history_)
        return getattr(self, "n_iter_", n_rows), getattr(self, "n_epochs_", n_rows)

    def _count_epochs(self, counts_before, epochs_run, cross_validation):
        """``n_iter_``: every epoch run; ``n_epochs_``: those behind the returned weights.

        ``epochs_run`` epochs (greedy pretraining included) trained the
        returned network in this call. ``n_iter_`` adds those of the
        cross-validation folds (as ``LogisticRegressionCV`` counts its
        folds' iterations) and, like ``MLPRegressor``, the epochs past the
        best one when early stopping restores its weights; ``n_epochs_``
        counts neither.
        """
        n_iter_before, n_epochs_before = counts_before
        fold_epochs = self.__dict__.pop("_n_fold_epochs", 0) if cross_validation else 0
        self.n_iter_ = n_iter_before + fold_epochs + epochs_run
        stopping = dict(self.net_.callbacks_).get("early_stopping")
        past_best = 0
        if getattr(stopping, "load_best", False) and getattr(stopping, "valid_losses_", None):
            if stopping.best_index_ is not None:
                past_best = len(stopping.valid_losses_) - 1 - stopping.best_index_
        self.n_epochs_ = n_epochs_before + epochs_run - past_best

    def _training_budget(self, n_rows, *, reset, early_stopping):
        """Batch size, patience, epochs and validation of this call (``skae._budget``)."""
        return training_budget(
            n_rows,
            batch_size=self.batch_size,
            n_iter_no_change=self.n_iter_no_change,
            max_iter=self.max_iter,
            early_stopping=self.early_stopping if early_stopping else False,
            validation_fraction=self.validation_fraction,
            can_cross_validate=reset,
            cv_patience_steps=self._selection_rule.patience_steps,
        )

    def _holdout(self, X, n_valid, generator):
        """Training and validation rows: ``n_valid`` rows drawn at random are held out.

        Under a process group, ``n_valid`` counts every rank's rows; each rank
        holds out its share, in proportion to its rows.
        """
        parallel = active_parallel()
        n_rows = len(X) if parallel is None else int(parallel.row_counts.sum())
        if n_rows - n_valid < 2:
            raise ValueError(
                f"early_stopping={self.early_stopping!r} needs at least 2 training rows after "
                "holding out "
                f"validation_fraction={self.validation_fraction} here; got {n_rows} rows. "
                "Pass more data, or set early_stopping='auto' or False."
            )
        if parallel is not None:
            n_valid = parallel.local_share(n_valid)
        order = torch.randperm(len(X), generator=generator).numpy()
        return _take(X, order[n_valid:]), _take(X, order[:n_valid])

    def _cross_validated_epochs(self, X, budget, seed):
        """What cross-validation chooses: a number of epochs and a shrinkage toward the start.

        ``skae._budget.choose_training`` chooses from the folds' validation
        losses (``self._selection_rule``): epochs 0 keeps the start; ``alpha``
        below 1 pulls the refit back toward its start (``_train_toward_start``).

        Returns
        -------
        skae._budget.CrossValidation
        """
        paths, weights, row_moments = self._fold_curves(X, budget, seed)
        return choose_training(self._selection_rule, paths, weights, row_moments)

    def _fold_curves(self, X, budget, seed):
        """Each fold's validation losses along its training path, its validation rows, its row moments.

        Each of the ``budget.n_folds`` folds trains a new network (the same
        seed; its PCA start fitted on the fold's training rows) with early
        stopping on the fold's validation rows. A fold's path has one row per
        epoch count (the start's loss first) and one column per shrinkage
        ``alpha`` of ``self._selection_rule.alphas``: the loss of ``start +
        alpha * (weights - start)`` (``PathLosses``); the last column
        (``alpha = 1``) is the validation curve early stopping recorded.
        With a rule ``by_rows`` and a loss with a per-row form, each fold
        also gives its rows' moments at each point (``PathLosses``'s
        ``row_moments_``, the start's first: ``surest_gain``'s
        ``row_moments``); otherwise the third value is ``None``.
        """
        alphas = self._selection_rule.alphas
        paths, weights, row_moments = [], [], []
        self._n_fold_epochs = 0  # epochs run in the folds (pretraining included), for n_iter_
        folds = fold_rows(len(X), budget.n_folds, torch_generator(seed))
        for train_rows, valid_rows in folds:
            X_train, X_valid = _take(X, train_rows), _take(X, valid_rows)
            generator = torch_generator(seed)
            torch_seed = draw_seed(generator)
            self.net_ = self._start_engine(X_train, seed, generator, budget, "valid_loss")
            path = PathLosses(alphas[:-1], by_rows=self._selection_rule.by_rows)
            # First: it scores every epoch, the one whose end early stopping stops at too.
            self.net_.callbacks_.insert(0, ("training_path", path))
            self._train(X_train, X_valid, budget.max_epochs, torch_seed, pretraining=True)
            curve = dict(self.net_.callbacks_)["early_stopping"].valid_losses_
            shrunk = path.losses_ if len(alphas) > 1 else [[] for _ in curve[1:]]
            shrunk = [[curve[0]] * (len(alphas) - 1)] + shrunk
            paths.append([row + [loss] for row, loss in zip(shrunk, curve)])
            weights.append(len(valid_rows))
            row_moments.append(_with_start(path.row_moments_, len(alphas)))
            self._n_fold_epochs += len(self.net_.history)
        parallel = active_parallel()
        if parallel is not None:  # the folds' validation rows on every rank
            weights = parallel.all_sum(weights).tolist()
            row_moments = [None if m is None else parallel.all_sum(m) for m in row_moments]
        if any(m is None for m in row_moments):
            row_moments = None
        return paths, weights, row_moments

    def _train_toward_start(self, X, epochs, torch_seed, alpha):
        """Train ``net_`` on every row for ``epochs`` epochs, then shrink it toward its start.

        The final weights are ``start + alpha * (trained - start)``, the start
        being the weights training began from (after any greedy
        pretraining), as in the folds that chose ``alpha``.
        """
        path = PathLosses()
        self.net_.callbacks_.insert(0, ("training_path", path))
        try:
            self._train(X, None, epochs, torch_seed, pretraining=True)
        finally:
            self.net_.callbacks_.remove(("training_path", path))
        if epochs > 0 and alpha < 1:
            shrink_toward_start(self.net_.module_, path.start_, alpha)


def _with_start(moments, n_alphas):
    """``PathLosses.row_moments_`` with the start's first (the rows counted, zero sums); or None."""
    if moments is None:
        return None
    per_epoch = np.array(moments, dtype=np.float64).reshape(-1, n_alphas, 3)
    start = np.zeros((1, n_alphas, 3))
    start[0, :, 0] = per_epoch[0, 0, 0] if len(per_epoch) else 0.0
    return np.concatenate([start, per_epoch])
