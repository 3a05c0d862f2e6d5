"""The shipped SLURM template: valid bash, the signal and requeue lines, and shipped beside the Accelerate configs."""

from __future__ import annotations

import subprocess
import sys

if sys.version_info >= (3, 11):
    import tomllib
else:  # the dev extra installs tomli there
    import tomli as tomllib

from looc_hub.recipes import RECIPE_DIR, accelerate_config_path
from looc_hub.training.preemption import EXIT_STOPPED
from tests.pretrain_runs import REPO

TEMPLATE = RECIPE_DIR / "accelerate" / "slurm_multi_node.sbatch"


def test_the_template_is_valid_bash_with_the_signal_and_requeue_lines():
    done = subprocess.run(["bash", "-n", str(TEMPLATE)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    text = TEMPLATE.read_text()
    for line in ("#SBATCH --signal=USR1@120", "#SBATCH --requeue", 'scontrol requeue "$SLURM_JOB_ID"'):
        assert line in text
    assert "trap '' USR1; exec accelerate launch" in text and "--resume latest" in text
    assert f"(code {EXIT_STOPPED})" in text
    assert TEMPLATE.parent == accelerate_config_path("multi_node_4x8").parent  # beside the multi-node config


def test_the_template_and_the_imagenet100_list_are_package_data():
    package_data = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]
    assert {"recipes/accelerate/*.sbatch", "data/imagenet100.txt"} <= set(package_data["looc_hub"])
