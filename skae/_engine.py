"""The one training loop of skae: a skorch ``NeuralNet`` fed by fast in-memory batches.

skorch provides the structure (initialization, history, callbacks such as
``EarlyStopping``, ``Checkpoint`` or ``LRScheduler``, and interruption
handling). What is changed for speed, measured in ``benchmarks/speed.py``:

* batches are contiguous slices of a tensor shuffled once per epoch
  (``TensorBatches``), instead of a ``DataLoader`` collating rows one by one;
* per-batch work is kept to the optimizer step: the loss is recorded once per
  epoch, and batch-level callback methods are only called on the callbacks
  that implement them;
* a plain autoencoder trained on the mean squared error takes a hand-written
  backward pass instead of autograd (``skae._backprop``), and a fused Adam
  step skips ``torch.optim``'s per-step bookkeeping (``skae._fused_step``):
  on small networks, per-call overhead, not arithmetic, sets the pace.

Two changes of meaning: skae's callbacks end training by raising
``StopTraining``, not skorch's ``KeyboardInterrupt``, so that a real
``KeyboardInterrupt`` (Ctrl-C) reaches the caller at once; and a training
loss that rises far above its start is a ``DivergenceError``, as a NaN is.
"""

import contextlib
import copy
import math

import torch
from skorch import NeuralNet
from skorch.callbacks import Callback, EarlyStopping, EpochTimer

from ._backprop import hand_backprop
from ._fused_step import fused_step, new_optimizer, zero_grad

__all__ = [
    "CHECKED_ROWS",
    "DIVERGENCE_FACTOR",
    "DIVERGENCE_FLOOR",
    "DivergenceError",
    "EarlyStoppingFromStart",
    "StopTraining",
    "TensorBatches",
    "TrainingEngine",
]

# Training has diverged when its loss exceeds its start by more than
# ``DIVERGENCE_FACTOR * max(abs(start), DIVERGENCE_FLOOR)``: for a reconstruction
# loss, about 1,000 times its start; for the VAE's negative ELBO (nats per row,
# possibly negative), a rise of 1,000 times its magnitude. The floor, in the
# loss's units, keeps a start at a near-perfect fit (a loss near 0) from turning
# ordinary noise into a divergence: on data scaled to unit variance, a mean
# squared error of 1 is that of predicting every value by its mean.
DIVERGENCE_FACTOR = 1000.0
DIVERGENCE_FLOOR = 1.0
# Rows scored before and after every training call, to catch weights that the
# call's last step blew up (its loss is recorded before the step).
CHECKED_ROWS = 64


def relative_rise(loss, start_loss):
    """How far ``loss`` rose above ``start_loss``, in units of its magnitude.

    The unit is ``max(|start_loss|, DIVERGENCE_FLOOR)``; training has
    diverged when the rise exceeds ``DIVERGENCE_FACTOR``.
    """
    return (loss - start_loss) / max(abs(start_loss), DIVERGENCE_FLOOR)


def divergence_threshold(start_loss):
    """The training loss above which training that started at ``start_loss`` has diverged."""
    return start_loss + DIVERGENCE_FACTOR * max(abs(start_loss), DIVERGENCE_FLOOR)


class StopTraining(Exception):
    """Raised by a callback to end training early, keeping the weights reached.

    skae's own stop signal. skorch's callbacks end training by raising
    ``KeyboardInterrupt``, which a user's Ctrl-C raises too; skae's engine
    tells them apart: ``StopTraining`` ends the current training run
    normally (its ``on_train_end`` callbacks run, early stopping restores
    its best weights), while a ``KeyboardInterrupt`` stops everything at once
    and reaches the caller, the estimator left as it was before the call.
    For compatibility, a ``KeyboardInterrupt`` raised by a skorch
    ``EarlyStopping`` callback whose patience has run out is taken as its
    stop.

    Examples
    --------
    A callback that ends training after two epochs:

    >>> import numpy as np
    >>> from skorch.callbacks import Callback
    >>> from skae import AutoencoderTransformer
    >>> from skae import StopTraining
    >>> class TwoEpochs(Callback):
    ...     def on_epoch_end(self, net, **kwargs):
    ...         if len(net.history) == 2:
    ...             raise StopTraining
    >>> X = np.random.RandomState(0).normal(size=(50, 4))
    >>> ae = AutoencoderTransformer(n_components=2, max_iter=10, early_stopping=False,
    ...                             callbacks=[TwoEpochs()]).fit(X)
    >>> ae.n_iter_
    2
    """


class DivergenceError(FloatingPointError):
    """Raised when training diverges: its loss becomes NaN, infinite, or far above its start.

    Far above is more than ``DIVERGENCE_FACTOR`` (1,000) times the magnitude
    of the loss at the start of the call (at least ``DIVERGENCE_FLOOR``, 1)
    above that start: for a reconstruction loss, about 1,000 times its start,
    or above 1,000 from a start below 1; for ``VariationalAE``'s negative
    ELBO, in nats per row, a rise of that size. The start is the loss of the
    first training batch of the call (before its first step); the loss is
    checked at the end of every epoch (its mean over the epoch's batches).
    The last step's outcome, which no recorded loss shows, is checked on
    the first ``CHECKED_ROWS`` (64) training rows: their validation loss
    after the call against the same limit from their loss before it.

    Examples
    --------
    >>> import numpy as np
    >>> from skae import AutoencoderTransformer, DivergenceError
    >>> issubclass(DivergenceError, FloatingPointError)
    True
    >>> X = np.random.RandomState(0).normal(size=(50, 4)) * 1e30  # not scaled
    >>> try:
    ...     AutoencoderTransformer(n_components=2, max_iter=3).fit(X)
    ... except DivergenceError:
    ...     print("diverged: scale the data first")
    diverged: scale the data first
    """


def _inputs(batch):
    """The network's input in a batch: the batch itself, or its first tensor."""
    return batch[0] if isinstance(batch, tuple) else batch


class TensorBatches:
    """Iterate over the rows of a tensor in batches, reshuffled at every pass.

    Parameters
    ----------
    X : torch.Tensor of shape (n_samples, n_features), or tuple of such tensors
        The data, already on the training device. A tuple (e.g. inputs and
        targets) is batched row-aligned and yielded as a tuple.
    batch_size : int
        Rows per batch. A last batch of a single row is merged into the one
        before it, so that batch normalization always sees two rows or more.
    shuffle : bool, default=False
        Whether to draw a new permutation of the rows at each pass.
    generator : torch.Generator, default=None
        Source of the permutations.
    n_batches : int or None, default=None
        When given, the rows are split into exactly this many batches of
        near-equal sizes instead (``batch_size`` is then unused): in
        data-parallel training every rank takes the same number of steps.
    """

    def __init__(self, X, batch_size, shuffle=False, generator=None, n_batches=None):
        self.X = X
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.generator = generator
        self.n_batches = n_batches

    def _starts(self):
        n, size = len(_inputs(self.X)), self.batch_size
        if self.n_batches is not None:
            return [i * n // self.n_batches for i in range(self.n_batches + 1)]
        starts = list(range(0, n, size))
        if len(starts) > 1 and n - starts[-1] == 1:
            starts.pop()
        return starts + [n]

    def __len__(self):
        return len(self._starts()) - 1

    def __iter__(self):
        tensors = self.X if isinstance(self.X, tuple) else (self.X,)
        if self.shuffle:
            order = torch.randperm(len(tensors[0]), generator=self.generator)
            tensors = tuple(t[order.to(t.device)] for t in tensors)
        starts = self._starts()
        for start, stop in zip(starts[:-1], starts[1:]):
            batch = tuple(t[start:stop] for t in tensors)  # views, (B, ...)
            yield batch if isinstance(self.X, tuple) else batch[0]


def _cloned(value):
    return value.clone() if isinstance(value, torch.Tensor) else value


def _batch_losses(losses):
    """The per-batch losses as a float64 CPU tensor, with one device sync."""
    return torch.stack([loss.detach().reshape(()) for loss in losses]).cpu().double()


def _mean_loss(values, sizes):
    """Mean of per-batch mean losses ``values`` (``_batch_losses``) weighted by batch sizes.

    0 when the weights sum to 0: no cell to score (validation rows whose
    cells are all missing, with ``row_loss`` weights of observed cells).
    """
    total = sum(sizes)
    if total == 0:
        return 0.0
    return float(values @ torch.tensor(sizes, dtype=torch.float64)) / total


def _store_loss(buffer, index, loss, capacity):
    """``buffer`` (allocated or grown as needed) with ``loss`` at ``index``.

    One tensor for an epoch's losses, not one per batch: small tensors kept
    until the epoch ends pin glibc's heap under each batch's temporaries, and
    the resident memory grew with the epoch's batches (by 140 MB over 350
    batches of ``ContractiveAE``).
    """
    loss = loss.detach().reshape(())
    if buffer is None or index >= len(buffer):
        grown = torch.empty(max(capacity, 2 * index, 1), dtype=loss.dtype, device=loss.device)
        if buffer is not None:
            grown[:index] = buffer[:index]
        buffer = grown
    buffer[index] = loss
    return buffer


def _implements(callback, method):
    return getattr(type(callback), method) is not getattr(Callback, method)


class EarlyStoppingFromStart(EarlyStopping):
    """skorch's ``EarlyStopping``, with the starting weights as the first candidate.

    When it monitors the validation loss, the weights training starts from
    are scored before the first epoch. As in scikit-learn's
    ``MLPRegressor``, patience counts the epochs that do not improve on the
    best loss by at least ``threshold``, while the best weights are those
    of the lowest loss, however small the improvement. When patience runs
    out it raises ``StopTraining`` (skorch's raises ``KeyboardInterrupt``,
    which skae leaves to Ctrl-C). With
    ``load_best=True`` training therefore ends with the weights that score
    best on the validation data, the starting ones included: with
    ``init="pca"``, never worse than PCA on those rows (on other rows, no
    such guarantee).

    Attributes
    ----------
    valid_losses_ : list of float
        When monitoring ``"valid_loss"``: the loss of the starting weights,
        then of each epoch of the last training run.
    best_index_ : int or None
        Position in ``valid_losses_`` of the weights training ends with
        (with ``load_best=True``); 0 for the starting weights.

    Two parameters beyond skorch's:

    * ``warmup_epochs``: the first epochs of the engine (their number in
      the history, counted from 1, at most this) count no misses; when the
      training loss is monitored they do not raise the bar either. A loss
      whose weights change over those epochs (the VAE's KL warm-up) may
      rise while the model improves.
    * ``on_kept``: ``on_kept(module, X_valid)`` is called at the end of
      training when ``load_best`` restores the weights of a trained epoch
      (not the start's) chosen on validation rows ``X_valid``.
    """

    def __init__(
        self,
        monitor="valid_loss",
        patience=5,
        threshold=1e-4,
        threshold_mode="rel",
        lower_is_better=True,
        sink=print,
        load_best=False,
        warmup_epochs=0,
        on_kept=None,
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
        self.warmup_epochs = warmup_epochs
        self.on_kept = on_kept

    def on_train_begin(self, net, X_valid=None, **kwargs):
        super().on_train_begin(net, **kwargs)
        self.X_valid_ = X_valid if self.on_kept is not None else None
        self.valid_losses_, self.best_index_ = [], None
        self.best_loss_ = math.inf if self.lower_is_better else -math.inf
        if self.monitor == "valid_loss" and X_valid is not None:
            start = net.evaluate(X_valid)
            self.dynamic_threshold_ = self._calc_new_threshold(start)
            self._record_best(net, start, epoch=0)

    def _record_best(self, net, loss, epoch):
        if self.monitor == "valid_loss":
            self.valid_losses_.append(loss)
        better = loss < self.best_loss_ if self.lower_is_better else loss > self.best_loss_
        if not better:
            return
        self.best_loss_, self.best_epoch_ = loss, epoch
        self.best_index_ = len(self.valid_losses_) - 1 if self.valid_losses_ else None
        if self.load_best:
            self.best_model_weights_ = {
                name: tensor.clone() for name, tensor in net.module_.state_dict().items()
            }

    def on_epoch_end(self, net, **kwargs):
        # partial_fit trains without a validation split: nothing to monitor then.
        if self.monitor not in net.history[-1]:
            return
        loss = net.history[-1, self.monitor]
        if self._is_score_improved(loss):
            self.misses_ = 0
            self.dynamic_threshold_ = self._calc_new_threshold(loss)
        else:
            self.misses_ += 1
        epoch = net.history[-1, "epoch"]
        self._record_best(net, loss, epoch=epoch)
        if epoch <= self.warmup_epochs:  # no miss counts, no bar is raised on the training loss
            self.misses_ = 0
            if self.monitor == "train_loss":
                self.dynamic_threshold_ = math.inf if self.lower_is_better else -math.inf
            return
        if self.misses_ >= self.patience:
            self._sink(
                f"Stopping since {self.monitor} has not improved in the last "
                f"{self.patience} epochs.",
                verbose=net.verbose,
            )
            raise StopTraining  # skae's stop; a KeyboardInterrupt is the user's

    def on_train_end(self, net, **kwargs):
        super().on_train_end(net, **kwargs)
        X_valid, self.X_valid_ = getattr(self, "X_valid_", None), None
        trained = self.best_epoch_ != 0  # not the start's weights
        if self.on_kept is not None and self.load_best and X_valid is not None and trained:
            self.on_kept(net.module_, X_valid)


class EpochProgressBar(Callback):
    """A tqdm progress bar over epochs showing the current losses."""

    def on_train_begin(self, net, **kwargs):
        from tqdm.auto import tqdm

        self.bar_ = tqdm(total=net.max_epochs, unit="epoch", leave=False)

    def on_epoch_end(self, net, **kwargs):
        last = net.history[-1]
        shown = {k: f"{last[k]:.4g}" for k in ("train_loss", "valid_loss") if k in last}
        self.bar_.set_postfix(shown, refresh=False)
        self.bar_.update()

    def on_train_end(self, net, **kwargs):
        self.bar_.close()


class TrainingEngine(NeuralNet):
    """skorch ``NeuralNet`` that trains an autoencoder module on in-memory tensors.

    The estimator supplies two hooks: ``loss_fn(output, batch, X_input, epoch=...)``
    returning the scalar training loss, and ``corrupt(X, generator)``
    returning the input the module sees (the identity for a plain
    autoencoder). A batch is a tensor of rows, or a tuple of row-aligned
    tensors whose first is the module's input (e.g. ``(X, y)`` for a
    supervised loss).

    Parameters
    ----------
    module : torch.nn.Module
        An initialized module; ``module(X)`` returns a tuple whose first
        element is the reconstruction.
    loss_fn : callable
        ``loss_fn(output, batch, X_input, epoch=...) -> torch.Tensor`` (a
        scalar). ``epoch`` is the number of the epoch being run, counted
        from 1 over the engine's history (when scoring outside an epoch,
        the last epoch's number, 0 before any).
    corrupt : callable or None, default=None
        ``corrupt(X, generator) -> torch.Tensor``, applied to training batches only.
    hand_backprop : bool, default=False
        Whether the training loss is the mean squared error of the
        reconstruction of a tensor batch (plus ``code_penalty``), so that a
        hand-written backward pass may replace ``loss_fn`` and autograd where
        it knows the module (``skae._backprop``, faster on small networks).
    code_penalty : callable or None, default=None
        ``code_penalty(code) -> (value, grad)``, the penalty term of the
        training loss and its gradient with respect to the code, for the
        hand-written backward pass.
    generator : torch.Generator or None, default=None
        Source of randomness for shuffling and corruption.
    warmup_steps : int, default=0
        Optimizer steps over which the learning rate rises linearly from
        ``lr / warmup_steps`` to ``lr``, counted from the optimizer's
        initialization. Adam's first steps move every weight by about
        ``lr`` whatever its gradient; from a start at PCA's optimum, the
        warm-up keeps them from kicking the network off it.
    parallel : skae._distributed.DataParallel or None, default=None
        Data-parallel training over a ``torch.distributed`` process group:
        every rank takes the same number of steps per epoch, gradients are
        averaged over ranks before each optimizer step, and the recorded
        losses are means over every rank's rows. ``None``: this process alone.
    row_loss : callable or None, default=None
        ``row_loss(module, batch) -> (losses, weights)``: each row's loss
        and weight, float64 tensors of shape ``(B,)``. When given, the
        validation loss (what early stopping and cross-validation decide
        on) is the sum of the rows' losses over the sum of their weights,
        accumulated in float64 and computed by a float64 copy of the module
        (``module`` and ``batch`` are float64): a row counts the same
        whatever batch it falls in, and float32 kernels that differ from CPU
        to CPU change it by about 1e-16, not 1e-7. ``None``: the mean of
        ``loss_fn`` over each batch, weighted by its rows.
    **kwargs
        Passed to :class:`skorch.NeuralNet`.
    """

    def __init__(
        self,
        module,
        *,
        loss_fn,
        corrupt=None,
        hand_backprop=False,
        code_penalty=None,
        generator=None,
        warmup_steps=0,
        parallel=None,
        row_loss=None,
        **kwargs,
    ):
        # No criterion: the loss is ``loss_fn``.
        super().__init__(module, criterion=None, train_split=None, **kwargs)
        self.loss_fn = loss_fn
        self.corrupt = corrupt
        self.hand_backprop = hand_backprop
        self.code_penalty = code_penalty
        self.generator = generator
        self.warmup_steps = warmup_steps
        self.parallel = parallel
        self.row_loss = row_loss

    def initialize_criterion(self):
        self.criterion_ = None
        return self

    def get_default_callbacks(self):
        callbacks = [("epoch_timer", EpochTimer())]
        if self.verbose:
            callbacks.append(("progress_bar", EpochProgressBar()))
        return callbacks

    def initialize_callbacks(self):
        super().initialize_callbacks()
        callbacks = [cb for _, cb in self.callbacks_]
        self._batch_callbacks = {
            method: [cb for cb in callbacks if _implements(cb, method)]
            for method in ("on_batch_begin", "on_batch_end", "on_grad_computed")
        }
        return self

    def get_iterator(self, dataset, training=False):
        if hasattr(dataset, "batches"):  # out-of-core rows (skae._data.LazyRows)
            batches = dataset.batches(self.batch_size, shuffle=training, generator=self.generator)
        else:
            batches = TensorBatches(
                dataset, self.batch_size, shuffle=training, generator=self.generator
            )
        if training and self.parallel is not None:  # the same steps on every rank
            batches.n_batches = self.parallel.steps_per_epoch(
                len(_inputs(dataset)), self.batch_size, type(self.module_).__name__
            )
        return batches

    def train_step(self, batch, epoch=None, **fit_params):
        X_input = _inputs(batch)
        if self.corrupt is not None:
            X_input = self.corrupt(X_input, self.generator)
        hand_step = self._hand_step()
        if hand_step is not None:  # sets every gradient: no zero_grad needed
            loss, output = hand_step(X_input, batch)
        else:
            zero_grad(self.optimizer_)
            output = self.module_(X_input)
            loss = self.loss_fn(output, batch, X_input, epoch=self._epoch(epoch))
            loss.backward()
        if self.parallel is not None:
            self.parallel.average_gradients(self.module_.parameters(), len(X_input))
        for cb in self._batch_callbacks["on_grad_computed"]:
            cb.on_grad_computed(
                self,
                named_parameters=list(self.module_.named_parameters()),
                batch=batch,
                training=True,
            )
        self._optimizer_step()
        return {"loss": loss.detach(), "y_pred": output}

    def _built_for(self, obj, build):
        """``build(obj)``, cached while ``obj`` stays the same object (closures, not pickled)."""
        cache = self.__dict__.setdefault("_step_cache", {})
        if build not in cache or cache[build][0] is not obj:
            cache[build] = (obj, build(obj))
        return cache[build][1]

    def _hand_step(self):
        """The hand-written training step for ``module_``, or ``None``."""
        if not self.hand_backprop:
            return None
        return self._built_for(self.module_, self._build_hand_step)

    def _build_hand_step(self, module):
        return hand_backprop(module, self.code_penalty)

    def initialize_optimizer(self, *args, **kwargs):
        # skorch's, through new_optimizer: no torch._dynamo import (skae._fused_step).
        args, kwargs = self.get_params_for_optimizer("optimizer", self.get_all_learnable_params())
        self.optimizer_ = new_optimizer(self.optimizer, *args, **kwargs)
        self.steps_taken_ = 0
        return self

    def _optimizer_step(self):
        if self.steps_taken_ < self.warmup_steps:
            scale = (self.steps_taken_ + 1) / self.warmup_steps
            for group in self.optimizer_.param_groups:
                group["lr"] = self.lr * scale
        elif self.steps_taken_ == self.warmup_steps > 0:
            for group in self.optimizer_.param_groups:
                group["lr"] = self.lr
        self.steps_taken_ += 1
        step = self._built_for(self.optimizer_, fused_step)
        if step is None or not step():
            self.optimizer_.step()

    def configure(self, **settings):
        """Apply new training settings to an initialized engine, keeping what it learned.

        ``settings`` are constructor arguments (``lr``, ``batch_size``,
        ``optimizer``, ``optimizer__weight_decay``, ``callbacks``, ``device``,
        ``loss_fn``, ...); the ones not given keep their value, except the
        ``optimizer__*`` settings, which are replaced as a whole. The
        module's weights and the optimizer's state (e.g. Adam's moment
        estimates) are kept: the learning rate and the other optimizer
        settings are written into its parameter groups, as a learning-rate
        scheduler does, and the state follows the module to a new device.
        Another optimizer class starts from a fresh state. The callbacks are
        initialized anew.
        """
        old_optimizer, old_device = self.optimizer, self.device
        if any(key.startswith("optimizer__") for key in settings):
            for key in [key for key in vars(self) if key.startswith("optimizer__")]:
                del self.__dict__[key]
        vars(self).update(settings)
        self.__dict__.pop("_step_cache", None)
        moved = str(self.device) != str(old_device)
        if moved:
            self.module_.to(self.device)
        if self.optimizer is not old_optimizer:
            self.initialize_optimizer()
        else:
            if moved:  # the parameters may be new objects: a new optimizer over them,
                state = self.optimizer_.state_dict()
                self.initialize_optimizer()
                self.optimizer_.load_state_dict(state)  # with the state cast to their device
            _, kwargs = self.get_params_for_optimizer("optimizer", [])
            for group in self.optimizer_.param_groups:
                group.update(kwargs)
        self.initialize_callbacks()
        return self

    def checkpoint(self):
        """What ``restore`` needs to undo further training: a copy of the engine's state.

        The settings, the module's weights and buffers, the optimizer's state,
        the generator's state and the number of epochs; tensors are cloned,
        without the overhead of ``copy.deepcopy``.
        """
        optimizer_state = self.optimizer_.state_dict()
        optimizer_state["state"] = {
            key: {name: _cloned(value) for name, value in values.items()}
            for key, values in optimizer_state["state"].items()
        }
        return {
            "attributes": dict(vars(self)),
            "module": {name: t.clone() for name, t in self.module_.state_dict().items()},
            "optimizer": optimizer_state,
            "generator": self.generator.get_state() if self.generator is not None else None,
            "n_epochs": len(self.history),
        }

    def restore(self, checkpoint):
        """Return to ``checkpoint()``'s state: settings, weights, optimizer, generator, epochs."""
        vars(self).clear()
        vars(self).update(checkpoint["attributes"])
        self.module_.load_state_dict(checkpoint["module"])
        self.optimizer_.load_state_dict(checkpoint["optimizer"])
        if checkpoint["generator"] is not None:
            self.generator.set_state(checkpoint["generator"])
        del self.history[checkpoint["n_epochs"] :]
        return self

    def __getstate__(self):
        state = super().__getstate__()
        state.pop("_step_cache", None)  # closures do not pickle; rebuilt on demand
        return state

    @torch.no_grad()
    def validation_step(self, batch, epoch=None, **fit_params):
        scoring = self.__dict__.get("_scoring")
        if scoring is not None:  # a validation pass by rows (``row_loss``)
            return self._row_validation_step(*scoring, batch)
        X_input = _inputs(batch)
        output = self.module_(X_input)
        loss = self.loss_fn(output, batch, X_input, epoch=self._epoch(epoch))
        return {"loss": loss, "y_pred": output}

    def _epoch(self, epoch):
        """The epoch passed to the loss: ``epoch``, or the history's last (0 before any)."""
        return len(self.history) if epoch is None else epoch

    def _build_float64_module(self, module):
        """A float64 copy of ``module`` in evaluation mode, and its device (the CPU for MPS)."""
        device = torch.device(self.device or "cpu")
        device = torch.device("cpu") if device.type == "mps" else device
        return copy.deepcopy(module).to(device).double().eval(), device

    def _batch_row_losses(self, module64, device, batch):
        """``row_loss`` of ``batch`` by ``module64``: each row's float64 loss and weight."""
        if isinstance(batch, tuple):
            batch64 = tuple(t.to(device, torch.float64) for t in batch)
        else:
            batch64 = batch.to(device, torch.float64)
        return self.row_loss(module64, batch64)

    def _row_validation_step(self, module64, device, batch):
        """``validation_step`` by ``row_loss``: the batch's float64 mean loss and its weight."""
        losses, weights = self._batch_row_losses(module64, device, batch)
        total, weight = losses.sum(), float(weights.sum())
        # The mean, weighted by ``weight`` in the epoch's mean: the rows' sum over their weights.
        return {"loss": total / weight if weight > 0 else total, "weight": weight, "y_pred": None}

    @contextlib.contextmanager
    def _validation_pass(self):
        """Within the block, ``validation_step`` scores by rows with a float64 copy of the module.

        Only with ``row_loss``; on MPS (no float64) the copy runs on the CPU.
        """
        if self.row_loss is None:
            yield
            return
        module64, device = self._built_for(self.module_, self._build_float64_module)
        with torch.no_grad():  # the current weights (and batch normalization's statistics)
            for target, source in zip(
                module64.state_dict().values(), self.module_.state_dict().values()
            ):
                target.copy_(source)
        self._scoring = (module64, device)
        try:
            yield
        finally:
            del self._scoring

    def run_single_epoch(self, iterator, training, prefix, step_fn, **fit_params):
        if iterator is None:
            return
        self._set_training(training)
        begin = self._batch_callbacks["on_batch_begin"]
        end = self._batch_callbacks["on_batch_end"]
        losses, sizes = None, []
        with contextlib.nullcontext() if training else self._validation_pass():
            for batch in iterator:
                for cb in begin:
                    cb.on_batch_begin(self, batch=batch, training=training)
                step = step_fn(batch, **fit_params)
                # Kept on the device (no synchronization per batch), in one buffer.
                losses = _store_loss(losses, len(sizes), step["loss"], len(iterator))
                sizes.append(step.pop("weight", len(_inputs(batch))))
                for cb in end:
                    cb.on_batch_end(self, batch=batch, training=training, **step)
        if losses is None:  # no batch (a rank without validation rows)
            values = torch.zeros(0, dtype=torch.float64)
        else:
            values = losses[: len(sizes)].cpu().double()  # one device sync
        loss = self._mean_loss(values, sizes)
        if training and self.parallel is not None:
            self.parallel.average_buffers(self.module_)
        self.history.record(prefix + "_loss", loss)
        if training:
            self.history.record("train_batches", len(sizes))  # optimizer steps
            if getattr(self, "start_loss_", None) is None:  # the first batch's, before a step
                if self.parallel is None:
                    self.start_loss_ = float(values.numpy()[0])  # on the CPU already: no sync
                else:  # every rank's first batch
                    self.start_loss_ = self.parallel.mean_loss(values[:1], sizes[:1])
        if not math.isfinite(loss):
            raise DivergenceError(
                f"Training diverged: the {prefix} loss became {loss} at epoch "
                f"{len(self.history)}. The usual causes are a learning rate that is "
                f"too high (it is {self.lr:g}) or unscaled data."
            )
        if training:
            self._check_divergence(loss, f"the train loss rose to {loss:.4g} at epoch")

    def _check_divergence(self, loss, what):
        """Raise ``DivergenceError`` if ``loss`` is far above the call's start loss."""
        start = getattr(self, "start_loss_", None)
        if start is None or relative_rise(loss, start) <= DIVERGENCE_FACTOR:
            return
        raise DivergenceError(
            f"Training diverged: {what} {len(self.history)}, beyond "
            f"{divergence_threshold(start):.4g}, the limit for a start at {start:.4g} (the "
            f"start plus {DIVERGENCE_FACTOR:g} times its magnitude, at least "
            f"{DIVERGENCE_FLOOR:g}). The usual causes are a learning rate that is too high "
            f"(it is {self.lr:g}) or unscaled data."
        )

    def _checked_rows(self, X):
        """The first ``CHECKED_ROWS`` rows of ``X`` (at most a batch), as a batch."""
        n_rows = min(self.batch_size, CHECKED_ROWS)
        if hasattr(X, "batches"):  # out-of-core rows (skae._data.LazyRows)
            return next(iter(X.batches(n_rows)))
        return next(iter(TensorBatches(X, n_rows)))

    def _score(self, batch):
        """The validation loss of ``batch`` (no corruption, dropout off), not recorded."""
        self._set_training(False)
        loss = self.validation_step(batch)["loss"]
        if self.parallel is not None:  # every rank's rows: the same decision everywhere
            value = loss.detach().double().cpu().reshape(1)
            return self.parallel.mean_loss(value, [len(_inputs(batch))])
        return float(loss)

    def _check_final_weights(self, rows, start):
        """Raise ``DivergenceError`` if the last step blew up the weights.

        An epoch's loss is recorded before each of its steps, so the last
        step's outcome is checked here: the validation loss of the same
        ``rows`` (``_checked_rows``), ``start`` before the call, against the
        divergence limit of that start. A call thus never ends with a
        recorded loss that hides weights its last step blew up.
        """
        if getattr(self, "start_loss_", None) is None:  # no training step taken
            return
        loss = self._score(rows)
        if not math.isfinite(loss):
            raise DivergenceError(
                f"Training diverged: the loss became {loss} after the last step of epoch "
                f"{len(self.history)}. The usual causes are a learning rate that is too high "
                f"(it is {self.lr:g}) or unscaled data."
            )
        if math.isfinite(start) and relative_rise(loss, start) > DIVERGENCE_FACTOR:
            raise DivergenceError(
                f"Training diverged: the loss of the first {len(_inputs(rows))} rows rose from "
                f"{start:.4g} to {loss:.4g} after the last step of epoch {len(self.history)}, "
                f"beyond {divergence_threshold(start):.4g}, the limit for that start (the start "
                f"plus {DIVERGENCE_FACTOR:g} times its magnitude, at least {DIVERGENCE_FLOOR:g}). "
                f"The usual causes are a learning rate that is too high (it is {self.lr:g}) "
                "or unscaled data."
            )

    def evaluate(self, X):
        """Mean validation loss of the current module on ``X``, not recorded."""
        self._set_training(False)
        losses, sizes = [], []
        with self._validation_pass():
            for batch in self.get_iterator(X):
                step = self.validation_step(batch)
                losses.append(step["loss"])
                sizes.append(step.get("weight", len(_inputs(batch))))
        values = _batch_losses(losses) if losses else torch.zeros(0, dtype=torch.float64)
        return self._mean_loss(values, sizes)

    def evaluate_rows(self, X):
        """Each row's float64 validation loss and weight on ``X`` (``row_loss``), not recorded.

        Returns
        -------
        (losses, weights) : tuple of numpy.ndarray of shape (n_rows,), or None
            ``None`` without ``row_loss`` (a loss with no per-row form).
        """
        if self.row_loss is None:
            return None
        self._set_training(False)
        losses, weights = [], []
        with self._validation_pass(), torch.no_grad():
            for batch in self.get_iterator(X):
                loss, weight = self._batch_row_losses(*self._scoring, batch)
                losses.append(loss.cpu())
                weights.append(weight.cpu())
        if not losses:
            empty = torch.zeros(0, dtype=torch.float64).numpy()
            return empty, empty
        return torch.cat(losses).numpy(), torch.cat(weights).numpy()

    def _mean_loss(self, values, sizes):
        """The mean of per-batch losses ``values``: over this process's batches, or every rank's."""
        if self.parallel is not None:
            return self.parallel.mean_loss(values, sizes)
        return _mean_loss(values, sizes)

    def fit_loop(self, X, y=None, epochs=None, X_valid=None, **fit_params):
        """Train for ``epochs`` epochs on ``X``, scoring on ``X_valid`` if given."""
        self.check_training_readiness()
        epochs = self.max_epochs if epochs is None else epochs
        iterator_train = self.get_iterator(X, training=True)
        iterator_valid = None if X_valid is None else self.get_iterator(X_valid)
        on_epoch_kwargs = {"dataset_train": X, "dataset_valid": X_valid}
        for _ in range(epochs):
            self.notify("on_epoch_begin", **on_epoch_kwargs)
            epoch = len(self.history)  # this epoch's number, counted from 1
            self.run_single_epoch(iterator_train, True, "train", self.train_step, epoch=epoch)
            self.run_single_epoch(
                iterator_valid, False, "valid", self.validation_step, epoch=epoch
            )
            self.notify("on_epoch_end", **on_epoch_kwargs)
        return self

    def prepend_history(self, rows):
        """Put ``rows`` (dicts, e.g. another engine's epochs) first in the history, renumbered.

        Greedy layer-wise pretraining's epochs go there once fine-tuning has
        run, so that fine-tuning numbers its own epochs from 1 (early
        stopping's warm-up, the loss's ``epoch``).
        """
        self.history[:0] = rows
        for epoch, row in enumerate(self.history, start=1):
            row["epoch"] = epoch
        return self

    def partial_fit(self, X, y=None, classes=None, epochs=None, X_valid=None):
        """Train without re-initializing, until ``epochs`` epochs or a ``StopTraining``.

        A ``StopTraining`` raised by a callback (skae's early stopping) ends
        training normally, keeping the weights of the last step (or the best
        ones, when an early-stopping callback restores them). A
        ``KeyboardInterrupt`` propagates at once, with no ``on_train_end``:
        the caller restores what it needs (``checkpoint`` / ``restore``). So
        does a ``DivergenceError``, raised when the loss becomes NaN or
        infinite or rises far above its start (``DIVERGENCE_FACTOR``).
        """
        if not self.initialized_:
            self.initialize()
        self.start_loss_ = None  # the reference of the divergence check, set by the first batch
        rows = self._checked_rows(X)
        start = self._score(rows)
        self.notify("on_train_begin", X=X, y=y, X_valid=X_valid)
        try:
            self.fit_loop(X, epochs=epochs, X_valid=X_valid)
        except StopTraining:
            pass
        except KeyboardInterrupt:
            if not self._stopped_by_skorch_early_stopping():
                raise
        self._check_final_weights(rows, start)
        self.notify("on_train_end", X=X, y=y)
        return self

    def _stopped_by_skorch_early_stopping(self):
        """Whether the ``KeyboardInterrupt`` just caught is a skorch ``EarlyStopping``'s stop.

        skorch's ``EarlyStopping`` (passed in ``callbacks``) raises it once
        its patience has run out; skae's raises ``StopTraining`` instead.
        """
        return any(
            isinstance(cb, EarlyStopping)
            and not isinstance(cb, EarlyStoppingFromStart)
            and getattr(cb, "misses_", 0) >= cb.patience
            for _, cb in self.callbacks_
        )
