"""Adversarial input, as a careful user would try it: nothing the project did not write is lost, nothing silently
goes wrong, and every bad input is an error that names the file, field or value and what is valid (issue 11).
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from looc_hub import LooCConfig, LooCModel
from looc_hub._atomic import FileExistsNotOursError
from tests.models import trained_like

SMALL = LooCConfig(backbone="resnet18", image_size=32, augmentations=("color", "rotation"))


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


# 2. One run per output directory; a resume must continue the same run ------------------------------------------


@pytest.fixture
def accelerator():
    from accelerate import Accelerator

    accelerator = Accelerator(cpu=True)
    accelerator.prepare(torch.nn.Linear(3, 2))
    return accelerator


def test_a_checkpoint_of_another_run_or_a_model_folder_is_not_resumed(tmp_path, accelerator, saved):
    from looc_hub.cli.pretrain import must_match, run_record
    from looc_hub.training import CheckpointManager, PretrainConfig

    run = PretrainConfig(batch_size=32, optimizer="sgd")
    CheckpointManager(tmp_path, 1, run_config=run_record(run), must_match=must_match()).save(accelerator, 5)

    same = PretrainConfig(batch_size=32, max_steps=50, log_every_steps=1)  # the length and logging may change
    manager = CheckpointManager(tmp_path, 1, run_config=run_record(same), must_match=must_match())
    assert manager.resolve("latest").name == "step_00000005"

    other = PretrainConfig(batch_size=16, optimizer="adamw", model_overrides={"augmentations": ["color"]})
    manager = CheckpointManager(tmp_path, 1, run_config=run_record(other), must_match=must_match())
    with pytest.raises(ValueError) as error:
        manager.resolve("latest")
    message = str(error.value)
    assert "model_overrides: checkpoint {}, this run {'augmentations': ['color']}" in message
    assert "batch_size: checkpoint 32, this run 16" in message
    assert "optimizer: checkpoint 'sgd', this run 'adamw'" in message
    assert "seed" not in message

    with pytest.raises(ValueError, match="is a saved model .weights only., which cannot be resumed"):
        manager.resolve(str(saved))


def test_resuming_beyond_the_last_step_is_an_error():
    from looc_hub.training.run_dir import check_resumed_step

    check_resumed_step(6, 6)
    with pytest.raises(ValueError, match="step 6, beyond this run's last step 4.*at least 6"):
        check_resumed_step(6, 4)


def test_pretraining_twice_into_one_folder(tmp_path):
    from tests.pretrain_runs import logged_losses, run_pretrain

    output = tmp_path / "run"
    run_pretrain(output, "--max_steps", "2", "--checkpoint_every_steps", "1")
    (output / "notes.txt").write_text("mine")
    with pytest.raises(AssertionError, match=r"is not empty.*--resume latest.*--overwrite true"):
        run_pretrain(output, "--max_steps", "2")
    with pytest.raises(AssertionError, match=r"other settings \(batch_size: checkpoint 16, this run 8"):
        run_pretrain(output, "--max_steps", "3", "--batch_size", "8", "--resume", "latest")
    with pytest.raises(AssertionError, match="checkpoint is at step 2, beyond this run's last step 1"):
        run_pretrain(output, "--max_steps", "1", "--resume", "latest")
    with pytest.raises(AssertionError, match="contradict"):
        run_pretrain(output, "--max_steps", "1", "--resume", "latest", "--overwrite", "true")

    run_pretrain(output, "--max_steps", "3", "--overwrite", "true")
    assert sorted(logged_losses(output)) == [1, 2, 3]  # the first run's lines are gone, not mixed in
    assert [p.name for p in (output / "checkpoints").iterdir()] == ["step_00000003"]
    assert (output / "notes.txt").read_text() == "mine"  # not the run's: kept


# 3. Publishing: a dry run writes nothing, repo files are deleted only when asked, no file from outside ----------


def _tree(directory: Path) -> dict[str, tuple[bytes, int]]:
    return {
        p.relative_to(directory).as_posix(): (p.read_bytes(), p.stat().st_mtime_ns)
        for p in sorted(directory.rglob("*"))
        if p.is_file()
    }


def _publish_cli(*args: str, endpoint: str | None = None) -> subprocess.CompletedProcess:
    from tests.pretrain_runs import REPO

    env = {**os.environ, "HF_HUB_OFFLINE": "0" if endpoint else "1", "HF_TOKEN": "hf_loopback"}
    command = [sys.executable, "-m", "looc_hub.cli.publish", *args] + (["--endpoint", endpoint] if endpoint else [])
    return subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, timeout=300)


def test_a_dry_run_with_results_changes_nothing_on_disk(small_model, saved, tmp_path):
    from looc_hub.eval.record import EvalRecord
    from looc_hub.eval.results import EvalResults, ModelInfo, save_results

    target = Path(shutil.copytree(saved, tmp_path / "model"))
    (target / "README.md").write_text((target / "README.md").read_text() + "\nA hand edit.\n")
    record = EvalRecord("knn", "looc-hub/digits", "test", "backbone", "top1", 91.5, {"k": 20})
    save_results(EvalResults(ModelInfo.from_model(small_model, str(target)), [record]), tmp_path / "results.json")
    before = _tree(target)
    dry = _publish_cli(str(target), "looc-test/dry", "--results", str(tmp_path / "results.json"), "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert "results.json" in dry.stdout and "5 file(s)" in dry.stdout  # validated with the results attached
    assert "deletions are unknown" in dry.stdout  # offline: says so instead of guessing
    assert _tree(target) == before


def test_repo_files_the_folder_lacks_are_deleted_only_when_asked(loopback_hub, saved):
    from huggingface_hub import CommitOperationAdd

    from looc_hub.hub.publish import publish

    repo_id = "looc-test/has-license"
    publish(saved, repo_id)
    extra = [CommitOperationAdd("LICENSE", b"MIT"), CommitOperationAdd("data/train.csv", b"a,b\n")]
    loopback_hub.api().create_commit(repo_id, operations=extra, commit_message="add license and data")
    head = loopback_hub.git(repo_id, "rev-parse", "main")

    with pytest.raises(ValueError, match=r"\['LICENSE', 'data/train.csv'\].*Nothing was uploaded.*stale='delete'"):
        publish(saved, repo_id)
    assert loopback_hub.git(repo_id, "rev-parse", "main") == head
    dry = _publish_cli(str(saved), repo_id, "--dry-run", endpoint=loopback_hub.endpoint)
    assert "['LICENSE', 'data/train.csv']: would stop the publish" in dry.stdout, dry.stderr

    kept = publish(saved, repo_id, stale="keep")
    assert kept.deleted == ()
    assert {"LICENSE", "data/train.csv"} <= set(
        loopback_hub.git(repo_id, "ls-tree", "-r", "--name-only", "main").split()
    )
    deleted = publish(saved, repo_id, stale="delete")
    assert deleted.deleted == ("LICENSE", "data/train.csv")
    assert "LICENSE" not in loopback_hub.git(repo_id, "ls-tree", "-r", "--name-only", "main").split()


def test_a_symlink_to_a_file_outside_the_folder_is_refused(saved, tmp_path):
    from looc_hub.hub.publish import validate_model_dir

    target = Path(shutil.copytree(saved, tmp_path / "model"))
    secret = tmp_path / "secret.txt"
    secret.write_text("not for the Hub")
    (target / "README.md").unlink()
    (target / "README.md").symlink_to(secret)
    with pytest.raises(ValueError, match=r"README.md is a symlink to .*secret.txt, outside the folder"):
        validate_model_dir(target, LooCModel)


def _results_file(model: LooCModel, folder: Path, artifacts: dict[str, str] | None = None, **model_info) -> Path:
    from looc_hub.eval.record import EvalRecord
    from looc_hub.eval.results import EvalResults, ModelInfo, save_results

    info = ModelInfo.from_model(model, "model")
    info = ModelInfo(**{**info.__dict__, **model_info})
    record = EvalRecord("knn", "looc-hub/digits", "test", "backbone", "top1", 91.5, {"k": 20})
    folder.mkdir(parents=True, exist_ok=True)
    return save_results(EvalResults(info, [record], artifacts or {}), folder / "results.json")


def test_no_write_follows_a_card_symlink_out_of_the_folder(small_model, saved, tmp_path, loopback_hub):
    """Issue 21, problem 1: a README.md symlink to a user's file never receives the card, dry run or not."""
    from looc_hub.hub.publish import attach_results, publish

    target = Path(shutil.copytree(saved, tmp_path / "model"))
    notes = tmp_path / "notes.md"
    notes.write_text("my own notes")
    (target / "README.md").unlink()
    (target / "README.md").symlink_to(notes)
    results = _results_file(small_model, tmp_path / "eval")
    dry = _publish_cli(str(target), "looc-test/linked", "--dry-run", "--results", str(results))
    assert dry.returncode != 0 and "README.md is a symlink to" in dry.stderr and "outside the folder" in dry.stderr
    for attempt in (lambda: attach_results(target, results), lambda: publish(target, "looc-test/linked")):
        with pytest.raises(ValueError, match="outside the folder"):
            attempt()
    assert notes.read_text() == "my own notes" and (target / "README.md").is_symlink()
    assert not loopback_hub.repo_dir("looc-test/linked").exists()


@pytest.mark.parametrize("linked", ["file", "folder"])
def test_no_results_artifact_from_outside_is_uploaded(small_model, saved, tmp_path, loopback_hub, linked):
    """Issue 21, problem 2: an artifact that is a symlink, or lies in a symlinked folder, is refused."""
    from looc_hub.hub.publish import publish

    outside = tmp_path / "private"
    outside.mkdir()
    (outside / "sens.png").write_bytes(b"\x89PNG private")
    results_dir = tmp_path / "eval"
    results_dir.mkdir()
    if linked == "file":
        (results_dir / "sens.png").symlink_to(outside / "sens.png")
        artifact = "sens.png"
    else:
        (results_dir / "plots").symlink_to(outside)
        artifact = "plots/sens.png"
    results = _results_file(small_model, results_dir, {"sensitivity_heatmap": artifact})
    repo_id = f"looc-test/linked-artifact-{linked}"
    with pytest.raises(ValueError, match=r"is or lies under a symlink"):
        publish(saved, repo_id, results=results)
    dry = _publish_cli(str(saved), repo_id, "--dry-run", "--results", str(results))
    assert dry.returncode != 0 and "symlink" in dry.stderr
    assert not loopback_hub.repo_dir(repo_id).exists()


def test_a_refused_results_publish_changes_nothing(small_model, saved, tmp_path, loopback_hub):
    """Issue 21, problem 3: results that do not describe the model are refused; folder and repo stay as they were."""
    from looc_hub.hub.publish import publish

    target = Path(shutil.copytree(saved, tmp_path / "model"))
    (tmp_path / "eval").mkdir()
    (tmp_path / "eval" / "sens.png").write_bytes(b"\x89PNG")
    wrong = _results_file(small_model, tmp_path / "eval", {"sensitivity_heatmap": "sens.png"}, backbone="resnet50")
    before = _tree(target)
    with pytest.raises(ValueError, match="describes a .*resnet50"):
        publish(target, "looc-test/refused-results", results=wrong)
    refused = _publish_cli(
        str(target), "looc-test/refused-results", "--results", str(wrong), endpoint=loopback_hub.endpoint
    )
    assert refused.returncode != 0 and "resnet50" in refused.stderr
    assert _tree(target) == before and not loopback_hub.repo_dir("looc-test/refused-results").exists()
    publish(target, "looc-test/refused-results")  # a plain publish of the untouched folder still works

    right = _results_file(small_model, tmp_path / "eval", {"sensitivity_heatmap": "sens.png"})
    publish(target, "looc-test/refused-results", results=right, stale="delete")
    assert {"results.json", "sens.png"} <= set(p.name for p in target.iterdir())  # kept only after success


def test_push_to_hub_target_is_checked_before_training(tmp_path, monkeypatch, loopback_hub_server):
    from huggingface_hub import constants

    from looc_hub.hub.publish import check_push_target
    from tests.pretrain_runs import run_pretrain

    with pytest.raises(AssertionError, match="'bad id!!' is not a Hub repo id"):
        run_pretrain(tmp_path / "run", "--push_to_hub", "bad id!!")
    assert not (tmp_path / "run" / "logs").exists()  # failed before anything was written
    with pytest.raises(ValueError, match="give the namespace"):
        check_push_target("just-a-name")
    with pytest.raises(ValueError, match="HF_HUB_OFFLINE is set"):
        check_push_target("org/name")
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    monkeypatch.delenv("HF_TOKEN", raising=False)
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf-home"))  # no stored token either
    monkeypatch.setattr(constants, "HF_TOKEN_PATH", str(tmp_path / "hf-home" / "token"))
    monkeypatch.setattr(constants, "HF_STORED_TOKENS_PATH", str(tmp_path / "hf-home" / "stored_tokens"))
    with pytest.raises(ValueError, match="no Hugging Face token"):
        check_push_target("org/name")
    monkeypatch.setenv("HF_TOKEN", "hf_anything")
    with pytest.raises(ValueError, match=r"the Hub http://127.0.0.1:9 did not answer .*the push at the end would fail"):
        check_push_target("org/name", endpoint="http://127.0.0.1:9")  # nothing listens on the discard port
    check_push_target("org/name", endpoint=loopback_hub_server.endpoint)


# 5. Silent wrong results: non-finite floats, unordered spaces, int weights, edited preprocessing --------------


@pytest.mark.parametrize("field", ["temperature", "momentum", "crop_pct"])
@pytest.mark.parametrize("value", [float("nan"), float("inf"), float("-inf")])
def test_non_finite_config_floats_are_refused(field, value):
    with pytest.raises(ValueError, match=field):
        SMALL.replace(**{field: value})


def test_non_finite_mean_std_and_training_floats_are_refused():
    from looc_hub.training import PretrainConfig

    with pytest.raises(ValueError, match="mean must hold 3 numbers"):
        SMALL.replace(mean=(0.5, float("nan"), 0.5))
    with pytest.raises(ValueError, match="std must hold 3 numbers"):
        SMALL.replace(std=(0.5, float("inf"), 0.5))
    for field in ("base_lr", "weight_decay", "warmup_epochs", "knn_temperature", "sgd_momentum"):
        with pytest.raises(ValueError, match=f"{field} must be a finite number, got nan"):
            PretrainConfig(**{field: float("nan")})


def test_augmentations_as_a_string_or_a_set_are_refused():
    with pytest.raises(TypeError, match=r"augmentations must be a list or tuple.*'color'.*did you mean \['color'\]"):
        SMALL.replace(augmentations="color")
    with pytest.raises(TypeError, match="invariant_augmentations must be a list or tuple.*set"):
        LooCConfig.from_dict({"augmentations": [], "invariant_augmentations": {"color", "rotation"}})


def test_a_set_of_spaces_or_a_number_is_refused(small_model):
    x = torch.randn(2, 3, 32, 32)
    with pytest.raises(TypeError, match=r"ordered list.*got set.*valid spaces: \['backbone'"):
        small_model.embed(x, {"color", "rotation"})
    with pytest.raises(TypeError, match=r"got int 3.*valid spaces"):
        small_model.embed(x, space=3)
    with pytest.raises(TypeError, match=r"must be strings, got \[3\]"):
        small_model(x, spaces=["color", 3])


def _damaged_copy(saved: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(saved, tmp_path / "copy"))


def test_integer_weights_are_refused_not_cast(saved, tmp_path):
    from safetensors.torch import load_file, save_file

    target = _damaged_copy(saved, tmp_path)
    state = load_file(target / "looc_heads.safetensors")
    state["heads.color.0.weight"] = state["heads.color.0.weight"].to(torch.int8)
    save_file(state, target / "looc_heads.safetensors")
    with pytest.raises(ValueError, match=r"dtype mismatch.*heads\.color\.0\.weight: file torch.int8 vs model"):
        LooCModel.from_pretrained(target)
    half = load_file(saved / "looc_heads.safetensors")
    save_file({k: v.half() if v.is_floating_point() else v for k, v in half.items()}, target / "looc_heads.safetensors")
    LooCModel.from_pretrained(target)  # narrower floats are a legitimate storage format


@pytest.mark.parametrize(
    ("key", "value"),
    [("interpolation", "bicubic"), ("crop_pct", 0.95), ("crop_mode", "squash"), ("test_input_size", [3, 64, 64])],
)
def test_preprocessing_edited_away_from_the_looc_config_is_refused(saved, tmp_path, key, value):
    target = _damaged_copy(saved, tmp_path)
    config = json.loads((target / "config.json").read_text())
    config["pretrained_cfg"][key] = value
    (target / "config.json").write_text(json.dumps(config))
    with pytest.raises(ValueError, match=rf"timm's keys disagree.*pretrained_cfg\.{key}: "):
        LooCModel.from_pretrained(target)


# 4. High-bit-depth images are scaled, not clipped to white or black ----------------------------------------------


def _png_bytes(image) -> bytes:
    import io

    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def test_16bit_png_and_float_tiff_keep_their_contrast(tmp_path):
    import numpy as np
    from PIL import Image

    from looc_hub.data import CanvasCollate

    ramp16 = np.tile(np.linspace(0, 65535, 32).astype(np.uint16), (32, 1))
    png = tmp_path / "deep.png"
    Image.fromarray(ramp16).save(png)
    assert Image.open(png).mode.startswith("I")  # Pillow decodes it as a 16-bit (or 32-bit) integer image
    ramp01 = np.tile(np.linspace(0, 1, 32, dtype=np.float32), (32, 1))
    tiff = tmp_path / "float.tiff"
    Image.fromarray(ramp01, mode="F").save(tiff)
    assert Image.open(tiff).mode == "F"
    ramp255 = tmp_path / "float255.tiff"
    Image.fromarray(ramp01 * 255, mode="F").save(ramp255)

    collate = CanvasCollate(32)
    for path in (png, tiff, ramp255):
        canvas = collate([{"image": {"bytes": None, "path": str(path)}}])["images"][0].float()
        row = canvas[0, 16]  # one row of the red channel: the ramp from black to white
        assert row[0] < 10 and row[-1] > 245, (path.name, row[0].item(), row[-1].item())
        assert torch.equal(canvas[0], canvas[1]) and torch.equal(canvas[0], canvas[2])  # grey stays grey


def test_float_images_with_no_8bit_meaning_are_refused_with_the_file_named(tmp_path):
    import numpy as np
    from PIL import Image

    from looc_hub.data import CanvasCollate, UnreadableImageError

    path = tmp_path / "hdr.tiff"
    Image.fromarray(np.full((8, 8), 1000.0, dtype=np.float32), mode="F").save(path)
    with pytest.raises(UnreadableImageError, match=r"hdr\.tiff.*mode F image with values in \[1000.0, 1000.0\]"):
        CanvasCollate(16)([{"image": {"bytes": None, "path": str(path)}}])


# 7. Unreadable images are named ---------------------------------------------------------------------------------


@pytest.mark.parametrize("damage", ["truncated", "random", "empty"])
def test_an_unreadable_image_is_named(tmp_path, damage):
    from PIL import Image

    from looc_hub.data import CanvasCollate, UnreadableImageError

    good = _png_bytes(Image.new("RGB", (64, 64), (200, 10, 10)))
    data = {"truncated": good[: len(good) // 2], "random": os.urandom(500), "empty": b""}[damage]
    path = tmp_path / f"{damage}.png"
    path.write_bytes(data)
    with pytest.raises(UnreadableImageError, match=rf"Cannot read image .*{damage}\.png"):
        CanvasCollate(16)([{"image": {"bytes": None, "path": str(path)}}])
    with pytest.raises(UnreadableImageError, match=rf"embedded bytes, {len(data)} bytes"):
        CanvasCollate(16)([{"image": {"bytes": data, "path": None}}])


def test_a_decompression_bomb_is_named(tmp_path, monkeypatch):
    from PIL import Image

    from looc_hub.data import CanvasCollate, UnreadableImageError

    path = tmp_path / "bomb.png"
    Image.new("L", (200, 200)).save(path)
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1000)  # 200 x 200 > 2 x 1000: what a huge image triggers
    with pytest.raises(UnreadableImageError, match=r"bomb\.png: DecompressionBombError"):
        CanvasCollate(16)([{"image": {"bytes": None, "path": str(path)}}])


# 6. Too little data for one global batch fails before training -----------------------------------------------


def test_fewer_rows_than_one_global_batch_fails_before_training(tiny_splits, image_sources, tmp_path):
    from looc_hub.data import check_enough_rows
    from tests.pretrain_runs import run_pretrain

    train = tiny_splits["train"]  # 20 rows
    check_enough_rows(train, batch_size=10, num_processes=2)
    with pytest.raises(ValueError, match=r"20 rows < batch size 16 x 2 process\(es\) = 32"):
        check_enough_rows(train, batch_size=16, num_processes=2)
    with pytest.raises(ValueError, match=r"20 rows < batch size 32 x 1 process\(es\) = 32"):
        check_enough_rows(train.to_iterable_dataset(num_shards=2), batch_size=32)
    for args in (["--epochs", "2"], ["--max_steps", "3"], ["--max_steps", "3", "--streaming", "true"]):
        with pytest.raises(AssertionError, match=r"20 rows < batch size 32 x 1"):
            run_pretrain(
                tmp_path / "run", "--dataset", image_sources["save_to_disk"], "--label_column", "label",
                "--batch_size", "32", *args,
            )  # fmt: skip
        assert not (tmp_path / "run" / "checkpoints").exists()


# 8. Full fine-tuning survives a last batch of one image ---------------------------------------------------------


def test_full_finetuning_with_a_last_batch_of_one_image(saved, digits_train, tmp_path):
    from datasets import DatasetDict

    from looc_hub.cli import finetune
    from looc_hub.finetune import LooCClassifier

    data = tmp_path / "digits-51"
    DatasetDict({"train": digits_train.select(range(51)), "test": digits_train.select(range(51, 61))}).save_to_disk(
        data
    )
    argv = ["--model", str(saved), "--dataset", str(data), "--output_dir", str(tmp_path / "out")]
    finetune.finetune(finetune.parse_args([*argv, "--mode", "full", "--epochs", "1", "--batch_size", "25"]))
    assert LooCClassifier.from_pretrained(tmp_path / "out" / "last").num_classes == 10


# 9. Sizes are checked against the weight headers before anything is allocated; reserved timm kwargs ------------


def test_a_huge_head_in_config_json_is_refused_before_allocation(saved, tmp_path, monkeypatch):
    import looc_hub.heads

    target = _damaged_copy(saved, tmp_path)
    config = json.loads((target / "config.json").read_text())
    config["head_out_dim"] = 10**9  # 512 x 10^9 floats: 2 TB if built
    (target / "config.json").write_text(json.dumps(config))
    real_linear = torch.nn.Linear

    def no_huge_allocation(in_features, out_features, *args, **kwargs):
        on_meta = kwargs.get("device") == "meta" or torch.empty(0).device.type == "meta"
        assert on_meta or out_features < 10**6, "a huge layer was allocated before the weights were checked"
        return real_linear(in_features, out_features, *args, **kwargs)

    monkeypatch.setattr(looc_hub.heads.nn, "Linear", no_huge_allocation)
    with pytest.raises(ValueError, match=r"shape mismatch.*file \(128, 512\) vs model \(1000000000, 512\)"):
        LooCModel.from_pretrained(target)


@pytest.mark.parametrize(
    "kwargs", [{"checkpoint_path": "/etc/passwd"}, {"features_only": True}, {"out_indices": [1]}, {"cache_dir": "/x"}]
)
def test_timm_kwargs_that_read_files_or_change_outputs_are_reserved(kwargs):
    with pytest.raises(ValueError, match=rf"may not set \['{next(iter(kwargs))}'\].*reserved"):
        SMALL.replace(backbone_kwargs=kwargs)


@pytest.mark.parametrize("pool", ["", "catavgmax", "max"])
def test_global_pool_is_reserved_and_a_folder_setting_it_is_not_published(saved, tmp_path, pool):
    """Embeddings are the backbone's average-pooled features; another pool changes their size or meaning (issue 21)."""
    from looc_hub.hub.validation import check_model_dir

    with pytest.raises(ValueError, match=r"may not set \['global_pool'\].*reserved"):
        SMALL.replace(backbone_kwargs={"global_pool": pool})
    target = _damaged_copy(saved, tmp_path)
    config = json.loads((target / "config.json").read_text())
    config["backbone_kwargs"] = {"global_pool": pool}
    (target / "config.json").write_text(json.dumps(config))
    with pytest.raises(ValueError, match=r"cannot be published.*may not set \['global_pool'\]"):
        check_model_dir(target, LooCModel)


# 10. Errors that name the file, field or value --------------------------------------------------------------


def test_a_missing_local_folder_is_named_not_sent_to_the_hub(tmp_path):
    from huggingface_hub.errors import LocalEntryNotFoundError

    for source in (tmp_path / "nowhere", str(tmp_path / "nowhere"), "./nowhere", "outputs/run/model"):
        with pytest.raises(FileNotFoundError, match=r"No such model folder: .*nowhere|No such model folder: outputs"):
            LooCModel.from_pretrained(source)
    with pytest.raises(FileNotFoundError, match="neither an existing local folder nor a Hub repo id"):
        LooCModel.from_pretrained("bad id!!")
    with pytest.raises(LocalEntryNotFoundError) as error:  # a valid repo id, offline: the Hub's error, plus a note
        LooCModel.from_pretrained("looc-test/not-here")
    assert "no local folder 'looc-test/not-here' exists either" in "".join(error.value.__notes__)
    (tmp_path / "file").write_text("x")
    with pytest.raises(NotADirectoryError, match="is a file"):
        LooCModel.from_pretrained(tmp_path / "file")


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"[1, 2]", "must hold a JSON object of config fields, got list"),
        (b"null", "must hold a JSON object of config fields, got NoneType"),
        ('{"backbone": "r\u00e9snet"}'.encode("latin-1"), "config.json is not UTF-8 text"),
        (b"{not json", "config.json is not valid JSON"),
    ],
)
def test_a_config_json_that_is_not_an_object_is_named(saved, tmp_path, content, message):
    target = _damaged_copy(saved, tmp_path)
    (target / "config.json").write_bytes(content)
    with pytest.raises(ValueError, match=message):
        LooCModel.from_pretrained(target)


@pytest.mark.parametrize("dtype", [torch.float64, torch.float16])
def test_input_dtype_other_than_the_weights_is_named(small_model, dtype):
    x = torch.randn(2, 3, 32, 32, dtype=dtype)
    with pytest.raises(TypeError, match=rf"Input dtype {dtype} differs from the model's weights \(torch.float32\)"):
        small_model.embed(x)
    with torch.autocast("cpu", dtype=torch.bfloat16):  # mixed precision stays allowed
        assert small_model.embed(x.float(), "invariant").shape == (2, 128)


def test_a_batch_of_one_in_train_mode_is_named():
    model = LooCModel(SMALL).train()
    with pytest.raises(ValueError, match=r"batch of one image in train mode.*model.eval\(\)"):
        model.embed(torch.randn(1, 3, 32, 32))
    assert model.eval().embed(torch.randn(1, 3, 32, 32)).shape == (1, 512)


def test_an_empty_parquet_file_is_named(tmp_path):
    from looc_hub.data import load_image_dataset

    path = tmp_path / "empty.parquet"
    path.write_bytes(b"")
    with pytest.raises(ValueError, match=r"empty\.parquet is not a readable parquet file"):
        load_image_dataset(str(path))


def test_a_corrupt_feature_cache_file_is_named_and_extracted_again(small_model, tiny_splits, tmp_path):
    from looc_hub.eval.feature_cache import FeatureCache

    cache = FeatureCache(tmp_path)
    data = tiny_splits["test"]
    first, labels = cache.features(small_model, data, dataset_name="digits", split="test", spaces=["color"])
    path = cache.folder(small_model, data, dataset_name="digits", split="test") / "color.safetensors"
    path.write_bytes(path.read_bytes()[:50])
    with pytest.warns(UserWarning, match=r"color\.safetensors is unreadable"):
        again, again_labels = cache.features(small_model, data, dataset_name="digits", split="test", spaces=["color"])
    assert torch.equal(again["color"], first["color"]) and torch.equal(again_labels, labels)
    cache.features(small_model, data, dataset_name="digits", split="test", spaces=["color"])  # repaired: no warning


def test_a_corrupt_classifier_file_is_named(small_model, tmp_path):
    from looc_hub.finetune import LooCClassifier

    directory = LooCClassifier(small_model, "color", 3).save_pretrained(tmp_path / "clf")
    weights = (directory / "classifier.safetensors").read_bytes()
    (directory / "classifier.safetensors").write_bytes(weights[:40])
    with pytest.raises(ValueError, match=r"classifier\.safetensors is not a readable safetensors file"):
        LooCClassifier.from_pretrained(directory)
    (directory / "classifier.safetensors").write_bytes(weights)
    for content in (b"[]", b"\xff\xfe", b"{}"):
        (directory / "classifier.json").write_bytes(content)
        with pytest.raises(ValueError, match=r"classifier\.json (is not UTF-8 text|must be a JSON object)"):
            LooCClassifier.from_pretrained(directory)


def test_a_load_time_check_names_unreadable_images_or_skips_them(tmp_path):
    from datasets import Dataset
    from datasets import Image as ImageFeature
    from PIL import Image

    from looc_hub.data import UnreadableImageError, screen_images

    paths = []
    for index in range(4):
        path = tmp_path / f"{index}.png"
        Image.new("RGB", (20, 20), (index * 60, 0, 0)).save(path)
        paths.append(str(path))
    Path(paths[2]).write_bytes(Path(paths[2]).read_bytes()[:30])  # truncated
    dataset = Dataset.from_dict({"image": paths}).cast_column("image", ImageFeature())
    with pytest.raises(UnreadableImageError, match=r"1 of 4 images cannot be read.*\n  row 2: .*2\.png"):
        screen_images(dataset, 16)
    kept, skipped = screen_images(dataset, 16, skip=True)
    assert len(kept) == 3 and len(skipped) == 1 and "2.png" in skipped[0]
    with pytest.raises(TypeError, match="map-style"):
        screen_images(dataset.to_iterable_dataset(), 16)
