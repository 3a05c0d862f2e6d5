"""The texture sets: patches split by region (no test patch shares a pixel with a train patch), scikit-image's
textures (pip), and GIMP's `.pat` patterns (read here from real textures written in GIMP's format: the Debian
package is no test dependency)."""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np
import pytest
from skimage import data

from looc_hub.data import load_embedded_dataset
from looc_hub.data.gimp_patterns import build_gimp_textures, read_pattern
from looc_hub.data.texture_patches import PatchPlan, cut_patches
from looc_hub.data.textures import TEXTURES, build_textures


def test_test_patches_come_from_the_right_region_and_train_patches_from_the_rest():
    columns = np.tile(np.arange(200, dtype=np.uint8), (100, 1))  # each pixel holds its column
    plan = PatchPlan(image_size=25, train_per_class=40, test_per_class=20)  # side 25 px: kept at its own size
    splits = cut_patches({"ramp": columns, "flipped": columns[:, ::-1].copy()}, plan)
    assert {name: len(split) for name, split in splits.items()} == {"train": 80, "test": 40}
    assert splits["train"].features["label"].names == ["ramp", "flipped"]
    for split, row in ((name, row) for name in splits for row in splits[name]):
        seen = np.array(row["image"])[:, :, 0]
        assert seen.shape == (25, 25)
        from_right = seen if row["label"] == 0 else 199 - seen  # the column of the source image
        assert (from_right.min() >= 150) if split == "test" else (from_right.max() < 150), (split, row["label"])
    again = cut_patches({"ramp": columns, "flipped": columns[:, ::-1].copy()}, plan)
    assert [np.array(r["image"]).tolist() for r in again["test"]] == [
        np.array(r["image"]).tolist() for r in splits["test"]
    ]


def test_a_texture_too_narrow_or_not_uint8_is_refused_by_name():
    with pytest.raises(ValueError, match=r"texture 'thin' \(30x100 px\) is too narrow .* lower patch_fraction"):
        cut_patches({"thin": np.zeros((100, 30), np.uint8)}, PatchPlan(16, 1, 1, patch_fraction=0.6))
    with pytest.raises(ValueError, match=r"texture 'floats' must be an \(H, W\) or \(H, W, 3\) uint8 array"):
        cut_patches({"floats": np.zeros((64, 64))}, PatchPlan(16, 1, 1))


def test_scikit_image_textures_name_three_textures_in_rgb_patches(tmp_path):
    splits = load_embedded_dataset("looc-hub/textures", cache_dir=tmp_path)
    assert {name: len(split) for name, split in splits.items()} == {"train": 1200, "test": 300}
    assert splits["test"].features["label"].names == list(TEXTURES)
    assert np.bincount(splits["test"]["label"]).tolist() == [100, 100, 100]
    image = splits["train"][0]["image"]
    assert image.mode == "RGB" and image.size == (32, 32)
    means = [np.mean([np.array(r["image"]).std() for r in splits["test"].filter(lambda r, c=c: r["label"] == c)])
             for c in range(3)]  # fmt: skip
    assert all(spread > 5 for spread in means)  # textured patches, not flat grey
    assert len(build_textures(16)["train"]) == 1200


def _write_pat(path: Path, pixels: np.ndarray, name: bytes = b"pattern", magic: bytes = b"GPAT") -> None:
    height, width = pixels.shape[:2]
    depth = 1 if pixels.ndim == 2 else pixels.shape[2]
    header = struct.pack(">5I4s", 24 + len(name) + 1, 1, width, height, depth, magic) + name + b"\0"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(header + pixels.tobytes())


@pytest.fixture(scope="module")
def patterns(tmp_path_factory) -> Path:
    """Real textures in GIMP's `.pat` format and folder layout: grey, RGB, RGBA, and one too small to use."""
    root = tmp_path_factory.mktemp("patterns")
    _write_pat(root / "Stone" / "brick.pat", data.brick()[:96, :128])
    _write_pat(root / "Plant" / "grass.pat", np.ascontiguousarray(data.astronaut()[:80, :80]))
    rgba = np.concatenate([data.coffee()[:64, :100], np.full((64, 100, 1), 255, np.uint8)], axis=2)
    _write_pat(root / "coffee.pat", rgba)
    _write_pat(root / "Legacy" / "warning.pat", data.gravel()[:20, :20])
    return root


def test_gimp_patterns_are_read_and_cut_one_class_per_pattern(patterns):
    assert np.array_equal(read_pattern(patterns / "Stone" / "brick.pat"), data.brick()[:96, :128])
    assert np.array_equal(read_pattern(patterns / "coffee.pat"), data.coffee()[:64, :100])  # alpha dropped
    splits = build_gimp_textures(32, source=patterns)
    assert splits["train"].features["label"].names == ["Plant/grass", "Stone/brick", "coffee"]  # 20 px: left out
    assert {name: len(split) for name, split in splits.items()} == {"train": 3 * 24, "test": 3 * 8}
    assert splits["test"][0]["image"].size == (32, 32)


def test_gimp_textures_without_the_package_or_with_a_bad_file_say_what_is_wrong(tmp_path, patterns):
    with pytest.raises(FileNotFoundError, match=r"apt-get install gimp-data gimp-data-extras"):
        build_gimp_textures(32, source=tmp_path / "absent")
    _write_pat(tmp_path / "bad.pat", data.brick()[:50, :50], magic=b"GIMP")
    with pytest.raises(ValueError, match=r"bad.pat is not a GIMP pattern \(magic b'GIMP'"):
        read_pattern(tmp_path / "bad.pat")
    (tmp_path / "short.pat").write_bytes((patterns / "Stone" / "brick.pat").read_bytes()[:200])
    with pytest.raises(ValueError, match=r"short.pat: 128x96x1 pixels need 12288 bytes"):
        read_pattern(tmp_path / "short.pat")
