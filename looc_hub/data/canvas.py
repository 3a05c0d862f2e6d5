"""Dataset rows -> the view engine's input: a uint8 canvas batch (B, 3, C, C).

The split of work (the project's, not the paper's): DataLoader workers only decode, resize the shorter side to C
(bilinear, antialiased) and centre-crop C x C, all deterministic; every random augmentation happens later, batched,
in `looc_hub.views`. Pixels stay uint8 all the way, so workers move a quarter of the bytes float32 would.

Evaluation passes a `PixelTransform` instead (`looc_hub.preprocessing.eval_pixel_transform`: timm's evaluation
transform of the model's `pretrained_cfg`, stopped before the float conversion), so the features every protocol
measures are exactly those of the model card's usage snippet, still decoded in batches of uint8.
"""

from __future__ import annotations

import io
import os
from collections.abc import Callable

import numpy as np
import torch
from datasets import Image as ImageFeature
from PIL import Image, ImageOps

from .._checks import check_int
from .columns import IMAGE_COLUMN, LABEL_COLUMN

WHITE = (255, 255, 255)

PixelTransform = Callable[[Image.Image], torch.Tensor]
"""An RGB PIL image -> a uint8 tensor (3, C, C), e.g. timm's eval transform with `use_prefetcher=True`."""


def open_image(value: Image.Image | dict, canvas_size: int | None) -> Image.Image:
    """A PIL image from a row's `image` value: already decoded, or datasets' undecoded {"bytes", "path"}.

    Decoding ourselves lets JPEGs decode at the largest 1/2^k reduction that still covers the canvas
    (`Image.draft`), several times faster for large photos and small canvases. `canvas_size=None` decodes at full
    resolution, as `datasets` and PIL do for a user (evaluation: the pixels of the card's own snippet).
    """
    if isinstance(value, Image.Image):
        return value
    if value["bytes"] is None and not os.path.isfile(value["path"]):
        return ImageFeature().decode_example(value)  # a remote file: datasets knows how to fetch it
    image = Image.open(io.BytesIO(value["bytes"]) if value["bytes"] is not None else value["path"])
    if canvas_size is not None:
        image.draft("RGB", (canvas_size, canvas_size))
    ImageOps.exif_transpose(image, in_place=True)  # as datasets' own decoding does
    return image


class UnreadableImageError(ValueError):
    """An image that cannot be decoded (truncated, not an image, too large) or has no 8-bit meaning."""


# Pillow's high-bit-depth single-channel modes; `convert("RGB")` clips them to 255 (or 0) instead of scaling.
_WIDE_MODES = ("I;16", "I;16L", "I;16B", "I;16N", "I", "F")


def to_8bit(image: Image.Image) -> Image.Image:
    """16-bit, 32-bit integer and float greyscale images scaled to 8-bit "L"; other modes unchanged.

    Integer images are scaled from 0..65535 (16-bit data; "I" images beyond that range are refused). Float
    images are read as 0..1 when they lie within it, else as 0..255; other ranges or NaN / inf are refused.
    """
    if image.mode not in _WIDE_MODES:
        return image
    values = np.asarray(image, dtype=np.float64)
    low, high = (float(values.min()), float(values.max())) if values.size else (0.0, 0.0)
    if not (np.isfinite(low) and np.isfinite(high)) or low < 0:
        scale = None
    elif image.mode == "F":
        scale = 255.0 if high <= 1.0 else 1.0 if high <= 255.0 else None
    else:
        scale = 255.0 / 65535.0 if high <= 65535 else None
    if scale is None:
        valid = "0..1 or 0..255" if image.mode == "F" else "0..65535"
        raise UnreadableImageError(
            f"a mode {image.mode} image with values in [{low}, {high}] has no 8-bit meaning (valid: {valid})"
        )
    return Image.fromarray(np.clip(np.rint(values * scale), 0, 255).astype(np.uint8), mode="L")


def describe_image(value: Image.Image | dict) -> str:
    """Which image a row holds, for error messages: its file, else its size in bytes."""
    if isinstance(value, Image.Image):
        return getattr(value, "filename", "") or f"(a decoded {value.mode} image, {value.size[0]}x{value.size[1]})"
    if value.get("path"):
        return str(value["path"])
    return f"(embedded bytes, {len(value.get('bytes') or b'')} bytes, no file name)"


def to_rgb(image: Image.Image, background: tuple[int, int, int] = WHITE) -> Image.Image:
    """RGB, with any transparency (RGBA, LA, P with a transparent colour) composited onto `background`.

    High-bit-depth greyscale (16-bit PNG, float TIFF) is scaled to 8 bits first (`to_8bit`). An image without
    pixels (0 x N) is an `UnreadableImageError`: resizing it would give a blank canvas, silently.
    """
    if min(image.size) == 0:
        raise UnreadableImageError(f"the image is {image.size[0]}x{image.size[1]} pixels: it has no pixels to show")
    image = to_8bit(image)
    if image.has_transparency_data:
        rgba = image.convert("RGBA")
        flat = Image.new("RGBA", rgba.size, (*background, 255))
        flat.alpha_composite(rgba)
        return flat.convert("RGB")
    return image if image.mode == "RGB" else image.convert("RGB")


def to_canvas(image: Image.Image, canvas_size: int, background: tuple[int, int, int] = WHITE) -> np.ndarray:
    """Shorter side resized to `canvas_size` (bilinear, antialiased), centre crop: read-only uint8 (C, C, 3)."""
    image = to_rgb(image, background)
    width, height = image.size
    side = min(width, height)
    left, top = (width - side) / 2, (height - side) / 2
    # Resizing only the central square (a sub-pixel box) equals resize-then-crop and skips the cropped pixels.
    square = image.resize(
        (canvas_size, canvas_size), Image.Resampling.BILINEAR, box=(left, top, left + side, top + side)
    )
    return np.asarray(square)


class CanvasCollate:
    """DataLoader `collate_fn`: rows -> {"images": uint8 (B, 3, C, C), "labels": int64 (B,) when labelled}.

    Runs in the DataLoader workers. Rows are those of `load_image_dataset` (columns `image` and maybe `label`).
    With `transform` (a `PixelTransform` whose output is C x C), each image is decoded at full resolution, made
    RGB on `background` and passed through it instead of `to_canvas`.

    Example:
        >>> collate = CanvasCollate(canvas_size=64)
        >>> batch = collate([{"image": Image.new("RGB", (80, 60)), "label": 3}])
        >>> batch["images"].shape, batch["images"].dtype, batch["labels"].tolist()
        (torch.Size([1, 3, 64, 64]), torch.uint8, [3])
    """

    def __init__(
        self, canvas_size: int, background: tuple[int, int, int] = WHITE, transform: PixelTransform | None = None
    ) -> None:
        check_int("canvas_size", canvas_size)
        if len(background) != 3 or not all(isinstance(c, int) and 0 <= c <= 255 for c in background):
            raise ValueError(f"background must be an (R, G, B) triple of ints in 0..255, got {background!r}")
        self.canvas_size = canvas_size
        self.background = tuple(background)
        self.transform = transform

    def __call__(self, rows: list[dict]) -> dict[str, torch.Tensor]:
        batch = {"images": torch.stack([self.canvas(row[IMAGE_COLUMN]) for row in rows])}  # (B, 3, C, C)
        if LABEL_COLUMN in rows[0]:
            batch["labels"] = torch.tensor([row[LABEL_COLUMN] for row in rows], dtype=torch.int64)
        return batch

    def canvas(self, value: Image.Image | dict) -> torch.Tensor:
        """One row's uint8 canvas (3, C, C); an undecodable image is an `UnreadableImageError` naming its file."""
        try:
            if self.transform is None:
                canvas = to_canvas(open_image(value, self.canvas_size), self.canvas_size, self.background)
                return torch.tensor(canvas).permute(2, 0, 1)  # a copy: the canvas array is read-only
            image = self.transform(to_rgb(open_image(value, None), self.background))
        except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as error:
            raise UnreadableImageError(
                f"Cannot read image {describe_image(value)}: {type(error).__name__}: {error}"
            ) from None
        expected = (3, self.canvas_size, self.canvas_size)
        if not isinstance(image, torch.Tensor) or image.dtype != torch.uint8 or tuple(image.shape) != expected:
            described = f"{image.dtype} {tuple(image.shape)}" if isinstance(image, torch.Tensor) else type(image)
            raise ValueError(f"the canvas transform must return a uint8 tensor {expected}, got {described}")
        return image
