"""Random colour: MoCo v2's colour jitter (random order per image) plus random grayscale, as one augmentation.

Grayscale belongs to colour (docs/method.md: ours), so the colour-sensitive space Z_color sees both.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from looc_hub.views import color_ops
from looc_hub.views._validate import check_float_batch, check_probability, check_strength, resolve_device
from looc_hub.views.params import ColorParams

# Index i of ColorParams.order means this adjustment; same numbering as torchvision's ColorJitter.
# Rows whose factor is the identity are skipped, as torchvision skips an adjustment of strength 0.
_ADJUSTMENTS = (
    ("brightness", color_ops.adjust_brightness_, 1.0),
    ("contrast", color_ops.adjust_contrast_, 1.0),
    ("saturation", color_ops.adjust_saturation_, 1.0),
    ("hue", color_ops.adjust_hue_, 0.0),
)
_IDENTITIES = torch.tensor([identity for _, _, identity in _ADJUSTMENTS])
_SKIP = len(_ADJUSTMENTS)  # sort key of rows that take no adjustment in a pass
_ORDER_DIGITS = torch.tensor([64, 16, 4, 1])  # an order (a permutation of 0..3) as a base-4 number
_CHANGE_BITS = torch.tensor([1, 2, 4, 8])  # which adjustments change a row, as a 4-bit number
_MAX_GROUPS = 6  # measured: grouping by whole order wins up to about 6 distinct (order, changes) keys


class RandomColor:
    """``RandomApply([ColorJitter(b, c, s, h)], p=jitter_p)`` then ``RandomGrayscale(grayscale_p)``, batched.

    Like torchvision's ``ColorJitter``, each jittered image applies brightness, contrast, saturation and hue in its
    own random order, with factors ~ U[max(0, 1 - s), 1 + s] (hue: U[-h, h] turns). The order stays batched:
    four passes, where pass t applies to each image the adjustment that is t-th in that image's order.

    Args:
        brightness, contrast, saturation: jitter strengths (MoCo v2: 0.4 each).
        hue: hue jitter strength in turns, at most 0.5 (MoCo v2: 0.1).
        jitter_p: probability of jittering an image (MoCo v2: 0.8).
        grayscale_p: probability of converting an image to grayscale, after the jitter (MoCo v2: 0.2).
    """

    def __init__(
        self,
        brightness: float = 0.4,
        contrast: float = 0.4,
        saturation: float = 0.4,
        hue: float = 0.1,
        jitter_p: float = 0.8,
        grayscale_p: float = 0.2,
    ) -> None:
        self.brightness = check_strength("brightness", brightness)
        self.contrast = check_strength("contrast", contrast)
        self.saturation = check_strength("saturation", saturation)
        self.hue = check_strength("hue", hue, maximum=0.5)
        self.jitter_p = check_probability("color jitter_p", jitter_p)
        self.grayscale_p = check_probability("grayscale_p", grayscale_p)

    def sample(
        self, batch_size: int, generator: torch.Generator | None = None, device: torch.device | str | None = None
    ) -> ColorParams:
        device = resolve_device(generator, device)

        def uniform(low: float, high: float) -> Tensor:
            return torch.empty(batch_size, device=device).uniform_(low, high, generator=generator)

        jittered = torch.rand(batch_size, device=device, generator=generator) < self.jitter_p
        factors = {name: uniform(*bounds) for name, bounds in self.factor_ranges().items()}
        order = torch.rand(batch_size, len(_ADJUSTMENTS), device=device, generator=generator).argsort(dim=1)
        grayscale = torch.rand(batch_size, device=device, generator=generator) < self.grayscale_p
        return ColorParams(jittered=jittered, order=order, grayscale=grayscale, **factors)

    def factor_ranges(self) -> dict[str, tuple[float, float]]:
        """torchvision's ColorJitter convention: strength s gives factors in [max(0, 1 - s), 1 + s]."""
        ranges = {name: (max(0.0, 1.0 - s), 1.0 + s) for name, s in self._strengths().items()}
        return {**ranges, "hue": (-self.hue, self.hue)}  # hue is a shift, not a factor

    def _strengths(self) -> dict[str, float]:
        return {name: getattr(self, name) for name, _, _ in _ADJUSTMENTS}

    def apply(self, images: Tensor, params: ColorParams) -> Tensor:
        check_float_batch(images, params)
        return self.apply_(images.clone(), params)

    def apply_(self, images: Tensor, params: ColorParams) -> Tensor:
        """In-place ``apply``.

        Pass t sorts the rows by the adjustment each takes at step t of its order, then runs every adjustment
        in place on its contiguous block: one gather per pass instead of a gather and a scatter per adjustment.
        """
        check_float_batch(images, params)
        params = params.to(images.device)
        factors = torch.stack([getattr(params, name) for name, _, _ in _ADJUSTMENTS], dim=1)  # (N, 4)
        changes = params.jittered[:, None] & (factors != _IDENTITIES.to(images.device))  # (N, 4): alters the row
        if changes.any():
            self._jitter_(images, params.order, factors, changes)
        rows = params.grayscale.nonzero().squeeze(1)
        if rows.numel():
            gray = color_ops.rgb_to_grayscale(images.index_select(0, rows))  # (R, 1, H, W)
            images.index_copy_(0, rows, gray.expand(-1, 3, -1, -1))
        return images

    @staticmethod
    def _jitter_(images: Tensor, order: Tensor, factors: Tensor, changes: Tensor) -> None:
        """Jitter each row in its own order, with one of two equivalent schedules (same operations per row).

        Rows are keyed by their whole order and which adjustments change them. With few distinct keys (small
        chunks of large images) the rows are sorted once by key and each group runs its four adjustments on
        one block; otherwise four passes, each sorting the rows by the adjustment they take at that step. The
        first needs one gather and 4 x groups adjustment calls, the second five gathers and at most 16 calls.
        """
        code = (order * _ORDER_DIGITS.to(order.device)).sum(1) * 16 + (changes * _CHANGE_BITS.to(order.device)).sum(1)
        rows = code.argsort(stable=True)
        groups, sizes = torch.unique_consecutive(code[rows], return_counts=True)
        if len(groups) <= _MAX_GROUPS:
            RandomColor._jitter_by_order_(images, order, factors, changes, rows, sizes.tolist())
        else:
            RandomColor._jitter_in_passes_(images, order, factors, changes)

    @staticmethod
    def _jitter_by_order_(
        images: Tensor, order: Tensor, factors: Tensor, changes: Tensor, rows: Tensor, sizes: list[int]
    ) -> None:
        working = images.index_select(0, rows)  # rows grouped by (order, changes)
        start = 0
        for size in sizes:
            group = rows[start : start + size]
            first = int(group[0])
            for index in order[first].tolist():
                if changes[first, index]:
                    _ADJUSTMENTS[index][1](working[start : start + size], factors[group, index])
            start += size
        images.index_copy_(0, rows, working)

    @staticmethod
    def _jitter_in_passes_(images: Tensor, order: Tensor, factors: Tensor, changes: Tensor) -> None:
        # keys[n, t]: adjustment that row n takes at step t, or _SKIP; each column sorted gives a pass's blocks.
        keys = torch.where(changes.gather(1, order), order, _SKIP)  # (N, 4)
        passes = keys.argsort(dim=0, stable=True)  # (N, 4): original rows of each pass, grouped by adjustment
        counts = (keys[:, :, None] == torch.arange(_SKIP + 1, device=keys.device)).sum(0)  # (4, 5)
        bounds = F.pad(counts.cumsum(1), (1, 0)).tolist()  # one device sync for all passes
        position = torch.arange(images.shape[0], device=images.device)  # working row -> original row
        working = images
        for step, rows in enumerate(passes.unbind(1)):
            working = working.index_select(0, position.argsort()[rows])  # previous pass's order -> this one
            position = rows
            for index, (_, adjust, _) in enumerate(_ADJUSTMENTS):
                start, stop = bounds[step][index], bounds[step][index + 1]
                if stop > start:
                    adjust(working[start:stop], factors[rows[start:stop], index])
        torch.index_select(working, 0, position.argsort(), out=images)  # back to the original row order

    def __repr__(self) -> str:
        strengths = ", ".join(f"{name}={value}" for name, value in self._strengths().items())
        return f"{type(self).__name__}({strengths}, jitter_p={self.jitter_p}, grayscale_p={self.grayscale_p})"
