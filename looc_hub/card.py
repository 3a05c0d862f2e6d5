"""The model card written beside every saved LooC model (Hub card conventions, timm's sections)."""

from __future__ import annotations

from importlib import resources
from typing import TYPE_CHECKING, Any

from huggingface_hub import ModelCard, ModelCardData

if TYPE_CHECKING:
    from .model import LooCModel

__all__ = ["build_model_card"]

_SENSITIVITY = {
    "color": "colour (hue, saturation, brightness, contrast, grayscale)",
    "rotation": "orientation (0/90/180/270 degrees)",
    "texture": "texture",
}


def build_model_card(
    model: LooCModel,
    *,
    repo_id: str = "path/to/model",
    model_name: str | None = None,
    description: str = "",
    recipe: str = "",
    results: str = "",
    datasets: list[str] | None = None,
    license: str = "apache-2.0",
    base_model: str | None = None,
    **extra_metadata: Any,
) -> ModelCard:
    """Render the card for `model`; `repo_id` appears in the usage snippets."""
    config = model.config
    card_data = ModelCardData(
        library_name="looc-hub",
        license=license,
        tags=sorted({"looc", "self-supervised", "timm", "image-feature-extraction", "pytorch_model_hub_mixin"}),
        pipeline_tag="image-feature-extraction",
        datasets=datasets,
        base_model=base_model,
        **extra_metadata,
    )
    template = resources.files("looc_hub").joinpath("templates/model_card.md").read_text()
    return ModelCard.from_template(
        card_data,
        template_str=template,
        model_name=model_name or repo_id.split("/")[-1],
        repo_id=repo_id,
        config=config,
        config_rows=[(key, value) for key, value in config.to_dict().items()],
        spaces=_space_rows(model),
        example_space=config.augmentations[0] if config.augmentations else "invariant",
        description=description,
        recipe=recipe,
        results=results,
    )


def _space_rows(model: LooCModel) -> list[dict[str, Any]]:
    config = model.config
    every = ("crop", "flip", "blur", *config.invariant_augmentations, *config.augmentations)
    rows = [
        {
            "name": "backbone",
            "dim": model.embedding_dim("backbone"),
            "what": "V: pooled backbone feature"
            + (" (the invariant head's branch)" if config.variant == "looc++" else ""),
            "sensitive": "whatever the shared features keep",
        },
        {
            "name": "invariant",
            "dim": model.embedding_dim("invariant"),
            "what": "Z_0, L2-normalised",
            "sensitive": "nothing it was trained with: invariant to " + ", ".join(every),
        },
    ]
    rows += [
        {
            "name": name,
            "dim": model.embedding_dim(name),
            "what": f"Z_{name}, L2-normalised",
            "sensitive": _SENSITIVITY[name],
        }
        for name in config.augmentations
    ]
    concat = (
        "pooled last-stage features of all heads (paper)"
        if config.variant == "looc++"
        else ("Z_0 ... Z_n concatenated")
    )
    rows.append(
        {
            "name": "concat",
            "dim": model.embedding_dim("concat"),
            "what": concat,
            "sensitive": "all of the above",
        }
    )
    return rows
