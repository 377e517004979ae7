"""A hand-written backward pass for plain multilayer-perceptron autoencoders.

Why: on a CPU, torch's autograd engine costs about 20 µs per ``backward()``
call and 10 µs per graph node on the 2-core machines skae is developed on,
more than the arithmetic of a small network's training step. On the digits
autoencoder of ``benchmarks/speed.py`` (64-32-10, batch 256) a forward and
backward pass through autograd takes about 350 µs, by hand about 250 µs.

What: ``hand_backprop(module)`` returns ``step(X_input, X_target) -> (loss,
(reconstruction, code))``. It runs the forward pass without building a
graph, takes the mean squared error (plus, optionally, a penalty on the code
whose gradient is given), and sets (not adds to) every parameter's ``.grad``
to what autograd would give (``tests/test_backprop.py`` compares them). It
returns ``None`` for a module holding anything it does not know (dropout,
batch normalization, other activations, other module types, module hooks,
frozen or tied parameters); training then uses autograd. Known:
``Autoencoder`` of ``nn.Sequential`` or ``LinearSkip`` parts made of
``nn.Linear``, ``nn.ReLU``, ``nn.Tanh``, ``nn.Sigmoid`` and ``nn.Identity``.

Each known module becomes ``run(x) -> (y, back)``, where ``back(grad,
input_grad)`` sets the module's parameter gradients from ``grad`` (the
gradient of the loss with respect to ``y``) and returns the gradient with
respect to ``x`` when ``input_grad`` is true.
"""

import torch
import torch.nn.functional as F
from torch import nn

from .nn import Autoencoder, LinearSkip

__all__ = ["hand_backprop"]

# activation module type -> (forward, backward(grad, output))
_ACTIVATIONS = {
    nn.ReLU: (torch.relu, lambda grad, y: torch.ops.aten.threshold_backward(grad, y, 0)),
    nn.Tanh: (torch.tanh, torch.ops.aten.tanh_backward),
    nn.Sigmoid: (torch.sigmoid, torch.ops.aten.sigmoid_backward),
}


def _linear(layer):
    weight, bias = layer.weight, layer.bias

    def run(x):
        def back(grad, input_grad):
            weight.grad = grad.T @ x  # (n_out, n_in)
            if bias is not None:
                bias.grad = grad.sum(0)
            return grad @ weight if input_grad else None  # (B, n_in)

        return F.linear(x, weight, bias), back

    return run


def _activation(forward, backward):
    def run(x):
        y = forward(x)
        return y, lambda grad, input_grad: backward(grad, y)

    return run


def _identity(x):
    return x, lambda grad, input_grad: grad


def _chain(runs):
    def run(x):
        backs = []
        for part in runs:
            x, back = part(x)
            backs.append(back)

        def back_chain(grad, input_grad):
            for i in range(len(backs) - 1, -1, -1):
                grad = backs[i](grad, input_grad or i > 0)
            return grad

        return x, back_chain

    return run


def _skip(linear, mlp, activation):
    def run(x):
        linear_out, back_linear = linear(x)
        mlp_out, back_mlp = mlp(x)
        y, back_activation = activation(linear_out + mlp_out)

        def back(grad, input_grad):
            grad = back_activation(grad, True)
            grad_x = back_linear(grad, input_grad)
            grad_mlp = back_mlp(grad, input_grad)
            return grad_x + grad_mlp if input_grad else None

        return y, back

    return run


_HOOKS = ("_forward_hooks", "_forward_pre_hooks", "_backward_hooks", "_backward_pre_hooks")


def _has_hooks(module):
    """Hooks on ``module``, or global module hooks (``register_module_forward_hook``...)."""
    global_hooks = (getattr(nn.modules.module, "_global" + name, None) for name in _HOOKS)
    return any(getattr(module, name, None) for name in _HOOKS) or any(global_hooks)


def _runner(module):
    """``run(x) -> (y, back)`` for a known module, else ``None``."""
    if _has_hooks(module):
        return None
    if type(module) is nn.Linear:
        return _linear(module)
    if type(module) is nn.Identity:
        return _identity
    if type(module) in _ACTIVATIONS:
        return _activation(*_ACTIVATIONS[type(module)])
    if type(module) is nn.Sequential:
        runs = [_runner(layer) for layer in module]
        return None if None in runs else _chain(runs)
    if type(module) is LinearSkip:
        parts = [_runner(part) for part in (module.linear, module.mlp, module.activation)]
        return None if None in parts else _skip(*parts)
    return None


def _shares_parameters(module):
    """Whether a parameter appears twice (tied weights): gradients would then add up."""
    modules = [m for _, m in module.named_modules(remove_duplicate=False)]
    found = [id(p) for m in modules for p in m.parameters(recurse=False)]
    return len(found) != len(set(found))


def hand_backprop(module, code_penalty=None):
    """Return a training step with a hand-written backward pass, or ``None``.

    Parameters
    ----------
    module : torch.nn.Module
        The autoencoder to train.
    code_penalty : callable or None, default=None
        ``code_penalty(code) -> (value, grad)``: a term added to the loss
        that depends on the code alone, with its gradient with respect to
        the code (e.g. ``skae.penalties.l1_activity_and_grad``).

    Returns
    -------
    step : callable or None
        ``step(X_input, X_target) -> (loss, (reconstruction, code))`` for a
        known ``Autoencoder`` (see the module docstring): the mean squared
        error of the reconstruction of ``X_input`` against ``X_target``,
        with every parameter's ``.grad`` set, replacing what was there.
        ``None`` for any other module, or one with tied or frozen
        parameters or module hooks.

    Examples
    --------
    >>> import torch
    >>> from skae._backprop import hand_backprop
    >>> from skae.nn import Autoencoder, make_mlp
    >>> module = Autoencoder(make_mlp([4, 3, 2]), make_mlp([2, 3, 4]))
    >>> X = torch.randn(8, 4)
    >>> loss, (reconstruction, code) = hand_backprop(module)(X, X)
    >>> tuple(code.shape), module.encoder[0].weight.grad.shape
    ((8, 2), torch.Size([3, 4]))
    >>> hand_backprop(torch.nn.Linear(4, 4)) is None
    True
    """
    if type(module) is not Autoencoder or _shares_parameters(module):
        return None
    if not all(p.requires_grad for p in module.parameters()):  # frozen: leave to autograd
        return None
    encoder, decoder = _runner(module.encoder), _runner(module.decoder)
    if encoder is None or decoder is None:
        return None

    @torch.no_grad()
    def step(X_input, X_target):
        code, back_encoder = encoder(X_input)  # (B, n_components)
        reconstruction, back_decoder = decoder(code)  # (B, n_features)
        error = (reconstruction - X_target).view(-1)  # (B * n_features,)
        loss = torch.dot(error, error) / error.numel()
        grad = error.mul_(2.0 / error.numel()).view_as(reconstruction)
        grad_code = back_decoder(grad, True)  # (B, n_components)
        if code_penalty is not None:
            penalty, grad_penalty = code_penalty(code)
            loss, grad_code = loss + penalty, grad_code + grad_penalty
        back_encoder(grad_code, False)
        return loss, (reconstruction, code)

    return step
