"""`EvalRecord`: one measured number, the unit every protocol yields and every results file lists."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

__all__ = ["OUTCOME_PARAMS", "EvalRecord"]

OUTCOME_PARAMS = ("weight_decay", "weight_decays")
"""`params` that a protocol chose (a probe's penalty): outcomes of a measurement, not its settings."""


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

    def measures(self, *, ignore: Sequence[str] = ()) -> tuple[Any, ...]:
        """What this number is a measurement of, whatever it came out as: protocol, dataset, split, space, metric
        and settings (`params` without `OUTCOME_PARAMS` and `ignore`), so that two records of the same quantity on
        two models (or two runs of one recipe, ignoring their "seed") compare equal."""
        left_out = {*OUTCOME_PARAMS, *ignore}
        settings = sorted((name, repr(value)) for name, value in self.params.items() if name not in left_out)
        return self.protocol, self.dataset, self.split, self.space, self.metric, tuple(settings)

    def over_seeds(self, others: Iterable[Iterable[EvalRecord]]) -> list[float]:
        """This number, then the same quantity's in each of `others` (the recipe's records for its other seeds,
        their "seed" setting ignored) that has it."""
        same = self.measures(ignore=("seed",))
        return [self.value, *(r.value for records in others for r in records if r.measures(ignore=("seed",)) == same)]

    def to_dict(self) -> dict[str, Any]:
        record = {**asdict(self), "params": dict(self.params)}
        if self.ci95 is None:
            del record["ci95"]
        return record
