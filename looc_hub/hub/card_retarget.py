"""Point a generated card at the repo it is published to, keeping everything else it says.

A card is rendered when the model is saved, often before its repo is known: its usage snippets then name a
placeholder (`your-org/<name>`, or a zoo model's `looc-hub/<name>`). Publishing it to another repo must not tell
readers to load the wrong one, and must not drop what only the saving run knew (its recipe, its kNN results), so
the repo id is replaced in place rather than the card re-rendered from scratch.
"""

from __future__ import annotations

import re

from huggingface_hub import ModelCard

__all__ = ["card_repo_id", "retarget_card"]

_SNIPPET = re.compile(r'LooCModel\.from_pretrained\("([^"]+)"\)')


def card_repo_id(text: str) -> str:
    """The repo id a looc-hub card's usage snippet loads."""
    found = _SNIPPET.search(text)
    if found is None:
        raise ValueError("not a looc-hub model card: it has no `LooCModel.from_pretrained(...)` usage snippet")
    return found.group(1)


def retarget_card(text: str, repo_id: str) -> str:
    """`text` (a looc-hub card) with its snippets naming `repo_id`; its title and `model_name` follow when they
    were the old repo's name (as `build_model_card` titles a card by its repo)."""
    old = card_repo_id(text)
    if old == repo_id:
        return text
    card = ModelCard(text)
    body = card.text
    for snippet in ('from_pretrained("{}")', '"hf-hub:{}"'):
        body = body.replace(snippet.format(old), snippet.format(repo_id))
    old_name, new_name = old.split("/")[-1], repo_id.split("/")[-1]
    if card.data.model_name == old_name:
        card.data.model_name = new_name
        body = re.sub(rf"^# {re.escape(old_name)}$", f"# {new_name}", body, count=1, flags=re.MULTILINE)
    card.text = body
    return str(card)
