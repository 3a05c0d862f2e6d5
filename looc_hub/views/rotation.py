"""Random rotation by a multiple of 90 degrees (a leave-one-out augmentation; 4-way uniform is our choice)."""

from __future__ import annotations

import torch
from torch import Tensor

from looc_hub.views._validate import check_float_batch, resolve_device
from looc_hub.views.params import RotationParams


class RandomRotation90:
    """Rotate each image by 0, 90, 180 or 270 degrees counter-clockwise, uniformly (docs/method.md: ours,
    matching the paper's 4-way rotation task). Quarter turns are exact pixel permutations: no interpolation.

    The view generator folds the rotation into the crop's sampling grid (``geometry.resized_crop``), which gives
    the same pixels as ``apply`` after the crop and flip. ``apply`` needs square images.
    """

    def sample(
        self, batch_size: int, generator: torch.Generator | None = None, device: torch.device | str | None = None
    ) -> RotationParams:
        device = resolve_device(generator, device)
        return RotationParams(quarter_turns=torch.randint(0, 4, (batch_size,), device=device, generator=generator))

    def apply(self, images: Tensor, params: RotationParams) -> Tensor:
        check_float_batch(images, params)
        if images.shape[-1] != images.shape[-2]:
            raise ValueError(f"rotation by quarter turns needs square images, got {tuple(images.shape[-2:])}")
        turns = params.quarter_turns.to(images.device)
        rotated = images.clone()
        for k in (1, 2, 3):
            rows = (turns == k).nonzero().squeeze(1)
            rotated.index_copy_(0, rows, torch.rot90(images.index_select(0, rows), k, dims=(-2, -1)))
        return rotated

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"
