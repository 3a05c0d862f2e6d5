"""The repository's `scripts/` as modules, for the tests that call their functions (they are no package)."""

from __future__ import annotations

import importlib.util
import sys
from types import ModuleType

from tests.pretrain_runs import REPO


def load_script(name: str) -> ModuleType:
    """`scripts/<name>.py` as module `name` (registered, so that its dataclasses find their module)."""
    spec = importlib.util.spec_from_file_location(name, REPO / "scripts" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module
