"""Adversarial input, as a careful user would try it: nothing the project did not write is lost, nothing silently
goes wrong, and every bad input is an error that names the file, field or value and what is valid (issue 11).
"""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from looc_hub import LooCConfig, LooCModel
from looc_hub._atomic import FileExistsNotOursError
from tests.models import trained_like

SMALL = LooCConfig(backbone="resnet18", image_size=32, augmentations=("color", "rotation"), queue_size=64)


@pytest.fixture(scope="module")
def small_model() -> LooCModel:
    return trained_like(SMALL)


@pytest.fixture(scope="module")
def saved(small_model, tmp_path_factory) -> Path:
    directory = tmp_path_factory.mktemp("saved") / "model"
    small_model.save_pretrained(directory)
    return directory


# 1. save_pretrained never deletes what looc-hub did not write ---------------------------------------------------


def test_save_refuses_a_folder_holding_other_files_and_names_them(small_model, tmp_path):
    target = tmp_path / "project"
    (target / ".git").mkdir(parents=True)
    (target / ".git" / "HEAD").write_text("ref: refs/heads/main\n")
    (target / "src").mkdir()
    (target / "src" / "train.py").write_text("print('mine')\n")
    (target / "notes.txt").write_text("my notes")
    with pytest.raises(FileExistsNotOursError, match=r"\.git/HEAD.*notes\.txt.*src/train\.py.*overwrite=True"):
        small_model.save_pretrained(target)
    assert (target / "notes.txt").read_text() == "my notes"
    assert (target / ".git" / "HEAD").is_file() and (target / "src" / "train.py").is_file()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["project"]  # no staging folder left


def test_save_refuses_a_plain_file_at_the_path(small_model, tmp_path):
    target = tmp_path / "model"
    target.write_text("not a folder")
    with pytest.raises(FileExistsNotOursError, match="is not a folder"):
        small_model.save_pretrained(target)
    assert target.read_text() == "not a folder"


def test_save_replaces_a_previous_save_an_empty_folder_or_anything_with_overwrite(small_model, saved, tmp_path):
    again = tmp_path / "again"
    again.mkdir()  # empty
    small_model.save_pretrained(again)
    small_model.save_pretrained(again)  # a previous looc-hub save
    assert sorted(os.listdir(again)) == ["README.md", "config.json", "looc_heads.safetensors", "model.safetensors"]
    (again / "notes.txt").write_text("x")
    with pytest.raises(FileExistsNotOursError, match="notes.txt"):
        small_model.save_pretrained(again)
    small_model.save_pretrained(again, overwrite=True)
    assert not (again / "notes.txt").exists()
    assert LooCModel.from_pretrained(again).config == small_model.config


def test_a_folder_that_only_looks_like_a_model_is_not_replaced(small_model, tmp_path):
    target = tmp_path / "other"
    target.mkdir()
    (target / "config.json").write_text(json.dumps({"architecture": "resnet18"}))  # a plain timm model
    (target / "README.md").write_text("hand written")
    with pytest.raises(FileExistsNotOursError, match=r"\['README.md', 'config.json'\]"):
        small_model.save_pretrained(target)


def test_saved_files_get_ordinary_permissions(small_model, tmp_path):
    previous = os.umask(0o022)
    try:
        small_model.save_pretrained(tmp_path / "model")
    finally:
        os.umask(previous)
    assert stat.S_IMODE((tmp_path / "model").stat().st_mode) == 0o755
    for path in (tmp_path / "model").iterdir():
        assert stat.S_IMODE(path.stat().st_mode) == 0o644, path.name


def test_save_into_the_current_directory_is_a_clear_error(small_model, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for target in (".", tmp_path, tmp_path.parent):
        with pytest.raises(ValueError, match="current directory"):
            small_model.save_pretrained(target)
    assert list(tmp_path.iterdir()) == []
