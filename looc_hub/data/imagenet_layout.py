"""Where an ImageNet-1k (ILSVRC-2012) copy keeps each class's images, in the layouts it is distributed in.

Train is always one folder per WordNet id (`train/n01440764/*.JPEG`). Validation is either the same (`val/<wnid>/`,
as torchvision's and most prepare scripts leave it) or the 50,000 files flat in `val/` with a label file: Kaggle's
`LOC_val_solution.csv` (`ImageId,PredictionString`, the wnid first) or the devkit's
`ILSVRC2012_validation_ground_truth.txt` (one ILSVRC2012_ID a line, mapped to wnids by the devkit's `meta.mat`).
The Kaggle tree (`ILSVRC/Data/CLS-LOC/{train,val}`) is found too.
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from scipy.io import loadmat

from .imagenet100 import is_wnid

__all__ = ["IMAGE_SUFFIXES", "ImageNetLayout", "ImageNetLayoutError", "read_imagenet_layout"]

IMAGE_SUFFIXES = (".jpeg", ".jpg", ".png")
_SPLIT_DIRS = {"train": ("train",), "validation": ("val", "validation")}
_KAGGLE_ROOT = Path("ILSVRC", "Data", "CLS-LOC")
_CSV_LABELS = "LOC_val_solution.csv"
_DEVKIT_LABELS = Path("ILSVRC2012_devkit_t12", "data", "ILSVRC2012_validation_ground_truth.txt")


class ImageNetLayoutError(ValueError):
    """The ImageNet folder lacks a split, a class or a label file the build needs."""


@dataclass(frozen=True)
class ImageNetLayout:
    """The image files of the asked classes, per split (`train`, `validation`) and class, in sorted order."""

    root: Path
    files: dict[str, dict[str, list[Path]]]
    validation_labels: str  # "class folders" or the label file used


def read_imagenet_layout(
    root: str | Path, classes: Sequence[str], *, val_labels: str | Path | None = None
) -> ImageNetLayout:
    """Find every image of `classes` in an ImageNet-1k copy at `root`; a missing split or class is an error.

    Args:
        val_labels: the validation label file, for a flat `val/`; by default `LOC_val_solution.csv` or the
            devkit's ground truth, looked for under `root`.
    """
    root = Path(root).expanduser()
    if not root.is_dir():
        raise ImageNetLayoutError(f"--imagenet {root}: no such folder")
    train_dir, val_dir = _split_dir(root, "train"), _split_dir(root, "validation")
    files = {"train": _class_folders(train_dir, classes)}
    if any(is_wnid(p.name) and p.is_dir() for p in val_dir.iterdir()):
        files["validation"], source = _class_folders(val_dir, classes), "class folders"
    else:
        label_file = _find_label_file(root, val_labels)
        files["validation"], source = _labelled_flat_folder(val_dir, label_file, classes), str(label_file)
    return ImageNetLayout(root=root, files=files, validation_labels=source)


def _split_dir(root: Path, split: str) -> Path:
    bases = (root, root / _KAGGLE_ROOT)
    candidates = [base / name for base in bases for name in _SPLIT_DIRS[split]]
    for candidate in candidates:
        if candidate.is_dir():
            return candidate
    raise ImageNetLayoutError(
        f"{root} is not an ImageNet-1k folder: no {split} split at any of {[str(c) for c in candidates]}"
    )


def _images_in(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES and not p.name.startswith("."))


def _class_folders(split_dir: Path, classes: Sequence[str]) -> dict[str, list[Path]]:
    files = {wnid: _images_in(split_dir / wnid) for wnid in classes if (split_dir / wnid).is_dir()}
    _check_no_missing_class(split_dir, classes, files)
    return files


def _check_no_missing_class(where: Path, classes: Sequence[str], files: dict[str, list[Path]]) -> None:
    missing = [wnid for wnid in classes if not files.get(wnid)]
    if missing:
        raise ImageNetLayoutError(
            f"{len(missing)} of the {len(classes)} classes have no images in {where}: {', '.join(missing)}"
        )


def _find_label_file(root: Path, given: str | Path | None) -> Path:
    if given is not None:
        if not Path(given).is_file():
            raise ImageNetLayoutError(f"--val_labels {given}: no such file")
        return Path(given)
    candidates = [root / _CSV_LABELS, root / _DEVKIT_LABELS, root / _DEVKIT_LABELS.name]
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    raise ImageNetLayoutError(
        f"The validation images under {root} are not in class folders, and no label file was found (looked for "
        f"{[str(c) for c in candidates]}): pass --val_labels (LOC_val_solution.csv, or the devkit's "
        "ILSVRC2012_validation_ground_truth.txt with meta.mat beside it)"
    )


def _labelled_flat_folder(val_dir: Path, label_file: Path, classes: Sequence[str]) -> dict[str, list[Path]]:
    labels = _read_csv_labels(label_file) if label_file.suffix == ".csv" else _read_devkit_labels(label_file)
    by_stem = {p.stem: p for p in _images_in(val_dir)}
    wanted = set(classes)
    files: dict[str, list[Path]] = {wnid: [] for wnid in classes}
    absent = []
    for stem, wnid in sorted(labels.items()):
        if wnid in wanted:
            if stem in by_stem:
                files[wnid].append(by_stem[stem])
            else:
                absent.append(stem)
    if absent:
        raise ImageNetLayoutError(
            f"{label_file} labels {len(absent)} image(s) of the asked classes that are not in {val_dir}: "
            f"{', '.join(absent[:20])}{' ...' if len(absent) > 20 else ''}"
        )
    _check_no_missing_class(val_dir, classes, files)
    return files


def _read_csv_labels(path: Path) -> dict[str, str]:
    """Kaggle's LOC_val_solution.csv: `ImageId` -> the first wnid of `PredictionString`."""
    with path.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    if not rows or not {"ImageId", "PredictionString"} <= set(rows[0]):
        raise ImageNetLayoutError(f"{path} is not LOC_val_solution.csv: it needs columns ImageId, PredictionString")
    return {row["ImageId"]: row["PredictionString"].split()[0] for row in rows}


def _read_devkit_labels(path: Path) -> dict[str, str]:
    """The devkit's ground truth (ILSVRC2012_ID of val image i on line i), mapped to wnids by `meta.mat` beside it."""
    meta = path.with_name("meta.mat")
    if not meta.is_file():
        raise ImageNetLayoutError(f"{path} needs the devkit's meta.mat beside it (ILSVRC2012_ID -> wnid): {meta}")
    synsets = loadmat(meta, squeeze_me=True)["synsets"]  # a MATLAB struct array: no pickle involved
    wnid_of = {int(row["ILSVRC2012_ID"]): str(row["WNID"]) for row in synsets}
    ids = [int(line) for line in path.read_text().split()]
    unknown = sorted({i for i in ids if i not in wnid_of})
    if unknown:
        raise ImageNetLayoutError(f"{path}: ILSVRC2012_IDs {unknown[:10]} are not in {meta}")
    return {f"ILSVRC2012_val_{index:08d}": wnid_of[i] for index, i in enumerate(ids, start=1)}
