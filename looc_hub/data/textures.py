"""Textures from scikit-image: patches of its three texture photographs, labelled by texture (pip only).

`looc-hub/textures`: scikit-image's `brick`, `grass` and `gravel` (512x512 greyscale, CC0), cut into patches of a
quarter of the image side (128 px), resized to `image_size`: 400 train and 100 test patches per texture, the test
patches from each image's rightmost quarter (`texture_patches.py`). Ours: the texture set that installs with pip
(the `demo` extra), so the texture grid's pipeline and its tests need no Debian package. Three classes (chance
33%) and grey: the richer set for the texture experiment is `looc-hub/gimp-textures` (`gimp_patterns.py`).
"""

from __future__ import annotations

from types import ModuleType

from datasets import DatasetDict

from .texture_patches import PatchPlan, cut_patches

DEFAULT_IMAGE_SIZE = 32
TEXTURES = ("brick", "grass", "gravel")
TRAIN_PER_CLASS, TEST_PER_CLASS = 400, 100
_RECIPE_VERSION = 1  # bump when the patches or the split change, so cached copies are rebuilt


def _skimage_data() -> ModuleType:
    try:
        from skimage import data
    except ModuleNotFoundError as error:
        raise ModuleNotFoundError(
            "The embedded dataset 'looc-hub/textures' cuts scikit-image's texture photographs, and scikit-image is "
            'not installed: pip install "looc-hub[demo]"',
            name=error.name,
        ) from None
    return data


def cache_key(image_size: int) -> str:
    return f"textures-r{_RECIPE_VERSION}-{image_size}px"


def build_textures(image_size: int = DEFAULT_IMAGE_SIZE) -> DatasetDict:
    """Splits `train` (1,200) / `test` (300), columns `image` (RGB, grey content) and `label` (`TEXTURES`)."""
    data = _skimage_data()
    images = {name: getattr(data, name)() for name in TEXTURES}
    return cut_patches(images, PatchPlan(image_size, TRAIN_PER_CLASS, TEST_PER_CLASS))
