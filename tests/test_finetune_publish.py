"""A fine-tuned classifier is a normal Hub repo: plain timm loads it with its head, looc-hub too, and it publishes.

Publishing goes to the loopback Hub (tests/hub_server.py; the real Hub's LFS/Xet upload paths are not exercised).
"""

import json

import pytest
import timm
import torch
from huggingface_hub import ModelCard

import looc_hub
from looc_hub import LooCConfig, LooCModel
from looc_hub.finetune import finetune_results
from looc_hub.hub.publish import publish, validate_model_dir
from tests.models import trained_like

SMALL = LooCConfig(backbone="resnet18", image_size=32, augmentations=("color", "rotation"))
NAMES = ["circle", "square", "triangle"]


def _saved(tmp_path, feature):
    base = tmp_path / "base-model"
    trained_like(SMALL, 0).save_pretrained(base)
    model = LooCModel.from_pretrained(base)
    torch.manual_seed(1)
    classifier = looc_hub.LooCClassifier(model, feature, 3, mode="full", class_names=NAMES).eval()
    measured = finetune_results(
        classifier, base_model=str(base), dataset=str(tmp_path / "shapes"), split="test", top1=66.5, epoch=2
    )
    recipe = {"model": str(base), "dataset": str(tmp_path / "shapes"), "epochs": 2, "output_dir": str(tmp_path)}
    directory = classifier.save_pretrained(
        tmp_path / "best", metrics={"top1": 66.5, "epoch": 2}, base_model=str(base), training=measured, recipe=recipe
    )
    return classifier, directory


@pytest.fixture
def images():
    return torch.randn(4, 3, 32, 32, generator=torch.Generator().manual_seed(2))


def test_plain_timm_loads_the_fine_tuned_classifier_with_its_head_and_logits(tmp_path, images):
    classifier, directory = _saved(tmp_path, "backbone")
    in_timm = timm.create_model(f"local-dir:{directory}", pretrained=True).eval()
    assert in_timm.num_classes == 3 and in_timm.pretrained_cfg["label_names"] == NAMES
    loaded = looc_hub.LooCClassifier.from_pretrained(directory)
    assert loaded.class_names == NAMES and loaded.feature == ["backbone"]
    with torch.inference_mode():
        expected = classifier(images)
        difference = (in_timm(images) - expected).abs().max().item()
        assert torch.equal(loaded(images), expected)
    print(f"timm vs LooCClassifier logits: max abs diff {difference:.3g}")
    assert difference < 1e-5
    assert not (directory / "classifier.safetensors").exists()  # one copy of the head: timm's keys
    assert validate_model_dir(directory).files == (
        "README.md",
        "classifier.json",
        "config.json",
        "looc_heads.safetensors",
        "model.safetensors",
        "recipe.yaml",
        "training_results.json",
    )


def test_the_fine_tuned_card_names_its_repo_and_base_model_never_a_local_path(tmp_path):
    _, directory = _saved(tmp_path, "backbone")
    card = ModelCard.load(directory / "README.md")
    assert card.data.pipeline_tag == "image-classification" and card.data.base_model is None  # a local base
    assert str(tmp_path) not in card.content
    assert 'looc_hub.LooCClassifier.from_pretrained("your-org/' in card.text  # a placeholder until published
    assert "- **Fine-tuned from:** `base-model`" in card.text
    assert "| fine-tuning | shapes (test) | `backbone` | top1 | 66.50 % | mode=full, epoch=2 |" in card.text
    assert [r.metric_value for r in card.data.eval_results] == [66.5]
    assert json.loads((directory / "classifier.json").read_text())["base_model"] == "base-model"


def test_a_fine_tuned_classifier_publishes_and_loads_by_repo_id(loopback_hub, tmp_path, images):
    classifier, directory = _saved(tmp_path, "backbone")
    publish(directory, "looc-test/shapes-classifier")
    card = loopback_hub.git("looc-test/shapes-classifier", "show", "main:README.md")
    assert 'looc_hub.LooCClassifier.from_pretrained("looc-test/shapes-classifier")' in card
    assert '"hf-hub:looc-test/shapes-classifier"' in card and str(tmp_path) not in card
    with torch.inference_mode():
        loaded = looc_hub.LooCClassifier.from_pretrained("looc-test/shapes-classifier")
        assert torch.equal(loaded(images), classifier(images))
        in_timm = timm.create_model("hf-hub:looc-test/shapes-classifier", pretrained=True).eval()
        assert in_timm.num_classes == 3
        assert torch.allclose(in_timm(images), classifier(images), atol=1e-5)


def test_a_head_over_a_space_keeps_its_own_file_and_timm_loads_the_backbone(loopback_hub, tmp_path, images):
    classifier, directory = _saved(tmp_path, ["invariant", "rotation"])
    assert (directory / "classifier.safetensors").is_file()
    in_timm = timm.create_model(f"local-dir:{directory}", pretrained=True).eval()
    assert in_timm.num_classes == 0
    loaded = looc_hub.LooCClassifier.from_pretrained(directory)
    with torch.inference_mode():
        assert torch.equal(loaded(images), classifier(images))
    url = classifier.push_to_hub("looc-test/space-classifier", metrics={"top1": 50.0})
    assert loopback_hub.git("looc-test/space-classifier", "rev-parse", "main") in url
    files = loopback_hub.git("looc-test/space-classifier", "ls-tree", "--name-only", "main").split()
    assert "classifier.safetensors" in files and "classifier.json" in files
