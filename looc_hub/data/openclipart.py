"""OpenClipart from the Debian package `openclipart-png`, as an HF image dataset.

8,121 public-domain colour clip-art drawings in 22 category folders (animals, food, people, shapes, ...), the
folder being the label. Ours: a colourful, upright corpus beside OpenMoji for the reproduction, and a real-world
stress test of the loader (sizes from a few pixels to tens of megapixels, palettes, transparency).
Each drawing is composited onto white (clip art is drawn for light backgrounds), shrunk to fit `image_size`
keeping its aspect ratio, and centred. Drawings above Pillow's decompression-bomb limit are left out rather
than decoded: they are few, and decoding one can take gigabytes. The split (`validation` about 20%) is a CRC-32
hash of the file's path, so a drawing keeps its split across package versions.
"""

from __future__ import annotations

import warnings
import zlib
from pathlib import Path

from datasets import ClassLabel, Dataset, DatasetDict, Features, Image, Value
from PIL import Image as PILImage

DEFAULT_IMAGE_SIZE = 64
DEBIAN_DIR = Path("/usr/share/openclipart/png")
VALIDATION_PERCENT = 20
BACKGROUND = (255, 255, 255)
_SPLITS = ("train", "validation")
_RECIPE_VERSION = 1  # bump when rendering, labels or split change, so cached copies are rebuilt


def cache_key(image_size: int) -> str:
    return f"openclipart-r{_RECIPE_VERSION}-{image_size}px"


def build_openclipart(image_size: int = DEFAULT_IMAGE_SIZE, source: Path = DEBIAN_DIR) -> DatasetDict:
    """Splits `train` / `validation`, columns `image` (RGB, `image_size` px), `label` (category) and `path`."""
    if not source.is_dir():
        raise FileNotFoundError(
            f"{source} is missing: looc-hub/openclipart is read from the Debian package openclipart-png "
            "(as root: apt-get update && apt-get install openclipart-png)"
        )
    categories = sorted(folder.name for folder in source.iterdir() if folder.is_dir())
    features = Features({"image": Image(), "label": ClassLabel(names=categories), "path": Value("string")})
    splits: dict[str, dict[str, list]] = {name: {"image": [], "label": [], "path": []} for name in _SPLITS}
    for label, category in enumerate(categories):
        for file in sorted((source / category).rglob("*.png")):
            drawing = _render(file, image_size)
            if drawing is None:
                continue
            relative = file.relative_to(source).as_posix()
            columns = splits["validation" if zlib.crc32(relative.encode()) % 100 < VALIDATION_PERCENT else "train"]
            columns["image"].append(drawing)
            columns["label"].append(label)
            columns["path"].append(relative)
    return DatasetDict({name: Dataset.from_dict(columns, features=features) for name, columns in splits.items()})


def _render(file: Path, image_size: int) -> PILImage.Image | None:
    """The drawing on white, fitted and centred in an `image_size` square; None above the pixel limit."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", PILImage.DecompressionBombWarning)
        try:
            with PILImage.open(file) as opened:
                opened.load()
                drawing = opened.convert("RGBA")
        except (PILImage.DecompressionBombWarning, PILImage.DecompressionBombError):
            return None
        except OSError as error:
            raise ValueError(f"{file} is not a readable PNG: {error}") from error
    drawing.thumbnail((image_size, image_size), PILImage.Resampling.LANCZOS)
    canvas = PILImage.new("RGBA", (image_size, image_size), (*BACKGROUND, 255))
    canvas.alpha_composite(drawing, ((image_size - drawing.width) // 2, (image_size - drawing.height) // 2))
    return canvas.convert("RGB")
