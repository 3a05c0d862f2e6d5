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

import math
from typing import Any

from timm.data import create_transform, resolve_data_config
from timm.models import PretrainedCfg, get_pretrained_cfg
from torch import nn

from .config import LooCConfig

__all__ = [
    "PAPER_ID",
    "SMALL_IMAGE_SIZE",
    "default_color_jitter",
    "default_crop_scale",
    "eval_data_config",
    "eval_pixel_transform",
    "eval_transform",
    "pretrained_cfg_for",
]

PAPER_ID = "arXiv:2008.05659"
SMALL_IMAGE_SIZE = 128
"""Below this side (px), fine-tuning augments lightly (ours): see `default_crop_scale`."""


def default_crop_scale(image_size: int) -> tuple[float, float]:
    """Random-resized-crop area range for fine-tuning at `image_size` (the train transform's `scale`).

    timm's ImageNet range (0.08, 1) from `SMALL_IMAGE_SIZE` up. Below it (ours) the whole image, with timm's
    aspect-ratio jitter only: full fine-tuning of the README's model on 32 px digits (5 epochs, linear probe
    96.9%) reached 48% with timm's augmentations, 76% with crops of at least half the image, 93% with at least
    80% and 96.4% with the whole image (colour jitter off, no flips): at this size the head drifts with every
    augmentation the frozen-feature probe never saw.
    """
    return (0.08, 1.0) if image_size >= SMALL_IMAGE_SIZE else (1.0, 1.0)


def default_color_jitter(image_size: int) -> float:
    """timm's train-time colour jitter strength for fine-tuning: timm's 0.4 from `SMALL_IMAGE_SIZE` up, else 0 (ours:
    on the 32 px digits it alone took one epoch of the linear-probe head from 96.9% to 92.2%)."""
    return 0.4 if image_size >= SMALL_IMAGE_SIZE else 0.0


def pretrained_cfg_for(config: LooCConfig, backbone: nn.Module | None = None) -> dict[str, Any]:
    """timm's `pretrained_cfg` for a LooC backbone: our preprocessing, no classifier (num_classes 0).

    `first_conv` and `classifier` are the architecture's own (timm's default cfg): timm needs them to adapt the
    stem to `in_chans=1` and to drop / re-initialise the classifier for `num_classes=10` when loading these
    weights. `pool_size` is the final feature map at our image size, from the backbone's total stride.
    """
    default = get_pretrained_cfg(config.backbone)
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
        pool_size=_pool_size(config, backbone),
        first_conv=default.first_conv if default is not None else None,
        classifier=default.classifier if default is not None else None,
        fixed_input_size=default.fixed_input_size if default is not None else False,
        paper_name="What Should Not Be Contrastive in Contrastive Learning",
        paper_ids=PAPER_ID,
    )
    return cfg.to_dict(remove_source=True)


def _pool_size(config: LooCConfig, backbone: nn.Module | None) -> tuple[int, int] | None:
    """The last feature map's (H, W) at `config.image_size`: ceil(size / reduction), as timm's cfgs give it."""
    feature_info = getattr(backbone, "feature_info", None)
    if not feature_info:
        return None
    last = feature_info[-1]
    reduction = last.get("reduction") if isinstance(last, dict) else None
    if not reduction:
        return None
    side = math.ceil(config.image_size / reduction)
    return (side, side)


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
    float conversion (/255) and normalisation then happen batched (`looc_hub.eval.extraction_steps.embed_images`).
    """
    return create_transform(**eval_data_config(model), is_training=False, use_prefetcher=True)
