"""A pretraining run is safe to start over, resume and lose (issue 21, problems 4, 6, 7, 10): `--overwrite` deletes
only what a run wrote, a resume from an earlier checkpoint ends the later trajectory, a resume that would change the
trajectory is refused, and a diverging run stops with an error instead of saving a NaN model.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
import torch
from accelerate import Accelerator

from looc_hub.cli.pretrain import must_match, run_record
from looc_hub.training import CheckpointManager, PretrainConfig
from looc_hub.training.divergence import DivergenceGuard, TrainingDivergedError
from looc_hub.training.run_dir import RUN_RECORD, mark_trained, prepare_output_dir
from tests.pretrain_runs import DEMO_RECIPE, REPO, SCRIPT, TINY, logged_losses, run_pretrain


@pytest.fixture
def accelerator() -> Accelerator:
    accelerator = Accelerator(cpu=True)
    accelerator.prepare(torch.nn.Linear(3, 2))
    return accelerator


def _pretrain(output, *args: str) -> subprocess.CompletedProcess:
    """A run that may fail: its return code and output, for the tests that expect it to."""
    command = [sys.executable, str(SCRIPT), "--config", DEMO_RECIPE, *TINY, "--output_dir", str(output), *args]
    env = {"OMP_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1"}
    return subprocess.run(command, cwd=REPO, env={**os.environ, **env}, capture_output=True, text=True, timeout=600)


# Problem 4: --overwrite removes only what a run wrote ----------------------------------------------------------


def test_overwrite_keeps_a_users_own_model_and_logs_folders(tmp_path):
    project = tmp_path / "project"
    (project / "model").mkdir(parents=True)
    (project / "model" / "__init__.py").write_text("# the user's code\n")
    (project / "logs").mkdir()
    (project / "logs" / "notes.txt").write_text("mine")
    result = _pretrain(project, "--max_steps", "1", "--overwrite", "true")
    assert result.returncode != 0
    assert "logs (the folder has no .looc-run.json); model (the folder has no" in result.stderr
    assert "is not an output of a looc-hub run" in result.stderr and "Traceback" not in result.stderr
    assert (project / "model" / "__init__.py").read_text() == "# the user's code\n"
    assert (project / "logs" / "notes.txt").read_text() == "mine"


def test_overwrite_checks_a_recorded_output_before_deleting_it(tmp_path):
    prepare_output_dir(tmp_path, resume=None, overwrite=False)
    for name in ("checkpoints/step_00000001", "logs", "model"):
        (tmp_path / name).mkdir(parents=True)
    (tmp_path / "logs" / "metrics.jsonl").write_text('{"step": 1}\n')
    mark_trained(tmp_path)
    (tmp_path / "model" / "train.py").write_text("# added by hand after the run\n")
    expected = r"model \(it holds files no run writes: \['model/train.py'\]\) is not an output"
    with pytest.raises(FileExistsError, match=expected):
        prepare_output_dir(tmp_path, resume=None, overwrite=True)
    assert (tmp_path / "model" / "train.py").is_file() and (tmp_path / "logs" / "metrics.jsonl").is_file()

    (tmp_path / "model" / "train.py").unlink()
    (tmp_path / "notes.txt").write_text("mine")
    prepare_output_dir(tmp_path, resume=None, overwrite=True)
    assert sorted(p.name for p in tmp_path.iterdir()) == [RUN_RECORD, "notes.txt"]


def test_a_start_that_failed_before_its_first_step_blocks_nothing(tmp_path):
    prepare_output_dir(tmp_path, resume=None, overwrite=False)
    (tmp_path / "logs").mkdir()
    (tmp_path / "logs" / "config.json").write_text("{}")  # what a tracker writes at start
    prepare_output_dir(tmp_path, resume=None, overwrite=False)  # the same command again: no --overwrite needed
    assert not (tmp_path / "logs").exists()
    (tmp_path / "logs").mkdir()
    (tmp_path / "logs" / "metrics.jsonl").write_text('{"step": 1, "loss": 2.5}\n')
    mark_trained(tmp_path)  # a step was taken: now it is a run
    with pytest.raises(FileExistsError, match="is not empty"):
        prepare_output_dir(tmp_path, resume=None, overwrite=False)


# Problem 6: resuming an earlier checkpoint ends the later trajectory ------------------------------------------


def test_resuming_an_earlier_checkpoint_sets_the_later_trajectory_aside(tmp_path):
    output = tmp_path / "run"
    run_pretrain(output, "--max_steps", "5", "--checkpoint_every_steps", "1", "--keep_checkpoints", "5")
    step_2 = output / "checkpoints" / "step_00000002"
    result = run_pretrain(output, "--max_steps", "3", "--checkpoint_every_steps", "1", "--resume", str(step_2))
    assert "set aside in" in result.stderr
    aside = output / "abandoned" / "from_step_00000002"
    assert sorted(p.name for p in (aside / "checkpoints").iterdir()) == [f"step_0000000{s}" for s in (3, 4, 5)]
    assert [json.loads(line)["step"] for line in (aside / "metrics.jsonl").read_text().splitlines()] == [3, 4, 5]
    assert json.loads((aside / "summary.json").read_text())["steps"] == 5  # the abandoned run's model, kept aside
    assert sorted(logged_losses(output)) == [1, 2, 3]

    run_pretrain(output, "--max_steps", "4", "--checkpoint_every_steps", "1", "--resume", "latest")
    assert sorted(logged_losses(output)) == [1, 2, 3, 4]  # continued step 3 of this trajectory, not step 5
    assert json.loads((output / "summary.json").read_text())["steps"] == 4

    finished = run_pretrain(output, "--max_steps", "4", "--checkpoint_every_steps", "1", "--resume", "latest")
    assert "Nothing to do: the run finished at step 4" in finished.stdout
    assert "pretraining finished" not in finished.stdout  # not measured and written again


# Problem 7: a resume may not change the trajectory ------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "value", "shown"),
    [
        ("crop_scale", [0.5, 1.0], "crop_scale: checkpoint [0.2, 1.0], this run [0.5, 1.0]"),
        ("bn_groups", 2, "bn_groups: checkpoint 4, this run 2"),
        ("sync_bn", True, "sync_bn: checkpoint False, this run True"),
        ("base_lr", 0.1, "base_lr: checkpoint 0.03, this run 0.1"),
        ("weight_decay", 0.0, "weight_decay: checkpoint 0.0001, this run 0.0"),
        ("key_momentum_schedule", "cosine", "key_momentum_schedule: checkpoint 'constant', this run 'cosine'"),
        ("mixed_precision", "bf16", "mixed_precision: checkpoint None, this run 'bf16'"),
        ("warmup_epochs", 1.0, "warmup_epochs: checkpoint 0.0, this run 1.0"),
        ("sgd_momentum", 0.8, "sgd_momentum: checkpoint 0.9, this run 0.8"),
    ],
)
def test_a_resume_that_changes_the_trajectory_is_refused(tmp_path, accelerator, field, value, shown):
    first = PretrainConfig(max_steps=5)
    CheckpointManager(tmp_path, 1, run_config=run_record(first), must_match=must_match()).save(accelerator, 5)
    changed = PretrainConfig(**{**first.to_dict(), field: value})
    manager = CheckpointManager(tmp_path, 1, run_config=run_record(changed), must_match=must_match())
    with pytest.raises(ValueError, match="trained with other settings") as error:
        manager.resolve("latest")
    assert shown in str(error.value)


def test_a_resume_may_change_length_logging_and_the_dataset_spelling(tmp_path, accelerator, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "data" / "good").mkdir(parents=True)
    first = PretrainConfig(dataset="./data/good", max_steps=5)
    checkpoints = tmp_path / "checkpoints"
    CheckpointManager(checkpoints, 1, run_config=run_record(first), must_match=must_match()).save(accelerator, 5)
    same = PretrainConfig(
        dataset=str(tmp_path / "data" / "good"), max_steps=9, log_every_steps=1, num_workers=0, knn_k=5
    )
    manager = CheckpointManager(checkpoints, 1, run_config=run_record(same), must_match=must_match())
    assert manager.resolve("latest").name == "step_00000005"


# Problem 10: a diverging run stops ----------------------------------------------------------------------------


def test_a_diverging_run_stops_with_an_error_and_writes_no_model(tmp_path):
    output = tmp_path / "run"
    result = _pretrain(output, "--max_steps", "4", "--checkpoint_every_steps", "1", "--base_lr", "1.0e+30")
    assert result.returncode == 1
    # Step 1's update (lr 6e28) leaves huge but finite weights, saved; step 2's loss is NaN.
    assert "Training diverged: the loss became NaN or infinite at step 2" in result.stderr
    assert f"the last good checkpoint is {output / 'checkpoints' / 'step_00000001'}" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (output / "model").exists() and not (output / "summary.json").exists()
    assert [p.name for p in (output / "checkpoints").iterdir()] == ["step_00000001"]  # nothing after it


def test_the_divergence_error_names_the_step_and_the_last_good_checkpoint(tmp_path, accelerator):
    manager = CheckpointManager(tmp_path, 2)
    good = manager.save(accelerator, 7)
    model = torch.nn.Linear(3, 2)
    guard = DivergenceGuard(torch.device("cpu"))
    guard.observe(torch.tensor(2.5), 8)
    guard.check(accelerator, model, 8, manager.latest())  # finite: nothing happens
    guard.observe(torch.tensor(float("nan")), 9)
    guard.observe(torch.tensor(float("inf")), 10)  # the first bad step is the one named
    with pytest.raises(TrainingDivergedError, match=rf"at step 9\. .*the last good checkpoint is {good}"):
        guard.check(accelerator, model, 10, manager.latest())

    with torch.no_grad():
        model.weight[0, 0] = float("inf")
    with pytest.raises(TrainingDivergedError, match="weights became NaN or infinite by step 3"):
        DivergenceGuard(torch.device("cpu")).check(accelerator, model, 3, None)
