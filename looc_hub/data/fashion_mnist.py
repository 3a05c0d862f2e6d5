"""Fashion-MNIST from the Debian package `dataset-fashion-mnist`, as an HF image dataset.

Zalando's Fashion-MNIST (MIT): 60,000 training and 10,000 test greyscale 28x28 images of clothing in 10 classes.
Ours: it is the reproduction's upright dataset. Every garment is photographed the same way up, so a feature that
keeps orientation can tell a quarter turn (a logistic probe on raw pixels does), and one trained to ignore
rotation cannot. The images are upsampled bilinearly to `image_size` and stored greyscale; the official
train / test split is kept.
"""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
from datasets import ClassLabel, Dataset, DatasetDict, Features, Image
from PIL import Image as PILImage

DEFAULT_IMAGE_SIZE = 32
DEBIAN_DIR = Path("/usr/share/datasets/fashion-mnist")
CLASS_NAMES = (
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
)
_FILES = {"train": "train", "test": "t10k"}
_RECIPE_VERSION = 1  # bump when the conversion changes, so cached copies are rebuilt


def cache_key(image_size: int) -> str:
    return f"fashion-mnist-r{_RECIPE_VERSION}-{image_size}px"


def build_fashion_mnist(image_size: int = DEFAULT_IMAGE_SIZE, source: Path = DEBIAN_DIR) -> DatasetDict:
    """Splits `train` (60,000) / `test` (10,000), columns `image` (greyscale, `image_size` px) and `label`."""
    features = Features({"image": Image(), "label": ClassLabel(names=list(CLASS_NAMES))})
    splits = {}
    for split, stem in _FILES.items():
        images = _read_idx(source / f"{stem}-images-idx3-ubyte.gz", dims=3)
        labels = _read_idx(source / f"{stem}-labels-idx1-ubyte.gz", dims=1)
        if len(images) != len(labels):
            raise ValueError(f"{source}: {len(images)} {split} images but {len(labels)} labels")
        pictures = [_resize(pixels, image_size) for pixels in images]
        splits[split] = Dataset.from_dict({"image": pictures, "label": labels.tolist()}, features=features)
    return DatasetDict(splits)


def _read_idx(path: Path, dims: int) -> np.ndarray:
    """An idx file (LeCun's MNIST format: magic 0x0000080D, D big-endian sizes, uint8 data) as an array."""
    if not path.is_file():
        raise FileNotFoundError(
            f"{path} is missing: looc-hub/fashion-mnist is read from the Debian package dataset-fashion-mnist "
            "(as root: apt-get update && apt-get install dataset-fashion-mnist)"
        )
    raw = gzip.decompress(path.read_bytes())
    magic = int.from_bytes(raw[:4], "big")
    if magic != 0x0800 + dims:
        raise ValueError(f"{path} is not a {dims}-d uint8 idx file (magic {magic:#010x})")
    shape = [int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(dims)]
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * dims).reshape(shape)


def _resize(pixels: np.ndarray, image_size: int) -> PILImage.Image:
    grey = PILImage.fromarray(pixels)
    return grey if grey.width == image_size else grey.resize((image_size, image_size), PILImage.Resampling.BILINEAR)
