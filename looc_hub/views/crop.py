"""Random resized crop (a base augmentation: MoCo v2 scale (0.2, 1.0), torchvision's ratio (3/4, 4/3))."""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import Tensor

from looc_hub._checks import check_int
from looc_hub.views._validate import check_float_batch, check_interval, resolve_device
from looc_hub.views.geometry import resized_crop
from looc_hub.views.params import CropParams

_TRIES = 10  # torchvision's RandomResizedCrop tries 10 boxes before its centre-crop fallback


class RandomResizedCrop:
    """torchvision's ``RandomResizedCrop`` box rule, vectorised over the batch, resampled straight to the output.

    Sampling follows ``torchvision.transforms.v2.RandomResizedCrop.make_params`` for every row at once: 10 tries
    of (area fraction ~ U(scale), log aspect ~ U(log ratio)), the first box that fits wins, else the centre crop
    clamped to ``ratio``. Boxes are integers, as torchvision's. Resampling is bilinear without antialiasing.

    Args:
        output_size: side of the square output.
        scale: range of the crop's area as a fraction of the input area (MoCo v2: (0.2, 1.0)).
        ratio: range of the crop's aspect ratio width / height.

    Raises:
        ValueError: output_size below 1, or a scale / ratio that is not a valid (min, max) range.
    """

    def __init__(
        self,
        output_size: int,
        scale: Sequence[float] = (0.2, 1.0),
        ratio: Sequence[float] = (3.0 / 4.0, 4.0 / 3.0),
    ) -> None:
        self.output_size = check_int("output_size", output_size)
        self.scale = check_interval("crop scale", scale, 0.0, 1.0, low_inclusive=False)
        self.ratio = check_interval("crop ratio", ratio, 0.0, low_inclusive=False)

    def sample(
        self,
        batch_size: int,
        image_size: tuple[int, int],
        generator: torch.Generator | None = None,
        device: torch.device | str | None = None,
    ) -> CropParams:
        """Crop boxes for ``batch_size`` images of size ``image_size`` = (H, W)."""
        height, width = (
            check_int("image height", image_size[0]),
            check_int("image width", image_size[1]),
        )
        device = resolve_device(generator, device)
        shape = (batch_size, _TRIES)
        area = torch.empty(shape, device=device).uniform_(*self.scale, generator=generator) * (height * width)
        log_ratio = torch.empty(shape, device=device).uniform_(*map(math.log, self.ratio), generator=generator)
        aspect = log_ratio.exp_()
        box_w = (area * aspect).sqrt_().round_()  # (N, tries)
        box_h = (area / aspect).sqrt_().round_()  # (N, tries)
        fits = (box_w > 0) & (box_w <= width) & (box_h > 0) & (box_h <= height)
        first = fits.to(torch.uint8).argmax(dim=1, keepdim=True)  # first fitting try, 0 when none fits
        found = fits.any(dim=1)
        fallback_h, fallback_w = self._fallback_size(height, width)
        box_w = torch.where(found, box_w.gather(1, first).squeeze(1), fallback_w).long()
        box_h = torch.where(found, box_h.gather(1, first).squeeze(1), fallback_h).long()
        top = self._offset(height - box_h, generator)
        left = self._offset(width - box_w, generator)
        top = torch.where(found, top, (height - box_h) // 2)
        left = torch.where(found, left, (width - box_w) // 2)
        return CropParams(top=top, left=left, height=box_h, width=box_w)

    def _fallback_size(self, height: int, width: int) -> tuple[float, float]:
        """torchvision's fallback: the whole image, clamped to the ratio range, as (height, width)."""
        if width / height < self.ratio[0]:
            return float(round(width / self.ratio[0])), float(width)
        if width / height > self.ratio[1]:
            return float(height), float(round(height * self.ratio[1]))
        return float(height), float(width)

    @staticmethod
    def _offset(room: Tensor, generator: torch.Generator | None) -> Tensor:
        """Uniform integer in [0, room] per row (torch.randint takes no per-row bound)."""
        uniform = torch.rand(room.shape, device=room.device, generator=generator)
        return (uniform * (room + 1)).floor_().long().clamp_(max=room)

    def apply(self, images: Tensor, params: CropParams) -> Tensor:
        """(N, C, H, W) float -> (N, C, S, S): each image's box resized to the output size."""
        check_float_batch(images, params)
        return resized_crop(images, params.to(images.device), self.output_size)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(output_size={self.output_size}, scale={self.scale}, ratio={self.ratio})"
