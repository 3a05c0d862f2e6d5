"""Classification batches with timm's transforms from the model's own data config (`pretrained_cfg`).

Training uses timm's `create_transform(is_training=True)` (random resized crop, flip, colour jitter as timm sets
them) and evaluation `looc_hub.eval_transform(model)`, so fine-tuning sees the preprocessing the weights expect.
The crop scale and colour jitter are ours and follow the image size (`looc_hub.preprocessing.default_crop_scale`,
`default_color_jitter`): timm's ImageNet settings from 128 px up, the whole image and no colour jitter below.
"""

from __future__ import annotations

from typing import Any

import torch
from datasets import ClassLabel, Dataset
from timm.data import create_transform, resolve_data_config
from torch.utils.data import DataLoader

from ..data import IMAGE_COLUMN, LABEL_COLUMN, to_rgb
from ..model import LooCNetwork
from ..preprocessing import default_color_jitter, default_crop_scale, eval_transform

__all__ = ["classification_loader", "num_classes_of"]


def num_classes_of(train: Dataset) -> int:
    """The class count: the ClassLabel's, else the largest training label + 1."""
    feature = train.features[LABEL_COLUMN]
    if isinstance(feature, ClassLabel):
        return feature.num_classes
    return int(max(train[LABEL_COLUMN])) + 1


def classification_loader(
    dataset: Dataset,
    model: LooCNetwork,
    *,
    num_classes: int,
    training: bool,
    batch_size: int,
    hflip: float = 0.5,
    crop_scale: tuple[float, float] | None = None,
    color_jitter: float | None = None,
    num_workers: int = 0,
    seed: int = 0,
) -> DataLoader:
    """Batches {"images": (B, 3, S, S) normalised float, "labels": (B,)} of a labelled `load_image_dataset` split.

    `crop_scale` (training only): the random-resized-crop area range; None: `default_crop_scale` of the model's
    image size. `color_jitter`: timm's brightness / contrast / saturation strength; None: `default_color_jitter`.
    Raises ValueError when a label lies outside [0, num_classes), a training split has fewer than 2 images, or
    `crop_scale` is not 0 < min <= max <= 1.
    """
    if training and len(dataset) < 2:
        raise ValueError(f"A training split needs at least 2 images (BatchNorm), got {len(dataset)}")
    labels = dataset[LABEL_COLUMN]
    bad = sorted({label for label in labels if not 0 <= label < num_classes})
    if bad:
        raise ValueError(f"labels {bad[:10]} are out of range for {num_classes} classes (valid: 0..{num_classes - 1})")
    if crop_scale is None:
        crop_scale = default_crop_scale(model.config.image_size)
    if color_jitter is None:
        color_jitter = default_color_jitter(model.config.image_size)
    if len(crop_scale) != 2 or not 0 < crop_scale[0] <= crop_scale[1] <= 1:
        raise ValueError(f"crop_scale must be (min, max) with 0 < min <= max <= 1, got {tuple(crop_scale)}")
    if training:
        transform = create_transform(
            **resolve_data_config(model=model),
            is_training=True,
            hflip=hflip,
            scale=tuple(crop_scale),
            color_jitter=color_jitter,
        )
    else:
        transform = eval_transform(model)

    def apply(batch: dict[str, list[Any]]) -> dict[str, list[Any]]:
        return {"images": [transform(to_rgb(image)) for image in batch[IMAGE_COLUMN]], "labels": batch[LABEL_COLUMN]}

    def collate(rows: list[dict[str, Any]]) -> dict[str, torch.Tensor]:
        return {
            "images": torch.stack([row["images"] for row in rows]),  # (B, 3, S, S)
            "labels": torch.tensor([row["labels"] for row in rows]),  # (B,)
        }

    return DataLoader(
        dataset.with_transform(apply),
        batch_size=batch_size,
        shuffle=training,
        # A last training batch of one image breaks BatchNorm in full fine-tuning: drop it (a different image
        # each epoch, as the order is shuffled). Evaluation keeps every image.
        drop_last=training and len(dataset) % batch_size == 1,
        num_workers=num_workers,
        collate_fn=collate,
        generator=torch.Generator().manual_seed(seed),
    )
