import time

import pytest
import torch
from PIL import Image

import looc_hub
from looc_hub import LooCModel
from looc_hub.hub import zoo
from looc_hub.hub.zoo import NotPublishedError, ZooEntry
from tests.hub_cache import add_to_hf_cache


def test_paper_entries_and_baselines_are_registered():
    names = looc_hub.list_models()
    for name in (
        "looc_resnet50.in100",
        "looc_resnet50.in100_crt",
        "loocpp_resnet50.in100",
        "moco_resnet50.in100",
        "moco_rotation_resnet50.in100",
    ):
        assert name in names
    assert looc_hub.list_models("*resnet50*") == [n for n in names if "resnet50" in n]
    assert looc_hub.list_models("moco_*") == [n for n in names if n.startswith("moco_")]
    assert set(looc_hub.list_pretrained()) == {n for n in names if looc_hub.get_zoo_entry(n).published}
    assert looc_hub.list_pretrained() == []  # no weights are published yet: every entry is a recipe
    assert looc_hub.list_models(pretrained=True) == looc_hub.list_pretrained()


def test_timm_like_filters():
    names = looc_hub.list_models()
    assert looc_hub.list_models(["moco_*", "loocpp_*"]) == [n for n in names if n.startswith(("moco_", "loocpp_"))]
    assert looc_hub.list_models("*resnet50*", exclude_filters="moco*") == [
        n for n in names if "resnet50" in n and not n.startswith("moco")
    ]
    assert looc_hub.list_models("*", exclude_filters=["*in100*", "*openmoji*", "*fmnist*"]) == []
    assert looc_hub.list_models("looc-hub/loocpp_*") == [
        "loocpp_resnet10t.fmnist32",
        "loocpp_resnet10t.openmoji32",
        "loocpp_resnet50.in100",
        "loocpp_resnet50.in100_crt",
    ]


def test_one_name_for_zoo_entry_hub_repo_and_tag():
    for name in looc_hub.list_models():
        entry = looc_hub.get_zoo_entry(name)
        assert entry.hub_id == f"looc-hub/{name}"
        assert looc_hub.get_zoo_entry(entry.hub_id) is entry
        model = looc_hub.create_model(name) if "resnet10t" in name else None
        if model is not None:
            assert model.pretrained_cfg["tag"] == name == model.name
            assert model.pretrained_cfg["architecture"] == entry.config.backbone  # what plain timm builds
    assert looc_hub.create_model("looc_resnet10t.openmoji32", crop_pct=0.9).name == "looc"  # overridden: no zoo name


def test_entries_describe_the_paper_recipes():
    looc = looc_hub.get_zoo_entry("looc_resnet50.in100")
    assert looc.hub_id == "looc-hub/looc_resnet50.in100"
    assert looc.recipe == "looc_r50_in100"
    assert (looc.config.backbone, looc.config.augmentations, looc.config.variant) == (
        "resnet50",
        ("color", "rotation"),
        "looc",
    )
    moco_rotation = looc_hub.get_zoo_entry("moco_rotation_resnet50.in100").config
    assert moco_rotation.augmentations == () and moco_rotation.invariant_augmentations == ("color", "rotation")
    assert looc_hub.get_zoo_entry("loocpp_resnet50.in100_crt").config.augmentations == ("color", "rotation", "texture")
    assert looc_hub.get_zoo_entry("looc_resnet50") is looc  # architecture alone: its default tag


def test_create_model_with_overrides():
    model = looc_hub.create_model("loocpp_resnet10t.openmoji32", image_size=48)
    assert isinstance(model, LooCModel)
    assert model.config.variant == "looc++" and model.config.image_size == 48
    with pytest.raises(ValueError, match="valid fields"):
        looc_hub.create_model("looc_resnet10t.openmoji32", heads=2)


def test_unknown_name_suggests_close_matches():
    with pytest.raises(ValueError, match=r"close matches: \['looc_resnet50.in100'"):
        looc_hub.create_model("looc_resnet50.in10")


@pytest.fixture
def published_entry(monkeypatch, tmp_path):
    """A published stand-in entry (small weights in the HF cache under its hub id), removed after the test."""
    entry = ZooEntry(
        name="moco_resnet18.test32",
        config=looc_hub.get_zoo_entry("moco_resnet10t.openmoji32").config.replace(backbone="resnet18"),
        recipe="moco_r10t_openmoji32",
        dataset="test",
        published=True,
    )
    monkeypatch.setitem(zoo._ZOO, entry.name, entry)
    model = looc_hub.create_model(entry.name)
    model.save_pretrained(tmp_path / "weights")
    add_to_hf_cache(tmp_path / "weights", entry.hub_id)
    return entry, model.eval()


def test_pretrained_loads_the_hub_id_from_the_cache(published_entry):
    entry, model = published_entry
    assert looc_hub.list_pretrained() == [entry.name]
    x = torch.randn(2, 3, 32, 32)
    for loaded in (
        looc_hub.create_model(entry.name, pretrained=True),
        looc_hub.create_model(f"hf-hub:{entry.hub_id}"),
        looc_hub.create_model(f"hf-hub:{entry.hub_id}@main"),
        looc_hub.LooCModel.from_pretrained(entry.hub_id),
    ):
        assert loaded.name == entry.name  # the tag survives save and load
        with torch.no_grad():
            assert torch.equal(loaded.embed(x, space="invariant"), model.embed(x, space="invariant"))
    with pytest.raises(ValueError, match="overrides"):
        looc_hub.create_model(entry.name, pretrained=True, image_size=64)


def test_local_dir_prefix_loads_a_folder(published_entry, tmp_path):
    _, model = published_entry
    loaded = looc_hub.create_model(f"local-dir:{tmp_path / 'weights'}")
    assert loaded.config == model.config


def test_unpublished_entries_fail_at_once_with_the_command_that_trains_them():
    started = time.monotonic()
    expected = (
        r"looc_resnet10t.openmoji32 .* is not published yet.*"
        r"looc-pretrain --config looc_r10t_openmoji32"
    )
    with pytest.raises(NotPublishedError, match=expected):
        looc_hub.create_model("looc_resnet10t.openmoji32", pretrained=True)
    with pytest.raises(NotPublishedError, match="is not published yet"):
        LooCModel.from_pretrained("looc-hub/looc_resnet50.in100")
    with pytest.raises(NotPublishedError, match="is not published yet"):
        looc_hub.create_model("hf-hub:looc-hub/moco_resnet50.in100")
    assert time.monotonic() - started < 2.0  # no Hub round trips or retries


def test_eval_transform_follows_the_model_config():
    model = looc_hub.create_model("looc_resnet10t.openmoji32").eval()
    transform = looc_hub.eval_transform(model)
    image = Image.new("RGB", (120, 90), (255, 0, 0))
    x = transform(image)
    assert x.shape == (3, 32, 32)
    red = (1.0 - model.config.mean[0]) / model.config.std[0]
    torch.testing.assert_close(x[0], torch.full((32, 32), red))
    assert model.embed(x.unsqueeze(0), space="color").shape == (1, 128)
