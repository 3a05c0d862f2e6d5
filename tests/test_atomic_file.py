"""`atomic_file`: the target is replaced only by a complete, checked file, with ordinary permissions."""

from __future__ import annotations

import os

import pytest

from looc_hub._atomic import atomic_file, leftover_temporary_files


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


def test_leftover_temporary_files_are_a_killed_atomic_file_s_and_nothing_else(tmp_path):
    target = tmp_path / "train-00002-of-00009.parquet"
    with pytest.raises(InterruptedError), atomic_file(target) as staging:
        raise InterruptedError
    staging.write_bytes(b"PAR1 half")  # where a kill -9 leaves it, with the name atomic_file gives it
    with atomic_file(tmp_path / "done.json") as finished:
        finished.write_text("{}")
    (tmp_path / ".notes").write_text("the user's")
    (tmp_path / ".x.0123abcd.tmp-dir").mkdir()  # atomic_directory's staging: a folder, not a file
    assert leftover_temporary_files(tmp_path) == [staging]
