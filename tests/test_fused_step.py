"""The direct fused Adam step updates exactly as torch.optim does, and declines when unsure."""

import copy

import numpy as np
import pytest
import torch

from skae import AutoencoderTransformer
from skae._training import FUSED_ON_CPU
from skae._fused_step import fused_step

pytestmark = pytest.mark.skipif(not FUSED_ON_CPU, reason="torch < 2.4 has no fused Adam on CPU")


def _pair(optimizer_cls, **kwargs):
    """Two identical layers, each with its own optimizer."""
    layers = []
    for _ in range(2):
        torch.manual_seed(0)
        layers.append(torch.nn.Linear(5, 3))
    return [(layer, optimizer_cls(layer.parameters(), fused=True, **kwargs)) for layer in layers]


def _backward(layer, seed):
    layer.zero_grad(set_to_none=True)
    X = torch.randn(8, 5, generator=torch.Generator().manual_seed(seed))
    (layer(X) ** 2).mean().backward()


SETTINGS = {
    "adam": (torch.optim.Adam, {}),
    "adam, weight decay, maximize": (
        torch.optim.Adam,
        dict(lr=0.01, weight_decay=0.1, maximize=True, betas=(0.8, 0.9)),
    ),
    "adamw": (torch.optim.AdamW, dict(lr=0.01, weight_decay=0.1)),
}


@pytest.mark.parametrize("name", list(SETTINGS))
def test_same_trajectory_as_the_optimizer(name):
    optimizer_cls, kwargs = SETTINGS[name]
    (reference, reference_optimizer), (layer, optimizer) = _pair(optimizer_cls, **kwargs)
    step = fused_step(optimizer)
    taken = []
    for seed in range(6):
        _backward(reference, seed)
        reference_optimizer.step()
        _backward(layer, seed)
        fast = step()
        if not fast:
            optimizer.step()
        taken.append(fast)
    assert taken == [True] * 6  # the first step creates the state as torch does
    for p, q in zip(reference.parameters(), layer.parameters()):
        assert torch.equal(p, q)
    for p, q in zip(reference.parameters(), layer.parameters()):
        for key in ("step", "exp_avg", "exp_avg_sq"):
            assert torch.equal(reference_optimizer.state[p][key], optimizer.state[q][key])


def test_follows_a_reloaded_state_and_a_changed_learning_rate():
    (reference, reference_optimizer), (layer, optimizer) = _pair(torch.optim.Adam)
    step = fused_step(optimizer)
    for seed in range(2):
        for net, opt in ((reference, reference_optimizer), (layer, optimizer)):
            _backward(net, seed)
            opt.step()
    # New param_groups and state tensors (copies: load_state_dict does not copy them).
    optimizer.load_state_dict(copy.deepcopy(reference_optimizer.state_dict()))
    for opt in (reference_optimizer, optimizer):
        opt.param_groups[0]["lr"] = 0.05
    _backward(reference, 9)
    reference_optimizer.step()
    _backward(layer, 9)
    assert step()
    for p, q in zip(reference.parameters(), layer.parameters()):
        assert torch.equal(p, q)


def _stepped(optimizer_cls=torch.optim.Adam, **kwargs):
    layer = torch.nn.Linear(5, 3)
    optimizer = optimizer_cls(layer.parameters(), **kwargs)
    _backward(layer, 0)
    optimizer.step()
    _backward(layer, 1)
    return layer, optimizer


def test_declines_when_a_hook_or_scheduler_watches_the_step():
    layer, optimizer = _stepped(fused=True)
    step = fused_step(optimizer)
    calls = []
    handle = optimizer.register_step_pre_hook(lambda *args: calls.append(1))
    assert not step()
    handle.remove()
    torch.optim.lr_scheduler.StepLR(optimizer, step_size=1)
    assert not step()
    assert calls == []


def test_declines_a_missing_gradient():
    layer, optimizer = _stepped(fused=True)
    layer.bias.grad = None
    before = layer.weight.detach().clone()
    assert not fused_step(optimizer)()
    assert torch.equal(layer.weight, before)


@pytest.mark.parametrize(
    "make",
    [
        lambda params: torch.optim.Adam(params),  # not fused
        lambda params: torch.optim.Adam(params, fused=True, amsgrad=True),
        lambda params: torch.optim.SGD(params, lr=0.1),
        lambda params: torch.optim.Adam([{"params": [p]} for p in params], fused=True),
    ],
    ids=["unfused", "amsgrad", "sgd", "two groups"],
)
def test_other_optimizers_are_left_alone(make):
    assert fused_step(make(list(torch.nn.Linear(5, 3).parameters()))) is None


def test_estimator_training_takes_the_direct_step(monkeypatch):
    taken = []
    original = torch.optim.Adam.step

    def counting_step(self, *args, **kwargs):
        taken.append(1)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(torch.optim.Adam, "step", counting_step)
    X = np.random.RandomState(0).normal(size=(64, 5))
    AutoencoderTransformer(n_components=2, max_iter=4, batch_size=16, early_stopping=False).fit(X)
    assert taken == []  # none of the 16 steps goes through torch.optim, the first included


def test_new_optimizer_and_zero_grad_are_torch_s_own():
    from skae._fused_step import new_optimizer, zero_grad

    layer = torch.nn.Linear(5, 3)
    built = new_optimizer(torch.optim.AdamW, layer.parameters(), lr=0.01, fused=True)
    plain = torch.optim.AdamW(layer.parameters(), lr=0.01, fused=True)
    assert type(built) is torch.optim.AdamW and "add_param_group" not in vars(built)
    assert built.state_dict() == plain.state_dict()
    layer(torch.ones(2, 5)).sum().backward()
    zero_grad(built)
    assert all(p.grad is None for p in layer.parameters())
