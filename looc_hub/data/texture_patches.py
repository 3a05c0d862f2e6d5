"""Texture patches: square crops of texture images, labelled by the image they were cut from.

The texture carries the label: every patch of a class comes from one texture image, so naming the class is naming
the texture. The split is by region (ours): each image's rightmost columns (at least one patch wide, at least
`test_fraction` of the width) give the `test` patches and the rest the `train` patches, so no test patch shares a
pixel with a train patch. Patch side is `patch_fraction` of the image's shorter side; every patch is resized to
`image_size` px. Positions are drawn by a seeded generator, so a build is the same on every machine.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
from datasets import ClassLabel, Dataset, DatasetDict, Features, Image
from PIL import Image as PILImage

__all__ = ["PatchPlan", "cut_patches"]


@dataclass(frozen=True)
class PatchPlan:
    """How many patches to cut per class and split, how large, and where the test region starts."""

    image_size: int
    train_per_class: int
    test_per_class: int
    patch_fraction: float = 0.25
    test_fraction: float = 0.25
    seed: int = 0


def cut_patches(textures: Mapping[str, np.ndarray], plan: PatchPlan) -> DatasetDict:
    """Splits `train` / `test`, columns `image` (RGB, `plan.image_size` px) and `label` (one class per texture,
    in the order of `textures`). Each texture is an (H, W) or (H, W, 3) uint8 array."""
    if not textures:
        raise ValueError("cut_patches needs at least one texture image")
    features = Features({"image": Image(), "label": ClassLabel(names=list(textures))})
    generator = np.random.default_rng(plan.seed)
    columns = {split: {"image": [], "label": []} for split in ("train", "test")}
    for label, (name, pixels) in enumerate(textures.items()):
        rgb = _as_rgb(name, pixels)
        height, width = rgb.shape[:2]
        side = max(1, int(min(height, width) * plan.patch_fraction))
        test_start = width - max(side, round(width * plan.test_fraction))
        if test_start < side:
            raise ValueError(
                f"texture {name!r} ({width}x{height} px) is too narrow for a train and a test region of "
                f"{side}-px patches: lower patch_fraction ({plan.patch_fraction}) or test_fraction "
                f"({plan.test_fraction})"
            )
        regions = {"train": (0, test_start), "test": (test_start, width)}
        counts = {"train": plan.train_per_class, "test": plan.test_per_class}
        for split, (left, right) in regions.items():
            xs = generator.integers(left, right - side + 1, counts[split])
            ys = generator.integers(0, height - side + 1, counts[split])
            for x, y in zip(xs.tolist(), ys.tolist(), strict=True):
                patch = PILImage.fromarray(rgb[y : y + side, x : x + side])
                columns[split]["image"].append(patch.resize((plan.image_size,) * 2, PILImage.Resampling.LANCZOS))
                columns[split]["label"].append(label)
    return DatasetDict({split: Dataset.from_dict(values, features=features) for split, values in columns.items()})


def _as_rgb(name: str, pixels: np.ndarray) -> np.ndarray:
    if pixels.dtype != np.uint8 or pixels.ndim not in (2, 3) or (pixels.ndim == 3 and pixels.shape[2] != 3):
        raise ValueError(
            f"texture {name!r} must be an (H, W) or (H, W, 3) uint8 array, got {pixels.dtype} {pixels.shape}"
        )
    return np.stack([pixels] * 3, axis=2) if pixels.ndim == 2 else pixels
