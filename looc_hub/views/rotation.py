"""Random rotation by a multiple of 90 degrees (a leave-one-out augmentation; 4-way uniform is our choice)."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor

from looc_hub.views._validate import check_float_batch, resolve_device
from looc_hub.views.params import RotationParams


class RandomRotation90:
    """Rotate each image by a uniformly drawn number of quarter turns counter-clockwise (docs/method.md: ours,
    matching the paper's 4-way rotation task). Quarter turns are exact pixel permutations: no interpolation.

    The view generator folds the rotation into the crop's sampling grid (``geometry.resized_crop``), which gives
    the same pixels as ``apply`` after the crop and flip. ``apply`` needs square images.

    Args:
        turns: the quarter turns drawn from (default all four; the sensitivity matrix leaves out 0, the identity).
    """

    def __init__(self, turns: Sequence[int] = (0, 1, 2, 3)) -> None:
        if (
            not isinstance(turns, Sequence)
            or not turns
            or not all(type(turn) is int and 0 <= turn <= 3 for turn in turns)
            or len(set(turns)) != len(turns)
        ):
            raise ValueError(f"rotation turns must be distinct quarter turns among (0, 1, 2, 3), got {turns!r}")
        self.turns = tuple(turns)

    def sample(
        self, batch_size: int, generator: torch.Generator | None = None, device: torch.device | str | None = None
    ) -> RotationParams:
        device = resolve_device(generator, device)
        index = torch.randint(0, len(self.turns), (batch_size,), device=device, generator=generator)
        return RotationParams(quarter_turns=torch.tensor(self.turns, device=device)[index])

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
        return f"{type(self).__name__}(turns={self.turns})"
