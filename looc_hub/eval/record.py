"""`EvalRecord`: one measured number, the unit every protocol yields and every results file lists."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

__all__ = ["PERCENT_METRICS", "EvalRecord"]

PERCENT_METRICS = ("top1", "top5", "accuracy", "mean_corruption_accuracy", "recall@1", "recall@5", "recall@10", "map@r")
"""Metrics that are percentages and must lie in [0, 100]; other metrics only need to be finite numbers."""


@dataclass(frozen=True)
class EvalRecord:
    """One number: `protocol` on `dataset`/`split` with the feature `space` gave `value` of `metric`."""

    protocol: str
    dataset: str
    split: str
    space: str
    metric: str
    value: float
    params: Mapping[str, Any] = field(default_factory=dict)
    ci95: float | None = None

    def to_dict(self) -> dict[str, Any]:
        record = {**asdict(self), "params": dict(self.params)}
        if self.ci95 is None:
            del record["ci95"]
        return record
