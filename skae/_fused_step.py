"""Adam's fused step without ``torch.optim``'s per-step bookkeeping.

Why: ``torch.optim.Adam(fused=True).step()`` takes about 60 µs per call on
the 2-core CPUs skae is developed on, of which the two kernels take about
20 µs; the rest is Python around them (profiler records, hooks, regrouping
the tensors by device and dtype). On a small network that is a tenth of a
training step. ``fused_step(optimizer)`` calls the same two kernels with the
same arguments, so the result is identical (``tests/test_fused_step.py``).

Whenever it cannot be sure of that, it declines and the caller takes the
optimizer's own step: on the first step (no state yet), with a missing
gradient, a step hook, a learning-rate scheduler watching the step, or any
setting the kernels do not cover (several parameter groups, amsgrad, tensor
learning rates, mixed devices or dtypes).
"""

import torch
from torch.optim import optimizer as torch_optimizer

__all__ = ["fused_step"]


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
        ``step()`` updates the parameters as ``optimizer.step()`` would and
        returns ``True``, or changes nothing and returns ``False`` when the
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
    >>> step()  # no state yet: the optimizer's own step must run first
    False
    >>> optimizer.step()
    >>> step()
    True
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
        states = [optimizer.state.get(p) for p in params]
        if any(g is None for g in grads) or not all(states):
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
