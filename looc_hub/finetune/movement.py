"""How far fine-tuning moved the weights, per parameter group: the check that full fine-tuning fine-tuned.

With the earlier defaults full fine-tuning ended exactly at its linear-probe start while the encoder had moved by
8e-5 of its norm; a top-1 that does not change cannot tell "nothing learned" from "nothing moved", this can.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

__all__ = ["parameter_group", "snapshot", "weight_movement"]


def parameter_group(name: str) -> str:
    """A parameter's group: its module path cut to two parts, the classifier's `model.` prefix dropped
    ("model.backbone.layer3.1.conv2.weight" -> "backbone.layer3", "head.weight" -> "head")."""
    module = name.removeprefix("model.").split(".")[:-1]
    return ".".join(module[:2])


def snapshot(module: nn.Module) -> dict[str, Tensor]:
    """A detached copy of every parameter, to measure movement from."""
    return {name: parameter.detach().clone() for name, parameter in module.named_parameters()}


@torch.no_grad()
def weight_movement(start: dict[str, Tensor], module: nn.Module) -> dict[str, tuple[int, float]]:
    """{group: (parameter count, relative change ||w - w0|| / ||w0|| over the group's parameters)}, in module order."""
    sums: dict[str, list[float]] = {}
    for name, parameter in module.named_parameters():
        before = start[name].to(parameter.device, torch.float64)
        change = sums.setdefault(parameter_group(name), [0, 0.0, 0.0])
        change[0] += parameter.numel()
        change[1] += float((parameter.double() - before).pow(2).sum())
        change[2] += float(before.pow(2).sum())
    return {group: (int(count), (moved / max(norm, 1e-24)) ** 0.5) for group, (count, moved, norm) in sums.items()}
