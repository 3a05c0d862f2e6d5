"""Where a run is, saved in every checkpoint so that a resumed run continues with the same batches."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

__all__ = ["TrainingProgress"]


@dataclass
class TrainingProgress:
    """Optimiser steps taken, the current epoch and the batches of it already consumed.

    Registered with `accelerator.register_for_checkpointing`, so `save_state` / `load_state` carry it.
    """

    step: int = 0
    epoch: int = 0
    batch_in_epoch: int = 0

    def state_dict(self) -> dict[str, Any]:
        return asdict(self)

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.step, self.epoch, self.batch_in_epoch = state["step"], state["epoch"], state["batch_in_epoch"]
