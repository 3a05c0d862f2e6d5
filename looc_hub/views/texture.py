"""Random texture: a procedural grating pattern multiplied into the image (a leave-one-out augmentation).

The paper gives no texture recipe; this one is the project's (docs/method.md). It must be fully determined by its
sampled parameters, need no pretrained network or download, and keep the object's shape. Our choice:

- pattern: the mean of K sinusoidal gratings, each with its own frequency (cycles per view side, log-uniform),
  orientation and phase: a plaid of band-limited, zero-mean ripples in [-1, 1];
- blend: ``image * (1 + strength * pattern)``, clamped to [0, 1]. A multiplicative luminance modulation moves no
  pixel (geometry and edges stay where they are), changes every channel by the same factor (hue is kept, so
  texture stays separate from colour), and averages out over a period (low frequencies are kept).

The pattern is defined in view coordinates, after crop, flip and rotation: two views that share texture
parameters carry the same ripples on screen. It is separable, so the whole batch costs one batched matrix
product (N, H, 2K) @ (N, 2K, W) plus one multiply.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import Tensor

from looc_hub._checks import check_int
from looc_hub.views._validate import (
    check_float_batch,
    check_interval,
    check_probability,
    resolve_device,
)
from looc_hub.views.params import TextureParams


def grating_pattern(params: TextureParams, height: int, width: int) -> Tensor:
    """Mean of the K gratings at pixel centres: (N, height, width), values in [-1, 1].

    Coordinates are in units of the shorter side, so a frequency f draws f cycles across a square view.
    Separable form: cos(a x + b y + phase) = cos(a x + phase) cos(b y) - sin(a x + phase) sin(b y).
    """
    device = params.frequency.device
    side = min(height, width)
    xs = (torch.arange(width, device=device, dtype=torch.float32) + 0.5) / side  # (W,)
    ys = (torch.arange(height, device=device, dtype=torch.float32) + 0.5) / side  # (H,)
    angular = 2 * math.pi * params.frequency  # (N, K)
    along_x = angular * params.orientation.cos()  # (N, K)
    along_y = angular * params.orientation.sin()  # (N, K)
    column_angle = along_x[:, None, :] * xs[None, :, None] + params.phase[:, None, :]  # (N, W, K)
    row_angle = along_y[:, None, :] * ys[None, :, None]  # (N, H, K)
    row_basis = torch.cat((row_angle.cos(), -row_angle.sin()), dim=2)  # (N, H, 2K)
    column_basis = torch.cat((column_angle.cos(), column_angle.sin()), dim=2)  # (N, W, 2K)
    return torch.bmm(row_basis, column_basis.transpose(1, 2)).div_(params.frequency.shape[1])  # (N, H, W)


class RandomTexture:
    """Multiply a random grating texture into each image's luminance with probability ``p`` (project choice).

    Args:
        strength: (min, max) modulation depth; the image is scaled by a factor in [1 - s, 1 + s] per pixel.
        frequency: (min, max) grating frequency in cycles per view side, sampled log-uniformly.
        num_gratings: K, gratings summed per texture (more: a busier, more isotropic pattern).
        p: probability of texturing an image.
    """

    def __init__(
        self,
        strength: Sequence[float] = (0.3, 0.6),
        frequency: Sequence[float] = (4.0, 16.0),
        num_gratings: int = 3,
        p: float = 0.8,
    ) -> None:
        self.strength = check_interval("texture strength", strength, 0.0, 1.0)
        self.frequency = check_interval("texture frequency", frequency, 0.0, low_inclusive=False)
        self.num_gratings = check_int("texture num_gratings", num_gratings)
        self.p = check_probability("texture p", p)

    def sample(
        self, batch_size: int, generator: torch.Generator | None = None, device: torch.device | str | None = None
    ) -> TextureParams:
        device = resolve_device(generator, device)
        gratings = (batch_size, self.num_gratings)

        def uniform(shape: tuple[int, ...], low: float, high: float) -> Tensor:
            return torch.empty(shape, device=device).uniform_(low, high, generator=generator)

        return TextureParams(
            textured=torch.rand(batch_size, device=device, generator=generator) < self.p,
            strength=uniform((batch_size,), *self.strength),
            frequency=uniform(gratings, *map(math.log, self.frequency)).exp_(),
            orientation=uniform(gratings, 0.0, math.pi),
            phase=uniform(gratings, 0.0, 2 * math.pi),
        )

    def apply(self, images: Tensor, params: TextureParams) -> Tensor:
        check_float_batch(images, params)
        return self.apply_(images.clone(), params)

    def apply_(self, images: Tensor, params: TextureParams) -> Tensor:
        """In-place ``apply``."""
        check_float_batch(images, params)
        params = params.to(images.device)
        depth = torch.where(params.textured, params.strength, 0.0)  # (N,): 0 leaves an image exactly as it was
        pattern = grating_pattern(params, *images.shape[-2:])  # (N, H, W)
        factor = pattern.mul_(depth[:, None, None]).add_(1.0).unsqueeze(1)  # (N, 1, H, W)
        return images.mul_(factor).clamp_(0.0, 1.0)

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(strength={self.strength}, frequency={self.frequency}, "
            f"num_gratings={self.num_gratings}, p={self.p})"
        )
