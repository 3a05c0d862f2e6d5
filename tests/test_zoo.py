import pytest
import torch
from PIL import Image

import looc_hub
from looc_hub import LooCModel
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
    assert looc_hub.list_models("*r50*") == [n for n in names if "resnet50" in n]
    assert looc_hub.list_models("moco_*") == [n for n in names if n.startswith("moco_")]
    assert set(looc_hub.list_pretrained()) == {n for n in names if looc_hub.get_zoo_entry(n).hub_id}
    assert "looc_resnet10t.openmoji32" in names and "looc_resnet10t.openmoji32" not in looc_hub.list_pretrained()


def test_entries_describe_the_paper_recipes():
    looc = looc_hub.get_zoo_entry("looc_resnet50.in100")
    assert looc.hub_id == "looc-hub/looc-r50-in100"
    assert looc.recipe == "training/configs/looc_r50_in100.yaml"
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
    model = looc_hub.create_model("loocpp_resnet10t.openmoji32", image_size=32, queue_size=128)
    assert isinstance(model, LooCModel)
    assert model.config.variant == "looc++" and model.config.image_size == 32
    with pytest.raises(ValueError, match="valid fields"):
        looc_hub.create_model("looc_resnet10t.openmoji32", heads=2)


def test_unknown_name_suggests_close_matches():
    with pytest.raises(ValueError, match=r"close matches: \['looc_resnet50.in100'"):
        looc_hub.create_model("looc_resnet50.in10")


def test_pretrained_loads_the_hub_id_from_the_cache(tmp_path):
    entry = looc_hub.get_zoo_entry("moco_resnet50.in100")
    model = LooCModel(entry.config.replace(backbone="resnet18"))  # small stand-in weights under the real id
    model.save_pretrained(tmp_path / "weights")
    add_to_hf_cache(tmp_path / "weights", entry.hub_id)
    loaded = looc_hub.create_model("moco_resnet50.in100", pretrained=True)
    x = torch.randn(1, 3, 224, 224)
    with torch.no_grad():
        assert torch.equal(loaded.embed(x, space="invariant"), model.eval().embed(x, space="invariant"))
    with pytest.raises(ValueError, match="overrides"):
        looc_hub.create_model("moco_resnet50.in100", pretrained=True, image_size=64)
    with pytest.raises(ValueError, match="no published weights"):
        looc_hub.create_model("looc_resnet10t.openmoji32", pretrained=True)


def test_eval_transform_follows_the_model_config():
    model = looc_hub.create_model("looc_resnet10t.openmoji32").eval()
    transform = looc_hub.eval_transform(model)
    image = Image.new("RGB", (120, 90), (255, 0, 0))
    x = transform(image)
    assert x.shape == (3, 32, 32)
    red = (1.0 - model.config.mean[0]) / model.config.std[0]
    torch.testing.assert_close(x[0], torch.full((32, 32), red))
    assert model.embed(x.unsqueeze(0), space="color").shape == (1, 128)
