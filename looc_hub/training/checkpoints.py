"""Checkpoints that never destroy the last good one: staged, renamed into place, then rotated.

Accelerate's automatic naming does not survive `load_state` (accelerate #1601 / #3306: the next save is
`checkpoint_0` and rotation deletes the wrong folder), so checkpoints are named here by optimiser step:
`step_00001200`. Each is written by `accelerator.save_state` into a hidden staging folder and renamed to its
final name only when complete; older ones are deleted only after that. A crash mid-write leaves a staging folder
that the next save removes, and every `step_*` folder is complete.

Checkpoints hold the full training state (optimiser, RNG states: pickles written by Accelerate) for resuming
your own runs; they are not a distribution format. Published models are safetensors only.
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

from accelerate import Accelerator

from .._atomic import replace_directory

__all__ = ["CheckpointManager"]

_NAME = re.compile(r"^step_(\d{8})$")


class CheckpointManager:
    """Save, find and rotate checkpoints in `directory`, keeping the newest `keep`."""

    def __init__(self, directory: str | os.PathLike, keep: int) -> None:
        if keep < 1:
            raise ValueError(f"keep must be at least 1, got {keep}")
        self.directory = Path(directory)
        self.keep = keep

    def checkpoints(self) -> list[Path]:
        """Complete checkpoints, oldest first."""
        if not self.directory.is_dir():
            return []
        return sorted(p for p in self.directory.iterdir() if p.is_dir() and _NAME.match(p.name))

    def latest(self) -> Path | None:
        found = self.checkpoints()
        return found[-1] if found else None

    def resolve(self, resume: str) -> Path:
        """'latest' or a path -> the checkpoint folder, with a clear error when there is none."""
        path = self.latest() if resume == "latest" else Path(resume)
        if path is None:
            raise FileNotFoundError(f"--resume latest: no checkpoint in {self.directory}")
        if not path.is_dir():
            raise FileNotFoundError(f"--resume {resume}: {path} is not a checkpoint folder")
        return path

    def save(self, accelerator: Accelerator, step: int) -> Path:
        """`save_state` into a staging folder, rename it to `step_<step>`, then drop the oldest beyond `keep`."""
        final = self.directory / f"step_{step:08d}"
        staging = self.directory / f".staging-step_{step:08d}"
        if accelerator.is_main_process:
            self.directory.mkdir(parents=True, exist_ok=True)
            for leftover in self.directory.glob(".staging-*"):
                shutil.rmtree(leftover)
        accelerator.wait_for_everyone()
        accelerator.save_state(str(staging), safe_serialization=True)
        accelerator.wait_for_everyone()
        if accelerator.is_main_process:
            replace_directory(staging, final)
            for old in self.checkpoints()[: -self.keep]:
                shutil.rmtree(old)
        accelerator.wait_for_everyone()
        return final
