"""The shared looc-hub / timm format: round trips, plain timm loading, strict loading, atomic writes."""

import json
import os

import pytest
import timm
import torch
from huggingface_hub.errors import LocalEntryNotFoundError
from safetensors.torch import load_file, save_file

from looc_hub import LooCConfig, LooCModel
from looc_hub.hub import model_files
from tests.hub_cache import add_to_hf_cache
from tests.models import trained_like

SMALL = LooCConfig(backbone="resnet18", image_size=32, augmentations=("color", "rotation"))


@pytest.fixture(scope="module")
def images():
    return torch.randn(2, 3, 32, 32, generator=torch.Generator().manual_seed(1))


@pytest.fixture(scope="module", params=["looc", "looc++"])
def saved(request, tmp_path_factory):
    model = trained_like(SMALL.replace(variant=request.param))
    directory = tmp_path_factory.mktemp(request.param.replace("+", "p")) / "model"
    model.save_pretrained(directory)
    return model, directory


def test_directory_layout_and_timm_keys(saved):
    model, directory = saved
    assert sorted(os.listdir(directory)) == ["README.md", "config.json", "looc_heads.safetensors", "model.safetensors"]
    config = json.loads((directory / "config.json").read_text())
    assert config["architecture"] == "resnet18"
    assert config["num_classes"] == 0
    assert config["num_features"] == 512
    assert config["global_pool"] == "avg"
    assert config["model_args"] == {}
    # our preprocessing, not the inherited timm tag (a1_in1k: crop_pct 0.95, bicubic)
    assert config["pretrained_cfg"]["tag"] == "looc"
    assert config["pretrained_cfg"]["crop_pct"] == 0.875
    assert config["pretrained_cfg"]["interpolation"] == "bilinear"
    assert config["pretrained_cfg"]["input_size"] == [3, 32, 32]
    assert "hf_hub_id" not in config["pretrained_cfg"]
    assert LooCConfig.from_dict({k: config[k] for k in LooCConfig.field_names()}) == model.config
    backbone_keys = set(load_file(directory / "model.safetensors"))
    assert backbone_keys == set(model.backbone.state_dict())
    heads_keys = set(load_file(directory / "looc_heads.safetensors"))
    assert all(k.startswith(("heads.", "last_stages.")) for k in heads_keys)
    assert any(k.startswith("last_stages.") for k in heads_keys) == (model.config.variant == "looc++")


def test_round_trip_keeps_every_space_identical(saved, images):
    model, directory = saved
    loaded = LooCModel.from_pretrained(directory)
    assert loaded.config == model.config
    assert not loaded.training
    with torch.no_grad():
        before, after = model(images), loaded(images)
    for space in model.spaces:
        assert torch.equal(before[space], after[space]), space


def test_plain_timm_loads_the_backbone_space(saved, images):
    model, directory = saved
    backbone = timm.create_model(f"local-dir:{directory}", pretrained=True).eval()
    with torch.no_grad():
        assert torch.equal(backbone(images), model.embed(images, space="backbone"))
    data_config = timm.data.resolve_data_config(model=backbone)
    assert tuple(data_config["input_size"]) == (3, 32, 32)
    assert data_config["crop_pct"] == 0.875


def test_repo_id_through_the_hf_cache_with_revisions(saved, tmp_path, images):
    model, directory = saved
    repo_id = f"looc-test/{model.config.variant.replace('+', 'p')}-r18"
    first = add_to_hf_cache(directory, repo_id, refs=("main", "v1"))
    # a second commit on main with different weights; v1 stays on the first
    other = LooCModel(model.config)
    other.save_pretrained(tmp_path / "other")
    second = add_to_hf_cache(tmp_path / "other", repo_id, refs=("main",))
    assert first != second
    with torch.no_grad():
        pinned = LooCModel.from_pretrained(repo_id, revision="v1")
        by_commit = LooCModel.from_pretrained(repo_id, revision=first)
        latest = LooCModel.from_pretrained(repo_id)
        expected = model(images)["rotation"]
        assert torch.equal(pinned(images)["rotation"], expected)
        assert torch.equal(by_commit(images)["rotation"], expected)
        assert not torch.equal(latest(images)["rotation"], expected)
        timm_backbone = timm.create_model(f"hf-hub:{repo_id}@v1", pretrained=True).eval()
        assert torch.equal(timm_backbone(images), model(images)["backbone"])


def test_missing_repo_offline_is_an_error():
    with pytest.raises(LocalEntryNotFoundError, match="cannot find the requested files in the local cache"):
        LooCModel.from_pretrained("looc-test/does-not-exist")


def _copy(directory, tmp_path):
    target = tmp_path / "copy"
    target.mkdir()
    for path in directory.iterdir():
        (target / path.name).write_bytes(path.read_bytes())
    return target


def test_a_folder_saved_with_training_settings_in_its_config_still_loads(saved, tmp_path, images):
    """Before issue 20 config.json also held LooCConfig's queue_size, temperature and momentum: accepted, ignored."""
    model, directory = saved
    old = _copy(directory, tmp_path)
    raw = json.loads((old / "config.json").read_text())
    assert not {"queue_size", "temperature", "momentum"} & set(raw)  # saved now: architecture and preprocessing only
    keys = list(raw)
    at = keys.index("head_out_dim") + 1  # where the old LooCConfig.to_dict() wrote them, in field order
    training = {"temperature": 0.2, "momentum": 0.99, "queue_size": 128}
    (old / "config.json").write_text(
        json.dumps({**{k: raw[k] for k in keys[:at]}, **training, **{k: raw[k] for k in keys[at:]}})
    )
    loaded = LooCModel.from_pretrained(old)
    assert loaded.config == model.config
    with torch.no_grad():
        before, after = model(images), loaded(images)
    assert all(torch.equal(before[space], after[space]) for space in model.spaces)
    backbone = timm.create_model(f"local-dir:{old}", pretrained=True).eval()  # plain timm reads it as before
    with torch.no_grad():
        assert torch.equal(backbone(images), model.embed(images, space="backbone"))
    loaded.save_pretrained(tmp_path / "resaved")  # saved again: the training settings are gone
    assert not set(training) & set(json.loads((tmp_path / "resaved" / "config.json").read_text()))


def test_missing_and_unexpected_keys_are_named(saved, tmp_path):
    _, directory = saved
    target = _copy(directory, tmp_path)
    state = load_file(target / "looc_heads.safetensors")
    state.pop("heads.rotation.2.bias")
    state["heads.texture.0.weight"] = torch.zeros(1)
    save_file(state, target / "looc_heads.safetensors")
    with pytest.raises(ValueError, match=r"missing key.*heads\.rotation\.2\.bias.*unexpected key.*heads\.texture"):
        LooCModel.from_pretrained(target)


def test_shape_mismatch_between_config_and_weights(saved, tmp_path):
    _, directory = saved
    target = _copy(directory, tmp_path)
    config = json.loads((target / "config.json").read_text())
    config["head_out_dim"] = 64
    (target / "config.json").write_text(json.dumps(config))
    with pytest.raises(
        ValueError, match=r"shape mismatch.*heads\.invariant\.2\.weight: file \(128, 512\) vs model \(64, 512\)"
    ):
        LooCModel.from_pretrained(target)


def test_timm_keys_that_disagree_with_the_looc_config(saved, tmp_path):
    _, directory = saved
    target = _copy(directory, tmp_path)
    config = json.loads((target / "config.json").read_text())
    config["architecture"] = "resnet34"
    config["pretrained_cfg"]["input_size"] = [3, 64, 64]
    (target / "config.json").write_text(json.dumps(config))
    with pytest.raises(ValueError, match=r"architecture: 'resnet34' != 'resnet18'.*input_size"):
        LooCModel.from_pretrained(target)


def test_backbone_weights_of_another_architecture(saved, tmp_path):
    _, directory = saved
    target = _copy(directory, tmp_path)
    save_file(timm.create_model("resnet34", num_classes=0).state_dict(), target / "model.safetensors")
    with pytest.raises(ValueError, match=r"model\.safetensors do not match.*unexpected key"):
        LooCModel.from_pretrained(target)


@pytest.mark.parametrize("damage", ["truncate", "garbage", "empty"])
def test_corrupt_or_truncated_weights(saved, tmp_path, damage):
    _, directory = saved
    target = _copy(directory, tmp_path)
    path = target / "looc_heads.safetensors"
    data = path.read_bytes()
    path.write_bytes(
        {"truncate": data[: len(data) // 2], "garbage": b"\x80\x04not a safetensors file", "empty": b""}[damage]
    )
    with pytest.raises(ValueError, match="looc_heads.safetensors is not a readable safetensors file"):
        LooCModel.from_pretrained(target)


def test_invalid_or_foreign_config(saved, tmp_path):
    _, directory = saved
    target = _copy(directory, tmp_path)
    (target / "config.json").write_text("{not json")
    with pytest.raises(ValueError, match="not valid JSON"):
        LooCModel.from_pretrained(target)
    timm_only = {"architecture": "resnet18", "num_classes": 0, "pretrained_cfg": {}}
    (target / "config.json").write_text(json.dumps(timm_only))
    with pytest.raises(ValueError, match="not a looc-hub model"):
        LooCModel.from_pretrained(target)
    (target / "config.json").unlink()
    with pytest.raises((FileNotFoundError, ValueError), match="config.json"):
        LooCModel.from_pretrained(target)


def test_a_failed_save_keeps_the_previous_directory(saved, tmp_path, monkeypatch):
    model, directory = saved
    target = _copy(directory, tmp_path)
    before = {p.name: p.read_bytes() for p in target.iterdir()}

    def fail(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(model_files, "write_safetensors", fail)
    with pytest.raises(OSError, match="disk full"):
        LooCModel(model.config).save_pretrained(target)
    assert {p.name: p.read_bytes() for p in target.iterdir()} == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["copy"]  # no staging directory left behind


def test_save_replaces_an_existing_directory(saved, tmp_path, images):
    model, directory = saved
    target = _copy(directory, tmp_path)
    (target / "stale.bin").write_bytes(b"old")
    with pytest.raises(FileExistsError, match="stale.bin"):  # not ours: kept unless overwrite is asked for
        model.save_pretrained(target)
    model.save_pretrained(target, overwrite=True)
    assert not (target / "stale.bin").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["copy"]


def test_model_card(saved):
    model, directory = saved
    card = (directory / "README.md").read_text()
    assert "library_name: looc-hub" in card
    assert "pipeline_tag: image-feature-extraction" in card
    for tag in ("looc", "self-supervised", "timm"):
        assert f"- {tag}\n" in card
    assert "| `rotation` | 128 |" in card
    assert "2008.05659" in card
    assert f"| `concat` | {model.embedding_dim('concat')} |" in card
