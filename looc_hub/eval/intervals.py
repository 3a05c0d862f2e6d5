"""The noise of an accuracy measured on a finite test set (ours: the paper reports single numbers)."""

from __future__ import annotations

import math

__all__ = ["accuracy_ci95"]

Z95 = 1.959963984540054


def accuracy_ci95(accuracy: float, count: int) -> float:
    """Half-width, in points, of the 95% Agresti-Coull interval of an accuracy (%) over `count` items.

    The normal approximation with two successes and two failures added: as wide as the plain (Wald) interval away
    from the ends, and never zero, so a recorded 100% still admits a rerun's 99.9% (Wald's interval collapses to
    100.00 ± 0.00 there). The test-set noise only: it says how far the same model could land on another test set
    of that size, not how far another training seed could. Two models measured on the same items differ by less
    noise than their intervals combined (a paired test is tighter), so comparing intervals is conservative.
    """
    if count < 1:
        raise ValueError(f"count must be >= 1, got {count}")
    share = min(max(accuracy / 100.0, 0.0), 1.0)
    adjusted_count = count + Z95**2
    adjusted_share = (share * count + Z95**2 / 2) / adjusted_count
    return 100.0 * Z95 * math.sqrt(adjusted_share * (1.0 - adjusted_share) / adjusted_count)
