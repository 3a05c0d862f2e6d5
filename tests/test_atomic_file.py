"""`atomic_file`: the target is replaced only by a complete, checked file, with ordinary permissions."""

from __future__ import annotations

import os

import pytest

from looc_hub._atomic import atomic_file


def test_a_finished_write_replaces_the_target_and_leaves_nothing_else(tmp_path):
    target = tmp_path / "sub" / "results.json"
    with atomic_file(target) as staging:
        assert staging.parent == target.parent and staging.suffix == ".json"  # writers that check the suffix
        staging.write_text("new")
    assert target.read_text() == "new"
    assert [p.name for p in target.parent.iterdir()] == ["results.json"]
    mask = os.umask(0o022)
    os.umask(mask)
    assert target.stat().st_mode & 0o777 == 0o666 & ~mask  # not the owner-only mode of a temporary file


def test_a_failed_write_keeps_the_old_target_and_removes_the_temporary_file(tmp_path):
    target = tmp_path / "model.safetensors"
    target.write_text("old")
    with pytest.raises(RuntimeError, match="check failed"), atomic_file(target) as staging:
        staging.write_text("half")
        raise RuntimeError("check failed")
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["model.safetensors"]
