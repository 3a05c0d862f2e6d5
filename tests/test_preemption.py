"""SIGUSR1 / SIGTERM, as SLURM sends them, sent for real to a running `looc-pretrain`: a checkpoint at the next
step boundary, exit code 75, and `--resume latest` in the same folder continues exactly as an uninterrupted run."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from looc_hub.training.preemption import EXIT_STOPPED
from tests.pretrain_runs import DEMO_RECIPE, REPO, TINY, logged_losses, run_pretrain

STEPS = ["--max_steps", "16", "--checkpoint_every_steps", "1000"]  # no periodic checkpoint: only the signal's


def logged_steps(output_dir: Path) -> list[int]:
    metrics = output_dir / "logs" / "metrics.jsonl"
    if not metrics.is_file():
        return []
    return [row["step"] for row in map(json.loads, metrics.read_text().splitlines()) if "loss" in row]


def signalled_run(output_dir: Path, signal_number: int, after_step: int) -> tuple[int, str]:
    """Start `looc-pretrain`, send `signal_number` once it has logged `after_step`; (exit code, stderr)."""
    command = [str(Path(sys.executable).with_name("looc-pretrain")), "--config", DEMO_RECIPE, *TINY, *STEPS]
    command += ["--output_dir", str(output_dir)]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen(command, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 300
    while max(logged_steps(output_dir), default=0) < after_step and process.poll() is None:
        assert time.monotonic() < deadline, "the run never reached the step"
        time.sleep(0.02)
    process.send_signal(signal_number)
    _, stderr = process.communicate(timeout=300)
    return process.returncode, stderr


@pytest.fixture(scope="module")
def straight(tmp_path_factory) -> Path:
    """The uninterrupted run."""
    output_dir = tmp_path_factory.mktemp("straight")
    run_pretrain(output_dir, *STEPS)
    return output_dir


@pytest.mark.parametrize("signal_number", [signal.SIGUSR1, signal.SIGTERM])
def test_a_signal_checkpoints_exits_75_and_the_resume_is_exact(tmp_path, straight, signal_number):
    stopped = tmp_path / "stopped"

    code, stderr = signalled_run(stopped, signal_number, after_step=3)
    assert code == EXIT_STOPPED, stderr[-3000:]
    (checkpoint,) = (stopped / "checkpoints").iterdir()
    step = int(checkpoint.name.removeprefix("step_"))
    assert 3 <= step < 16  # the next step boundary after the signal, well before the end
    assert f"stopped by {signal.Signals(signal_number).name} at step {step}" in stderr
    assert logged_steps(stopped) == list(range(1, step + 1))
    assert not (stopped / "model").exists()  # a stopped run is not a finished one

    run_pretrain(stopped, *STEPS, "--resume", "latest")  # the requeued job, in the same folder
    expected, got = logged_losses(straight), logged_losses(stopped)
    assert sorted(got) == list(range(1, 17))
    for resumed_step in range(step + 1, 17):
        assert got[resumed_step] == pytest.approx(expected[resumed_step], rel=1e-5, abs=1e-6), resumed_step
    final_a = load_file(straight / "model" / "model.safetensors")
    final_b = load_file(stopped / "model" / "model.safetensors")
    for key, value in final_a.items():
        torch.testing.assert_close(final_b[key], value, rtol=1e-5, atol=1e-6)
