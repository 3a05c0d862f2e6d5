"""ImageNet-100, the paper's split: the 100 ImageNet-1k classes of CMC (Tian, Krishnan & Isola 2019).

LooC (Xiao et al. 2021, section 4) trains on "ImageNet-100 ... following CMC": this list is CMC's own
`imagenet100.txt` (github.com/HobbitLong/CMC, copied unchanged, in its order), shipped as package data so that
every model trained with looc-hub on "ImageNet-100" saw the same classes. Other "ImageNet-100"s exist (e.g. the
first 100 classes, or random draws); they are not the paper's.
"""

from __future__ import annotations

import re
from importlib import resources

__all__ = ["IMAGENET100_CLASSES", "IMAGENET100_SOURCE", "IMAGENET100_SPLIT_SIZES", "is_wnid"]

IMAGENET100_SOURCE = "CMC's imagenet100.txt (Tian et al. 2019, github.com/HobbitLong/CMC)"
_WNID = re.compile(r"n\d{8}")

# Images per class in ImageNet-1k (ILSVRC-2012): train holds 732 to 1,300 (most 1,300), validation exactly 50.
IMAGENET100_SPLIT_SIZES = {"train": (732, 1300), "validation": (50, 50)}


def is_wnid(name: str) -> bool:
    """Whether `name` is a WordNet id as ImageNet names its classes (`n` and eight digits)."""
    return _WNID.fullmatch(name) is not None


def _read_classes() -> tuple[str, ...]:
    text = resources.files(__package__).joinpath("imagenet100.txt").read_text()
    classes = tuple(line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#"))
    if len(classes) != 100 or len(set(classes)) != 100 or not all(map(is_wnid, classes)):
        raise RuntimeError("looc_hub/data/imagenet100.txt is damaged: it must hold 100 distinct WordNet ids")
    return classes


IMAGENET100_CLASSES: tuple[str, ...] = _read_classes()
