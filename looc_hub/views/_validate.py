"""Argument checks shared by the augmentations: fail at construction or at the call, with the valid choices."""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import Tensor

from looc_hub._checks import is_number
from looc_hub.views.params import AugmentationParams


def check_probability(name: str, value: float) -> float:
    if not is_number(value) or not 0.0 <= value <= 1.0:
        raise ValueError(f"{name} must be a probability in [0, 1], got {value!r}")
    return float(value)


def check_interval(
    name: str, value: Sequence[float], low: float, high: float = math.inf, low_inclusive: bool = True
) -> tuple[float, float]:
    """A (min, max) pair with low <= min <= max <= high (or low < min when not low_inclusive)."""
    if not isinstance(value, Sequence) or len(value) != 2 or not all(is_number(v) for v in value):
        raise ValueError(f"{name} must be a (min, max) pair of numbers, got {value!r}")
    lo, hi = float(value[0]), float(value[1])
    low_ok = lo >= low if low_inclusive else lo > low
    if not (low_ok and lo <= hi <= high):
        bracket = "[" if low_inclusive else "("
        raise ValueError(f"{name} must satisfy min <= max within {bracket}{low}, {high}], got {value!r}")
    return lo, hi


def check_strength(name: str, value: float, maximum: float = math.inf) -> float:
    if not is_number(value) or not 0.0 <= value <= maximum:
        raise ValueError(f"{name} must be a number in [0, {maximum}], got {value!r}")
    return float(value)


def resolve_device(generator: torch.Generator | None, device: torch.device | str | None) -> torch.device:
    """Parameters are drawn on the generator's device, with that generator only (reproducibility)."""
    if generator is not None and not isinstance(generator, torch.Generator):
        raise TypeError(f"generator must be a torch.Generator or None, got {type(generator).__name__}")
    if generator is None:
        return torch.device("cpu" if device is None else device)
    requested = None if device is None else torch.device(device)
    if requested is not None and (
        requested.type != generator.device.type or requested.index not in (None, generator.device.index)
    ):
        raise ValueError(f"device {device} differs from the generator's device {generator.device}")
    return generator.device


def check_float_batch(images: Tensor, params: AugmentationParams | None = None) -> None:
    """Cheap shape checks for ``apply`` (no pass over the pixels: apply sits in the hot path)."""
    if not isinstance(images, Tensor):
        raise TypeError(f"images must be a torch.Tensor, got {type(images).__name__}")
    if images.ndim != 4 or images.shape[1] != 3:
        raise ValueError(f"images must have shape (B, 3, H, W), got {tuple(images.shape)}")
    if not images.is_floating_point():
        raise TypeError(f"apply takes float images in [0, 1], got dtype {images.dtype}")
    if params is not None and params.batch_size != images.shape[0]:
        raise ValueError(f"got {params.batch_size} parameter rows for {images.shape[0]} images")


def to_unit_float(images: Tensor) -> Tensor:
    """Validate a view-engine input (uint8, or float in [0, 1]; shape (B, 3, H, W)) and return float32."""
    if not isinstance(images, Tensor):
        raise TypeError(f"images must be a torch.Tensor, got {type(images).__name__}")
    if images.ndim != 4 or images.shape[1] != 3 or images.shape[0] == 0 or images.shape[2:].numel() == 0:
        raise ValueError(f"images must have shape (B, 3, H, W) with B, H, W >= 1, got {tuple(images.shape)}")
    if images.dtype == torch.uint8:
        return images.to(torch.float32).mul_(1.0 / 255.0)  # as torchvision's to_dtype(scale=True)
    if not images.is_floating_point():
        raise TypeError(f"images must be uint8 or floating point, got {images.dtype}")
    low, high = torch.aminmax(images)
    if not (low >= 0 and high <= 1):  # also rejects NaN
        raise ValueError(
            f"float images must lie in [0, 1], got values in [{low.item()}, {high.item()}]; "
            "pass uint8 images or divide by 255"
        )
    return images.to(torch.float32)
