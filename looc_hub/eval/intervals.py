"""The noise of an accuracy measured on a finite test set (ours: the paper reports single numbers)."""

from __future__ import annotations

import math

__all__ = ["accuracy_ci95"]


def accuracy_ci95(accuracy: float, count: int) -> float:
    """Half-width, in points, of the 95% normal-approximation interval of an accuracy (%) over `count` items.

    The test-set noise only: it says how far the same model could land on another test set of that size, not
    how far another training seed could. Two models measured on the same items differ by less noise than their
    intervals combined (a paired test is tighter), so comparing intervals is conservative.
    """
    if count < 1:
        raise ValueError(f"count must be >= 1, got {count}")
    share = min(max(accuracy / 100.0, 0.0), 1.0)
    return 196.0 * math.sqrt(share * (1.0 - share) / count)
