"""Checkpoints are staged then renamed: a crash mid-write never destroys the last good one."""

import pytest
import torch
from accelerate import Accelerator

from looc_hub.training import CheckpointManager


@pytest.fixture
def accelerator():
    accelerator = Accelerator(cpu=True)
    model = accelerator.prepare(torch.nn.Linear(3, 2))
    with torch.no_grad():
        model.weight.fill_(1.0)
    return accelerator


def test_rotation_keeps_the_newest(tmp_path, accelerator):
    manager = CheckpointManager(tmp_path, keep=2)
    for step in (10, 20, 30):
        manager.save(accelerator, step)
    assert [p.name for p in manager.checkpoints()] == ["step_00000020", "step_00000030"]
    assert manager.resolve("latest").name == "step_00000030"


def test_a_crash_during_a_save_keeps_the_last_good_checkpoint(tmp_path, accelerator, monkeypatch):
    manager = CheckpointManager(tmp_path, keep=1)
    good = manager.save(accelerator, 10)
    good_files = {p.name: p.read_bytes() for p in good.iterdir()}

    def crash(directory, **kwargs):  # save_state dies after writing part of the new checkpoint
        (tmp_path / ".staging-step_00000020").mkdir()
        (tmp_path / ".staging-step_00000020" / "model.safetensors").write_bytes(b"half")
        raise OSError("killed mid-write")

    monkeypatch.setattr(accelerator, "save_state", crash)
    with pytest.raises(OSError, match="mid-write"):
        manager.save(accelerator, 20)
    assert manager.latest() == good
    assert {p.name: p.read_bytes() for p in good.iterdir()} == good_files
    monkeypatch.undo()
    manager.save(accelerator, 20)  # the next save clears the leftover staging folder, then rotates
    assert sorted(p.name for p in tmp_path.iterdir()) == ["step_00000020"]


def test_resume_errors_name_the_problem(tmp_path):
    manager = CheckpointManager(tmp_path, keep=1)
    with pytest.raises(FileNotFoundError, match="no checkpoint in"):
        manager.resolve("latest")
    with pytest.raises(FileNotFoundError, match="not a checkpoint folder"):
        manager.resolve(str(tmp_path / "step_00000007"))
    with pytest.raises(ValueError, match="at least 1"):
        CheckpointManager(tmp_path, keep=0)


@pytest.mark.parametrize("damaged", ["model.safetensors", "random_states_0.pkl"])
def test_a_truncated_checkpoint_is_named_on_resume(tmp_path, accelerator, damaged):
    """The damaged file and the previous checkpoint are named (found without unpickling anything)."""
    manager = CheckpointManager(tmp_path, keep=3)
    manager.save(accelerator, 10)
    previous = manager.save(accelerator, 20)
    latest = manager.save(accelerator, 30)
    data = (latest / damaged).read_bytes()
    (latest / damaged).write_bytes(data[: len(data) // 2])  # a copy cut short
    if damaged.endswith(".pkl"):  # Accelerate itself only logs a random_states_*.pkl that does not load
        (latest / "model.safetensors").write_bytes(b"")
    with pytest.raises(ValueError, match=rf"the checkpoint {latest} does not load: .*{damaged}.* is truncated") as e:
        manager.load(accelerator, manager.resolve("latest"))
    assert str(e.value).endswith(f"Resume the previous checkpoint with --resume {previous}")
    first = manager.checkpoints()[0]
    (first / "model.safetensors").write_bytes(b"")
    with pytest.raises(ValueError, match="model.safetensors is truncated.*No earlier checkpoint is left"):
        manager.load(accelerator, first)
