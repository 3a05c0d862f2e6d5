"""`looc-finetune`'s output folder holds one run: a second run, a resume of another run or of another model, and
unreadable images are refused with a message naming the problem; the flags build a checked `FinetuneConfig`."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from datasets import DatasetDict
from PIL import Image

from looc_hub import LooCConfig, LooCModel
from looc_hub.cli import finetune
from looc_hub.data import UnreadableImageError, load_image_dataset
from looc_hub.finetune import FinetuneConfig, classification_loader
from tests.models import calibrated_model


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory, digits_train) -> Path:
    directory = tmp_path_factory.mktemp("finetune-runs") / "base"
    calibrated_model(digits_train).save_pretrained(directory)
    return directory


@pytest.fixture(scope="module")
def digits_tiny(tmp_path_factory, digits_train, digits_test) -> str:
    """100 train + 50 test digits: two steps per epoch."""
    directory = tmp_path_factory.mktemp("finetune-runs") / "digits-tiny"
    DatasetDict({"train": digits_train.select(range(100)), "test": digits_test.select(range(50))}).save_to_disk(
        directory
    )
    return str(directory)


def _run(model_dir: Path, dataset: str, output_dir: Path, *extra: str) -> dict:
    argv = ["--model", str(model_dir), "--dataset", dataset, "--output_dir", str(output_dir), "--batch_size", "50"]
    return finetune.finetune(finetune.parse_args([*argv, "--epochs", "1", "--mode", "full", *extra]))


def test_a_second_run_into_one_folder_is_refused_unless_resumed_or_overwritten(
    tmp_path, model_dir, digits_tiny, capsys
):
    output = tmp_path / "run"
    _run(model_dir, digits_tiny, output)
    first_checkpoint = output / "checkpoints" / "step_00000002"
    assert first_checkpoint.is_dir()
    with pytest.raises(FileExistsError, match=r"is not empty.*--resume latest.*--overwrite"):
        _run(model_dir, digits_tiny, output, "--seed", "1")
    assert first_checkpoint.is_dir()
    assert sorted(p.name for p in output.iterdir()) == [".looc-run.json", "best", "checkpoints", "last"]

    # A resume of this folder with other settings is another run: refused, naming the setting.
    with pytest.raises(ValueError, match=r"other settings \(seed: checkpoint 0, this run 1\)"):
        _run(model_dir, digits_tiny, output, "--seed", "1", "--epochs", "2", "--resume", "latest")
    with pytest.raises(ValueError, match=r"other settings \(lr: checkpoint 0\.004, this run 0\.001\)"):
        _run(model_dir, digits_tiny, output, "--lr", "0.001", "--epochs", "2", "--resume", "latest")
    resumed = _run(model_dir, digits_tiny, output, "--epochs", "2", "--resume", "latest")  # more epochs: allowed
    assert [row["epoch"] for row in resumed["history"]] == [2]

    (output / "notes.txt").write_text("the user's own file")
    _run(model_dir, digits_tiny, output, "--overwrite", "true", "--seed", "1")
    assert sorted(p.name for p in (output / "checkpoints").iterdir()) == ["step_00000002"]  # run 2's only
    assert (output / "notes.txt").read_text() == "the user's own file"
    with pytest.raises(SystemExit):
        finetune.parse_args(
            ["--model", "m", "--dataset", "d", "--output_dir", "o", "--resume", "latest", "--overwrite"]
        )
    assert "contradict" in capsys.readouterr().err


def test_a_resume_into_a_replaced_model_is_named_not_a_state_dict_error(tmp_path, model_dir, digits_tiny):
    base = tmp_path / "base"
    shutil.copytree(model_dir, base)
    output = tmp_path / "run"
    _run(base, digits_tiny, output)
    weights = output / "checkpoints" / "step_00000002" / "model.safetensors"
    intact = weights.read_bytes()
    weights.write_bytes(intact[: len(intact) // 2])  # a copy cut short is named as such, not as another model
    with pytest.raises(ValueError, match=r"step_00000002 does not load: model\.safetensors is truncated"):
        _run(base, digits_tiny, output, "--epochs", "2", "--resume", "latest")
    weights.write_bytes(intact)
    shutil.rmtree(base)  # the same path now holds a model of another shape
    LooCModel(LooCConfig(backbone="resnet10t", image_size=32, augmentations=("color",))).save_pretrained(base)
    with pytest.raises(ValueError, match=r"step_00000002 does not fit the classifier built from --model .*base"):
        _run(base, digits_tiny, output, "--epochs", "2", "--resume", "latest")


def test_the_loaders_name_a_truncated_image(tmp_path, model_dir):
    for index in range(4):
        folder = tmp_path / "data" / "train" / f"class{index % 2}"
        folder.mkdir(parents=True, exist_ok=True)
        Image.new("RGB", (40, 40), (index * 60, 0, 0)).save(folder / f"{index}.png")
    broken = tmp_path / "data" / "train" / "class1" / "3.png"
    broken.write_bytes(broken.read_bytes()[:60])  # the header survives: the file lists, then fails to decode
    train = load_image_dataset(str(tmp_path / "data"), split="train", label_column="label")
    model = LooCModel.from_pretrained(model_dir)
    for training in (True, False):
        loader = classification_loader(train, model, num_classes=2, training=training, batch_size=4)
        with pytest.raises(UnreadableImageError, match=r"3\.png.*truncated"):
            next(iter(loader))


def test_the_config_names_a_bad_value_and_its_choices():
    required = {"model": "m", "dataset": "d", "output_dir": "o"}
    with pytest.raises(ValueError, match=r"Unknown optimizer 'adam'; valid choices: \['adamw', 'sgd'\]"):
        FinetuneConfig(**required, optimizer="adam")
    with pytest.raises(ValueError, match=r"epochs must be a positive integer, got 0"):
        FinetuneConfig(**required, epochs=0)
    with pytest.raises(ValueError, match=r"crop_scale must be \(min, max\).*got \(0\.0, 1\.0\)"):
        FinetuneConfig(**required, crop_scale=(0.0, 1.0))
    with pytest.raises(ValueError, match=r"hflip is a probability"):
        FinetuneConfig(**required, hflip=2.0)
    config = FinetuneConfig(**{**required, "dataset": "."}, crop_scale=[0.5, 1.0])
    assert config.crop_scale == (0.5, 1.0) and Path(config.run_config()["dataset"]).is_absolute()
    assert "epochs" not in config.resume_fields() and "lr" in config.resume_fields()
