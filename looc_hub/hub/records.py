"""A model folder's records: how it was trained and what was measured on it, stored as data beside the weights.

The card is rendered from these files and config.json only (`looc_hub.hub.card.build_model_card`), every time a
folder changes (save, attached results, publish), so no step edits rendered Markdown and no section is lost:
- `recipe.yaml`: the settings of the run that trained the model (a pretraining recipe a reader can rerun; no
  run-local settings such as output folders, workers or resume);
- `training_results.json`: what that run measured on held-out data (pretraining's kNN monitor, fine-tuning's
  accuracy), a `looc_hub.eval.results` file like any evaluation's;
- `results.json`: evaluation results attached later (`looc-evaluate`, `looc-publish --results`);
- `classifier.json`: a fine-tuned classifier's feature, classes and base model;
- `training_cost.json`: what training it costs on a named GPU, measured or projected (`looc_hub.hub.training_cost`).
Every write is atomic and replaces a symlink instead of writing through it, so nothing leaves the folder.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from .._atomic import atomic_file
from .._json_file import read_json
from ..eval.results import EvalResults, load_results, save_results
from .training_cost import TrainingCost, load_training_cost

__all__ = [
    "CARD_NAME",
    "CLASSIFIER_CONFIG",
    "COST_NAME",
    "RECIPE_NAME",
    "RESULTS_NAME",
    "RUN_LOCAL_SETTINGS",
    "TRAINING_RESULTS_NAME",
    "ModelRecords",
    "read_records",
    "reusable_recipe",
    "write_records",
    "write_text",
]

CARD_NAME = "README.md"
RECIPE_NAME = "recipe.yaml"
TRAINING_RESULTS_NAME = "training_results.json"
RESULTS_NAME = "results.json"
"""Optional: the evaluation results file (`looc_hub.eval.results`) attached to the model."""
CLASSIFIER_CONFIG = "classifier.json"
COST_NAME = "training_cost.json"
RESULTS_FILES = (TRAINING_RESULTS_NAME, RESULTS_NAME)
RUN_LOCAL_SETTINGS = (
    "output_dir",
    "resume",
    "overwrite",
    "num_workers",
    "push_to_hub",
    "hub_private",
    "report_to",
    "log_level",
    "log_every_steps",
    "checkpoint_every_steps",
    "keep_checkpoints",
)
"""Settings of one machine's run, not of its recipe: where it writes, how it resumes, logs and loads data."""


@dataclass(frozen=True)
class ModelRecords:
    """Everything a card says beyond the architecture: each field is one file of the folder (None: absent)."""

    recipe: Mapping[str, Any] | None = None
    training: EvalResults | None = None
    evaluation: EvalResults | None = None
    classifier: Mapping[str, Any] | None = None
    cost: TrainingCost | None = None

    def results_files(self) -> dict[str, EvalResults]:
        """{file name: results} of the results files present, in the card's order."""
        found = {TRAINING_RESULTS_NAME: self.training, RESULTS_NAME: self.evaluation}
        return {name: results for name, results in found.items() if results is not None}


def read_records(directory: str | os.PathLike) -> ModelRecords:
    """The records of a model folder; a malformed file is a ValueError naming it."""
    directory = Path(directory)
    results = {name: load_results(directory / name) for name in RESULTS_FILES if (directory / name).is_file()}
    return ModelRecords(
        recipe=_read_mapping(directory / RECIPE_NAME, _read_yaml),
        training=results.get(TRAINING_RESULTS_NAME),
        evaluation=results.get(RESULTS_NAME),
        classifier=_read_mapping(directory / CLASSIFIER_CONFIG, read_json),
        cost=load_training_cost(directory / COST_NAME) if (directory / COST_NAME).is_file() else None,
    )


def reusable_recipe(settings: Mapping[str, Any]) -> dict[str, Any]:
    """A run's settings as a reader can reuse them: the run-local ones (`RUN_LOCAL_SETTINGS`) left out."""
    return {key: value for key, value in settings.items() if key not in RUN_LOCAL_SETTINGS}


def write_records(
    directory: str | os.PathLike,
    *,
    recipe: Mapping[str, Any] | None = None,
    training: EvalResults | None = None,
) -> None:
    """Write a run's recipe and its own measurements into a model folder (each file atomically)."""
    directory = Path(directory)
    if recipe is not None:
        write_text(directory / RECIPE_NAME, yaml.safe_dump(dict(recipe), sort_keys=False))
    if training is not None:
        save_results(training, directory / TRAINING_RESULTS_NAME)


def write_text(path: Path, text: str) -> None:
    """Atomically (a sibling renamed over `path`): a symlink at `path` is replaced, never written through."""
    with atomic_file(path) as staging:
        staging.write_text(text, encoding="utf-8")


def _read_yaml(path: Path) -> Any:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def _read_mapping(path: Path, parse: Callable[[Path], Any]) -> dict[str, Any] | None:
    if not path.is_file():
        return None
    try:
        value = parse(path)
    except (UnicodeDecodeError, ValueError, RecursionError, yaml.YAMLError) as error:
        raise ValueError(f"{path} is not readable: {error}") from None
    if not isinstance(value, dict):
        raise ValueError(f"{path} must hold a mapping, got {type(value).__name__}")
    return value
