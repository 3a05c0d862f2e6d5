"""One quality gate: CI, `make check` and pre-commit run the same checks, and the tests are the README's command."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import yaml

if sys.version_info >= (3, 11):
    import tomllib
else:  # the dev extra installs tomli there
    import tomli as tomllib

REPO = Path(__file__).resolve().parents[1]


def make_commands(target: str) -> list[str]:
    """The commands `make <target>` would run, variables expanded (make -n runs nothing).

    Run as a fresh make, not a sub-make of the `make check` that may be running these tests (a sub-make would
    print "Entering directory" lines and inherit the parent's flags).
    """
    env = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL")}
    done = subprocess.run(
        ["make", "--no-print-directory", "-n", target], cwd=REPO, env=env, capture_output=True, text=True, check=True
    )
    return done.stdout.splitlines()


def test_ci_sets_up_then_runs_the_quality_gate_and_the_readmes_tests():
    ci = (REPO / ".ci" / "run").read_text().splitlines()
    assert ci[-1] == "make setup check"
    setup_and_tests = (REPO / "README.md").read_text().splitlines()[4]
    assert setup_and_tests == "Set up and run the tests: `bash scripts/setup.sh && .venv/bin/python -m pytest -q`"
    assert make_commands("setup") == ["bash scripts/setup.sh"]
    assert make_commands("test") == [".venv/bin/python -m pytest -q"]
    assert make_commands("check") == make_commands("quality") + make_commands("test")


def test_pre_commit_runs_every_quality_check():
    hooks = yaml.safe_load((REPO / ".pre-commit-config.yaml").read_text())["repos"][0]["hooks"]
    entries = [hook["entry"].replace(" --force-exclude", "") for hook in hooks]
    quality = [c.removesuffix(" .").replace("format --check", "format") for c in make_commands("quality")]
    assert sorted(entries) == sorted(quality)
    assert all(hook["language"] == "system" for hook in hooks)  # the virtualenv's tools: works offline


def test_ruff_enforces_a_complexity_limit():
    lint = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["ruff"]["lint"]
    assert "C901" in lint["select"] and lint["mccabe"]["max-complexity"] <= 12
