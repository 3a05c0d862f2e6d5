"""The key encoder's EMA update and BYOL's cosine momentum schedule."""

import copy
import itertools
import math

import pytest
import torch
from torch import nn

from looc_hub.objective import cosine_momentum, update_momentum


def small_network() -> nn.Module:
    return nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4), nn.Flatten(), nn.LazyLinear(2))


def pair() -> tuple[nn.Module, nn.Module]:
    torch.manual_seed(0)
    online = small_network()
    online(torch.randn(2, 3, 5, 5))
    target = copy.deepcopy(online)
    with torch.no_grad():
        for parameter in online.parameters():
            parameter.add_(torch.randn_like(parameter))
        for buffer in online.buffers():
            buffer.add_(1)
    return online, target


def test_update_moves_every_target_parameter_towards_online():
    online, target = pair()
    online_before = copy.deepcopy(online.state_dict())
    target_before = copy.deepcopy(target.state_dict())
    update_momentum(online, target, momentum=0.9)
    for name, parameter in target.named_parameters():
        expected = 0.9 * target_before[name] + 0.1 * online_before[name]
        torch.testing.assert_close(parameter, expected, msg=name)
    for name, buffer in target.named_buffers():
        assert torch.equal(buffer, target_before[name]), f"buffer {name} must not move"
    for name, value in online.state_dict().items():
        assert torch.equal(value, online_before[name]), f"online {name} must not move"


@pytest.mark.parametrize("momentum", [0.0, 1.0])
def test_momentum_bounds_copy_or_keep(momentum):
    online, target = pair()
    kept = copy.deepcopy(target)
    update_momentum(online, target, momentum)
    source = online if momentum == 0.0 else kept
    for parameter, expected in zip(target.parameters(), source.parameters(), strict=True):
        torch.testing.assert_close(parameter, expected)


def test_update_rejects_bad_momentum_and_different_architectures():
    online, target = pair()
    for momentum in (-0.1, 1.5, True):
        with pytest.raises(ValueError, match=r"momentum must be a number in \[0, 1\]"):
            update_momentum(online, target, momentum)
    with pytest.raises(ValueError, match="same architecture"):
        update_momentum(online, nn.Linear(2, 2), 0.9)


def test_cosine_schedule_rises_from_base_to_one():
    base, total = 0.99, 100
    values = [cosine_momentum(step, total, base) for step in range(total + 1)]
    assert values[0] == pytest.approx(base)
    assert values[total // 2] == pytest.approx((1 + base) / 2)
    assert values[-1] == pytest.approx(1.0)
    assert all(a <= b for a, b in itertools.pairwise(values))
    assert values[25] == pytest.approx(1 - (1 - base) * (math.cos(math.pi / 4) + 1) / 2)


@pytest.mark.parametrize(("step", "total", "base"), [(-1, 10, 0.99), (11, 10, 0.99), (0, 0, 0.99), (0, 10, 1.1)])
def test_cosine_schedule_rejects_invalid_arguments(step, total, base):
    with pytest.raises(ValueError):
        cosine_momentum(step, total, base)
