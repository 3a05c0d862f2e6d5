"""The paper's ResNet-50 recipes at 224 px, end to end on CPU with 2 gloo processes (`accelerate launch`), on a
generated ImageNet-100-shaped folder (all 100 CMC classes, real photo content, 500 x 375 JPEGs) built by
`looc-build-in100`. The shipped recipes change only in steps, batch and queue length (and the dataset path).

One run of `looc_r50_in100`: the queues agree across processes, a checkpoint is written; a second run is stopped
by SIGUSR1 sent to ONE process (both stop at the same step), resumed with `--resume latest`, and its next steps
and final weights equal the first run's; the model is evaluated (kNN, linear probe, at 224), gets the results in
its card, and passes a publish dry run against the loopback Hub. `loocpp_r50_in100` runs 2 steps the same way,
and Shuffle-BN's key sub-batches mix both processes' images. The longer version: docs/pretraining.md.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest
import torch
from safetensors.torch import load_file

from looc_hub import LooCModel
from looc_hub.data.imagenet100 import IMAGENET100_CLASSES
from looc_hub.data.imagenet100_build import build_imagenet100
from looc_hub.data.imagenet_sample import write_imagenet_tree
from looc_hub.eval.results import load_results
from looc_hub.hub.publish import attach_results
from looc_hub.training.preemption import EXIT_STOPPED
from tests.pretrain_runs import REPO, SCRIPT, accelerate_cpu_launcher, logged_losses, summary

pytestmark = pytest.mark.slow

# Steps, batch (per process; 2 x 4 = 8 per step) and queue length: the only changes to the shipped recipes.
SMALL = ["--batch_size", "4", "--queue_size", "16", "--num_workers", "1", "--log_every_steps", "1"]
STEPS = ["--max_steps", "3", "--checkpoint_every_steps", "1000"]


@pytest.fixture(scope="module")
def imagenet100(tmp_path_factory) -> Path:
    """ImageNet-1k's layout with the 100 classes (2 train, 1 val each), through looc-build-in100's library."""
    root = tmp_path_factory.mktemp("in100-e2e")
    write_imagenet_tree(root / "imagenet", list(IMAGENET100_CLASSES), train=2, val=1)
    build_imagenet100(root / "imagenet", root / "imagenet-100", workers=2)
    return root / "imagenet-100"


def pretrain_command(recipe: str, dataset: Path, output_dir: Path, *args: str) -> list[str]:
    command = [*accelerate_cpu_launcher(2), str(SCRIPT), "--config", recipe, "--dataset", str(dataset)]
    return [*command, *SMALL, "--output_dir", str(output_dir), *args]


def run(command: list[str], timeout: int = 900) -> subprocess.CompletedProcess:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1"}
    done = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, timeout=timeout, stdin=None)
    assert done.returncode == 0, f"{done.returncode}:\n{done.stdout[-2000:]}\n{done.stderr[-5000:]}"
    return done


def stop_one_process_after(command: list[str], output_dir: Path, step: int) -> subprocess.CompletedProcess:
    """Start a 2-process run; when it has logged `step`, send SIGUSR1 to the rank-1 process only."""
    env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1"}
    launcher = subprocess.Popen(
        command, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, stdin=None
    )
    metrics, deadline = output_dir / "logs" / "metrics.jsonl", time.monotonic() + 900
    while not (metrics.is_file() and f'"step": {step},' in metrics.read_text()) and launcher.poll() is None:
        assert time.monotonic() < deadline, "the run never reached the step"
        time.sleep(0.2)
    ranked = [p for p in psutil.Process(launcher.pid).children(recursive=True) if p.environ().get("RANK") == "1"]
    (rank1,) = [p for p in ranked if p.ppid() not in {q.pid for q in ranked}]  # not its DataLoader worker
    rank1.send_signal(signal.SIGUSR1)
    stdout, stderr = launcher.communicate(timeout=900)
    return subprocess.CompletedProcess(command, launcher.returncode, stdout, stderr)


def test_looc_r50_in100_two_processes_stop_resume_evaluate_card_publish(imagenet100, tmp_path, loopback_hub_server):
    straight, stopped = tmp_path / "straight", tmp_path / "stopped"
    run(pretrain_command("looc_r50_in100", imagenet100, straight, *STEPS))
    done = summary(straight)
    assert done["world_size"] == 2 and done["steps"] == 3 and done["queues_agree"]
    assert sorted(p.name for p in (straight / "checkpoints").iterdir()) == ["step_00000003"]
    model = LooCModel.from_pretrained(straight / "model")
    assert model.config.image_size == 224 and model.config.backbone == "resnet50"

    # preempted: SIGUSR1 reaches one process; both stop at the same step boundary with one checkpoint
    halted = stop_one_process_after(pretrain_command("looc_r50_in100", imagenet100, stopped, *STEPS), stopped, 1)
    assert halted.returncode != 0 and f"exitcode  : {EXIT_STOPPED}" in halted.stderr, halted.stderr[-3000:]
    (checkpoint,) = (stopped / "checkpoints").iterdir()
    stop_step = int(checkpoint.name.removeprefix("step_"))
    assert 1 <= stop_step < 3
    run(pretrain_command("looc_r50_in100", imagenet100, stopped, *STEPS, "--resume", "latest"))
    expected, got = logged_losses(straight), logged_losses(stopped)
    for step in range(stop_step + 1, 4):
        assert got[step] == pytest.approx(expected[step], rel=1e-4, abs=1e-5), step
    final_a, final_b = (
        load_file(straight / "model" / "model.safetensors"),
        load_file(stopped / "model" / "model.safetensors"),
    )
    for key, value in final_a.items():
        torch.testing.assert_close(final_b[key], value, rtol=1e-4, atol=1e-5)

    # evaluated at 224 (the model's eval transform), the results in its card, a publish dry run on the loopback Hub
    evaluation = tmp_path / "eval"
    run([sys.executable, "-m", "looc_hub.cli.evaluate", "--model", str(straight / "model"), "--dataset",
         str(imagenet100), "--test_split", "validation", "--protocols", "knn", "linear_probe", "--spaces", "backbone",
         "invariant", "--output_dir", str(evaluation), "--batch_size", "20"])  # fmt: skip
    records = load_results(evaluation / "results.json").results
    assert {record.protocol for record in records} == {"knn", "linear_probe"}
    assert {record.space for record in records} == {"backbone", "invariant"}
    attach_results(straight / "model", evaluation / "results.json")
    card = (straight / "model" / "README.md").read_text()
    assert "model-index" in card and "linear" in card.lower()
    env_hub = ["--endpoint", loopback_hub_server.endpoint, "--dry-run"]
    dry = subprocess.run(
        [sys.executable, "-m", "looc_hub.cli.publish", str(straight / "model"), "looc-test/r50-in100", *env_hub],
        cwd=REPO, env={**os.environ, "HF_HUB_OFFLINE": "0", "HF_TOKEN": "hf_loopback"}, capture_output=True,
        text=True, timeout=300,
    )  # fmt: skip
    assert dry.returncode == 0, dry.stderr[-3000:]
    assert "Would upload to looc-test/r50-in100@main in one commit" in dry.stdout
    assert not loopback_hub_server.repo_dir("looc-test/r50-in100").exists()


def test_loocpp_r50_in100_two_processes_and_shuffle_bn_across_them(imagenet100, tmp_path):
    run(pretrain_command("loocpp_r50_in100", imagenet100, tmp_path / "run", "--max_steps", "2", "--eval_split", "null"))
    done = summary(tmp_path / "run")
    assert done["world_size"] == 2 and done["steps"] == 2 and done["queues_agree"]
    assert sorted(logged_losses(tmp_path / "run")) == [1, 2]

    run([*accelerate_cpu_launcher(2), str(REPO / "tests" / "shuffle_bn_probe.py"), "loocpp_r50_in100", str(tmp_path)])
    ranks = [json.loads((tmp_path / f"rank{rank}.json").read_text()) for rank in range(2)]
    assert [r["world_size"] for r in ranks] == [2, 2]
    for draw in range(len(ranks[0]["key_sub_batches"])):
        sub_batches = [r["key_sub_batches"][draw] for r in ranks]
        assert sorted(sub_batches[0] + sub_batches[1]) == list(range(8))  # every image once, over both processes
        assert [len(sub) for sub in sub_batches] == [4, 4]
        assert any(set(sub) - set(r["own"]) for sub, r in zip(sub_batches, ranks, strict=True)), draw
