"""The Hub-format model directory a pretraining run ends with, its card stating the recipe and kNN results."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from ..hub.pretrained import LooCModel
from .pretrain_config import PretrainConfig

__all__ = ["trained_model_card_kwargs", "write_trained_model"]


def trained_model_card_kwargs(config: PretrainConfig, knn: dict[str, dict[str, float]]) -> dict[str, Any]:
    """Card fields for a model trained with `config`: the recipe as YAML and the measured kNN table."""
    recipe = (
        "Trained with `looc-pretrain` (Accelerate), the exported weights are the query encoder's:\n\n"
        "```yaml\n" + yaml.safe_dump(config.to_dict(), sort_keys=False) + "```"
    )
    results = ""
    if knn:
        rows = "\n".join(f"| `{space}` | {row['top1']:.2f} | {row['top5']:.2f} |" for space, row in knn.items())
        results = (
            f"kNN monitor on `{config.dataset}` split `{config.eval_split}` (weighted cosine, k={config.knn_k}, "
            f"T={config.knn_temperature}), measured at the end of training:\n\n"
            "| space | top-1 (%) | top-5 (%) |\n|---|---|---|\n" + rows
        )
    card: dict[str, Any] = {
        "recipe": recipe,
        "results": results,
        "datasets": [str(config.dataset)],  # the card keeps it only if it is a Hub dataset
        "description": f"Zoo entry: `{config.model}`.",
    }
    if config.push_to_hub:  # the snippets name the repo the model is pushed to
        card["repo_id"] = config.push_to_hub
    return card


def write_trained_model(
    model: LooCModel, directory: Path, config: PretrainConfig, knn: dict[str, dict[str, float]]
) -> Path:
    """`save_pretrained` (atomic) with the card of a trained model."""
    model.save_pretrained(directory, model_card_kwargs=trained_model_card_kwargs(config, knn))
    return directory
