"""Random resized crop, horizontal flip and quarter-turn rotation fused into ONE bilinear ``grid_sample``.

A crop box is axis-aligned, so its sampling grid is separable: one source x per output column and one source y
per output row. A flip reverses the x vector; a quarter turn transposes and reverses the vectors (rot90 is a
permutation of output pixels). Permuting the sampling coordinates of each output pixel therefore gives exactly
``rot90(flip(resized_crop(image)))`` (bit-identical: every output pixel is interpolated from the same source
coordinate), for the cost of one resampling of the canvas straight to the output size.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from looc_hub.views.params import CropParams, FlipParams, RotationParams


def source_coordinates(boxes: Tensor, input_size: int, output_size: int) -> Tensor:
    """grid_sample coordinates (align_corners=False) of the output pixels along one axis: (N, output_size).

    ``boxes`` is (N, 2): start and length of each crop along this axis, in input pixels. The mapping is
    torch.nn.functional.interpolate's bilinear rule (align_corners=False) inside the box: source = (dst + 0.5) *
    length / output_size - 0.5, clamped to the box, so the result matches torchvision's
    ``resized_crop(..., antialias=False)`` and never reads pixels outside the crop box.
    """
    start, length = boxes.to(torch.float32).unbind(1)  # (N,), (N,)
    steps = torch.arange(output_size, device=boxes.device, dtype=torch.float32).add_(0.5)  # (S,)
    relative = (steps * (length / output_size)[:, None]).sub_(0.5)  # (N, S)
    absolute = torch.minimum(relative.clamp_(min=0.0), (length - 1)[:, None]).add_(start[:, None])
    return absolute.mul_(2.0 / input_size).add_(1.0 / input_size - 1.0)  # pixels -> [-1, 1]


def resized_crop(
    images: Tensor,
    crop: CropParams,
    output_size: int,
    flip: FlipParams | None = None,
    rotation: RotationParams | None = None,
) -> Tensor:
    """rot90(flip(resized_crop(images))) per image with one grid_sample: (N, C, H, W) -> (N, C, S, S).

    Bilinear without antialiasing (ours, for speed: the canvas is at most a few times the output size); matches
    torchvision.transforms.v2.functional.resized_crop(antialias=False) with the same box within 1e-5 on [0, 1]
    images (measured 4e-6: coordinates round-trip through grid_sample's [-1, 1] range).
    """
    height, width = images.shape[-2:]
    xs = source_coordinates(torch.stack((crop.left, crop.width), 1), width, output_size)  # (N, S)
    ys = source_coordinates(torch.stack((crop.top, crop.height), 1), height, output_size)  # (N, S)
    flipped = torch.zeros_like(crop.top, dtype=torch.bool) if flip is None else flip.flipped
    turns = torch.zeros_like(crop.top) if rotation is None else rotation.quarter_turns
    # rot90 by k counter-clockwise: output (i, j) reads the flipped crop at (row, col) =
    # k=0: (i, j); k=1: (j, S-1-i); k=2: (S-1-i, S-1-j); k=3: (S-1-j, i).
    x_reversed = flipped ^ ((turns == 1) | (turns == 2))
    xs = torch.where(x_reversed[:, None], xs.flip(-1), xs)
    ys = torch.where((turns >= 2)[:, None], ys.flip(-1), ys)
    # Odd turns transpose: x follows the output row and y the column. With exact 0/1 weights the grid is one
    # broadcast sum of a per-column and a per-row term, one of them zero per channel: v * 1 + w * 0 == v exactly.
    transposed = (turns % 2).to(torch.float32)[:, None]  # (N, 1)
    kept = 1.0 - transposed
    column_term = torch.stack((xs * kept, ys * transposed), dim=-1)  # (N, S, 2): used when x follows columns
    row_term = torch.stack((xs * transposed, ys * kept), dim=-1)  # (N, S, 2)
    grid = column_term[:, None, :, :] + row_term[:, :, None, :]  # (N, S, S, 2) as (x, y)
    return F.grid_sample(images, grid, mode="bilinear", padding_mode="border", align_corners=False)
