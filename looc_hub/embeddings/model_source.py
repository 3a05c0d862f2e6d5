"""The model behind an embeddings folder: loaded from what the user named, and identified by its weights."""

from __future__ import annotations

from pathlib import Path

from ..hub.factory import create_model
from ..hub.pretrained import LooCModel
from ..hub.zoo import list_models
from .manifest import ModelIdentity, weights_sha256

__all__ = ["load_embedding_model", "model_identity"]

_FACTORY_PREFIXES = ("hf-hub:", "local-dir:")


def load_embedding_model(source: str, revision: str | None = None) -> LooCModel:
    """A trained model in eval mode from anything `from_pretrained` or `create_model` takes.

    A folder or Hub repo id goes to `LooCModel.from_pretrained` (with `revision`); `hf-hub:` / `local-dir:` names
    and zoo names to `create_model(..., pretrained=True)` (a zoo name loads its published weights, never a random
    init: embedding a dataset with an untrained network is refused by the zoo's own "not published yet" error).
    """
    if source.startswith(_FACTORY_PREFIXES) or source in list_models():
        if revision is not None:
            raise ValueError(f"--revision applies to a folder or Hub repo id; write {source!r} as hf-hub:org/name@rev")
        return create_model(source, pretrained=True).eval()
    return LooCModel.from_pretrained(source, **({"revision": revision} if revision else {})).eval()


def model_identity(model: LooCModel, source: str, revision: str | None = None) -> ModelIdentity:
    """The manifest's record of `model`; a folder `source` is made absolute, so a later query loads the same one."""
    path = Path(source).expanduser()
    stored = str(path.absolute()) if path.is_dir() else source
    config = model.config
    return ModelIdentity(stored, revision, weights_sha256(model), config.variant, config.backbone)
