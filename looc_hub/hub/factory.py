"""`create_model`: a zoo model by name, as timm's factory builds one from its registry (`looc_hub.hub.zoo`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .pretrained import LooCModel
from .zoo import check_published, get_zoo_entry

__all__ = ["create_model"]

_HUB_PREFIXES = ("hf-hub:", "local-dir:")


def create_model(name: str, pretrained: bool = False, **overrides: Any) -> LooCModel:
    """Build a zoo model: random init with optional `LooCConfig` overrides, or its published weights.

    `name` is a zoo name, or (as in timm and open_clip) `hf-hub:org/name[@revision]` or `local-dir:path`, which
    always load weights. `pretrained=True` loads `entry.hub_id` through huggingface_hub (HF cache and offline
    mode apply); an unpublished entry fails at once (`NotPublishedError`, naming the command that trains it). The
    weights fix the configuration, so overrides are refused then.
    """
    source = _hub_source(name)
    if source is not None or pretrained:
        if overrides:
            raise ValueError(f"Config overrides {sorted(overrides)} cannot be applied to pretrained weights")
        if source is not None:
            repo_id, _, revision = source.partition("@")
            return LooCModel.from_pretrained(repo_id, **({"revision": revision} if revision else {}))
        entry = get_zoo_entry(name)
        check_published(entry.hub_id)
        return LooCModel.from_pretrained(entry.hub_id)
    entry = get_zoo_entry(name)
    model = LooCModel(entry.config.replace(**overrides))
    if not overrides:  # the zoo's configuration: its weights will carry its name
        model.pretrained_cfg["tag"] = entry.name
    return model


def _hub_source(name: str) -> str | None:
    """The repo id or folder of an `hf-hub:` / `local-dir:` name, else None (a zoo name)."""
    for prefix in _HUB_PREFIXES:
        if name.startswith(prefix):
            source = name[len(prefix) :]
            return str(Path(source)) if prefix == "local-dir:" else source
    return None
