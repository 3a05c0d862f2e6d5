"""A card rendered for one repo, published to another: its snippets name the new repo, the rest is kept."""

from __future__ import annotations

import pytest
from huggingface_hub import ModelCard

from looc_hub import LooCConfig, LooCModel
from looc_hub.hub.card import build_model_card
from looc_hub.hub.card_retarget import card_repo_id, retarget_card


@pytest.fixture(scope="module")
def card() -> str:
    model = LooCModel(LooCConfig(backbone="resnet18", image_size=32))
    return str(build_model_card(model, description="DESCRIPTION", recipe="RECIPE YAML", results="kNN top-1 42.0"))


def test_the_new_repo_replaces_the_placeholder_everywhere_and_the_rest_stays(card):
    assert card_repo_id(card) == "your-org/looc_resnet18"  # saved before its repo was known
    moved = retarget_card(card, "acme/emoji-r18")
    assert 'LooCModel.from_pretrained("acme/emoji-r18")' in moved and '"hf-hub:acme/emoji-r18"' in moved
    assert "your-org" not in moved
    assert "\n# emoji-r18\n" in moved and ModelCard(moved).data.model_name == "emoji-r18"  # titled by its repo
    assert all(text in moved for text in ("DESCRIPTION", "RECIPE YAML", "kNN top-1 42.0"))
    before, after = ModelCard(card).data.to_dict(), ModelCard(moved).data.to_dict()
    assert {**before, "model_name": "emoji-r18"} == after  # the metadata is otherwise unchanged
    assert retarget_card(moved, "acme/emoji-r18") == moved


def test_a_title_that_is_not_the_old_repos_name_is_kept():
    model = LooCModel(LooCConfig(backbone="resnet18", image_size=32))
    card = str(build_model_card(model, repo_id="acme/old", model_name="Emoji R18"))
    moved = retarget_card(card, "acme/new")
    assert "\n# Emoji R18\n" in moved and 'from_pretrained("acme/new")' in moved


def test_text_that_is_no_looc_hub_card_is_refused():
    with pytest.raises(ValueError, match="not a looc-hub model card"):
        retarget_card("---\nlicense: mit\n---\n# Some model\n", "acme/new")
