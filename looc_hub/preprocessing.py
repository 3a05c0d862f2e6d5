"""What a LooC model expects as input, in timm's own vocabulary (`pretrained_cfg`).

timm's `save_for_hf` would copy the architecture's inherited ImageNet tag (crop_pct 0.95, bicubic, another
paper's id) even for a LooC model; the cfg here describes the LooC training's own preprocessing instead, so
`timm.data.resolve_data_config` + `create_transform` give the right evaluation transform both for a
`LooCModel` and for the backbone loaded in plain timm.

That transform is the project's ONE evaluation preprocessing: `eval_transform` (the card's usage snippet) and
`eval_pixel_transform` (the same timm transform stopped before the float conversion, which the batched feature
extraction of every protocol and of the pretraining kNN monitor applies) give the same pixels, so any number a
card publishes is reproducible with the card's own snippet.
"""

from __future__ import annotations

from typing import Any

from timm.data import create_transform, resolve_data_config
from timm.models import PretrainedCfg
from torch import nn

from .config import LooCConfig

__all__ = ["PAPER_ID", "eval_data_config", "eval_pixel_transform", "eval_transform", "pretrained_cfg_for"]

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


def eval_data_config(model: nn.Module) -> dict[str, Any]:
    """timm's data config of the model's `pretrained_cfg`: input_size, interpolation, crop_pct, crop_mode, mean, std."""
    return resolve_data_config(model=model)


def eval_transform(model: nn.Module) -> Any:
    """The evaluation transform (RGB PIL image -> normalised tensor) for a LooCModel or a timm backbone.

    timm's: shorter side resized to floor(image_size / crop_pct) with the cfg's interpolation, centre crop
    image_size, to [0, 1], normalised with the cfg's mean / std.
    """
    return create_transform(**eval_data_config(model), is_training=False)


def eval_pixel_transform(model: nn.Module) -> Any:
    """`eval_transform` up to the pixels: RGB PIL image -> uint8 (3, S, S), before float conversion and normalisation.

    timm's own transform (`use_prefetcher=True`), so the geometry cannot drift from the card's snippet; the
    float conversion (/255) and normalisation then happen batched (`looc_hub.eval.transformed.embed_images`).
    """
    return create_transform(**eval_data_config(model), is_training=False, use_prefetcher=True)
