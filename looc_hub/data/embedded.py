"""Datasets that looc-hub provides by name, built from installed packages on first use and cached (`dataset_cache.py`).

OpenMoji, digits and textures come from pip packages; Fashion-MNIST, OpenClipart and GIMP's texture patterns from
Debian packages (data for the reproduction, not test dependencies).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

from datasets import DatasetDict

from .._checks import check_int
from . import digits, fashion_mnist, gimp_patterns, openclipart, openmoji, openmoji_skin_tones, textures
from .dataset_cache import load_or_build


@dataclass(frozen=True)
class _EmbeddedDataset:
    build: Callable[[int], DatasetDict]
    cache_key: Callable[[int], str]
    default_image_size: int


_EMBEDDED_DATASETS = {
    "looc-hub/openmoji": _EmbeddedDataset(openmoji.build_openmoji, openmoji.cache_key, openmoji.DEFAULT_IMAGE_SIZE),
    "looc-hub/openmoji-skin-tones": _EmbeddedDataset(
        openmoji_skin_tones.build_skin_tones, openmoji_skin_tones.cache_key, openmoji_skin_tones.DEFAULT_IMAGE_SIZE
    ),
    "looc-hub/digits": _EmbeddedDataset(digits.build_digits, digits.cache_key, digits.DEFAULT_IMAGE_SIZE),
    "looc-hub/fashion-mnist": _EmbeddedDataset(
        fashion_mnist.build_fashion_mnist, fashion_mnist.cache_key, fashion_mnist.DEFAULT_IMAGE_SIZE
    ),
    "looc-hub/openclipart": _EmbeddedDataset(
        openclipart.build_openclipart, openclipart.cache_key, openclipart.DEFAULT_IMAGE_SIZE
    ),
    "looc-hub/textures": _EmbeddedDataset(textures.build_textures, textures.cache_key, textures.DEFAULT_IMAGE_SIZE),
    "looc-hub/gimp-textures": _EmbeddedDataset(
        gimp_patterns.build_gimp_textures, gimp_patterns.cache_key, gimp_patterns.DEFAULT_IMAGE_SIZE
    ),
}
EMBEDDED_DATASET_NAMES = tuple(_EMBEDDED_DATASETS)


def load_embedded_dataset(
    name: str, *, image_size: int | None = None, cache_dir: str | os.PathLike | None = None
) -> DatasetDict:
    """All splits of an embedded dataset rendered at `image_size` px (its default when None).

    Example:
        >>> splits = load_embedded_dataset("looc-hub/digits")
        >>> splits["test"].features["label"].names[:3]
        ['0', '1', '2']
    """
    if name not in _EMBEDDED_DATASETS:
        raise ValueError(f"Unknown embedded dataset {name!r}; choose one of {list(EMBEDDED_DATASET_NAMES)}")
    entry = _EMBEDDED_DATASETS[name]
    size = entry.default_image_size if image_size is None else image_size
    check_int("image_size", size)
    return load_or_build(entry.cache_key(size), partial(entry.build, size), cache_dir)
