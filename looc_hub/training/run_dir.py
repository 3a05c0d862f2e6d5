"""One run per output directory: a second run never mixes its checkpoints, logs and model with another's.

Without this, pretraining twice into one `output_dir` overwrote `model/`, let checkpoint rotation delete the new
run's checkpoints (keeping the old, higher-numbered ones), appended both runs to one `metrics.jsonl`, and a later
`--resume latest` continued the old run. So a non-empty output directory is refused unless the run resumes
(`--resume`) or the user asks to start over (`--overwrite`).

What a run writes is recorded in the folder (`.looc-run.json`, ours): `--overwrite` removes only recorded outputs,
after checking that each still holds only what a run writes, so a user's own `model/` or `logs/` folder (a
project with `model/__init__.py`) is never deleted because of its name. The record also says whether the run
took a step: a start that failed before its first step left nothing worth keeping, and the same command may run
again without `--overwrite`.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path
from typing import Any

from .._atomic import atomic_file
from .._json_file import read_json
from ..hub.model_files import foreign_files

__all__ = [
    "RESUME_MAY_CHANGE",
    "RUN_OUTPUTS",
    "RUN_RECORD",
    "check_resumed_step",
    "dataset_identity",
    "mark_trained",
    "prepare_output_dir",
]

RUN_OUTPUTS = ("checkpoints", "logs", "model", "summary.json", "curves.png", "abandoned")
"""What `looc-pretrain` may write in its output directory (`looc-finetune` passes its own list); `--overwrite`
removes recorded ones and nothing else."""

RUN_RECORD = ".looc-run.json"

RESUME_MAY_CHANGE = (
    "output_dir",
    "resume",
    "overwrite",
    "num_workers",
    "check_images",
    "channels_last",
    "compile",
    "epochs",
    "max_steps",
    "checkpoint_every_steps",
    "keep_checkpoints",
    "log_every_steps",
    "report_to",
    "eval_split",
    "label_column",
    "knn_every_epochs",
    "knn_k",
    "knn_temperature",
    "knn_bank_size",
    "push_to_hub",
    "hub_private",
)
"""`PretrainConfig` fields a resumed run may change: where and how often it logs, checkpoints and monitors, how it
computes (workers, memory format, compile: the same arithmetic up to rounding) and how long it runs (the schedule
is recomputed for the new length). Every other field (the model, data, optimiser, learning rate, weight decay,
schedules, crops, BatchNorm, mixed precision, seed, and any field added later) changes the trajectory, so a resume
must share it with its checkpoint (`CheckpointManager.resolve` compares them)."""

_OWN_ENTRIES = {
    "checkpoints": re.compile(r"^(\.staging-)?step_\d{8}$"),
    "abandoned": re.compile(r"^from_step_\d{8}(-\d+)?$"),
}


def prepare_output_dir(
    output_dir: str | os.PathLike, *, resume: str | None, overwrite: bool, outputs: tuple[str, ...] = RUN_OUTPUTS
) -> None:
    """Refuse a non-empty `output_dir` unless resuming or overwriting; with `overwrite`, remove the old run.

    Runs on the global main process only (`RANK` 0, set by torchrun / accelerate launch), before anything is
    written: the other processes neither check nor delete, so they cannot race it.
    """
    if int(os.environ.get("RANK", "0")) != 0:
        return
    if resume and overwrite:
        raise ValueError("--resume and --overwrite contradict each other: resume a run, or start it over")
    directory = Path(output_dir)
    if directory.exists() and not directory.is_dir():
        raise NotADirectoryError(f"--output_dir {directory} is a file, not a folder")
    directory.mkdir(parents=True, exist_ok=True)
    record = _read_record(directory)
    if resume:
        _check_unrecorded(directory, record, "continue the run in", outputs)
        trained = record.get("trained", True) if record is not None else True  # no record: an older run
        _write_record(directory, _recorded(record, outputs) if record is not None else outputs, trained=trained)
        return
    if record is not None and not record.get("trained"):  # a start that failed before its first step
        _remove_outputs(directory, record, outputs)
        record = None
    entries = sorted(p.name for p in directory.iterdir() if p.name != RUN_RECORD and _holds_something(p))
    if entries and not overwrite:
        raise FileExistsError(
            f"--output_dir {directory} is not empty ({entries[:10]}): it holds another run. Continue it with "
            "--resume latest, start it over with --overwrite true (removes the outputs that run recorded in "
            f"{RUN_RECORD}, nothing else), or choose another --output_dir"
        )
    _check_unrecorded(directory, record, "write into", outputs)
    if record is not None:
        _remove_outputs(directory, record, outputs)
    _write_record(directory, outputs, trained=False)


def mark_trained(output_dir: str | os.PathLike, outputs: tuple[str, ...] = RUN_OUTPUTS) -> None:
    """Record that the run took its first step: from now on its folder is a run, kept unless `--overwrite`."""
    directory = Path(output_dir)
    _write_record(directory, _recorded(_read_record(directory), outputs) or outputs, trained=True)


def check_resumed_step(step: int, total_steps: int) -> None:
    """A resumed checkpoint beyond the run's last step is an error, not a silently "finished" run."""
    if step > total_steps:
        raise ValueError(
            f"The checkpoint is at step {step}, beyond this run's last step {total_steps} (--max_steps / --epochs): "
            f"raise --max_steps to at least {step}, or resume an earlier checkpoint"
        )


def dataset_identity(dataset: str) -> str:
    """`dataset` as a resume compares it: a local path, however spelled (`./data/good`, absolute), as an absolute
    path; a Hub or embedded dataset name as given."""
    path = Path(dataset).expanduser()
    return str(path.resolve()) if path.exists() else dataset


def _read_record(directory: Path) -> dict[str, Any] | None:
    path = directory / RUN_RECORD
    if not path.is_file():
        return None
    try:
        record = read_json(path, f"{path} (a looc-hub run's record of its outputs)")
    except OSError as error:
        raise ValueError(f"{path} (a looc-hub run's record of its outputs) is not readable: {error}") from None
    if not isinstance(record, dict) or not isinstance(record.get("outputs"), list):
        raise ValueError(f"{path} is not a looc-hub run's record of its outputs (no 'outputs' list)")
    return record


def _recorded(record: dict[str, Any] | None, outputs: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(name for name in (record or {}).get("outputs", ()) if name in outputs)


def _present(directory: Path, outputs: tuple[str, ...]) -> tuple[str, ...]:
    """Run outputs in `directory`; an empty folder counts as none (another process of the run may have just made
    it: the trackers create `logs/` on every process)."""
    return tuple(name for name in outputs if _holds_something(directory / name))


def _holds_something(path: Path) -> bool:
    return path.is_symlink() or path.is_file() or (path.is_dir() and any(path.iterdir()))


def _write_record(directory: Path, outputs: tuple[str, ...], *, trained: bool) -> None:
    with atomic_file(directory / RUN_RECORD) as staging:
        staging.write_text(json.dumps({"outputs": list(outputs), "trained": trained}, indent=2) + "\n")


def _check_unrecorded(directory: Path, record: dict[str, Any] | None, action: str, outputs: tuple[str, ...]) -> None:
    """Refuse a folder where a run output's name is taken by something no run recorded, or by foreign files."""
    recorded = set(_recorded(record, outputs)) if record is not None else set()
    problems = []
    for name in _present(directory, outputs):
        foreign = _foreign_in(directory / name)
        if record is not None and name not in recorded:
            problems.append(f"{name} ({RUN_RECORD} does not list it)")
        elif record is None and action != "continue the run in":
            problems.append(f"{name} (the folder has no {RUN_RECORD})")
        elif foreign:
            problems.append(f"{name} (it holds files no run writes: {foreign[:10]})")
    if problems:
        raise FileExistsError(_not_ours(directory, action, problems))


def _not_ours(directory: Path, action: str, problems: list[str]) -> str:
    return (
        f"Cannot {action} --output_dir {directory}: {'; '.join(problems)} is not an output of a looc-hub run, "
        "and looc-hub neither deletes nor mixes files it did not write. Move it, or choose another --output_dir"
    )


def _foreign_in(path: Path) -> list[str]:
    """Entries of a run output that a run does not write (a symlink or a file where a folder belongs included)."""
    name = path.name
    if path.is_symlink():
        return [f"{name} (a symlink)"]
    if name in ("summary.json", "curves.png"):
        return [] if path.is_file() else [f"{name}/ (a folder)"]
    if not path.is_dir():
        return [f"{name} (a file)"]
    if name == "model":
        return [f"model/{entry}" for entry in foreign_files(path)]
    if name in _OWN_ENTRIES:
        return [f"{name}/{p.name}" for p in sorted(path.iterdir()) if not _OWN_ENTRIES[name].match(p.name)]
    return []  # logs/: each tracker writes its own formats there; the record says a run created it


def _remove_outputs(directory: Path, record: dict[str, Any], outputs: tuple[str, ...]) -> None:
    """Remove the outputs `record` lists, once each has been checked to hold only what a run writes."""
    for name in _recorded(record, outputs):
        path = directory / name
        foreign = _foreign_in(path) if path.exists() or path.is_symlink() else []
        if foreign:
            raise FileExistsError(
                _not_ours(directory, "start over in", [f"{name} (it holds files no run writes: {foreign[:10]})"])
            )
    for name in _recorded(record, outputs):
        path = directory / name
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        elif path.exists() or path.is_symlink():
            path.unlink()
