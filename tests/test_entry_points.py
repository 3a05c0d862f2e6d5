"""One place for commands: the console scripts (`looc_hub/cli/`), run as modules under `accelerate launch -m`.

`training/pretrain.py` stays for `accelerate launch training/pretrain.py`, the documented entry point of a clone
(`tests/test_pretrain.py` runs it); every other command has no second script, and what the docs and scripts name
to run exists.
"""

from __future__ import annotations

import re
import subprocess
import sys

if sys.version_info >= (3, 11):
    import tomllib
else:  # the dev extra installs tomli there
    import tomli as tomllib

from tests.pretrain_runs import REPO

READ_BY_USERS = sorted(
    [
        REPO / "README.md",
        REPO / "CONTRIBUTING.md",
        *(REPO / "docs").glob("*.md"),
        *(REPO / "scripts").iterdir(),
        *(REPO / "looc_hub" / "recipes").rglob("*.yaml"),
    ]
)
RUNNABLE = re.compile(r"(?<![\w/])(?:training|scripts)/\w+\.(?:py|sh)\b")
TRAINING_SCRIPT = re.compile(r"(?<![\w/])training/\w+\.py")  # not looc_hub/training/


def named_runnables(text: str) -> set[str]:
    return set(RUNNABLE.findall(text))


def test_training_holds_only_the_pretraining_entry_point():
    assert sorted(path.name for path in (REPO / "training").iterdir() if path.suffix == ".py") == ["pretrain.py"]


def test_every_script_the_docs_and_scripts_name_exists():
    named = {
        path.relative_to(REPO).as_posix(): sorted(
            name for name in named_runnables(path.read_text()) if not (REPO / name).is_file()
        )
        for path in READ_BY_USERS
        if path.is_file()
    }
    assert not {path: missing for path, missing in named.items() if missing}, "scripts named that do not exist"
    assert named_runnables("`python training/evaluate.py`, scripts/gpu_check.sh, looc_hub/training/loop.py") == {
        "training/evaluate.py",
        "scripts/gpu_check.sh",
    }


def test_scripts_launch_training_py_only_under_accelerate():
    """A script runs a command as its module (`python -m looc_hub.cli.x`); `training/pretrain.py` is printed only as
    the `accelerate launch` line a reader copies."""
    found = [
        f"{path.name}:{number}"
        for path in sorted((REPO / "scripts").iterdir())
        if path.is_file()
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if TRAINING_SCRIPT.search(line) and "accelerate launch" not in line
    ]
    assert not found, f"scripts that run training/*.py rather than the command's module: {found}"


def test_fine_tuning_runs_as_a_module_as_accelerate_launch_m_does():
    """The other commands' modules: `tests/test_commands.py`."""
    done = subprocess.run(
        [sys.executable, "-m", "looc_hub.cli.finetune", "--help"], cwd=REPO, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0 and "usage: looc-finetune" in done.stdout, done.stderr


def test_the_readme_lists_every_command_pyproject_declares():
    text = " ".join((REPO / "README.md").read_text(encoding="utf-8").split())
    listed = re.search(r"The commands \(([^)]*)\) come with the package", text)
    assert listed, "README.md: the sentence 'The commands (...) come with the package' is gone"
    declared = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["scripts"]
    assert re.findall(r"`(looc-[\w-]+)`", listed.group(1)) == list(declared)
