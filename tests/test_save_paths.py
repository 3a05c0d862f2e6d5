"""Saves at the edges of the file system (issue 21): long names, and what a killed save leaves behind."""

from __future__ import annotations

import shutil
import tempfile

import pytest

from looc_hub import LooCConfig, LooCModel
from looc_hub._atomic import _hidden_prefix, atomic_directory
from tests.models import trained_like

SMALL = LooCConfig(backbone="resnet18", image_size=32, augmentations=("color",))


@pytest.fixture(scope="module")
def small_model() -> LooCModel:
    return trained_like(SMALL)


def test_a_valid_name_of_250_characters_saves(small_model, tmp_path):
    target = tmp_path / ("m" * 250)
    small_model.save_pretrained(target)
    assert LooCModel.from_pretrained(target).config == small_model.config
    small_model.save_pretrained(target)  # replacing it moves the old copy aside under a hidden name too
    assert sorted(p.name for p in tmp_path.iterdir()) == [target.name]


def test_staging_copies_of_a_killed_save_are_removed_by_the_next_save(small_model, tmp_path):
    target = tmp_path / "model"
    killed = tempfile.mkdtemp(prefix=_hidden_prefix(target, "tmp"), dir=tmp_path)  # what a kill -9 leaves
    shutil.copytree(tmp_path, tmp_path / "unrelated")  # another folder's files are not touched
    small_model.save_pretrained(target)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model", "unrelated"]
    assert not (tmp_path / killed).exists()


def test_a_kill_between_the_two_renames_is_recovered_by_the_next_save(small_model, tmp_path):
    target = tmp_path / "model"
    small_model.save_pretrained(target)
    config = (target / "config.json").read_text()
    retired = tempfile.mkdtemp(prefix=_hidden_prefix(target, "old"), dir=tmp_path)
    target.rename(f"{retired}/model")  # the old copy moved aside, killed before the new one took its place
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(RuntimeError, match="stop"), atomic_directory(target, foreign=lambda folder: []):
        raise RuntimeError("stop")  # even a save that fails puts the previous copy back first
    assert (target / "config.json").read_text() == config
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model", "notes.txt"]
    small_model.save_pretrained(target)  # and a save that succeeds replaces it as a previous save
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model", "notes.txt"]


def test_loading_a_folder_whose_save_was_killed_between_the_renames_names_the_hidden_copy(small_model, tmp_path):
    target = tmp_path / "model"
    small_model.save_pretrained(target)
    retired = tempfile.mkdtemp(prefix=_hidden_prefix(target, "old"), dir=tmp_path)
    target.rename(f"{retired}/model")  # the old copy moved aside, killed before the new one took its place
    with pytest.raises(FileNotFoundError, match=rf"its previous copy is at {retired}/model\. The next save_pretrained"):
        LooCModel.from_pretrained(target)
    with pytest.raises(FileNotFoundError, match=r"No such model folder"):  # no hidden copy: the usual message
        LooCModel.from_pretrained(tmp_path / "other")
