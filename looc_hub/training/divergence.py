"""A diverging run stops with an error instead of finishing "successfully" with a NaN model (issue 21).

A temperature of 1e-30 or a learning rate of 1e30 used to end with rc 0 and a model of NaNs. The guard notes the
first step whose loss is not finite without a host sync (a device tensor), and is checked where the loop syncs
anyway (logging) and before anything is saved: a checkpoint is written only when every process's losses so far
and the weights are finite, so the newest checkpoint is always a good one to go back to.
"""

from __future__ import annotations

from pathlib import Path

import torch
from accelerate import Accelerator

__all__ = ["DivergenceGuard", "TrainingDivergedError"]


class TrainingDivergedError(RuntimeError):
    """The loss or the weights became NaN or infinite; nothing was saved after the last good checkpoint."""


class DivergenceGuard:
    """The first step whose loss was not finite, kept on the device; `check` raises once one was seen."""

    def __init__(self, device: torch.device) -> None:
        self.first_bad_step = torch.full((), -1, dtype=torch.long, device=device)

    def observe(self, loss: torch.Tensor, step: int) -> None:
        """Note `step` if `loss` is not finite and no earlier step was (no host sync)."""
        bad = ~torch.isfinite(loss.detach()) & (self.first_bad_step < 0)
        self.first_bad_step = torch.where(bad, torch.full_like(self.first_bad_step, step), self.first_bad_step)

    def check(self, accelerator: Accelerator, model: torch.nn.Module, step: int, last_good: Path | None) -> None:
        """Raise `TrainingDivergedError` if any process saw a non-finite loss or holds non-finite weights."""
        weights_finite = torch.stack([torch.isfinite(p).all() for p in model.parameters()]).all()
        state = torch.stack([self.first_bad_step, (~weights_finite).long()]).unsqueeze(0)
        gathered = accelerator.gather(state)  # (processes, 2)
        bad_steps = gathered[:, 0][gathered[:, 0] >= 0]
        if bad_steps.numel():
            what = f"the loss became NaN or infinite at step {int(bad_steps.min())}"
        elif bool(gathered[:, 1].any()):
            what = f"the weights became NaN or infinite by step {step} (the losses so far were finite)"
        else:
            return
        kept = f"the last good checkpoint is {last_good}" if last_good is not None else "no checkpoint was saved before"
        raise TrainingDivergedError(
            f"Training diverged: {what}. The run stopped without writing a model; {kept}. Lower the learning rate "
            "(--base_lr), raise the temperature, or check the data, then start over (--overwrite true) or resume "
            "the last good checkpoint with the same settings"
        )
