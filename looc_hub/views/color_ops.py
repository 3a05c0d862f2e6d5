"""In-place batched colour adjustments, one factor per image, matching torchvision.transforms.v2.functional.

Each ``adjust_*_`` takes float images (N, 3, H, W) in [0, 1] and factors (N,), overwrites the images and returns
them, reproducing the per-image maths of torchvision's ``adjust_brightness`` / ``adjust_contrast`` /
``adjust_saturation`` / ``adjust_hue`` and ``rgb_to_grayscale`` (ITU-R 601-2 luma, blends clamped to [0, 1]) up
to float rounding. In place because the colour augmentation runs them on blocks of its own working copy.
"""

from __future__ import annotations

import torch
from torch import Tensor

# HSV -> RGB as one formula per channel: channel = max - chroma * clamp(2 - d, 0, 1), where d is the circular
# distance (period 6) between the hue in sixths of a turn and the channel's opposite hue: 3 (cyan) for red,
# 5 (magenta) for green, 1 (yellow) for blue. These are the hexcone's piecewise-linear channel profiles.
_OPPOSITE_HUES = torch.tensor([3.0, 5.0, 1.0]).view(1, 3, 1, 1)


def _per_image(factor: Tensor) -> Tensor:
    return factor.view(-1, 1, 1, 1)  # (N,) -> (N, 1, 1, 1)


def rgb_to_grayscale(images: Tensor) -> Tensor:
    """(N, 3, H, W) -> (N, 1, H, W) luma, torchvision's weights and summation order."""
    red, green, blue = images.unbind(1)
    return red.mul(0.2989).add_(green, alpha=0.587).add_(blue, alpha=0.114).unsqueeze(1)


def _blend_(images: Tensor, other: Tensor, ratio: Tensor) -> Tensor:
    """images * ratio + other * (1 - ratio), clamped: torchvision's ``_blend``."""
    ratio = _per_image(ratio)
    return images.mul_(ratio).addcmul_(other, 1.0 - ratio).clamp_(0.0, 1.0)


def adjust_brightness_(images: Tensor, factor: Tensor) -> Tensor:
    return images.mul_(_per_image(factor)).clamp_(0.0, 1.0)


def adjust_contrast_(images: Tensor, factor: Tensor) -> Tensor:
    mean = rgb_to_grayscale(images).mean(dim=(1, 2, 3), keepdim=True)  # (N, 1, 1, 1)
    return _blend_(images, mean, factor)


def adjust_saturation_(images: Tensor, factor: Tensor) -> Tensor:
    return _blend_(images, rgb_to_grayscale(images), factor)


def adjust_hue_(images: Tensor, shift: Tensor) -> Tensor:
    """Rotate hue by ``shift`` turns in HSV, as torchvision's RGB -> HSV -> RGB round trip, without building HSV.

    Value (max) and chroma (max - min) are unchanged by a hue rotation, so only the hue is computed, then each
    output channel follows from the hexcone formula. Grey pixels (chroma 0) keep hue 0, as in torchvision.
    Agrees with torchvision's ``adjust_hue`` within 1e-5 (measured 2e-6): the same maths in another order.
    """
    red, green, blue = images.unbind(1)  # (N, H, W) each
    value = torch.maximum(red, green)
    torch.maximum(value, blue, out=value)
    chroma = torch.minimum(red, green)
    torch.minimum(chroma, blue, out=chroma).neg_().add_(value)  # max - min
    # Hue in sixths of a turn, times chroma: (g - b), 2C + (b - r) or 4C + (r - g) when red, green or blue is
    # the maximum (torchvision's precedence on ties: red, then green). Boolean masks as 0/1 factors measured
    # faster than torch.where on CPU.
    red_max = value == red
    green_max = (value == green).logical_and_(~red_max)
    hue6 = (green - blue).mul_(red_max)
    hue6.addcmul_((blue - red).add_(chroma, alpha=2.0), green_max)
    hue6.addcmul_((red - green).add_(chroma, alpha=4.0), ~red_max.logical_or_(green_max))
    hue6.div_(chroma.clamp(min=1e-12))  # grey: numerator (g - b) is 0
    hue6.add_(shift.view(-1, 1, 1) * 6.0 + 6.0).remainder_(6.0)  # (N, H, W) in [0, 6)
    distance = (hue6.unsqueeze(1) - _OPPOSITE_HUES.to(images.device)).abs_()  # (N, 3, H, W) in [0, 6)
    profile = torch.rsub(distance, 2.0)
    torch.maximum(profile, distance.sub_(4.0), out=profile).clamp_(0.0, 1.0)  # 2 - min(d, 6 - d)
    return torch.addcmul(value.unsqueeze(1), chroma.unsqueeze(1), profile, value=-1.0, out=images)
