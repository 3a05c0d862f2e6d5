"""Sampled augmentation parameters: one small frozen record of tensors per augmentation, one row per image.

Every augmentation of the view engine is split into ``sample`` (draws one of these records) and ``apply``
(renders images from it), so that a key view can reuse the query's parameters of one augmentation: LooC's
leave-one-out keys (docs/method.md, "Views") are a row copy, ``AugmentationParams.cat([q, q, ...])``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TypeVar

import torch
from torch import Tensor

P = TypeVar("P", bound="AugmentationParams")


@dataclass(frozen=True, eq=False)
class AugmentationParams:
    """Base record: every field is a tensor whose first dimension indexes images (rows).

    Rows can be indexed, split, concatenated and moved between devices; these are the only operations the view
    generator needs to build "key i copies the query's parameters of augmentation i".
    """

    def __post_init__(self) -> None:
        sizes = {name: value.shape[0] if value.ndim else None for name, value in self._items()}
        if None in sizes.values() or len(set(sizes.values())) != 1:
            raise ValueError(f"{type(self).__name__} fields must share one leading (row) dimension, got {sizes}")

    def _items(self) -> list[tuple[str, Tensor]]:
        items = [(field.name, getattr(self, field.name)) for field in dataclasses.fields(self)]
        for name, value in items:
            if not isinstance(value, Tensor):
                raise TypeError(f"{type(self).__name__}.{name} must be a torch.Tensor, got {type(value).__name__}")
        return items

    @property
    def batch_size(self) -> int:
        """Number of rows (images) these parameters describe."""
        return getattr(self, dataclasses.fields(self)[0].name).shape[0]

    def __len__(self) -> int:
        return self.batch_size

    def __getitem__(self: P, index: slice | Tensor) -> P:
        """Rows selected by a slice, a 1-D index tensor or a boolean mask (integers would drop the row axis)."""
        if not isinstance(index, slice | Tensor):
            raise TypeError(f"index rows with a slice or a tensor, got {type(index).__name__}")
        return type(self)(**{name: value[index] for name, value in self._items()})

    def split(self: P, rows: int) -> list[P]:
        """Consecutive blocks of ``rows`` rows, e.g. one block per view when rows = batch size."""
        return [self[start : start + rows] for start in range(0, self.batch_size, rows)]

    @classmethod
    def cat(cls: type[P], blocks: Sequence[P]) -> P:
        """Concatenate records of this type along the row axis."""
        if not blocks or any(type(block) is not cls for block in blocks):
            raise TypeError(f"cat needs a non-empty sequence of {cls.__name__}")
        names = [field.name for field in dataclasses.fields(cls)]
        return cls(**{name: torch.cat([getattr(block, name) for block in blocks]) for name in names})

    def to(self: P, device: torch.device | str) -> P:
        """Rows on ``device``; ``self`` when they are already there (``apply`` calls this per chunk)."""
        items = self._items()
        if all(value.device == torch.device(device) for _, value in items):
            return self
        return type(self)(**{name: value.to(device) for name, value in items})

    def same_effect(self: P, other: P) -> Tensor:
        """(N,) bool: rows of ``self`` and ``other`` that render an image identically.

        Here, rows whose every field is equal; records with fields that go unused in some rows (a colour jitter
        that is not applied) override this, so that "identical" means identical pixels.
        """
        if type(other) is not type(self) or other.batch_size != self.batch_size:
            raise TypeError(f"same_effect compares two {type(self).__name__} of {self.batch_size} rows")
        equal = [(value == getattr(other, name)).reshape(self.batch_size, -1).all(1) for name, value in self._items()]
        return torch.stack(equal).all(0)

    def equals(self, other: AugmentationParams) -> bool:
        """Same type and exactly equal tensors (dataclass ``==`` is disabled: tensors have no truth value)."""
        return type(other) is type(self) and all(
            torch.equal(value, getattr(other, name)) for name, value in self._items()
        )


@dataclass(frozen=True, eq=False)
class CropParams(AugmentationParams):
    """Integer crop boxes in input pixels, as torchvision's ``RandomResizedCrop.make_params`` returns them."""

    top: Tensor  # (N,) int64
    left: Tensor  # (N,) int64
    height: Tensor  # (N,) int64
    width: Tensor  # (N,) int64


@dataclass(frozen=True, eq=False)
class FlipParams(AugmentationParams):
    flipped: Tensor  # (N,) bool: mirror left-right


@dataclass(frozen=True, eq=False)
class RotationParams(AugmentationParams):
    quarter_turns: Tensor  # (N,) int64 in {0, 1, 2, 3}: counter-clockwise, as torch.rot90 on (H, W)


@dataclass(frozen=True, eq=False)
class BlurParams(AugmentationParams):
    blurred: Tensor  # (N,) bool
    sigma: Tensor  # (N,) float32, in output pixels

    def same_effect(self, other: BlurParams) -> Tensor:
        """Rows unblurred in both (whatever their unused sigma), or blurred with the very same sigma."""
        return (~self.blurred & ~other.blurred) | super().same_effect(other)


@dataclass(frozen=True, eq=False)
class ColorParams(AugmentationParams):
    """Colour jitter (applied when ``jittered``, in ``order``) then grayscale, like MoCo v2's pipeline."""

    jittered: Tensor  # (N,) bool
    brightness: Tensor  # (N,) float32 factor, 1 = identity
    contrast: Tensor  # (N,) float32 factor, 1 = identity
    saturation: Tensor  # (N,) float32 factor, 1 = identity
    hue: Tensor  # (N,) float32 shift in turns, 0 = identity
    order: Tensor  # (N, 4) int64: a permutation of (0 brightness, 1 contrast, 2 saturation, 3 hue)
    grayscale: Tensor  # (N,) bool

    def same_effect(self, other: ColorParams) -> Tensor:
        """Rows with the same grayscale flag and either no jitter in both or the very same jitter."""
        neither_jittered = ~self.jittered & ~other.jittered
        return (neither_jittered | super().same_effect(other)) & (self.grayscale == other.grayscale)


@dataclass(frozen=True, eq=False)
class TextureParams(AugmentationParams):
    """A sum of sinusoidal gratings, in cycles per view side, multiplied into the image's luminance."""

    textured: Tensor  # (N,) bool
    strength: Tensor  # (N,) float32 modulation depth in [0, 1]
    frequency: Tensor  # (N, K) float32 cycles per view side
    orientation: Tensor  # (N, K) float32 radians in [0, pi)
    phase: Tensor  # (N, K) float32 radians in [0, 2 pi)

    def same_effect(self, other: TextureParams) -> Tensor:
        """Rows untextured in both, or textured with the very same gratings."""
        return (~self.textured & ~other.textured) | super().same_effect(other)
