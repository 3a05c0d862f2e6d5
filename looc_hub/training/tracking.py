"""Trackers of a pretraining run: the built-in JSON-lines one, and a check that requested Accelerate ones exist.

Accelerate quietly drops a requested tracker whose package is missing (a debug-level message); a run asked to log
to TensorBoard that logs nowhere is only discovered hours later, so `check_trackers_installed` fails at once.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from accelerate.tracking import LOGGER_TYPE_TO_CLASS, GeneralTracker, get_available_trackers, on_main_process

__all__ = ["TRACKERS", "JSONLTracker", "check_trackers_installed", "installed_trackers", "scalar_config"]


class JSONLTracker(GeneralTracker):
    """Writes `metrics.jsonl` (and `config.json`) in the logging directory; the main process only."""

    name = "jsonl"
    requires_logging_directory = True

    def __init__(self, run_name: str, logging_dir: str | os.PathLike) -> None:
        # Not @on_main_process: built before the Accelerator, it must not create Accelerate's process state
        # (that would fix a single-process state under `accelerate launch` on CPU). mkdir is harmless anywhere.
        super().__init__()
        self.directory = Path(logging_dir) / run_name
        self.directory.mkdir(parents=True, exist_ok=True)
        self.path = self.directory / "metrics.jsonl"

    @property
    def tracker(self) -> Path:
        return self.path

    @on_main_process
    def store_init_configuration(self, values: dict[str, Any]) -> None:
        (self.directory / "config.json").write_text(json.dumps(values, indent=2, default=str) + "\n")

    @on_main_process
    def log(self, values: dict[str, Any], step: int | None = None, **kwargs: Any) -> None:
        with self.path.open("a") as handle:
            handle.write(json.dumps({"step": step, **values}) + "\n")


TRACKERS = (JSONLTracker.name, *LOGGER_TYPE_TO_CLASS)
"""`--report_to` choices: ours, then Accelerate's (each needs its own package)."""


def installed_trackers() -> list[str]:
    """Accelerate's trackers whose packages are installed, by name."""
    return sorted(str(tracker) for tracker in get_available_trackers())


def check_trackers_installed(names: Sequence[str]) -> None:
    """Raise ImportError naming every requested Accelerate tracker whose package is not installed."""
    available = set(installed_trackers())
    missing = [name for name in names if name != JSONLTracker.name and name not in available]
    if missing:
        packages = " ".join(name.replace("_", "-") for name in missing)
        raise ImportError(
            f"--report_to {missing}: the tracker package(s) are not installed, so nothing would be logged there. "
            f"Install them (pip install {packages}) or leave them out of --report_to (installed: "
            f"{[JSONLTracker.name, *sorted(available)]})"
        )


def scalar_config(values: dict[str, Any]) -> dict[str, int | float | str | bool]:
    """The run's settings as the scalar values TensorBoard's hparams (and other trackers) accept.

    `add_hparams` refuses None, lists and dicts (`ValueError: value should be one of int, float, str, bool, or
    torch.Tensor` at `init_trackers`, issue 18); they are stored as their JSON text (`null`, `[0.2, 1.0]`).
    """
    return {
        name: value if isinstance(value, int | float | str | bool) else json.dumps(value, default=str)
        for name, value in values.items()
    }
