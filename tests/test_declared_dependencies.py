"""Every third-party package the code imports is declared in pyproject.toml, and a base install runs the commands.

Read from the source and the installed metadata: a module imported at module level by the package or by a console
script's module needs a base dependency (scipy by `eval/few_shot.py`, pyarrow by `data/load.py` were imported but
undeclared once); an import in a function or an optional-import `try` block may come from an extra.
"""

from __future__ import annotations

import ast
import json
import re
import subprocess
import sys
from functools import cache
from importlib.metadata import packages_distributions

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

if sys.version_info >= (3, 11):
    import tomllib
else:  # the dev extra installs tomli there
    import tomli as tomllib

from tests.pretrain_runs import REPO
from tests.test_import_layers import PACKAGE, module_name, plain_imports

PROJECT = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
BASE = {canonicalize_name(Requirement(line).name) for line in PROJECT["dependencies"]}
EXTRAS = {
    canonicalize_name(Requirement(line).name) for lines in PROJECT["optional-dependencies"].values() for line in lines
}
SELF = canonicalize_name(PROJECT["name"])


def third_party(nodes: list[ast.stmt]) -> set[str]:
    """The top-level names of the absolute imports among `nodes` that are neither the standard library nor ours."""
    names = set()
    for node in nodes:
        if isinstance(node, ast.Import):
            names |= {alias.name.partition(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.partition(".")[0])
    return {name for name in names if name not in sys.stdlib_module_names and name != "looc_hub"}


@cache
def installed_modules() -> dict[str, list[str]]:
    return packages_distributions()


def distributions(module: str) -> set[str]:
    """The distributions providing `module` here; one not installed is matched by its name (faiss: faiss-cpu)."""
    installed = installed_modules().get(module)
    if installed:
        return {canonicalize_name(name) for name in installed}
    return {name for name in BASE | EXTRAS if name.startswith(canonicalize_name(module))}


def modules_the_commands_load() -> list[str]:
    """looc_hub's modules in sys.modules after importing the package and every console script's module."""
    targets = ["looc_hub"] + [entry.partition(":")[0] for entry in PROJECT["scripts"].values()]
    code = f"import importlib, json, sys; [importlib.import_module(m) for m in {targets!r}]; "
    code += "print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] == 'looc_hub')))"
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout)


def test_every_imported_package_is_declared_as_a_dependency_or_an_extra():
    undeclared = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        every_import = [node for node in ast.walk(ast.parse(path.read_text())) if isinstance(node, ast.stmt)]
        for module in third_party(every_import):
            if not distributions(module) & (BASE | EXTRAS | {SELF}):
                undeclared.setdefault(module, []).append(module_name(path))
    assert not undeclared, f"imported but not in pyproject.toml's dependencies or extras: {undeclared}"


def test_the_commands_module_level_imports_are_base_dependencies():
    loaded = set(modules_the_commands_load())
    assert {"looc_hub.eval.few_shot", "looc_hub.data.load", "looc_hub.cli.pretrain"} <= loaded  # the check sees them
    needs_extra = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        if module_name(path) not in loaded:
            continue
        for module in third_party(plain_imports(ast.parse(path.read_text()))):
            if not distributions(module) & BASE:
                needs_extra.setdefault(module, []).append(module_name(path))
    assert not needs_extra, f"a base install could not import these (not in [project] dependencies): {needs_extra}"


def makefile_value(name: str) -> str:
    """A `NAME ?= value` variable of the Makefile, continuation lines joined."""
    text = (REPO / "Makefile").read_text().replace("\\\n", " ")
    (value,) = re.findall(rf"^{name} \?= (.+)$", text, flags=re.MULTILINE)
    return value.strip()


def test_make_test_oldest_pins_the_lowest_declared_torch_and_names_existing_tests():
    declared = {canonicalize_name(Requirement(line).name): Requirement(line) for line in PROJECT["dependencies"]}
    for package, variable in (("torch", "OLDEST_TORCH"), ("torchvision", "OLDEST_TORCHVISION")):
        pinned = Version(makefile_value(variable))
        (bound,) = [spec for spec in declared[package].specifier if spec.operator == ">="]
        assert pinned in declared[package].specifier and pinned.release[:2] == Version(bound.version).release[:2], (
            f"pyproject.toml's {declared[package]} and the Makefile's {variable} = {pinned} differ: change both"
        )
    patterns = makefile_value("OLDEST_TESTS").split()
    assert all(list(REPO.glob(pattern)) for pattern in patterns), patterns
