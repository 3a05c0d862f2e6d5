"""A JSON-lines tracker for Accelerate: one JSON object per logged step, readable with no extra dependency."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from accelerate.tracking import GeneralTracker, on_main_process

__all__ = ["JSONLTracker"]


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
