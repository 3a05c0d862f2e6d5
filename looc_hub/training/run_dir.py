"""One run per output directory: a second run never mixes its checkpoints, logs and model with another's.

Without this, pretraining twice into one `output_dir` overwrote `model/`, let checkpoint rotation delete the new
run's checkpoints (keeping the old, higher-numbered ones), appended both runs to one `metrics.jsonl`, and a later
`--resume latest` continued the old run. So a non-empty output directory is refused unless the run resumes
(`--resume`) or the user asks to start over (`--overwrite`), and a resume is refused when the checkpoint was
trained with other settings (`RESUME_FIELDS`, compared by `CheckpointManager.resolve`).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

__all__ = ["RESUME_FIELDS", "RUN_OUTPUTS", "check_resumed_step", "prepare_output_dir"]

RUN_OUTPUTS = ("checkpoints", "logs", "model", "summary.json", "curves.png")
"""What `looc-pretrain` writes in its output directory; `--overwrite` removes these and nothing else."""

RESUME_FIELDS = (
    "model",
    "model_overrides",
    "dataset",
    "train_split",
    "image_column",
    "streaming",
    "canvas_size",
    "batch_size",
    "optimizer",
    "queue_size",
    "temperature",
    "key_momentum",
    "seed",
    "skip_unreadable",
)
"""`PretrainConfig` fields a resumed run must share with its checkpoint: the model (augmentations included),
the data and its order, the batch, the objective (queue, temperature, key momentum) and the optimiser state's
kind. Schedules, logging and `max_steps` may change. A field a checkpoint's run predates is not compared."""


def prepare_output_dir(output_dir: str | os.PathLike, *, resume: str | None, overwrite: bool) -> None:
    """Refuse a non-empty `output_dir` unless resuming or overwriting; with `overwrite`, remove the old run.

    Only the run's own outputs (`RUN_OUTPUTS`) are removed; other files in the folder are left alone. Runs on
    the global main process only (`RANK` 0, set by torchrun / accelerate launch), before anything is written:
    the other processes neither check nor delete, so they cannot race it.
    """
    if int(os.environ.get("RANK", "0")) != 0:
        return
    if resume and overwrite:
        raise ValueError("--resume and --overwrite contradict each other: resume a run, or start it over")
    directory = Path(output_dir)
    if directory.exists() and not directory.is_dir():
        raise NotADirectoryError(f"--output_dir {directory} is a file, not a folder")
    if resume or not directory.is_dir():
        return
    entries = sorted(p.name for p in directory.iterdir() if not _left_by_a_failed_start(p))
    if not entries:
        return
    if not overwrite:
        raise FileExistsError(
            f"--output_dir {directory} is not empty ({entries[:10]}): it holds another run. Continue it with "
            "--resume latest, start it over with --overwrite true (removes its "
            f"{list(RUN_OUTPUTS)}, nothing else), or choose another --output_dir"
        )
    for name in RUN_OUTPUTS:
        path = directory / name
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        elif path.exists() or path.is_symlink():
            path.unlink()


def _left_by_a_failed_start(path: Path) -> bool:
    """A run output folder with no file in it (a run that failed before training leaves an empty `logs/`)."""
    return path.name in RUN_OUTPUTS and path.is_dir() and not any(p.is_file() for p in path.rglob("*"))


def check_resumed_step(step: int, total_steps: int) -> None:
    """A resumed checkpoint beyond the run's last step is an error, not a silently "finished" run."""
    if step > total_steps:
        raise ValueError(
            f"The checkpoint is at step {step}, beyond this run's last step {total_steps} (--max_steps / --epochs): "
            f"raise --max_steps to at least {step}, or resume an earlier checkpoint"
        )
