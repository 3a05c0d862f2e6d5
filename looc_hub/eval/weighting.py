"""Weighted mixes of spaces: what "similar" means, chosen at query time (ours; the paper compares spaces one by one).

A weighting {space: w} scores a gallery image g against a query q by sum_s w_s cos(q_s, g_s). One matrix answers
every weighting: the gallery stores the concatenation of its L2-normalised spaces, and the query scales its own
normalised parts by the weights, so the inner product of the two concatenations is that weighted sum. A negative
weight asks for difference in that space (invariant 1, colour -0.5: the same object in another colour).

The text form, shared by `looc-search --weights` and `looc-evaluate --retrieval_recall_weightings`, is
"invariant=1,color=-0.5".
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import torch
import torch.nn.functional as F
from torch import Tensor

__all__ = ["Weighting", "check_weighting", "gallery_matrix", "parse_weighting", "query_matrix", "weighting_text"]

Weighting = dict[str, float]
"""{space: weight}, in the order the spaces are concatenated."""


def parse_weighting(text: str, valid: Sequence[str]) -> Weighting:
    """ "invariant=1,color=-0.5" (or one space name alone, weight 1) -> a checked {space: weight}."""
    weights: Weighting = {}
    for part in (piece.strip() for piece in text.split(",")):
        name, equals, value = part.partition("=")
        name = name.strip()
        if name in weights:
            raise ValueError(f"Weighting {text!r} lists space {name!r} twice")
        try:
            weights[name] = float(value) if equals else 1.0
        except ValueError:
            raise ValueError(
                f"Weighting {text!r}: {value.strip()!r} is not a number; write space=weight pairs separated by "
                f"commas, e.g. 'invariant=1,color=-0.5' (spaces: {list(valid)})"
            ) from None
    return check_weighting(weights, valid)


def check_weighting(weights: Mapping[str, float], valid: Sequence[str]) -> Weighting:
    """`weights` as a plain dict after checking names and values: every space known, finite, not all zero."""
    if not isinstance(weights, Mapping) or not weights:
        raise ValueError(
            f"A weighting is a non-empty {{space: weight}} mapping, got {weights!r}; spaces: {list(valid)}"
        )
    unknown = [name for name in weights if name not in valid]
    if unknown:
        raise ValueError(
            f"Unknown space(s) {unknown} in weighting {dict(weights)}; spaces of this index: {list(valid)}"
        )
    checked: Weighting = {}
    for name, weight in weights.items():
        if isinstance(weight, bool) or not isinstance(weight, int | float) or not math.isfinite(weight):
            raise ValueError(f"The weight of space {name!r} must be a finite number, got {weight!r}")
        checked[name] = float(weight)
    if all(weight == 0 for weight in checked.values()):
        raise ValueError(f"Every weight of {checked} is zero: every gallery image would score 0; give a space a weight")
    return checked


def weighting_text(weights: Mapping[str, float]) -> str:
    """The text form of a weighting ("invariant=1,color=-0.5"), the inverse of `parse_weighting`."""
    return ",".join(f"{name}={weight:g}" for name, weight in weights.items())


def gallery_matrix(parts: Mapping[str, Tensor], spaces: Sequence[str]) -> Tensor:
    """(N, sum of d) float32: each space of `spaces` L2-normalised, concatenated in that order."""
    return torch.cat([F.normalize(parts[name].float(), dim=1) for name in spaces], dim=1)


def query_matrix(parts: Mapping[str, Tensor], spaces: Sequence[str], weights: Mapping[str, float]) -> Tensor:
    """(Q, sum of d) float32 laid out as `gallery_matrix(..., spaces)`: space s normalised, times w_s (0 if absent).

    Its inner product with a gallery row is sum_s w_s cos(q_s, g_s).
    """
    scaled = [F.normalize(parts[name].float(), dim=1) * float(weights.get(name, 0.0)) for name in spaces]
    return torch.cat(scaled, dim=1)
