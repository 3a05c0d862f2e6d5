"""The timm backbone, and where LooC++ branches it.

LooC uses any timm model with pooled features (`num_classes=0`). LooC++ (the paper, Sec. 3) gives each head its
own copy of the backbone's last stage, so the network must be cut into a shared trunk and a last stage. Where to
cut is architecture-specific; each supported family says it in a small `StageSplit`:

- ResNet family (the paper's): trunk = stem + layer1..3, last stage = layer4 (conv5), pooled by the backbone.
- ConvNeXt family (ours, beyond the paper): trunk = stem + stages[:-1], last stage = stages[-1] + norm_pre +
  the norm-pool head, which holds LayerNorm parameters and therefore belongs to each branch.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import timm
import torch
from timm.models.convnext import ConvNeXt
from timm.models.resnet import ResNet
from torch import nn

from ._checks import short_repr, short_text
from .config import LooCConfig

__all__ = ["StageSplit", "create_backbone", "stage_split_for"]


@dataclass(frozen=True)
class StageSplit:
    """How one timm family is cut for LooC++.

    Attributes:
        last_stage: the backbone's own last-stage modules, by a short name; LooC++ copies them once per
            leave-one-out head (the invariant head uses the backbone's own, so that plain timm loading of the
            backbone gives exactly the invariant branch).
        forward_trunk: (backbone, images) -> the trunk's feature map, shared by all heads.
        forward_last_stage: (backbone, last-stage modules, trunk features) -> pooled features (B, num_features).
    """

    last_stage: Callable[[nn.Module], dict[str, nn.Module]]
    forward_trunk: Callable[[nn.Module, torch.Tensor], torch.Tensor]
    forward_last_stage: Callable[[nn.Module, nn.ModuleDict | dict[str, nn.Module], torch.Tensor], torch.Tensor]


def _resnet_trunk(model: ResNet, x: torch.Tensor) -> torch.Tensor:
    x = model.maxpool(model.act1(model.bn1(model.conv1(x))))
    return model.layer3(model.layer2(model.layer1(x)))


_RESNET = StageSplit(
    last_stage=lambda model: {"layer4": model.layer4},
    forward_trunk=_resnet_trunk,
    forward_last_stage=lambda model, stage, x: model.forward_head(stage["layer4"](x), pre_logits=True),
)

_CONVNEXT = StageSplit(
    last_stage=lambda model: {"stage": model.stages[-1], "norm_pre": model.norm_pre, "head": model.head},
    forward_trunk=lambda model, x: model.stages[:-1](model.stem(x)),
    forward_last_stage=lambda model, stage, x: stage["head"](stage["norm_pre"](stage["stage"](x)), pre_logits=True),
)

_SPLITS: dict[type[nn.Module], StageSplit] = {ResNet: _RESNET, ConvNeXt: _CONVNEXT}


def create_backbone(config: LooCConfig) -> nn.Module:
    """A randomly initialised timm model that returns pooled features (B, num_features).

    Raises:
        ValueError: timm refused `backbone_kwargs` (an unknown keyword, a value of the wrong type or size), naming them.
    """
    try:
        return timm.create_model(config.backbone, pretrained=False, num_classes=0, **config.backbone_kwargs)
    except (TypeError, ValueError, RuntimeError) as error:
        raise ValueError(
            f"backbone_kwargs {short_repr(dict(config.backbone_kwargs))} are not accepted by timm's "
            f"{config.backbone}: {short_text(str(error))}"
        ) from None


def stage_split_for(backbone: nn.Module, architecture: str) -> StageSplit:
    """The LooC++ cut for this backbone, or a ValueError naming the supported families."""
    for family, split in _SPLITS.items():
        if isinstance(backbone, family):
            return split
    supported = ", ".join(family.__name__ for family in _SPLITS)
    raise ValueError(
        f"LooC++ needs to know where {architecture!r} ({type(backbone).__name__}) ends its last stage; supported "
        f"families: {supported}. Use variant='looc', which works with any timm model with pooled features."
    )
