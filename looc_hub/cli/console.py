"""Console output of the commands: progress through Accelerate's logger (main process only, with levels), results
as a plain table on stdout (what a run measured, printed whatever the log level)."""

from __future__ import annotations

import logging
import sys
from collections.abc import Sequence
from typing import TextIO

__all__ = ["format_table", "setup_logging"]


class _CurrentStderr(logging.StreamHandler):
    """A stream handler writing to whatever `sys.stderr` is at the time (pytest and notebooks replace it)."""

    def __init__(self) -> None:
        super().__init__()

    @property
    def stream(self) -> TextIO:
        return sys.stderr

    @stream.setter
    def stream(self, _value: TextIO) -> None:  # StreamHandler.__init__ assigns it
        pass


def setup_logging(level: str) -> None:
    """Show looc_hub's log records at `level` and above on stderr, with time and level (once per process)."""
    logger = logging.getLogger("looc_hub")
    logger.setLevel(level.upper())
    if not any(isinstance(handler, _CurrentStderr) for handler in logger.handlers):
        handler = _CurrentStderr()
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s", datefmt="%H:%M:%S"))
        logger.addHandler(handler)
        logger.propagate = False  # a root handler (basicConfig) would print every line twice


def format_table(header: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """Columns aligned: the first left (names), the others right (numbers)."""
    grid = [[str(cell) for cell in header], *([str(cell) for cell in row] for row in rows)]
    widths = [max(len(row[index]) for row in grid) for index in range(len(header))]
    lines = [
        "  ".join(
            cell.ljust(width) if index == 0 else cell.rjust(width)
            for index, (cell, width) in enumerate(zip(row, widths, strict=True))
        )
        for row in grid
    ]
    return "\n".join(line.rstrip() for line in lines)
