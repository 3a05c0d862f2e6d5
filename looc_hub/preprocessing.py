"""What a LooC model expects as input, in timm's own vocabulary (`pretrained_cfg`).

timm's `save_for_hf` would copy the architecture's inherited ImageNet tag (crop_pct 0.95, bicubic, another
paper's id) even for a LooC model; the cfg here describes the LooC training's own preprocessing instead, so
`timm.data.resolve_data_config` + `create_transform` give the right evaluation transform both for a
`LooCModel` and for the backbone loaded in plain timm.
"""

from __future__ import annotations

from typing import Any

from timm.data import create_transform, resolve_data_config
from timm.models import PretrainedCfg
from torch import nn

from .config import LooCConfig

__all__ = ["PAPER_ID", "eval_transform", "pretrained_cfg_for"]

PAPER_ID = "arXiv:2008.05659"


def pretrained_cfg_for(config: LooCConfig) -> dict[str, Any]:
    """timm's `pretrained_cfg` for a LooC backbone: our preprocessing, no classifier (num_classes 0)."""
    cfg = PretrainedCfg(
        architecture=config.backbone,
        tag="looc",
        input_size=(config.in_chans, config.image_size, config.image_size),
        interpolation=config.interpolation,
        crop_pct=config.crop_pct,
        crop_mode="center",
        mean=tuple(config.mean),
        std=tuple(config.std),
        num_classes=0,
        paper_name="What Should Not Be Contrastive in Contrastive Learning",
        paper_ids=PAPER_ID,
    )
    return cfg.to_dict(remove_source=True)


def eval_transform(model: nn.Module) -> Any:
    """The evaluation transform (PIL image -> normalised tensor) for a LooCModel or a timm backbone."""
    return create_transform(**resolve_data_config(model=model), is_training=False)
