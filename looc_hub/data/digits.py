"""The embedded labelled evaluation set: scikit-learn's handwritten digits as an HF image dataset.

`sklearn.datasets.load_digits()` ships 1,797 greyscale 8x8 digits (UCI, CC BY 4.0, 10 classes) inside the
package, so evaluation tests and demos have real labelled data offline. Our choices: ink intensities 0..16 are
scaled to 0..255 (bright digits on black, as stored), upsampled bilinearly to `image_size` and stored as RGB;
a stratified 75% / 25% `train` / `test` split with a fixed seed.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

import numpy as np
from datasets import ClassLabel, Dataset, DatasetDict, Features, Image
from PIL import Image as PILImage

DEFAULT_IMAGE_SIZE = 32
TEST_FRACTION = 0.25
SPLIT_SEED = 0
_RECIPE_VERSION = 1  # bump when the conversion or the split change, so cached copies are rebuilt


def cache_key(image_size: int) -> str:
    # The split comes from scikit-learn's train_test_split, so its version is part of the key.
    return f"digits-sklearn{_sklearn_version()}-r{_RECIPE_VERSION}-{image_size}px"


def build_digits(image_size: int = DEFAULT_IMAGE_SIZE) -> DatasetDict:
    """Splits `train` / `test`, columns `image` (RGB, `image_size` px) and `label` (digit 0-9)."""
    _sklearn_version()
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    digits = load_digits()
    pixels = np.rint(digits.images * (255 / 16)).astype(np.uint8)  # (1797, 8, 8)
    train_rows, test_rows = train_test_split(
        np.arange(len(pixels)), test_size=TEST_FRACTION, stratify=digits.target, random_state=SPLIT_SEED
    )
    features = Features({"image": Image(), "label": ClassLabel(names=[str(d) for d in range(10)])})
    return DatasetDict(
        {
            split: Dataset.from_dict(
                {
                    "image": [_upsample(pixels[i], image_size) for i in rows],
                    "label": digits.target[rows].tolist(),
                },
                features=features,
            )
            for split, rows in {"train": train_rows, "test": test_rows}.items()
        }
    )


def _sklearn_version() -> str:
    try:
        return version("scikit-learn")
    except PackageNotFoundError:
        raise ImportError("looc-hub/digits needs scikit-learn: pip install scikit-learn") from None


def _upsample(pixels: np.ndarray, image_size: int) -> PILImage.Image:
    grey = PILImage.fromarray(pixels).resize((image_size, image_size), PILImage.Resampling.BILINEAR)
    return grey.convert("RGB")
