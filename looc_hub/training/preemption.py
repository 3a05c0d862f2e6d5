"""Stopping cleanly when a cluster asks: SIGTERM or SIGUSR1 -> a checkpoint at the next step boundary -> exit 75.

SLURM sends SIGTERM before it preempts (or cancels) a job and, with `#SBATCH --signal=USR1@120`, SIGUSR1 that
many seconds before the time limit. The handler only records the signal; the loop asks at each step boundary,
all processes agree (a sum over processes of one number per step, so a signal seen by one rank stops all at the
same step, and no collective is left waiting), the checkpoint is written, and the command exits with `EXIT_STOPPED` = 75
(EX_TEMPFAIL, "try again later"). `--resume latest` then continues exactly where it stopped (ours; the paper ran
without preemption).
"""

from __future__ import annotations

import signal
import threading
from types import FrameType

import torch
from accelerate import Accelerator

__all__ = ["EXIT_STOPPED", "STOP_SIGNALS", "StopRequest", "TrainingStopped"]

STOP_SIGNALS = (signal.SIGTERM, signal.SIGUSR1)
EXIT_STOPPED = 75


class TrainingStopped(Exception):
    """Training stopped on a signal after writing a checkpoint; resume it with `--resume latest`."""

    def __init__(self, signal_name: str, step: int, checkpoint: str) -> None:
        super().__init__(f"stopped by {signal_name} at step {step}; checkpoint {checkpoint} (resume: --resume latest)")
        self.signal_name, self.step, self.checkpoint = signal_name, step, checkpoint


class StopRequest:
    """Records SIGTERM / SIGUSR1 while installed; `agreed` tells, at a step boundary, whether any process got one."""

    def __init__(self) -> None:
        self.signal_name: str | None = None
        self._previous: dict[int, object] = {}

    def install(self) -> StopRequest:
        """Catch the signals (Python allows it in the main thread only; elsewhere the defaults stay)."""
        if threading.current_thread() is not threading.main_thread():
            return self
        for number in STOP_SIGNALS:
            self._previous[number] = signal.signal(number, self._record)
        return self

    def restore(self) -> None:
        """Give the signals back their earlier handlers (a library caller's own, or the default)."""
        for number, handler in self._previous.items():
            signal.signal(number, handler)
        self._previous.clear()

    def _record(self, number: int, _frame: FrameType | None) -> None:
        self.signal_name = signal.Signals(number).name

    def agreed(self, accelerator: Accelerator) -> bool:
        """Whether any process was signalled; every process must call it at the same step boundary."""
        if accelerator.num_processes == 1:
            return self.signal_name is not None
        seen = torch.tensor([float(self.signal_name is not None)], device=accelerator.device)
        return accelerator.reduce(seen, reduction="sum").item() > 0
