"""OpenMoji skin tones: a colour-dependent classification task for colour probes.

Every emoji of the embedded OpenMoji set that comes in skin tones, labelled by its tone: the default yellow or
one of the five Fitzpatrick modifiers U+1F3FB-U+1F3FF. Within an emoji the shapes are identical and only the
colour changes, so a feature that kept colour separates the classes and one trained to ignore colour cannot:
the reproduction's colour probe (chance 1/6). Ours; the paper's colour evidence is fine-grained birds and
flowers, which cannot be had offline. Emoji with two different tones (couples) are left out; the split is
OpenMoji's (by emoji, all tones of one emoji on the same side).
"""

from __future__ import annotations

import re

from datasets import ClassLabel, DatasetDict

from . import openmoji

DEFAULT_IMAGE_SIZE = openmoji.DEFAULT_IMAGE_SIZE
TONES = ("yellow", "light", "medium-light", "medium", "medium-dark", "dark")
_MODIFIER = re.compile(r"1F3F([B-F])")
_RECIPE_VERSION = 1


def cache_key(image_size: int) -> str:
    return f"{openmoji.cache_key(image_size)}-skin-tones-r{_RECIPE_VERSION}"


def build_skin_tones(image_size: int = DEFAULT_IMAGE_SIZE) -> DatasetDict:
    """Splits `train` / `validation`, columns `image`, `skin_tone` (6 classes, `TONES`) and `hexcode`."""
    emoji = openmoji.build_openmoji(image_size)
    hexcodes = [code for split in emoji.values() for code in split["hexcode"]]
    toned_bases = {openmoji.base_hexcode(code) for code in hexcodes if _MODIFIER.search(code)}

    def tone(hexcode: str) -> int:
        """0 for the default yellow, 1-5 for a single modifier, -1 (left out) for mixed tones or no variants."""
        if openmoji.base_hexcode(hexcode) not in toned_bases:
            return -1
        modifiers = set(_MODIFIER.findall(hexcode))
        if len(modifiers) > 1:
            return -1
        return 0 if not modifiers else "BCDEF".index(modifiers.pop()) + 1

    splits = {}
    for name, split in emoji.items():
        labelled = split.map(lambda row: {"skin_tone": tone(row["hexcode"])}, remove_columns=["group", "subgroup"])
        labelled = labelled.filter(lambda row: row["skin_tone"] >= 0)
        splits[name] = labelled.cast_column("skin_tone", ClassLabel(names=list(TONES)))
    return DatasetDict(splits)
