"""The one grammar of space names: a space, a list of spaces, or a results-file key ("invariant+color").

`LooCModel.embed` checks what it is asked for with `check_spaces`; evaluation names concatenations with
`space_key` / `parse_space_key` and selects their features with `concat_features`.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping, Sequence

import torch
import torch.nn.functional as F

from ._checks import short_repr

__all__ = ["PIXELS", "check_spaces", "concat_features", "model_spaces", "parse_space_key", "space_key"]

SEPARATOR = "+"
PIXELS = "pixels"
"""A reference key every evaluation accepts beside the model's spaces: the model's input itself (its evaluation
preprocessing and normalisation, flattened). The raw-pixel row that a learned feature must beat (ours)."""


def check_spaces(space: str | Sequence[str], valid: Sequence[str]) -> list[str]:
    """`space` (a name, or an ordered list of names) as a list, each one of `valid`, none twice."""
    if isinstance(space, bytes | bytearray):  # a Sequence of ints to Python
        raise TypeError(f"space must be a str, got bytes {bytes(space)[:100]!r}; valid spaces: {list(valid)}")
    if not isinstance(space, str | Sequence):  # a set has no order: its columns would follow the hash seed
        raise TypeError(
            f"space must be a space name or an ordered list of them, got {type(space).__name__} {short_repr(space)}; "
            f"valid spaces: {list(valid)}"
        )
    names = [space] if isinstance(space, str) else list(space)
    bad = [name for name in names if not isinstance(name, str)]
    if bad:
        raise TypeError(f"Space names must be strings, got {short_repr(bad)}; valid spaces: {list(valid)}")
    if not names:
        raise ValueError(f"No space requested; valid spaces: {list(valid)}")
    unknown = [name for name in names if name not in valid]
    if unknown:
        close = [match for name in unknown for match in difflib.get_close_matches(name, valid, n=1)]
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise ValueError(f"Unknown space(s) {short_repr(unknown)}{hint}; valid spaces of this model: {list(valid)}")
    if len(set(names)) != len(names):
        raise ValueError(f"A space is listed twice: {names}")
    return names


def space_key(spaces: str | Sequence[str]) -> str:
    """The results-file name of a space or a concatenation: ["invariant", "color"] -> "invariant+color"."""
    names = [spaces] if isinstance(spaces, str) else list(spaces)
    if not names or any(not name or SEPARATOR in name for name in names):
        raise ValueError(f"spaces must be non-empty names without {SEPARATOR!r}, got {names!r}")
    return SEPARATOR.join(names)


def parse_space_key(key: str) -> list[str]:
    """Inverse of `space_key`: "invariant+color" -> ["invariant", "color"]."""
    names = key.split(SEPARATOR)
    if not key or any(not name for name in names):
        raise ValueError(f"Malformed space key {key!r}; expected a space or spaces joined by {SEPARATOR!r}")
    if len(set(names)) != len(names):
        raise ValueError(f"Space key {key!r} lists a space twice")
    return names


def model_spaces(names: Sequence[str]) -> list[str]:
    """The names that the model computes: `names` without the `PIXELS` reference."""
    return [name for name in names if name != PIXELS]


def concat_features(features: Mapping[str, torch.Tensor], key: str, *, normalize_parts: bool = False) -> torch.Tensor:
    """The (N, sum of d) feature named by `key`, parts in the key's order.

    `normalize_parts` L2-normalises each part first (ours, for cosine kNN: otherwise the raw "backbone" feature,
    whose norm is far above the unit-norm head spaces, would decide every neighbour alone).
    """
    names = parse_space_key(key)
    missing = [name for name in names if name not in features]
    if missing:
        raise ValueError(f"No features for space(s) {missing}; extracted: {list(features)}")
    parts = [F.normalize(features[name].float(), dim=1) if normalize_parts else features[name] for name in names]
    return torch.cat(parts, dim=1)  # (N, d_1 + ... + d_k)
