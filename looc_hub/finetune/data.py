"""Classification batches with timm's transforms from the model's own data config (`pretrained_cfg`).

Training uses timm's `create_transform(is_training=True)` (random resized crop, flip, colour jitter as timm sets
them) and evaluation the model's evaluation transform (`looc_hub.preprocessing.eval_pixel_transform`, what the
card's `looc_hub.eval_transform(model)` computes), so fine-tuning sees the preprocessing the weights expect. Both
run up to the uint8 pixels inside the project's loader (`looc_hub.data.build_dataloader`: decoding in the workers,
an unreadable image named by its file, an epoch order fixed by the seed) and `normalise` finishes them batched.
The crop scale and colour jitter are ours and follow the image size (`looc_hub.preprocessing.default_crop_scale`,
`default_color_jitter`): timm's ImageNet settings from 128 px up, the whole image and no colour jitter below.
"""

from __future__ import annotations

import torch
from datasets import ClassLabel, Dataset
from timm.data import create_transform
from torch import Tensor
from torch.utils.data import DataLoader

from ..data import LABEL_COLUMN, build_dataloader
from ..model import LooCNetwork
from ..preprocessing import default_color_jitter, default_crop_scale, eval_data_config, eval_pixel_transform

__all__ = ["classification_loader", "normalise", "num_classes_of"]


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
    """Batches {"images": uint8 (B, 3, S, S), "labels": (B,)} of a labelled `load_image_dataset` split.

    Pass the images through `normalise(model, images)` before the model. `crop_scale` (training only): the
    random-resized-crop area range; None: `default_crop_scale` of the model's image size. `color_jitter`: timm's
    brightness / contrast / saturation strength; None: `default_color_jitter`. A training loader is shuffled in
    an order fixed by (seed, epoch): call `loader.set_epoch(epoch)` before each epoch.
    Raises ValueError when a label lies outside [0, num_classes), a training split has fewer than 2 images, or
    `crop_scale` is not 0 < min <= max <= 1; iterating raises `UnreadableImageError` naming an unreadable file.
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
            **eval_data_config(model),
            is_training=True,
            hflip=hflip,
            scale=tuple(crop_scale),
            color_jitter=color_jitter,
            use_prefetcher=True,  # uint8 pixels; `normalise` converts and normalises the batch
        )
    else:
        transform = eval_pixel_transform(model)
    return build_dataloader(
        dataset,
        batch_size=batch_size,
        canvas_size=eval_data_config(model)["input_size"][-1],
        transform=transform,
        num_workers=num_workers,
        seed=seed,
        shuffle=training,
        # A last training batch of one image breaks BatchNorm in full fine-tuning: drop it (a different image
        # each epoch, as the order is shuffled). Evaluation keeps every image.
        drop_last=training and len(dataset) % batch_size == 1,
    )


def normalise(model: LooCNetwork, images: Tensor) -> Tensor:
    """uint8 images (B, 3, S, S) -> floats normalised with the mean / std of the model's `pretrained_cfg`."""
    config = eval_data_config(model)
    mean = torch.tensor(config["mean"], device=images.device).view(1, -1, 1, 1)
    std = torch.tensor(config["std"], device=images.device).view(1, -1, 1, 1)
    return (images.float() / 255 - mean) / std
