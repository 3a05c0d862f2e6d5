"""The momentum (EMA) update of MoCo's key encoder, and BYOL's optional cosine schedule for its momentum."""

from __future__ import annotations

import math

import torch
from torch import nn

from .._checks import is_number

__all__ = ["cosine_momentum", "update_momentum"]


@torch.no_grad()
def update_momentum(online: nn.Module, target: nn.Module, momentum: float) -> None:
    """target <- momentum * target + (1 - momentum) * online, parameter by parameter (MoCo's key encoder).

    Only parameters move: as in MoCo, the target's buffers (BatchNorm running statistics) come from its own
    forward passes. One fused `_foreach_lerp_` over all parameters (timm's ModelEmaV3 does the same).

    Raises:
        ValueError: a momentum outside [0, 1]; modules whose parameter lists differ.
    """
    _check_momentum(momentum)
    online_params = list(online.parameters())
    target_params = list(target.parameters())
    if len(online_params) != len(target_params):
        raise ValueError(
            f"online and target must have the same architecture; they have {len(online_params)} and "
            f"{len(target_params)} parameters"
        )
    torch._foreach_lerp_(target_params, online_params, 1.0 - momentum)


def cosine_momentum(step: int, total_steps: int, base_momentum: float) -> float:
    """BYOL's schedule (Grill et al., 2020): the momentum rises from `base_momentum` at step 0 to 1 at the end.

    Optional and ours to offer: MoCo v2 and the LooC paper keep the momentum constant (0.999).

    Raises:
        ValueError: a step outside [0, total_steps], a non-positive total, or a base outside [0, 1].
    """
    _check_momentum(base_momentum)
    if total_steps <= 0:
        raise ValueError(f"total_steps must be positive, got {total_steps}")
    if not 0 <= step <= total_steps:
        raise ValueError(f"step must be in [0, total_steps = {total_steps}], got {step}")
    return 1.0 - (1.0 - base_momentum) * (math.cos(math.pi * step / total_steps) + 1.0) / 2.0


def _check_momentum(momentum: float) -> None:
    if not is_number(momentum) or not 0 <= momentum <= 1:
        raise ValueError(f"momentum must be a number in [0, 1] (MoCo v2: 0.999), got {momentum!r}")
