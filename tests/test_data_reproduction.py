"""The reproduction's data: Fashion-MNIST and OpenClipart (Debian packages, read from fixtures of their layout
here: they are not test dependencies) and the OpenMoji skin tones (from the embedded OpenMoji)."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from sklearn.datasets import load_digits

from looc_hub.data import load_image_dataset
from looc_hub.data.fashion_mnist import CLASS_NAMES, build_fashion_mnist
from looc_hub.data.openclipart import build_openclipart
from looc_hub.data.openmoji import base_hexcode
from looc_hub.data.openmoji_skin_tones import TONES, build_skin_tones


def _write_idx(path: Path, array: np.ndarray) -> None:
    """LeCun's idx format: two zero bytes, the dtype code (0x08: uint8), the rank, big-endian sizes, the data."""
    header = bytes([0, 0, 0x08, array.ndim]) + b"".join(int(n).to_bytes(4, "big") for n in array.shape)
    path.write_bytes(gzip.compress(header + array.astype(np.uint8).tobytes()))


@pytest.fixture(scope="module")
def fashion_dir(tmp_path_factory) -> Path:
    """Real 28x28 greyscale images (scikit-learn's digits, upscaled) in the Debian package's file layout."""
    digits = load_digits()
    pixels = np.stack([np.array(Image.fromarray(d).resize((28, 28))) for d in (digits.images * 15).astype(np.uint8)])
    folder = tmp_path_factory.mktemp("fashion-mnist")
    for stem, rows in (("train", slice(0, 60)), ("t10k", slice(60, 80))):
        _write_idx(folder / f"{stem}-images-idx3-ubyte.gz", pixels[rows])
        _write_idx(folder / f"{stem}-labels-idx1-ubyte.gz", digits.target[rows])
    return folder


def test_fashion_mnist_reads_the_packages_idx_files(fashion_dir):
    splits = build_fashion_mnist(32, source=fashion_dir)
    assert {name: len(split) for name, split in splits.items()} == {"train": 60, "test": 20}
    assert splits["train"].features["label"].names == list(CLASS_NAMES)
    assert splits["test"]["label"] == load_digits().target[60:80].tolist()
    image = splits["train"][0]["image"]
    assert image.mode == "L" and image.size == (32, 32)
    at_28 = build_fashion_mnist(28, source=fashion_dir)["train"][0]["image"]
    expected = np.array(Image.fromarray((load_digits().images[0] * 15).astype(np.uint8)).resize((28, 28)))
    assert np.array_equal(np.array(at_28), expected)  # at its own size: the stored pixels, untouched


def test_fashion_mnist_without_the_package_says_how_to_install_it(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"apt-get install dataset-fashion-mnist"):
        build_fashion_mnist(32, source=tmp_path)


def test_fashion_mnist_refuses_a_file_that_is_not_idx(fashion_dir, tmp_path):
    for file in fashion_dir.iterdir():
        (tmp_path / file.name).write_bytes(file.read_bytes())
    (tmp_path / "t10k-labels-idx1-ubyte.gz").write_bytes(gzip.compress(b"not an idx file at all"))
    with pytest.raises(ValueError, match=r"t10k-labels-idx1-ubyte.gz is not a 1-d uint8 idx file"):
        build_fashion_mnist(32, source=tmp_path)


def test_skin_tones_are_balanced_single_tone_emoji_split_by_emoji():
    splits = build_skin_tones(32)
    for split in splits.values():
        counts = np.bincount(split["skin_tone"], minlength=len(TONES))
        assert counts.min() > 0.9 * counts.max()  # every emoji in all six tones: balanced classes
        for hexcode, tone in zip(split["hexcode"], split["skin_tone"], strict=True):
            modifiers = {part for part in hexcode.split("-") if part.startswith("1F3F")}
            assert len(modifiers) == (tone > 0)  # yellow has none, a tone exactly one (couples are left out)
    train_bases = {base_hexcode(h) for h in splits["train"]["hexcode"]}
    assert not train_bases & {base_hexcode(h) for h in splits["validation"]["hexcode"]}
    labelled = load_image_dataset("looc-hub/openmoji-skin-tones", split="validation", label_column="skin_tone")
    assert len(labelled) == len(splits["validation"]) and labelled.column_names == ["image", "label"]


def _drawing(path: Path, size: tuple[int, int], colour: tuple[int, int, int, int], mode: str = "RGBA") -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    image = Image.new("RGBA", size, (0, 0, 0, 0))
    image.paste(colour, (size[0] // 4, size[1] // 4, 3 * size[0] // 4, 3 * size[1] // 4))
    (image if mode == "RGBA" else image.convert(mode)).save(path)


def test_openclipart_renders_categories_on_white_and_leaves_out_bombs(tmp_path, monkeypatch):
    _drawing(tmp_path / "animals" / "cat.png", (200, 100), (255, 0, 0, 255))  # transparent around a red box
    _drawing(tmp_path / "animals" / "more" / "dog.png", (40, 40), (0, 0, 255, 255), mode="P")
    _drawing(tmp_path / "food" / "apple.png", (60, 80), (0, 255, 0, 255))
    _drawing(tmp_path / "food" / "huge.png", (300, 300), (0, 255, 0, 255))
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 40_000)  # 300 x 300 > this: a decompression bomb here
    splits = build_openclipart(32, source=tmp_path)
    rows = {row["path"]: row for split in splits.values() for row in split}
    assert sorted(rows) == ["animals/cat.png", "animals/more/dog.png", "food/apple.png"]
    assert splits["train"].features["label"].names == ["animals", "food"]
    assert rows["food/apple.png"]["label"] == 1 and rows["animals/more/dog.png"]["label"] == 0
    cat = np.array(rows["animals/cat.png"]["image"])
    assert cat.shape == (32, 32, 3)
    assert (cat[0, 0] == 255).all()  # transparency became white
    assert tuple(cat[16, 16]) == (255, 0, 0)  # the drawing kept its colour, centred
    assert (cat[:8] == 255).all()  # 200 x 100 fitted into 32 x 16: white above and below
    again = build_openclipart(32, source=tmp_path)
    assert {n: s["path"] for n, s in again.items()} == {n: s["path"] for n, s in splits.items()}


def test_openclipart_without_the_package_says_how_to_install_it(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"apt-get install openclipart-png"):
        build_openclipart(32, source=tmp_path / "missing")
