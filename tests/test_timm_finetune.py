"""Fine-tuning through plain timm: a LooC repo id gives timm a classifier (`num_classes`) and a new stem (`in_chans`).

Repo ids resolve through a hand-built HF cache (offline), the real huggingface_hub + timm loading path.
"""

from __future__ import annotations

import re

import pytest
import timm
import torch
from huggingface_hub import ModelCard
from PIL import Image

from looc_hub import LooCConfig, LooCModel
from looc_hub.hub.card import EXAMPLE_IMAGE_URL
from tests.hub_cache import add_to_hf_cache
from tests.models import trained_like

SMALL = LooCConfig(backbone="resnet10t", image_size=32, augmentations=("color", "rotation"))
REPO_ID = "looc-test/timm-finetune-r10t"


@pytest.fixture(scope="module")
def published(tmp_path_factory) -> LooCModel:
    model = trained_like(SMALL)
    directory = tmp_path_factory.mktemp("timm-finetune") / "model"
    model.save_pretrained(directory, model_card_kwargs={"repo_id": REPO_ID})
    add_to_hf_cache(directory, REPO_ID)
    return model


def test_pretrained_cfg_names_the_stem_classifier_and_pool(published):
    cfg = published.pretrained_cfg
    assert (cfg["first_conv"], cfg["classifier"]) == ("conv1.0", "fc")  # timm's own resnet10t cfg
    assert cfg["pool_size"] == (1, 1)  # 32 px / total stride 32
    assert cfg["input_size"] == (3, 32, 32) and cfg["num_classes"] == 0


def test_num_classes_gives_a_new_head_over_the_looc_backbone(published):
    x = torch.randn(2, 3, 32, 32, generator=torch.Generator().manual_seed(0))
    model = timm.create_model(f"hf-hub:{REPO_ID}", pretrained=True, num_classes=10).eval()
    assert model.fc.out_features == 10
    with torch.no_grad():
        assert model(x).shape == (2, 10)
        torch.testing.assert_close(model.forward_head(model.forward_features(x), pre_logits=True), published.embed(x))


def test_in_chans_1_sums_the_stem_over_colour(published):
    model = timm.create_model(f"hf-hub:{REPO_ID}", pretrained=True, in_chans=1, num_classes=10).eval()
    stem = published.backbone.conv1[0].weight
    torch.testing.assert_close(model.conv1[0].weight, stem.sum(dim=1, keepdim=True))
    gray = torch.randn(2, 1, 32, 32, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():  # a gray image in the 1-channel model is that image repeated over RGB in the original
        torch.testing.assert_close(
            model.forward_head(model.forward_features(gray), pre_logits=True),
            published.embed(gray.expand(-1, 3, -1, -1)),
        )


def test_the_cards_fine_tuning_snippet_runs_as_written(published, tmp_path):
    published.save_pretrained(tmp_path / "model", model_card_kwargs={"repo_id": REPO_ID})
    card = ModelCard.load(tmp_path / "model" / "README.md")
    snippets = re.findall(r"```python\n(.*?)```", card.text, flags=re.S)
    finetune = next(code for code in snippets if "num_classes=10" in code)
    assert f'"hf-hub:{REPO_ID}"' in finetune
    namespace: dict = {}
    exec(finetune, namespace)
    model, transform = namespace["model"], namespace["train_transform"]
    x = torch.stack([transform(Image.new("RGB", (64, 48), (200, 30, 30))) for _ in range(2)])
    assert x.shape == (2, 3, 32, 32)
    loss = torch.nn.functional.cross_entropy(model.train()(x), torch.tensor([1, 2]))
    loss.backward()
    namespace["optimizer"].step()
    assert model.fc.weight.grad is not None


def _run_snippet(code: str, image_path) -> dict:
    """Run a card snippet as written, with the example image read from disk instead of the network."""
    assert f'urlopen("{EXAMPLE_IMAGE_URL}")' in code
    namespace: dict = {}
    exec(code.replace(f'urlopen("{EXAMPLE_IMAGE_URL}")', repr(str(image_path))), namespace)
    return namespace


def test_the_cards_usage_snippet_runs_as_written(published, tmp_path):
    published.save_pretrained(tmp_path / "model", model_card_kwargs={"repo_id": REPO_ID})
    text = ModelCard.load(tmp_path / "model" / "README.md").text
    usage = next(code for code in re.findall(r"```python\n(.*?)```", text, flags=re.S) if "model.embed(" in code)
    Image.new("RGB", (80, 60), (20, 200, 90)).save(tmp_path / "example.png")
    namespace = _run_snippet(usage, tmp_path / "example.png")
    assert namespace["z"].shape == (1, 128) and set(namespace["spaces"]) == set(published.spaces)
