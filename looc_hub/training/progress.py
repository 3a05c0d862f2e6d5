"""Where a run is, saved in every checkpoint so that a resumed run continues with the same batches; its log lines
printed around the progress bar."""

from __future__ import annotations

import logging
from contextlib import AbstractContextManager
from dataclasses import asdict, dataclass
from typing import Any

from tqdm.contrib.logging import logging_redirect_tqdm

__all__ = ["TrainingProgress", "logs_through_bar"]


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


def logs_through_bar() -> AbstractContextManager[None]:
    """looc_hub's log lines printed through tqdm (`tqdm.write`) while a bar is shown, each on a line of its own
    instead of glued to the bar's (`...loss=2.391]18:03:28 INFO ...`)."""
    return logging_redirect_tqdm(loggers=[logging.getLogger("looc_hub")])
