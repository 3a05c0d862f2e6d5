"""Learning-rate schedule of MoCo v2's recipe: linear warmup, then cosine decay to zero."""

from __future__ import annotations

import math

__all__ = ["cosine_with_warmup"]


def cosine_with_warmup(step: int, total_steps: int, warmup_steps: int) -> float:
    """The factor on the base learning rate at optimiser step `step` (0-based), for `torch.optim.lr_scheduler.LambdaLR`.

    Warmup ramps linearly from 1/warmup to 1 (MoCo v2 uses none on ImageNet; warmup is our option for large
    batches); the cosine then decays per step, not per epoch (ours: smoother, same end point).
    """
    if step < warmup_steps:
        return (step + 1) / warmup_steps
    progress = (step - warmup_steps) / max(1, total_steps - warmup_steps)
    return 0.5 * (1.0 + math.cos(math.pi * min(1.0, progress)))
