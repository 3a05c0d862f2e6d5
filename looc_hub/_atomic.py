"""Atomic directory writes: a reader sees the old directory or the new one, never half of either."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

__all__ = ["atomic_directory", "replace_directory"]


@contextmanager
def atomic_directory(target: str | os.PathLike) -> Iterator[Path]:
    """Yield a fresh temporary directory beside `target`; on success it replaces `target`.

    Everything is written into the temporary directory first. Only after the body finishes is the old
    directory moved aside and the new one renamed into place (two renames on the same filesystem), then the
    old one deleted. A crash or exception before that leaves `target` untouched; the temporary directory is
    removed on exceptions (a hard kill leaves a `.tmp-*` sibling, never a damaged target).
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.tmp-", dir=target.parent))
    try:
        yield staging
        replace_directory(staging, target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def replace_directory(staging: Path, target: Path) -> None:
    """Make the complete `staging` directory become `target`, replacing any old one.

    The old directory is moved aside (never deleted) before the rename, and deleted only once the new one is
    in place: at every instant a complete copy exists on disk.
    """
    _fsync_tree(staging)
    retired = None
    if target.exists():
        retired = Path(tempfile.mkdtemp(prefix=f".{target.name}.old-", dir=target.parent))
        os.replace(target, retired / target.name)
    os.replace(staging, target)
    if retired is not None:
        shutil.rmtree(retired)


def _fsync_tree(root: Path) -> None:
    """Flush file contents to disk before the rename makes them visible."""
    for path in root.rglob("*"):
        if path.is_file():
            with open(path, "rb") as handle:
                os.fsync(handle.fileno())
