"""Trackers, logs and flags of `looc-pretrain` as Accelerate's and Hugging Face's docs spell them (issue 18, §4-5).

TensorBoard is installed in the dev environment (the `train` extra), so these run with a real tracker, not only
with a missing one.
"""

from __future__ import annotations

import logging
import os
import re
import subprocess
import sys

import pytest
from accelerate.tracking import get_available_trackers
from tqdm.auto import tqdm

from looc_hub.cli.console import setup_logging
from looc_hub.training import PretrainConfig
from looc_hub.training.progress import logs_through_bar
from tests.pretrain_runs import DEMO_RECIPE, REPO, SCRIPT, TINY, run_pretrain

INSTALLED = sorted(str(tracker) for tracker in get_available_trackers())
OFFLINE = {"WANDB_MODE": "offline", "CLEARML_OFFLINE_MODE": "1", "COMET_MODE": "offline", "SWANLAB_MODE": "local"}


def test_tensorboard_is_installed_here():
    assert "tensorboard" in INSTALLED  # otherwise the tests below would not test a real tracker


@pytest.mark.parametrize("tracker", INSTALLED)
def test_every_installed_tracker_logs_a_run(tmp_path, tracker, monkeypatch):
    monkeypatch.chdir(tmp_path)  # trackers that write beside the working directory (wandb/, mlruns/) write here
    output = tmp_path / "run"
    run_pretrain(output, "--max_steps", "2", "--report_to", f"[jsonl, {tracker}]", env=OFFLINE)
    assert len((output / "logs" / "metrics.jsonl").read_text().splitlines()) == 2
    if tracker == "tensorboard":
        assert list((output / "logs").rglob("events.out.tfevents.*"))


def test_report_to_as_hugging_face_spells_it():
    assert PretrainConfig.from_args(["--report_to", "tensorboard"]).report_to == ["tensorboard"]
    assert PretrainConfig.from_args(["--report_to", "none"]).report_to == []
    assert PretrainConfig(report_to="jsonl").report_to == ["jsonl"]
    assert PretrainConfig.from_args(["--report_to", "all"]).report_to == ["jsonl", *INSTALLED]


def test_mixed_precision_no_as_accelerate_spells_it(tmp_path):
    assert PretrainConfig.from_args(["--mixed_precision", "no"]).mixed_precision == "no"
    recipe = tmp_path / "recipe.yaml"
    recipe.write_text("mixed_precision: no\n")  # YAML reads `no` as false
    assert PretrainConfig.from_file(recipe).mixed_precision == "no"
    with pytest.raises(TypeError, match="mixed_precision must be str | None, got True"):
        PretrainConfig(mixed_precision=True)


def test_a_start_that_fails_before_the_first_step_can_run_again(tmp_path):
    output = tmp_path / "run"
    command = [sys.executable, str(SCRIPT), "--config", DEMO_RECIPE, *TINY, "--output_dir", str(output)]
    command += ["--max_steps", "2", "--report_to", "[jsonl, tensorboard]", "--eval_split", "no_such_split"]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    for _ in range(2):  # fails after the trackers started (the kNN split is loaded then), twice the same way
        result = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, timeout=600)
        assert result.returncode != 0
        assert "no_such_split" in result.stderr and "is not empty" not in result.stderr


def test_log_lines_print_on_lines_of_their_own_under_the_progress_bar(capsys):
    setup_logging("info")
    logger = logging.getLogger("looc_hub.training.loop")
    with logs_through_bar(), tqdm(total=3, desc="pretrain", file=sys.stderr, mininterval=0) as bar:
        bar.update(1)
        bar.set_postfix(loss="2.391")
        logger.info("step 1: kNN top-1 invariant: 12.5")
        bar.update(1)
    err = capsys.readouterr().err
    assert "step 1: kNN top-1 invariant: 12.5" in err
    assert not re.search(r"\]\d\d:\d\d:\d\d INFO", err), f"a log line glued to the bar's line: {err!r}"
    lines = re.split(r"[\r\n]", err)
    assert any(re.fullmatch(r"\d\d:\d\d:\d\d INFO step 1: kNN top-1 invariant: 12.5", line) for line in lines)


def test_tracker_config_values_are_scalars():
    from looc_hub.training.tracking import scalar_config

    values = scalar_config(PretrainConfig().to_dict())
    assert all(isinstance(value, int | float | str | bool) for value in values.values())
    assert values["crop_scale"] == "[0.2, 1.0]" and values["max_steps"] == "null"
