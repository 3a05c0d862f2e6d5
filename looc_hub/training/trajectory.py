"""A resume continues one trajectory: resuming an earlier checkpoint ends the run's later one, a finished run stops.

Resuming `step_2` of a run that went on to `step_5` starts another trajectory from step 2. If step 5's checkpoints,
metrics and model stayed, `--resume latest` would later continue the abandoned run and `metrics.jsonl` would read
1, 2, 3, 4, 5, 3, 4 (seen in issue 21). So they are set aside (moved, never deleted) into
`<output_dir>/abandoned/from_step_<k>/`, and the run says so. Metric lines logged after the last checkpoint of a
killed run are dropped too: the resumed run logs those steps again.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

from .._atomic import atomic_file

__all__ = ["end_later_trajectory", "finished_run_summary"]

logger = logging.getLogger(__name__)

_MODEL_OUTPUTS = ("model", "summary.json", "curves.png")


def end_later_trajectory(output_dir: Path, step: int, checkpoints: list[Path]) -> Path | None:
    """Set aside what the run did after `step` (the checkpoint being resumed); returns the folder, or None."""
    later = [path for path in checkpoints if _step_of(path.name) > step]
    metrics = output_dir / "logs" / "metrics.jsonl"
    kept, dropped = _split_metrics(metrics, step)
    summary = _read_summary(output_dir)
    finished_later = summary is not None and summary.get("steps", 0) > step
    if not later and not finished_later:
        if dropped:
            _write_lines(metrics, kept)
            logger.info(f"{len(dropped)} metric line(s) after step {step} dropped: the resumed run logs them again")
        return None
    aside = _unused(output_dir / "abandoned" / f"from_step_{step:08d}")
    (aside / "checkpoints").mkdir(parents=True)
    for path in later:
        path.rename(aside / "checkpoints" / path.name)
    for name in _MODEL_OUTPUTS if finished_later else ():
        if (output_dir / name).exists():
            (output_dir / name).rename(aside / name)
    if dropped:
        _write_lines(aside / "metrics.jsonl", dropped)
        _write_lines(metrics, kept)
    logger.warning(
        f"Resumed from step {step}, before the run's later steps: that later trajectory ("
        f"{len(later)} checkpoint(s) {[p.name for p in later]}, {len(dropped)} metric line(s)"
        f"{', its model and summary' if finished_later else ''}) is set aside in {aside}; "
        "--resume latest now continues this one"
    )
    return aside


def finished_run_summary(output_dir: Path, step: int) -> dict[str, Any] | None:
    """The run's `summary.json` if it finished at `step` and wrote its model: a resume there has nothing to do."""
    summary = _read_summary(output_dir)
    if summary is None or summary.get("steps") != step or not (output_dir / "model").is_dir():
        return None
    return summary


def _step_of(name: str) -> int:
    return int(name.removeprefix("step_"))


def _read_summary(output_dir: Path) -> dict[str, Any] | None:
    try:
        summary = json.loads((output_dir / "summary.json").read_text())
    except (OSError, ValueError):
        return None
    return summary if isinstance(summary, dict) else None


def _split_metrics(path: Path, step: int) -> tuple[list[str], list[str]]:
    """(lines up to `step`, later lines); a line that is not JSON (a killed write) counts as later."""
    if not path.is_file():
        return [], []
    kept, dropped = [], []
    for line in path.read_text().splitlines():
        try:
            row = json.loads(line)
            later = not isinstance(row, dict) or not isinstance(row.get("step"), int) or row["step"] > step
        except ValueError:
            later = True
        (dropped if later else kept).append(line)
    return kept, dropped


def _write_lines(path: Path, lines: list[str]) -> None:
    with atomic_file(path) as staging:
        staging.write_text("".join(line + "\n" for line in lines))


def _unused(path: Path) -> Path:
    """`path`, or `path-2`, `path-3`... when an earlier resume from the same step set one aside already."""
    candidate, number = path, 1
    while candidate.exists():
        number += 1
        candidate = path.with_name(f"{path.name}-{number}")
    return candidate
