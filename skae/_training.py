"""The engine factory: every ``TrainingEngine`` in skae is built here.

Four callers train a network: the autoencoders (``BaseAutoencoder``), the
greedy layer-wise phase (``skae._pretraining``), the supervised heads
(``skae._head``) and ``skae.load``, which rebuilds a saved network's engine.
Each describes its training in the same terms to ``engine_settings`` (the
engine's constructor arguments, which ``TrainingEngine.configure`` also
takes) and gets its engine from ``new_engine``; early stopping is always
``skae._engine.EarlyStoppingFromStart``, built by ``new_early_stopping``. The
numbers (batch size, epochs, patience, warm-up steps) come from
``skae._budget``; a learning rate changes through the engine (its warm-up,
or ``TrainingEngine.configure(lr=...)``), never in the optimizer's groups by
hand.
"""

import torch

from ._engine import EarlyStoppingFromStart, TrainingEngine

__all__ = [
    "FUSABLE_OPTIMIZERS",
    "FUSED_ON_CPU",
    "OPTIMIZERS",
    "discard",
    "engine_settings",
    "new_early_stopping",
    "new_engine",
]

OPTIMIZERS = {
    "adam": torch.optim.Adam,
    "adamw": torch.optim.AdamW,
    "sgd": torch.optim.SGD,
    "rmsprop": torch.optim.RMSprop,
}

# Optimizers with a fused implementation: one kernel per step instead of one op per
# parameter, about 25% less time per epoch on small CPU networks (benchmarks/speed.py).
FUSABLE_OPTIMIZERS = (torch.optim.Adam, torch.optim.AdamW)
FUSED_ON_CPU = tuple(int(part) for part in torch.__version__.split(".")[:2]) >= (2, 4)


def discard(*args, **kwargs):
    """A sink that prints nothing (module level, so that it pickles)."""


def new_early_stopping(
    *,
    patience,
    tol,
    monitor="train_loss",
    load_best=False,
    warmup_epochs=0,
    on_kept=None,
    verbose=0,
):
    """skae's early stopping: ``EarlyStoppingFromStart`` with an absolute threshold ``tol``.

    It stops after ``patience`` epochs that do not improve ``monitor`` by
    ``tol``, none of them among the first ``warmup_epochs``; with
    ``load_best`` it restores the best weights (then calls
    ``on_kept(module, X_valid)`` if a trained epoch's weights are kept).
    It prints only when ``verbose``.
    """
    return EarlyStoppingFromStart(
        monitor=monitor,
        patience=patience,
        threshold=tol,
        threshold_mode="abs",
        load_best=load_best,
        warmup_epochs=warmup_epochs,
        on_kept=on_kept,
        sink=print if verbose else discard,
    )


def engine_settings(
    *,
    loss_fn,
    lr,
    batch_size,
    max_epochs,
    device,
    optimizer="adam",
    alpha=0.0,
    fuse=True,
    warmup_steps=0,
    callbacks=(),
    corrupt=None,
    hand_backprop=False,
    code_penalty=None,
    parallel=None,
    row_loss=None,
    verbose=0,
):
    """The constructor arguments of a ``TrainingEngine`` (``configure`` takes them too).

    Parameters
    ----------
    loss_fn : callable
        ``loss_fn(output, batch, X_input, epoch=...)``, the training loss
        (``epoch``: the epoch being trained, counted from 1 over the
        engine's history).
    lr, batch_size, max_epochs : float, int, int
        The learning rate, rows per step and epochs of a training call.
    device : str
        Where the module trains.
    optimizer : str or torch optimizer class, default="adam"
        A name of ``OPTIMIZERS``, or a class.
    alpha : float, default=0.0
        Weight decay.
    fuse : bool, default=True
        Whether Adam and AdamW take their fused step where torch has one.
    warmup_steps : int, default=0
        Optimizer steps of the learning rate's linear warm-up.
    callbacks : sequence of (name, callback), default=()
        The callbacks, in the order they are called (``new_early_stopping``
        builds skae's early stopping).
    corrupt, hand_backprop, code_penalty, parallel, row_loss, verbose
        As ``TrainingEngine`` takes them.
    """
    optimizer = OPTIMIZERS.get(optimizer, optimizer)
    fused = {}
    if fuse and optimizer in FUSABLE_OPTIMIZERS and (FUSED_ON_CPU or device != "cpu"):
        fused = {"optimizer__fused": True}
    return dict(
        loss_fn=loss_fn,
        corrupt=corrupt,
        hand_backprop=hand_backprop,
        code_penalty=code_penalty,
        optimizer=optimizer,
        optimizer__weight_decay=alpha,
        **fused,
        lr=lr,
        warmup_steps=warmup_steps,
        parallel=parallel,
        row_loss=row_loss,
        max_epochs=max_epochs,
        batch_size=batch_size,
        callbacks=list(callbacks),
        device=device,
        verbose=verbose,
    )


def new_engine(module, generator, settings, *, initialize=True):
    """A ``TrainingEngine`` training ``module`` with ``settings`` (``engine_settings``).

    ``generator`` (a ``torch.Generator``) draws its shuffles and corruption.
    The engine is initialized (its optimizer and callbacks built) unless
    ``initialize=False`` (``skae.load`` sets the saved optimizer first).
    """
    engine = TrainingEngine(module, generator=generator, **settings)
    return engine.initialize() if initialize else engine
