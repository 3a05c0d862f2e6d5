"""Checkpoints that never destroy the last good one: staged, renamed into place, then rotated.

Accelerate's automatic naming does not survive `load_state` (accelerate #1601 / #3306: the next save is
`checkpoint_0` and rotation deletes the wrong folder), so checkpoints are named here by optimiser step:
`step_00001200`. Each is written by `accelerator.save_state` into a hidden staging folder and renamed to its
final name only when complete; older ones are deleted only after that. A crash mid-write leaves a staging folder
that the next save removes, and every `step_*` folder is complete.

Each checkpoint also stores the run's settings (`run_config.json`), so that `resolve` refuses a resume whose
settings differ in a field that must not change (named by the caller) and a folder that is no checkpoint.

Checkpoints hold the full training state (optimiser, RNG states: pickles written by Accelerate) for resuming
your own runs: they are trusted input, not a distribution format. Published models are safetensors only.
"""

from __future__ import annotations

import json
import os
import pickle
import re
import shutil
import zipfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from accelerate import Accelerator
from safetensors import SafetensorError, safe_open

from .._atomic import replace_directory
from .._json_file import read_json
from .run_dir import dataset_identity

__all__ = ["CheckpointManager"]

_NAME = re.compile(r"^step_(\d{8})$")
RUN_CONFIG = "run_config.json"
_UNREADABLE = (OSError, EOFError, RuntimeError, ValueError, KeyError, pickle.UnpicklingError, SafetensorError)
"""What `load_state` raises for a truncated or damaged checkpoint file."""


class CheckpointManager:
    """Save, find and rotate checkpoints in `directory`, keeping the newest `keep`.

    Args:
        run_config: the run's settings (JSON-ready), stored in every checkpoint.
        must_match: fields of `run_config` that a resumed checkpoint must share (see `resolve`).
    """

    LOAD_ERRORS = _UNREADABLE
    """What `accelerator.load_state` raises for a checkpoint that does not load (damaged, or another model's)."""

    def __init__(
        self,
        directory: str | os.PathLike,
        keep: int,
        *,
        run_config: Mapping[str, Any] | None = None,
        must_match: Sequence[str] = (),
    ) -> None:
        if keep < 1:
            raise ValueError(f"keep must be at least 1, got {keep}")
        self.directory = Path(directory)
        self.keep = keep
        self.run_config = json.loads(json.dumps(dict(run_config), default=str)) if run_config is not None else None
        self.must_match = tuple(must_match)

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
        if self.run_config is not None:
            self._check_same_run(path, resume)
        return path

    def _check_same_run(self, path: Path, resume: str) -> None:
        """Refuse a folder that is no checkpoint of ours, or one trained with other `must_match` settings."""
        stored_path = path / RUN_CONFIG
        if not stored_path.is_file():
            kind = "a saved model (weights only), which" if (path / "config.json").is_file() else "a folder that"
            raise ValueError(
                f"--resume {resume}: {path} is {kind} cannot be resumed: a checkpoint is "
                f"<output_dir>/checkpoints/step_XXXXXXXX with a {RUN_CONFIG}"
            )
        try:
            stored = read_json(stored_path)
        except (OSError, ValueError) as error:
            raise ValueError(f"--resume {resume}: {error}") from None
        differ = [
            f"{name}: checkpoint {stored.get(name)!r}, this run {self.run_config.get(name)!r}"
            for name in self.must_match
            if name in stored  # absent: the checkpoint predates the field
            and _comparable(name, stored[name]) != _comparable(name, self.run_config.get(name))
        ]
        if differ:
            raise ValueError(
                f"--resume {resume}: {path} was trained with other settings ({'; '.join(differ)}). Resume with "
                "the checkpoint's settings, or start a new run (another --output_dir, or --overwrite true)"
            )

    def load(self, accelerator: Accelerator, path: Path) -> None:
        """`load_state(path)`, naming the damaged file and the previous checkpoint if it does not load (a truncated
        file from a full disk or a copy cut short raises raw safetensors / pickle / torch errors)."""
        try:
            accelerator.load_state(str(path))
        except _UNREADABLE as error:
            self.raise_if_damaged(path, error)
            raise ValueError(
                f"--resume: the checkpoint {path} does not load ({type(error).__name__}: {str(error)[:300]}). "
                f"{self._fallback(path)}"
            ) from error

    def raise_if_damaged(self, path: Path, error: BaseException) -> None:
        """A ValueError naming the truncated or corrupt files of checkpoint `path` (if any) and the previous
        checkpoint to resume instead; `error` is what loading it raised."""
        damaged = _damaged_files(path)
        if damaged:
            raise ValueError(
                f"--resume: the checkpoint {path} does not load: {', '.join(damaged)} is truncated or damaged "
                f"({type(error).__name__}: {str(error)[:300]}). {self._fallback(path)}"
            ) from error

    def _fallback(self, path: Path) -> str:
        earlier = [p for p in self.checkpoints() if p.name < path.name]
        return (
            f"Resume the previous checkpoint with --resume {earlier[-1]}"
            if earlier
            else "No earlier checkpoint is left to resume"
        )

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
            if self.run_config is not None:
                (staging / RUN_CONFIG).write_text(json.dumps(self.run_config, indent=2) + "\n")
            replace_directory(staging, final)
            for old in self.checkpoints()[: -self.keep]:
                shutil.rmtree(old)
        accelerator.wait_for_everyone()
        return final


def _damaged_files(checkpoint: Path) -> list[str]:
    """The checkpoint's files whose container is cut short or corrupt, found without unpickling anything."""
    return [file.name for file in sorted(checkpoint.iterdir()) if file.is_file() and not _intact(file)]


def _intact(file: Path) -> bool:
    """A safetensors file by its header and size, a torch.save / Accelerate file (a zip archive) by its CRCs."""
    try:
        if file.suffix == ".safetensors":
            with safe_open(str(file), framework="pt"):
                return True
        if file.suffix in (".bin", ".pkl", ".pt"):
            with zipfile.ZipFile(file) as archive:
                return archive.testzip() is None
    except (OSError, SafetensorError, zipfile.BadZipFile):
        return False
    return True


def _comparable(name: str, value: Any) -> Any:
    """A stored setting as a resume compares it: the same local dataset folder however its path is spelled."""
    return dataset_identity(value) if name == "dataset" and isinstance(value, str) else value
