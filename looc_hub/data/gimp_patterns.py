"""GIMP's texture patterns (Debian `gimp-data`, `gimp-data-extras`): patches labelled by pattern.

`looc-hub/gimp-textures`: every `.pat` pattern under `/usr/share/gimp/2.0/patterns` at least `MIN_SIDE` px on its
shorter side (about 160 colour and grey textures: stone, wood, fabric, water, abstract tilings), one class per
pattern named by its path (`Stone/brick`), cut into patches of half the pattern's shorter side, resized to
`image_size`: 24 train and 8 test patches per pattern, the test patches from its rightmost half or quarter
(`texture_patches.py`). Ours: the texture experiment's data (many textures, colour), read from a Debian package
like Fashion-MNIST, so it is no test dependency; the pip-only set is `looc-hub/textures`.

A `.pat` file (GIMP's format): a big-endian header of u32 header size, version, width, height, bytes per pixel
(1 grey, 2 grey + alpha, 3 RGB, 4 RGBA) and the magic `GPAT`, the pattern's name, then the raw pixels row by row.
Alpha is dropped.
"""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np
from datasets import DatasetDict

from .texture_patches import PatchPlan, cut_patches

DEFAULT_IMAGE_SIZE = 32
DEBIAN_DIR = Path("/usr/share/gimp/2.0/patterns")
MIN_SIDE = 40  # smaller tiles (stripes, 16-px bars) give patches of a few pixels
TRAIN_PER_CLASS, TEST_PER_CLASS = 24, 8
_HEADER = struct.Struct(">5I4s")
_RECIPE_VERSION = 1  # bump when the patches or the split change, so cached copies are rebuilt


def cache_key(image_size: int) -> str:
    return f"gimp-textures-r{_RECIPE_VERSION}-{image_size}px"


def read_pattern(path: Path) -> np.ndarray:
    """A GIMP `.pat` pattern as an (H, W) grey or (H, W, 3) RGB uint8 array."""
    raw = path.read_bytes()
    if len(raw) < _HEADER.size:
        raise ValueError(f"{path} is not a GIMP pattern: {len(raw)} bytes, shorter than its header")
    header_size, _, width, height, depth, magic = _HEADER.unpack_from(raw)
    if magic != b"GPAT" or depth not in (1, 2, 3, 4):
        raise ValueError(f"{path} is not a GIMP pattern (magic {magic!r}, {depth} bytes per pixel)")
    size = width * height * depth
    if len(raw) < header_size + size:
        raise ValueError(f"{path}: {width}x{height}x{depth} pixels need {size} bytes after the header, file is short")
    pixels = np.frombuffer(raw, np.uint8, size, header_size).reshape(height, width, depth)
    return pixels[:, :, 0] if depth <= 2 else np.ascontiguousarray(pixels[:, :, :3])


def build_gimp_textures(image_size: int = DEFAULT_IMAGE_SIZE, source: Path = DEBIAN_DIR) -> DatasetDict:
    """Splits `train` / `test`, columns `image` (RGB) and `label` (one class per pattern, by path)."""
    paths = sorted(source.rglob("*.pat")) if source.is_dir() else []
    if not paths:
        raise FileNotFoundError(
            f"no GIMP patterns under {source}: looc-hub/gimp-textures is read from the Debian packages gimp-data and "
            "gimp-data-extras (as root: apt-get update && apt-get install gimp-data gimp-data-extras)"
        )
    patterns = {path.relative_to(source).with_suffix("").as_posix(): read_pattern(path) for path in paths}
    kept = {name: pixels for name, pixels in patterns.items() if min(pixels.shape[:2]) >= MIN_SIDE}
    plan = PatchPlan(image_size, TRAIN_PER_CLASS, TEST_PER_CLASS, patch_fraction=0.5, test_fraction=0.25)
    return cut_patches(kept, plan)
