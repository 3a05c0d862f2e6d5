"""What training a model costs on a named GPU, stored as a record beside the weights (`training_cost.json`).

A record holds estimates, each for one GPU and either *measured* (a timed run of this model's training step on
that GPU) or *projected* (its FLOPs per image over an achieved fraction of the GPU's peak, the fraction taken from
a measured run and stated with the other assumptions in `basis`). The card shows the measured estimates as soon as
one exists and the projections only until then (`shown_estimates`): a projection is replaced, never shown beside
the measurement that supersedes it. GPU-hours are derived from images/s, epochs and training images, never stored,
so they cannot disagree. `scripts/cost_table.py` writes the zoo's records; the format is ours.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from .._atomic import atomic_file
from .._json_file import read_json

__all__ = ["COST_KINDS", "CostEstimate", "TrainingCost", "load_training_cost", "save_training_cost"]

COST_KINDS = ("measured", "projected")
_REQUIRED = {"gpu": str, "kind": str, "images_per_s": (int, float), "epochs": int, "train_images": int}
_OPTIONAL = {"step_gflops_per_image": (int, float), "achieved_fraction_of_peak": (int, float), "source": str}


@dataclass(frozen=True)
class CostEstimate:
    """One GPU's throughput for a model's training step, and what the recipe's epochs cost at that rate."""

    gpu: str
    kind: str
    images_per_s: float
    epochs: int
    train_images: int
    basis: tuple[str, ...] = ()
    """How the figure was obtained: what was measured, or every assumption of a projection."""
    step_gflops_per_image: float | None = None
    achieved_fraction_of_peak: float | None = None
    source: str = ""
    """The script or results file it came from."""

    @property
    def gpu_hours(self) -> float:
        """GPU-hours of the recipe's epochs on one such GPU (N GPUs: a N-th of the time, plus communication)."""
        return self.epochs * self.train_images / self.images_per_s / 3600

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "basis": list(self.basis)}


@dataclass(frozen=True)
class TrainingCost:
    """Every estimate known for one model, in the order they were recorded."""

    estimates: tuple[CostEstimate, ...] = field(default_factory=tuple)

    def shown_estimates(self) -> tuple[CostEstimate, ...]:
        """The measured estimates if any exists, else the projections: a measurement replaces every projection."""
        measured = tuple(e for e in self.estimates if e.kind == "measured")
        return measured or self.estimates

    def with_estimate(self, estimate: CostEstimate) -> TrainingCost:
        """This record with `estimate` replacing any earlier one of the same GPU and kind."""
        kept = tuple(e for e in self.estimates if (e.gpu, e.kind) != (estimate.gpu, estimate.kind))
        return TrainingCost((*kept, estimate))

    def to_dict(self) -> dict[str, Any]:
        return {"estimates": [e.to_dict() for e in self.estimates]}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TrainingCost:
        """A record from its JSON form; anything malformed is a ValueError naming the field and its value."""
        if not isinstance(data, Mapping) or not isinstance(data.get("estimates"), list):
            raise ValueError('a training cost record is an object {"estimates": [...]}')
        return cls(tuple(_estimate(f"estimates[{i}].", item) for i, item in enumerate(data["estimates"])))


def save_training_cost(cost: TrainingCost, path: str | os.PathLike) -> Path:
    """Write `cost` as JSON, atomically."""
    path = Path(path)
    with atomic_file(path) as staging:
        staging.write_text(json.dumps(cost.to_dict(), indent=2) + "\n", encoding="utf-8")
    return path


def load_training_cost(path: str | os.PathLike) -> TrainingCost:
    """Read a record written by `save_training_cost`; a malformed one is a ValueError naming the file."""
    data = read_json(path)  # its errors name the file
    try:
        return TrainingCost.from_dict(data)
    except ValueError as error:
        raise ValueError(f"{path}: not a valid training cost record: {error}") from None


def _estimate(prefix: str, item: Any) -> CostEstimate:
    if not isinstance(item, Mapping):
        raise ValueError(f"{prefix[:-1]} must be an object, got {type(item).__name__}")
    missing = [prefix + key for key in _REQUIRED if key not in item]
    unknown = sorted(set(item) - set(_REQUIRED) - set(_OPTIONAL) - {"basis"})
    if missing or unknown:
        raise ValueError(f"missing {missing} / unknown {[prefix + k for k in unknown]}; fields: {list(_REQUIRED)}")
    for key, kinds in {**_REQUIRED, **_OPTIONAL}.items():
        value = item.get(key)
        if key in item and value is not None and (not isinstance(value, kinds) or isinstance(value, bool)):
            raise ValueError(f"{prefix}{key} has the wrong type: {value!r}")
    if item["kind"] not in COST_KINDS:
        raise ValueError(f"{prefix}kind must be one of {list(COST_KINDS)}, got {item['kind']!r}")
    for key in ("images_per_s", "epochs", "train_images"):
        if not (math.isfinite(item[key]) and item[key] > 0):
            raise ValueError(f"{prefix}{key} must be a finite number > 0, got {item[key]!r}")
    basis = item.get("basis", [])
    if not isinstance(basis, Sequence) or isinstance(basis, str) or not all(isinstance(b, str) for b in basis):
        raise ValueError(f"{prefix}basis must be a list of sentences, got {basis!r}")
    return CostEstimate(**{**item, "basis": tuple(basis)})
