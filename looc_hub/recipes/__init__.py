"""The shipped recipes: pretraining configs (`<name>.yaml`) and Accelerate launch configs (`accelerate/<name>.yaml`).

They are package data, so a pip-installed looc-hub finds them by name (`--config looc_r10t_openmoji32`) exactly as
a clone does; a path to any other YAML file works too. One copy of each file: the zoo, the cards and the docs all
point here.
"""

from __future__ import annotations

import difflib
import os
from pathlib import Path

__all__ = [
    "RECIPE_DIR",
    "accelerate_config_path",
    "list_accelerate_configs",
    "list_recipes",
    "recipe_path",
    "repo_relative_path",
]

RECIPE_DIR = Path(__file__).resolve().parent
_ACCELERATE_DIR = RECIPE_DIR / "accelerate"


def list_recipes() -> list[str]:
    """Names of the shipped pretraining recipes (`--config NAME`)."""
    return sorted(path.stem for path in RECIPE_DIR.glob("*.yaml"))


def list_accelerate_configs() -> list[str]:
    """Names of the shipped Accelerate configs (`accelerate launch --config_file $(looc-recipes NAME)`)."""
    return sorted(path.stem for path in _ACCELERATE_DIR.glob("*.yaml"))


def recipe_path(name_or_path: str | os.PathLike) -> Path:
    """A pretraining recipe: an existing file as given, else a shipped recipe by name (with or without `.yaml`)."""
    return _resolve(name_or_path, RECIPE_DIR, list_recipes(), "pretraining recipe")


def accelerate_config_path(name_or_path: str | os.PathLike) -> Path:
    """An Accelerate config: an existing file as given, else a shipped one by name (with or without `.yaml`)."""
    return _resolve(name_or_path, _ACCELERATE_DIR, list_accelerate_configs(), "Accelerate config")


def repo_relative_path(path: Path) -> str:
    """`path` of a shipped file relative to the repository root (`looc_hub/recipes/...`), for links to the source."""
    return path.resolve().relative_to(RECIPE_DIR.parents[1]).as_posix()


def _resolve(name_or_path: str | os.PathLike, directory: Path, names: list[str], kind: str) -> Path:
    given = Path(name_or_path)
    if given.is_file():
        return given
    name = given.name.removesuffix(".yaml")
    if str(given) in (name, f"{name}.yaml") and name in names:  # a bare name, not a missing path
        return directory / f"{name}.yaml"
    close = difflib.get_close_matches(name, names, n=3, cutoff=0.5)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    raise ValueError(
        f"Unknown {kind} {str(name_or_path)!r}: no such file and no shipped {kind} of that name{hint}; shipped: {names}"
    )
