"""Exports reproduce the eager model: plain timm, torchvision's ResNet, and a torch.export program per space."""

import json

import pytest
import timm
import torch
import torchvision
from safetensors.torch import load_file, save_file

from looc_hub import LooCConfig, LooCModel
from looc_hub._atomic import FileExistsNotOursError
from looc_hub.hub.export import export_program, export_timm, export_torchvision_resnet, torchvision_resnet
from tests.models import trained_like

SMALL = LooCConfig(backbone="resnet18", image_size=32, augmentations=("color", "rotation"))


@pytest.fixture(scope="module", params=["looc", "looc++"])
def model(request):
    return trained_like(SMALL.replace(variant=request.param))


@pytest.fixture(scope="module")
def images():
    return torch.randn(5, 3, 32, 32, generator=torch.Generator().manual_seed(1))


def test_timm_export_is_a_plain_timm_directory(model, images, tmp_path):
    directory = export_timm(model, tmp_path / "timm")
    assert sorted(p.name for p in directory.iterdir()) == ["config.json", "model.safetensors"]
    config = json.loads((directory / "config.json").read_text())
    assert "looc_format_version" not in config and config["architecture"] == "resnet18"
    backbone = timm.create_model(f"local-dir:{directory}", pretrained=True).eval()
    with torch.no_grad():
        assert torch.equal(backbone(images), model.embed(images, space="backbone"))


def test_torchvision_resnet_state_dict_loads_into_torchvision(model, images, tmp_path):
    path = export_torchvision_resnet(model, tmp_path / "resnet18.safetensors")

    resnet = torchvision.models.resnet18(weights=None)
    missing, unexpected = resnet.load_state_dict(load_file(path), strict=False)
    assert sorted(missing) == ["fc.bias", "fc.weight"] and unexpected == []
    resnet.fc = torch.nn.Identity()
    with torch.no_grad():
        assert torch.allclose(resnet.eval()(images), model.embed(images, space="backbone"), atol=1e-5)
        assert torch.allclose(torchvision_resnet(model)(images), model.embed(images, space="backbone"), atol=1e-5)


def test_torchvision_export_refuses_other_architectures(tmp_path):
    other = LooCModel(SMALL.replace(backbone="resnet18d"))
    with pytest.raises(ValueError, match=r"resnet18d.*Use export_timm"):
        export_torchvision_resnet(other, tmp_path / "x.safetensors")


@pytest.mark.parametrize("space", ["rotation", ["invariant", "color"]])
def test_exported_program_matches_eager_for_any_batch_size(model, images, tmp_path, space):
    path = tmp_path / "embed.pt2"
    export_program(model, path, space=space)
    program = torch.export.load(path).module()
    with torch.no_grad():
        for batch in (1, 5):
            expected = model.embed(images[:batch], space=space)
            assert torch.allclose(program(images[:batch]), expected, rtol=1e-4, atol=1e-5)
    assert expected.shape[1] == model.embedding_dim(space)


def test_export_program_rejects_an_unknown_space(model, tmp_path):
    with pytest.raises(ValueError, match="Unknown space"):
        export_program(model, tmp_path / "x.pt2", space="texture")
    assert not (tmp_path / "x.pt2").exists()


def test_a_timm_export_replaces_only_its_own_folder(model, tmp_path):
    someones = tmp_path / "someones-model"  # a timm / transformers model with the same two file names
    someones.mkdir()
    (someones / "config.json").write_text('{"architecture": "resnet18", "num_classes": 1000}')
    save_file({"fc.weight": torch.zeros(2, 2)}, str(someones / "model.safetensors"))
    before = {p.name: p.read_bytes() for p in someones.iterdir()}
    with pytest.raises(FileExistsNotOursError, match=r"\['config.json', 'model.safetensors'\]"):
        export_timm(model, someones)
    assert {p.name: p.read_bytes() for p in someones.iterdir()} == before

    ours = export_timm(model, tmp_path / "timm")
    export_timm(model, ours)  # a re-export replaces its own folder
    assert sorted(p.name for p in ours.iterdir()) == ["config.json", "model.safetensors"]


def test_a_model_in_training_mode_exports_as_at_inference(tmp_path):
    model = LooCModel(SMALL)  # just built: training mode, BatchNorm would use the batch's statistics
    directory = export_timm(model, tmp_path / "timm")
    assert model.training  # given back as it came
    backbone = timm.create_model(f"local-dir:{directory}", pretrained=True).eval()
    images = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        assert torch.equal(backbone(images), model.eval().embed(images, space="backbone"))
