"""The Hub-format model folder a pretraining run ends with: the weights, the run's records, and the card of both.

The recipe (the run's settings, without run-local ones) and the kNN monitor's measurements are stored as data
(`looc_hub.hub.records`); the card is rendered from them, so attaching results or publishing later re-renders it
without losing either.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .._atomic import atomic_directory
from ..eval.results import EvalResults, ModelInfo
from ..hub import model_files
from ..hub.card import write_folder_card
from ..hub.pretrained import LooCModel
from ..hub.records import reusable_recipe, write_records
from .knn_monitor import knn_records
from .pretrain_config import PretrainConfig

__all__ = ["recipe_of", "write_trained_model"]


def recipe_of(config: PretrainConfig) -> dict[str, Any]:
    """The run's settings a reader can rerun (`looc-pretrain --config recipe.yaml`), run-local ones left out."""
    return reusable_recipe(config.to_dict())


def write_trained_model(
    model: LooCModel,
    directory: Path,
    config: PretrainConfig,
    knn: dict[str, dict[str, float]],
) -> Path:
    """Save the model with its recipe and kNN records, and render its card from them, all or nothing."""
    training = None
    if knn:
        source = config.model  # a zoo name or a repo id, never the run's local folder
        records = knn_records(knn, config)
        training = EvalResults(ModelInfo.from_model(model, source), records)
    with atomic_directory(directory, foreign=model_files.foreign_files) as staging:
        model.save_pretrained(staging)
        write_records(staging, recipe=recipe_of(config), training=training)
        write_folder_card(staging, model)
    return directory
