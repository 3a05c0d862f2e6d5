"""The two steps every feature extraction shares: decode a dataset into image batches, embed a batch.

`extract_features` composes them, with an optional tensor transform in between (rotation, corruption,
augmentation): the rotation probe, the corruption benchmark and the sensitivity matrix all go through it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence

import torch
from datasets import Dataset
from torch import Tensor

from ..data import build_dataloader
from ..model import LooCModel

__all__ = ["ImageTransform", "embed_images", "image_batches"]

ImageTransform = Callable[[Tensor], Tensor]
"""(B, 3, H, W) float images in [0, 1] -> the same shape, also in [0, 1]."""


def image_batches(
    dataset: Dataset, image_size: int, *, batch_size: int = 256, num_workers: int = 0
) -> Iterator[tuple[Tensor, Tensor | None]]:
    """(images (B, 3, S, S) float in [0, 1], labels (B,) or None), in dataset order.

    Decoding is the loader's (ours, matching the loader/engine split used in training): resize the shorter side
    to `image_size` and centre-crop.
    """
    loader = build_dataloader(
        dataset, batch_size=batch_size, canvas_size=image_size, num_workers=num_workers, shuffle=False, drop_last=False
    )
    for batch in loader:
        yield batch["images"].float() / 255, batch.get("labels")


@torch.no_grad()
def embed_images(model: LooCModel, images: Tensor, spaces: Sequence[str]) -> dict[str, Tensor]:
    """{space: (B, d)} of float images in [0, 1], normalised with the model's mean and std; AMP on CUDA."""
    mean = torch.tensor(model.config.mean, device=images.device).view(1, -1, 1, 1)
    std = torch.tensor(model.config.std, device=images.device).view(1, -1, 1, 1)
    with torch.autocast(images.device.type, enabled=images.device.type == "cuda"):
        return model((images - mean) / std, spaces=list(spaces))
