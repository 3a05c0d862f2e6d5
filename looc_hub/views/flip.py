"""Random horizontal flip (a base augmentation, MoCo v2: p = 0.5)."""

from __future__ import annotations

import torch
from torch import Tensor

from looc_hub.views._validate import check_float_batch, check_probability, resolve_device
from looc_hub.views.params import FlipParams


class RandomHorizontalFlip:
    """Mirror each image left-right with probability ``p``.

    The view generator does not call ``apply``: it folds the flip into the crop's sampling grid
    (``geometry.resized_crop``), which gives the same pixels. ``apply`` is the stand-alone definition.
    """

    def __init__(self, p: float = 0.5) -> None:
        self.p = check_probability("flip p", p)

    def sample(
        self, batch_size: int, generator: torch.Generator | None = None, device: torch.device | str | None = None
    ) -> FlipParams:
        device = resolve_device(generator, device)
        return FlipParams(flipped=torch.rand(batch_size, device=device, generator=generator) < self.p)

    def apply(self, images: Tensor, params: FlipParams) -> Tensor:
        check_float_batch(images, params)
        flipped = params.flipped.to(images.device)[:, None, None, None]  # (N, 1, 1, 1)
        return torch.where(flipped, images.flip(-1), images)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(p={self.p})"
