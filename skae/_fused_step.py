"""Adam's fused step without ``torch.optim``'s per-step bookkeeping.

Why: ``torch.optim.Adam(fused=True).step()`` takes about 60 µs per call on
the 2-core CPUs skae is developed on, of which the two kernels take about
20 µs; the rest is Python around them (profiler records, hooks, regrouping
the tensors by device and dtype). On a small network that is a tenth of a
training step. ``fused_step(optimizer)`` calls the same two kernels with the
same arguments, so the result is identical (``tests/test_fused_step.py``).

Whenever it cannot be sure of that, it declines and the caller takes the
optimizer's own step: with a missing gradient, a step hook, a learning-rate
scheduler watching the step, or any setting the kernels do not cover
(several parameter groups, amsgrad, tensor learning rates, mixed devices or
dtypes). On the first step it creates the state as ``torch.optim.Adam``
does for ``fused=True`` (a float32 step count and zero moments on the
parameter's device).

A cold start: ``torch.optim``'s ``Optimizer.__init__`` (through
``add_param_group``), ``step`` and ``zero_grad`` import ``torch._dynamo`` on
first use, 2 to 5 s in a fresh process, for decorators that only matter
while ``torch.compile`` traces them. Nothing can be tracing while
``torch._dynamo`` has not been imported, so ``new_optimizer`` and
``zero_grad`` call the undecorated functions then (the same code), and the
fused step above never calls ``step``: a first ``fit`` in a fresh process
with the default ``optimizer="adam"`` costs what the next one does. Once
``torch._dynamo`` is loaded (by the user, or by another optimizer), torch's
own methods run.
"""

import sys
import types

import torch
from torch.optim import optimizer as torch_optimizer

__all__ = ["fused_step", "new_optimizer", "zero_grad"]

_Optimizer = torch.optim.Optimizer


def _undecorated(method):
    """``method`` without torch's dynamo-disabling decorator while dynamo is not loaded, else None.

    ``torch._disable_dynamo`` wraps a function with ``functools.wraps``, which
    keeps the function as ``__wrapped__``.
    """
    if "torch._dynamo" in sys.modules:
        return None
    return getattr(method, "__wrapped__", None)


def new_optimizer(optimizer_class, *args, **kwargs):
    """``optimizer_class(*args, **kwargs)``, without importing ``torch._dynamo`` when it is not loaded.

    The same object as the plain call gives: ``Optimizer.__init__`` runs with
    ``add_param_group`` undecorated for the call's duration (see the module
    docstring). An optimizer class with its own ``add_param_group`` is
    called as is.

    Examples
    --------
    >>> import torch
    >>> from skae._fused_step import new_optimizer
    >>> optimizer = new_optimizer(torch.optim.Adam, torch.nn.Linear(3, 2).parameters(), lr=0.1)
    >>> type(optimizer).__name__, optimizer.param_groups[0]["lr"], "add_param_group" in vars(optimizer)
    ('Adam', 0.1, False)
    """
    add_param_group = _undecorated(_Optimizer.add_param_group)
    if add_param_group is None or optimizer_class.add_param_group is not _Optimizer.add_param_group:
        return optimizer_class(*args, **kwargs)
    optimizer = optimizer_class.__new__(optimizer_class)
    optimizer.add_param_group = types.MethodType(add_param_group, optimizer)
    try:
        optimizer.__init__(*args, **kwargs)
    finally:
        vars(optimizer).pop("add_param_group", None)
    return optimizer


def zero_grad(optimizer):
    """``optimizer.zero_grad(set_to_none=True)``, without importing ``torch._dynamo`` when it is not loaded."""
    undecorated = _undecorated(_Optimizer.zero_grad)
    if undecorated is None or type(optimizer).zero_grad is not _Optimizer.zero_grad:
        optimizer.zero_grad(set_to_none=True)
    else:
        undecorated(optimizer, True)


def _has_step_hooks(optimizer):
    return bool(
        optimizer._optimizer_step_pre_hooks
        or optimizer._optimizer_step_post_hooks
        or torch_optimizer._global_optimizer_pre_hooks
        or torch_optimizer._global_optimizer_post_hooks
        or "step" in vars(optimizer)  # wrapped, e.g. by an LRScheduler counting steps
    )


def _qualifies(optimizer):
    if len(optimizer.param_groups) != 1:
        return False
    group = optimizer.param_groups[0]
    return (
        bool(group.get("fused"))
        and not (group["amsgrad"] or group["differentiable"] or group["capturable"])
        and not any(isinstance(group[key], torch.Tensor) for key in ("lr", "weight_decay", "eps"))
        and not any(isinstance(beta, torch.Tensor) for beta in group["betas"])
        and len({(p.device, p.dtype) for p in group["params"]}) == 1
    )


def fused_step(optimizer):
    """Return ``step() -> bool`` taking a fused Adam or AdamW step directly, or ``None``.

    Parameters
    ----------
    optimizer : torch.optim.Optimizer
        The optimizer; only ``torch.optim.Adam`` and ``torch.optim.AdamW``
        built with ``fused=True`` and one parameter group qualify.

    Returns
    -------
    step : callable or None
        ``step()`` updates the parameters (and the optimizer's state,
        created at the first step) as ``optimizer.step()`` would and returns
        ``True``, or changes nothing and returns ``False`` when the
        optimizer's own step must be taken (see the module docstring).
        ``None`` when the optimizer never qualifies.

    Examples
    --------
    >>> import torch
    >>> from skae._fused_step import fused_step
    >>> layer = torch.nn.Linear(3, 2)
    >>> optimizer = torch.optim.Adam(layer.parameters(), fused=True)
    >>> step = fused_step(optimizer)
    >>> layer(torch.ones(1, 3)).sum().backward()
    >>> step(), float(optimizer.state[layer.weight]["step"])
    (True, 1.0)
    >>> layer.weight.grad = None
    >>> step()  # a missing gradient: the optimizer's own step must run
    False
    """
    if type(optimizer) not in (torch.optim.Adam, torch.optim.AdamW):
        return None
    if not _qualifies(optimizer):
        return None

    @torch.no_grad()
    def step():
        if not _qualifies(optimizer) or _has_step_hooks(optimizer):
            return False
        group = optimizer.param_groups[0]  # read anew: load_state_dict replaces it
        params = group["params"]
        grads = [p.grad for p in params]
        if any(g is None for g in grads):
            return False
        states = [optimizer.state.get(p) for p in params]
        if not any(states):  # the first step: the state torch.optim.Adam(fused=True) creates
            if not all(torch.is_floating_point(p) for p in params):
                return False
            for p in params:
                optimizer.state[p] = {
                    "step": torch.zeros((), dtype=torch.float32, device=p.device),
                    "exp_avg": torch.zeros_like(p, memory_format=torch.preserve_format),
                    "exp_avg_sq": torch.zeros_like(p, memory_format=torch.preserve_format),
                }
            states = [optimizer.state[p] for p in params]
        elif not all(states):
            return False
        steps = [state["step"] for state in states]
        torch._foreach_add_(steps, 1)
        beta1, beta2 = group["betas"]
        decoupled = group.get("decoupled_weight_decay", type(optimizer) is torch.optim.AdamW)
        kernel = torch._fused_adamw_ if decoupled else torch._fused_adam_
        kernel(
            params,
            grads,
            [state["exp_avg"] for state in states],
            [state["exp_avg_sq"] for state in states],
            [],
            steps,
            amsgrad=False,
            lr=group["lr"],
            beta1=beta1,
            beta2=beta2,
            weight_decay=group["weight_decay"],
            eps=group["eps"],
            maximize=group["maximize"],
        )
        return True

    return step
