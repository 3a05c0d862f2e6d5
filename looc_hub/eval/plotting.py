"""Shared plotting plumbing (evaluation's figures, the training curves, the reproduction's figure): matplotlib is
imported lazily (an optional dependency) and headless.
"""

from __future__ import annotations

from pathlib import Path
from types import ModuleType
from typing import Any

__all__ = ["pyplot", "save_figure"]


def pyplot() -> ModuleType:
    """matplotlib.pyplot on the non-interactive Agg backend (`pip install looc-hub[eval]`)."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        from matplotlib import pyplot as plt
    except ImportError as error:
        raise ImportError(
            f'Drawing this plot needs matplotlib, an optional dependency ({error}): pip install "looc-hub[eval]"'
        ) from error
    return plt


def save_figure(figure: Any, path: str | Path, dpi: int = 120) -> Path:
    """Write `figure` as a PNG (creating folders) and free it."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=dpi)
    pyplot().close(figure)
    return path
