"""The evaluation results file: one documented, validated JSON schema shared by evaluation, cards and the zoo.

A flat list of records, one number each, so that a model card's model-index (huggingface_hub `EvalResult`) and
the zoo table are generated from it directly (docs/evaluation.md describes every field):

    {"schema": "looc-hub/results", "schema_version": 1, "looc_hub_version": "0.1.0",
     "created": "2026-11-25T15:30:00Z",
     "model": {"source": "<dir or repo id>", "revision": null, "variant": "looc", "backbone": "resnet18",
               "augmentations": ["color", "rotation"]},
     "results": [{"protocol": "knn", "dataset": "looc-hub/digits", "split": "test", "space": "backbone",
                  "metric": "top1", "value": 93.1, "params": {"k": 200, "temperature": 0.07}}],
     "artifacts": {"sensitivity_heatmap": "sensitivity.png"}}

Accuracies are percentages in [0, 100]; a concatenation of spaces is written "a+b" in its order; `ci95` (the
half-width of a 95% confidence interval) is optional; artifact paths are relative to the JSON file.
"""

from __future__ import annotations

import json
import math
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from .._atomic import atomic_file
from .._checks import is_number, short_text
from .._json_file import read_json
from .._version import __version__
from ..spaces import parse_space_key
from .protocols import percent_metrics, record_protocols
from .record import EvalRecord

__all__ = [
    "SCHEMA",
    "SCHEMA_VERSION",
    "EvalResults",
    "ModelInfo",
    "load_results",
    "load_seed_results",
    "results_table",
    "save_results",
    "seed_results_path",
    "validate_results",
]

SCHEMA = "looc-hub/results"
SCHEMA_VERSION = 1


_TOP_KEYS = {
    "schema": str,
    "schema_version": int,
    "looc_hub_version": str,
    "created": str,
    "model": dict,
    "results": list,
    "artifacts": dict,
}
_MODEL_KEYS = {"source": str, "revision": (str, type(None)), "variant": str, "backbone": str, "augmentations": list}
_RECORD_KEYS = {"protocol": str, "dataset": str, "split": str, "space": str, "metric": str, "value": (int, float)}


@dataclass(frozen=True)
class ModelInfo:
    """Which model was evaluated: where it came from and what it is."""

    source: str
    variant: str
    backbone: str
    augmentations: tuple[str, ...]
    revision: str | None = None

    @classmethod
    def from_model(cls, model: Any, source: str, revision: str | None = None) -> ModelInfo:
        """From a `LooCModel` and the directory or repo id it was loaded from."""
        config = model.config
        return cls(source, config.variant, config.backbone, tuple(config.augmentations), revision)


@dataclass
class EvalResults:
    """A whole results file; `to_dict` gives the JSON object, validated."""

    model: ModelInfo
    results: list[EvalRecord] = field(default_factory=list)
    artifacts: dict[str, str] = field(default_factory=dict)
    created: str = field(default_factory=lambda: datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"))
    looc_hub_version: str = __version__

    def to_dict(self) -> dict[str, Any]:
        data = {
            "schema": SCHEMA,
            "schema_version": SCHEMA_VERSION,
            "looc_hub_version": self.looc_hub_version,
            "created": self.created,
            "model": {**asdict(self.model), "augmentations": list(self.model.augmentations)},
            "results": [record.to_dict() for record in self.results],
            "artifacts": dict(self.artifacts),
        }
        validate_results(data)
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> EvalResults:
        validate_results(data)
        model = data["model"]
        return cls(
            model=ModelInfo(
                model["source"], model["variant"], model["backbone"], tuple(model["augmentations"]), model["revision"]
            ),
            results=[EvalRecord(**{**record, "value": float(record["value"])}) for record in data["results"]],
            artifacts=dict(data["artifacts"]),
            created=data["created"],
            looc_hub_version=data["looc_hub_version"],
        )


def validate_results(data: Mapping[str, Any]) -> None:
    """Raise ValueError naming the first missing, unknown or wrong-typed key (with its path), else return."""
    if not isinstance(data, Mapping):
        raise ValueError(f"a results file holds a JSON object, got {type(data).__name__}")
    _check_keys("", data, _TOP_KEYS)
    if data["schema"] != SCHEMA:
        raise ValueError(f"schema must be {SCHEMA!r}, got {data['schema']!r}")
    if data["schema_version"] != SCHEMA_VERSION:
        raise ValueError(
            f"schema_version {data['schema_version']} is not supported; this looc-hub reads {SCHEMA_VERSION}"
        )
    _check_keys("model.", data["model"], _MODEL_KEYS)
    protocols, percent = record_protocols(), percent_metrics()
    for index, record in enumerate(data["results"]):
        _check_record(f"results[{index}].", record, protocols, percent)
    for name, path in data["artifacts"].items():
        if not isinstance(path, str) or Path(path).is_absolute() or ".." in Path(path).parts:
            raise ValueError(f"artifacts.{name} must be a path relative to the results file, got {path!r}")


def save_results(results: EvalResults, path: str | os.PathLike) -> Path:
    """Validate and write `results` as JSON, atomically (a temporary sibling renamed over `path`)."""
    path = Path(path)
    text = json.dumps(results.to_dict(), indent=2) + "\n"
    with atomic_file(path) as staging:
        staging.write_text(text)
    return path


def load_results(path: str | os.PathLike) -> EvalResults:
    """Read and validate a results file; errors name the file and the offending key."""
    data = read_json(path)  # names the file when it is no readable JSON
    try:
        return EvalResults.from_dict(data)
    except ValueError as error:
        raise ValueError(f"{path}: not a valid looc-hub results file: {short_text(str(error))}") from None


def seed_results_path(path: str | os.PathLike, seed: int) -> Path:
    """Where the results of the recipe behind `path` (`<name>.json`), trained with another seed, are kept:
    `<name>.seed<k>.json` beside it."""
    path = Path(path)
    return path.with_name(f"{path.stem}.seed{seed}.json")


def load_seed_results(path: str | os.PathLike) -> list[EvalResults]:
    """The results of the recipe behind `path` trained with its other seeds (`seed_results_path`), by seed."""
    path = Path(path)
    found = {
        int(match[1]): other
        for other in path.parent.glob(f"{path.stem}.seed*.json")
        if (match := re.fullmatch(re.escape(path.stem) + r"\.seed(\d+)\.json", other.name))
    }
    return [load_results(found[seed]) for seed in sorted(found)]


def results_table(records: Sequence[EvalRecord]) -> str:
    """A plain-text table per dataset: a row per space key, a column per protocol / metric (what a run measured).

    Compact on purpose: top-5, per-corruption and per-severity records stay in the file; percentages have one
    decimal, other metrics two; "±" gives `ci95`. Columns: the protocol, then the metric unless it is top1 /
    accuracy, then "K-shot" when the record has shots.
    """
    tables: dict[tuple[str, str], dict[str, dict[str, str]]] = {}  # (dataset, split) -> {space: {column: cell}}
    percent = percent_metrics()
    for record in records:
        if record.metric == "top5" or "corruption" in record.params:
            continue
        column = record.protocol + ("" if record.metric in ("top1", "accuracy") else f" {record.metric}")
        if "shots" in record.params:
            column += f" {record.params['shots']}-shot"
        if "weights" in record.params:  # a weighting of the key's spaces (retrieval_recall)
            column += f" [{record.params['weights']}]"
        digits = 1 if record.metric in percent else 2
        cell = f"{record.value:.{digits}f}" + (f"±{record.ci95:.{digits}f}" if record.ci95 is not None else "")
        tables.setdefault((record.dataset, record.split), {}).setdefault(record.space, {})[column] = cell
    blocks = []
    for (dataset, split), rows in tables.items():
        columns = list(dict.fromkeys(column for cells in rows.values() for column in cells))
        grid = [["space", *columns]] + [
            [space, *(cells.get(column, "-") for column in columns)] for space, cells in rows.items()
        ]
        widths = [max(len(row[index]) for row in grid) for index in range(len(grid[0]))]
        lines = ["  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip() for row in grid]
        blocks.append("\n".join([f"{dataset} ({split})", *lines]))
    return "\n\n".join(blocks) if blocks else "(no results)"


def _check_record(prefix: str, record: Any, protocols: tuple[str, ...], percent: tuple[str, ...]) -> None:
    if not isinstance(record, Mapping):
        raise ValueError(f"{prefix[:-1]} must be an object, got {type(record).__name__}")
    optional = {"params": dict, "ci95": (int, float)}
    _check_keys(prefix, record, _RECORD_KEYS, optional)
    if record["protocol"] not in protocols:
        raise ValueError(f"{prefix}protocol {record['protocol']!r} is unknown; valid protocols: {list(protocols)}")
    parse_space_key(record["space"])
    value = record["value"]
    if not is_number(value) or not math.isfinite(value):
        raise ValueError(f"{prefix}value must be a finite number, got {value!r}")
    if record["metric"] in percent and not 0 <= value <= 100:
        raise ValueError(f"{prefix}value of metric {record['metric']!r} is a percentage in [0, 100], got {value}")
    ci95 = record.get("ci95")
    if ci95 is not None and (not is_number(ci95) or not math.isfinite(ci95) or ci95 < 0):
        raise ValueError(f"{prefix}ci95 must be a finite number >= 0, got {ci95!r}")


def _check_keys(
    prefix: str, data: Mapping[str, Any], required: Mapping[str, Any], optional: Mapping[str, Any] | None = None
) -> None:
    optional = optional or {}
    missing = [key for key in required if key not in data]
    if missing:
        raise ValueError(f"missing key(s) {[prefix + key for key in missing]}")
    unknown = [key for key in data if key not in required and key not in optional]
    if unknown:
        raise ValueError(
            f"unknown key(s) {[prefix + key for key in unknown]}; valid: {list(required) + list(optional)}"
        )
    for key, expected in {**required, **optional}.items():
        if key not in data or (key in optional and data[key] is None):
            continue
        value = data[key]
        wrong_bool = isinstance(value, bool) and bool not in (expected if isinstance(expected, tuple) else (expected,))
        if wrong_bool or not isinstance(value, expected):
            names = [t.__name__ for t in (expected if isinstance(expected, tuple) else (expected,))]
            raise ValueError(f"{prefix}{key} must be {' or '.join(names)}, got {value!r}")
