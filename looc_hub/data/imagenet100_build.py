"""Build ImageNet-100 from an ImageNet-1k copy: an imagefolder (`train/<wnid>/`, `validation/<wnid>/`) of links or
copies, checked before anything is written, written atomically.

The output loads with `load_image_dataset(OUT, split="train" | "validation", label_column="label")` (labels are the
wnids in sorted order, as `imagefolder` numbers folders), so the in100 recipes name it as their `dataset:`.
Links (the default) cost no space but need the ImageNet copy to stay where it is; copies do not.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from PIL import Image
from tqdm.auto import tqdm

from .._atomic import atomic_directory, atomic_file
from .._version import __version__
from .imagenet100 import IMAGENET100_CLASSES, IMAGENET100_SOURCE, IMAGENET100_SPLIT_SIZES
from .imagenet_layout import ImageNetLayout, ImageNetLayoutError, read_imagenet_layout

__all__ = ["MANIFEST", "ImageNet100Build", "build_imagenet100", "count_warnings", "unreadable_images"]

logger = logging.getLogger(__name__)
MANIFEST = "imagenet100.json"  # marks a folder this builder wrote (so a rebuild may replace it) and says how
BuildMode = Literal["link", "copy"]


@dataclass(frozen=True)
class ImageNet100Build:
    """What was written: the folder, images per split and class, and the count warnings seen."""

    output: Path
    counts: dict[str, dict[str, int]]
    warnings: list[str]


def build_imagenet100(
    imagenet: str | os.PathLike,
    output: str | os.PathLike,
    *,
    mode: BuildMode = "link",
    classes: Sequence[str] = IMAGENET100_CLASSES,
    val_labels: str | os.PathLike | None = None,
    decode: bool = False,
    strict: bool = False,
    overwrite: bool = False,
    workers: int = 8,
) -> ImageNet100Build:
    """Check the ImageNet copy for `classes`, then write the split to `output` in one atomic rename.

    Refused, before anything is written: a missing split or class, an unreadable image (`decode=True` decodes
    every image, else each header is read), an `output` holding files this builder did not write (unless
    `overwrite`), and with `strict` a class whose count is not ImageNet-1k's (else a warning).
    """
    if mode not in ("link", "copy"):
        raise ValueError(f"mode must be 'link' or 'copy', got {mode!r}")
    layout = read_imagenet_layout(imagenet, classes, val_labels=val_labels)
    warnings = count_warnings(layout)
    for warning in warnings:
        logger.warning(warning)
    if strict and warnings:
        raise ImageNetLayoutError("--strict: " + "; ".join(warnings))
    every_file = [path for split in layout.files.values() for paths in split.values() for path in paths]
    unreadable = unreadable_images(every_file, decode=decode, workers=workers)
    if unreadable:
        shown = "\n  ".join(unreadable[:20]) + (
            f"\n  ... ({len(unreadable) - 20} more)" if len(unreadable) > 20 else ""
        )
        raise ImageNetLayoutError(f"{len(unreadable)} unreadable image(s) in {layout.root}:\n  {shown}")
    with atomic_directory(output, foreign=_not_written_here, overwrite=overwrite) as staging:
        _write_split_folders(layout, staging, mode)
        counts = {
            split: {wnid: len(paths) for wnid, paths in per_class.items()} for split, per_class in layout.files.items()
        }
        manifest = {
            "builder": "looc-build-in100",
            "looc_hub_version": __version__,
            "classes_source": IMAGENET100_SOURCE if tuple(classes) == IMAGENET100_CLASSES else "a user's list",
            "imagenet": str(layout.root.resolve()),
            "validation_labels": layout.validation_labels,
            "mode": mode,
            "images": {split: sum(per_class.values()) for split, per_class in counts.items()},
            "counts": counts,
        }
        with atomic_file(staging / MANIFEST) as path:
            path.write_text(json.dumps(manifest, indent=2) + "\n")
    return ImageNet100Build(output=Path(output), counts=counts, warnings=warnings)


def count_warnings(layout: ImageNetLayout) -> list[str]:
    """One line per split whose classes hold a count ImageNet-1k never has (train 732-1,300, validation 50)."""
    warnings = []
    for split, per_class in layout.files.items():
        low, high = IMAGENET100_SPLIT_SIZES[split]
        off = {wnid: len(paths) for wnid, paths in per_class.items() if not low <= len(paths) <= high}
        if off:
            expected = f"{low:,}-{high:,}" if low != high else f"{low}"
            listed = ", ".join(f"{wnid}: {n}" for wnid, n in off.items())
            warnings.append(
                f"{split}: {len(off)} class(es) hold a count ImageNet-1k does not ({expected} per class), is the "
                f"copy complete? {listed}"
            )
    return warnings


def unreadable_images(paths: Sequence[Path], *, decode: bool, workers: int) -> list[str]:
    """'path: reason' for each file Pillow cannot open (header), or with `decode` cannot fully decode."""

    def problem(path: Path) -> str | None:
        try:
            with Image.open(path) as image:
                if decode:
                    image.load()
        except (OSError, ValueError, Image.DecompressionBombError) as error:
            return f"{path}: {type(error).__name__}: {error}"
        return None

    with ThreadPoolExecutor(max(1, workers)) as pool:
        checked = tqdm(pool.map(problem, paths), total=len(paths), desc="checking images", leave=False)
        return [found for found in checked if found is not None]


def _write_split_folders(layout: ImageNetLayout, staging: Path, mode: BuildMode) -> None:
    place = _link if mode == "link" else shutil.copy2
    total = sum(len(paths) for split in layout.files.values() for paths in split.values())
    with tqdm(total=total, desc=f"writing ({mode})", leave=False) as bar:
        for split, per_class in layout.files.items():
            for wnid, paths in per_class.items():
                folder = staging / split / wnid
                folder.mkdir(parents=True)
                for path in paths:
                    place(path, folder / path.name)
                    bar.update(1)


def _link(source: Path, target: Path) -> None:
    target.symlink_to(source.resolve())


def _not_written_here(folder: Path) -> list[str]:
    """An existing output is replaced only when this builder wrote it (its manifest says so)."""
    entries = sorted(p.name for p in folder.iterdir())
    try:
        ours = json.loads((folder / MANIFEST).read_text()).get("builder") == "looc-build-in100"
    except (OSError, ValueError, AttributeError):
        ours = False
    return [name for name in entries if not ours or name not in ("train", "validation", MANIFEST)]
