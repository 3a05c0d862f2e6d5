"""Run `training/pretrain.py` as a user would (a subprocess, optionally under `accelerate launch`)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SCRIPT = REPO / "training" / "pretrain.py"
DEMO_RECIPE = "looc_r10t_openmoji32"  # a shipped recipe, by name
# A small, fast variant of the demo recipe: 32 px, short queues, every step logged.
TINY = [
    "--model_overrides", "{image_size: 32}",
    "--queue_size", "256",
    "--batch_size", "16",
    "--num_workers", "0",
    "--log_every_steps", "1",
    "--eval_split", "null",
]  # fmt: skip


def run_pretrain(
    output_dir: Path,
    *args: str,
    launcher: list[str] | None = None,
    env: dict[str, str] | None = None,
    timeout: int = 600,
) -> subprocess.CompletedProcess:
    command = [*(launcher or [sys.executable]), str(SCRIPT), "--config", DEMO_RECIPE]
    command += [*TINY, "--output_dir", str(output_dir), *args]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1", **(env or {})}
    result = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, timeout=timeout)
    if result.returncode != 0:
        raise AssertionError(
            f"pretraining failed ({result.returncode}):\n{result.stdout[-3000:]}\n{result.stderr[-6000:]}"
        )
    return result


def logged_losses(output_dir: Path) -> dict[int, float]:
    lines = (output_dir / "logs" / "metrics.jsonl").read_text().splitlines()
    return {row["step"]: row["loss"] for row in map(json.loads, lines) if "loss" in row}


def summary(output_dir: Path) -> dict:
    return json.loads((output_dir / "summary.json").read_text())


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def accelerate_cpu_launcher(num_processes: int) -> list[str]:
    """`accelerate launch --cpu --num_processes 2` silently runs ONE process (accelerate 1.15); this gives real gloo
    processes."""
    os.environ["ACCELERATE_USE_CPU"] = "true"
    accelerate = Path(sys.executable).with_name("accelerate")
    return [
        str(accelerate), "launch", "--multi_gpu", "--num_processes", str(num_processes), "--num_machines", "1",
        "--mixed_precision", "no", "--dynamo_backend", "no", "--main_process_port", str(free_port()),
    ]  # fmt: skip
