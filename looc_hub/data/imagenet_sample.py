"""Generated ImageNet-1k-shaped folders: real wnids, real photo content (scikit-image's colour photos), JPEGs of
ImageNet's typical 500 x 375, in the layouts ImageNet is distributed in."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
from PIL import Image
from scipy.io import savemat
from skimage import data as skimage_data

PHOTOS = ("astronaut", "chelsea", "coffee", "rocket")
SIZE = (500, 375)  # ImageNet's most common photo size (width, height)


def photo(index: int, size: tuple[int, int] = SIZE) -> Image.Image:
    """A distinct real-content photo: a seeded crop of one of scikit-image's photos, resized to `size`."""
    rng = np.random.default_rng(index)
    pixels = getattr(skimage_data, PHOTOS[index % len(PHOTOS)])()
    height, width = pixels.shape[:2]
    crop_h, crop_w = int(height * rng.uniform(0.5, 1.0)), int(width * rng.uniform(0.5, 1.0))
    top, left = rng.integers(0, height - crop_h + 1), rng.integers(0, width - crop_w + 1)
    image = Image.fromarray(pixels[top : top + crop_h, left : left + crop_w]).resize(size, Image.BICUBIC)
    return image.transpose(Image.FLIP_LEFT_RIGHT) if rng.random() < 0.5 else image


def write_imagenet_tree(
    root: Path, classes: list[str], *, train: int, val: int, val_layout: str = "folders", size=SIZE
) -> dict[str, dict[str, list[Path]]]:
    """ImageNet-1k's layout under `root`: train/<wnid>/<wnid>_<i>.JPEG and the validation split as `val_layout`:
    "folders" (val/<wnid>/), "csv" (flat val/ + LOC_val_solution.csv) or "devkit" (flat val/ + the devkit's ground
    truth and meta.mat). Returns the files written, per split and class."""
    written: dict[str, dict[str, list[Path]]] = {"train": {}, "validation": {}}
    index = 0
    for wnid in classes:
        folder = root / "train" / wnid
        folder.mkdir(parents=True)
        for i in range(train):
            written["train"].setdefault(wnid, []).append(_save(photo(index, size), folder / f"{wnid}_{i}.JPEG"))
            index += 1
    labels = []  # (val file stem, wnid), numbered as ImageNet numbers val images
    for wnid in classes:
        for _ in range(val):
            stem = f"ILSVRC2012_val_{len(labels) + 1:08d}"
            folder = root / "val" / (wnid if val_layout == "folders" else "")
            folder.mkdir(parents=True, exist_ok=True)
            written["validation"].setdefault(wnid, []).append(_save(photo(index, size), folder / f"{stem}.JPEG"))
            labels.append((stem, wnid))
            index += 1
    if val_layout == "csv":
        with (root / "LOC_val_solution.csv").open("w", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(["ImageId", "PredictionString"])
            writer.writerows((stem, f"{wnid} 10 20 300 200") for stem, wnid in labels)
    elif val_layout == "devkit":
        _write_devkit(root / "ILSVRC2012_devkit_t12" / "data", classes, labels)
    return written


def _write_devkit(folder: Path, classes: list[str], labels: list[tuple[str, str]]) -> None:
    """meta.mat maps ILSVRC2012_IDs to wnids in an order unlike the sorted one, as the real devkit's does."""
    folder.mkdir(parents=True)
    order = list(reversed(classes))
    synsets = np.zeros(len(order), dtype=[("ILSVRC2012_ID", "O"), ("WNID", "O")])
    for position, wnid in enumerate(order):
        synsets[position] = (position + 1, wnid)
    savemat(folder / "meta.mat", {"synsets": synsets})
    ids = {wnid: order.index(wnid) + 1 for wnid in classes}
    (folder / "ILSVRC2012_validation_ground_truth.txt").write_text("".join(f"{ids[w]}\n" for _, w in labels))


def _save(image: Image.Image, path: Path) -> Path:
    image.save(path, format="JPEG", quality=90)
    return path
