"""Atomic writes of a directory or a single file: a reader sees the old one or the new one, never half of either.

Replacing a directory deletes what it held, so `atomic_directory` first checks that the target holds nothing the
caller did not write (its `foreign` function lists such files): a user's `.git/`, sources or notes are never
deleted unless `overwrite=True` is asked for.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

__all__ = [
    "FileExistsNotOursError",
    "atomic_directory",
    "atomic_file",
    "interrupted_save_copy",
    "leftover_temporary_files",
    "recover_interrupted_save",
    "replace_directory",
]

logger = logging.getLogger(__name__)


class FileExistsNotOursError(FileExistsError):
    """The target of a save holds files that looc-hub did not write; they are never deleted silently."""


def _every_entry(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir())


@contextmanager
def atomic_directory(
    target: str | os.PathLike,
    *,
    foreign: Callable[[Path], list[str]] = _every_entry,
    overwrite: bool = False,
) -> Iterator[Path]:
    """Yield a fresh temporary directory beside `target`; on success it replaces `target`.

    Everything is written into the temporary directory first. Only after the body finishes is the old
    directory moved aside and the new one renamed into place (two renames on the same filesystem), then the
    old one deleted. A crash or exception before that leaves `target` untouched; the temporary directory is
    removed on exceptions (a hard kill leaves a `.tmp-*` sibling, never a damaged target).

    Args:
        foreign: lists the entries of an existing `target` directory that the caller did not write (default:
            all of them, so only an empty directory is replaced).
        overwrite: replace `target` whatever it holds (a file, or a folder with foreign files).

    Raises:
        FileExistsNotOursError: `target` is a file, or holds foreign files, and `overwrite` is False.
        ValueError: `target` is the current directory or one of its parents.
    """
    target = Path(target).expanduser().absolute()
    recover_interrupted_save(target)
    target = check_target(target, foreign=foreign, overwrite=overwrite)
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=_hidden_prefix(target, "tmp"), dir=target.parent))
    try:
        yield staging
        replace_directory(staging, target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


@contextmanager
def atomic_file(target: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside `target`; when the body has written it, it is flushed and renamed over `target`.

    The body writes the file however it likes (text, `safetensors.save_file`, `torch.export.save`) and may check
    it before the rename; an exception (a failed check included) deletes it and leaves `target` untouched. The
    temporary name keeps `target`'s suffix, since some writers refuse or warn about another (`.pt2`).
    """
    path = Path(target)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, name = tempfile.mkstemp(prefix=_hidden_prefix(path, "tmp", path.stem), suffix=path.suffix, dir=path.parent)
    os.close(handle)
    staging = Path(name)
    try:
        yield staging
        _finish_file(staging, _current_umask())
        os.replace(staging, path)
    except BaseException:
        staging.unlink(missing_ok=True)
        raise


def leftover_temporary_files(folder: str | os.PathLike) -> list[Path]:
    """The temporary files that `atomic_file` calls killed before their rename left in `folder` (hidden and named
    after their target, `_hidden_prefix`): never a finished file, so a resumed writer removes them losing nothing."""
    return sorted(path for path in Path(folder).iterdir() if path.is_file() and _TEMPORARY_FILE.fullmatch(path.name))


def check_target(
    target: str | os.PathLike, *, foreign: Callable[[Path], list[str]] = _every_entry, overwrite: bool = False
) -> Path:
    """The absolute `target` after checking that replacing it loses nothing the caller did not write."""
    path = Path(target).expanduser().absolute()
    if Path.cwd().resolve().is_relative_to(path.resolve()):
        raise ValueError(
            f"Cannot save into {os.fspath(target)!r}: it is the current directory ({Path.cwd()}) or one of its "
            "parents, which a save replaces as a whole; save into a new subfolder, e.g. 'model'"
        )
    if overwrite or not (path.exists() or path.is_symlink()):
        return path
    if not path.is_dir() or path.is_symlink():
        raise FileExistsNotOursError(
            f"{path} exists and is not a folder; a save writes a folder there. Remove it or pass overwrite=True"
        )
    others = foreign(path)
    if others:
        shown = others[:10] + ([f"... ({len(others) - 10} more)"] if len(others) > 10 else [])
        raise FileExistsNotOursError(
            f"{path} holds files looc-hub did not write: {shown}. A save replaces the whole folder, so it "
            "only replaces an empty folder or a previous save; choose another folder or pass overwrite=True"
        )
    return path


def replace_directory(staging: Path, target: Path) -> None:
    """Make the complete `staging` directory become `target`, replacing any old one.

    The old directory is moved aside (never deleted) before the rename, and deleted only once the new one is
    in place: at every instant a complete copy exists on disk. The new tree gets ordinary permissions (what
    the umask gives a new file), not the owner-only ones of a temporary directory.
    """
    _finish_tree(staging)
    retired = None
    if target.exists() or target.is_symlink():
        retired = Path(tempfile.mkdtemp(prefix=_hidden_prefix(target, "old"), dir=target.parent))
        os.replace(target, retired / target.name)
    os.replace(staging, target)
    if retired is not None:
        shutil.rmtree(retired)


def recover_interrupted_save(target: Path) -> None:
    """Clean up after a save into `target` that was killed (issue 21): its staging copies are removed, and a
    previous copy that was moved aside is put back if the kill came between the two renames (no `target` left)
    or removed if the new copy made it into place."""
    if not target.parent.is_dir():
        return
    for leftover in sorted(target.parent.glob(f"{_hidden_prefix(target, 'tmp')}*")):
        if leftover.is_dir() and not leftover.is_symlink():
            shutil.rmtree(leftover)
    for retired in sorted(target.parent.glob(f"{_hidden_prefix(target, 'old')}*")):
        if not retired.is_dir() or retired.is_symlink():
            continue
        old_copy = retired / target.name
        if old_copy.exists() and not (target.exists() or target.is_symlink()):
            os.replace(old_copy, target)
            logger.warning(f"{target}: a save was interrupted between its two renames; the previous copy is back")
        shutil.rmtree(retired)


def interrupted_save_copy(target: str | os.PathLike) -> Path | None:
    """The previous copy of a missing `target` that a save killed between its two renames left hidden beside it
    (the next save into `target` puts it back: `recover_interrupted_save`); None when there is none."""
    target = Path(target).expanduser().absolute()
    try:
        if target.exists() or target.is_symlink() or not target.parent.is_dir():
            return None
        retired = sorted(target.parent.glob(f"{_hidden_prefix(target, 'old')}*"))
        found = [folder / target.name for folder in retired if (folder / target.name).is_dir()]
    except OSError:  # a name too long for the file system: no save can have been made there
        return None
    return next((copy for copy in reversed(found) if not copy.is_symlink()), None)


def _hidden_prefix(target: Path, kind: str, name: str | None = None) -> str:
    """`.name.<hash>.kind-` for a hidden sibling of `target`: the name shortened so that the sibling's name stays
    under the 255-byte limit for any valid target name, the hash telling apart targets that share a prefix."""
    name = target.name if name is None else name
    short = name.encode("utf-8", "surrogateescape")[:100].decode("utf-8", "ignore")
    digest = hashlib.sha1(target.name.encode("utf-8", "surrogateescape")).hexdigest()[:8]
    return f".{short}.{digest}.{kind}-"


_TEMPORARY_FILE = re.compile(r"\..+\.[0-9a-f]{8}\.tmp-.+")
"""`_hidden_prefix(target, "tmp", ...)` followed by mkstemp's random part and the target's suffix."""


def _current_umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _finish_tree(root: Path) -> None:
    """Flush file contents to disk before the rename makes them visible, and set ordinary permissions."""
    mask = _current_umask()
    root.chmod(0o777 & ~mask)
    for path in root.rglob("*"):
        if path.is_symlink():
            continue
        if path.is_dir():
            path.chmod(0o777 & ~mask)
        elif path.is_file():
            _finish_file(path, mask)


def _finish_file(path: Path, mask: int) -> None:
    """Ordinary permissions (a temporary file is the owner's only) and contents on disk before the rename."""
    path.chmod(0o666 & ~mask)
    with open(path, "rb") as handle:
        os.fsync(handle.fileno())
