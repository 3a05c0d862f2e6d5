"""Build-once cache for the embedded datasets: `save_to_disk` folders written atomically.

A dataset is built into a temporary folder beside its final place and renamed into place only when complete,
so an interrupted build never leaves a half-written dataset, and processes that build at the same time
(e.g. every rank of `accelerate launch`) all end up loading the same single copy. Unlike
`looc_hub._atomic.atomic_directory`, a finished copy is never replaced: another process may be reading it.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

from datasets import DatasetDict, load_from_disk

CACHE_ENV_VAR = "LOOC_HUB_CACHE"


def default_cache_dir() -> Path:
    """`$LOOC_HUB_CACHE`, else `~/.cache/looc_hub`."""
    return Path(os.environ.get(CACHE_ENV_VAR) or Path.home() / ".cache" / "looc_hub").expanduser()


def load_or_build(
    key: str, build: Callable[[], DatasetDict], cache_dir: str | os.PathLike | None = None
) -> DatasetDict:
    """Load the dataset cached under `key`, building and saving it first if it is not there.

    `key` must change whenever the built content would (source package version, recipe, size): a cached
    folder is never rebuilt or checked against its source.
    """
    root = Path(cache_dir).expanduser() if cache_dir is not None else default_cache_dir()
    target = root / "datasets" / key
    if not target.is_dir():
        target.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{key}.", dir=target.parent))
        try:
            build().save_to_disk(staging)
            try:
                staging.rename(target)
            except OSError:
                if not target.is_dir():
                    raise  # a real failure, not another process that finished the same build first
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    return load_from_disk(target)
