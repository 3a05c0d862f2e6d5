"""A model's numbers against the ones its card records: each within the recorded interval, or not.

The card's numbers are a results file (`looc_hub.eval.results`); a measured record answers a recorded one when
they share protocol, dataset, split, space, metric and settings (`params` without the penalty a probe chose,
which is an outcome). A number passes when it lies within the recorded 95% interval of the recorded value, or,
for a number recorded without one (the sensitivities: deterministic for given weights, seed and batch), within
`tolerance` of it (ours). The recorded interval is test-set noise only: the same weights reproduce a number far
inside it, while a retrained model also carries training noise, so for a new run an "outside" says where to
look, not that the run is wrong.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from ..eval.record import EvalRecord

__all__ = ["SENSITIVITY_TOLERANCE", "Comparison", "compare_records", "comparison_table"]

SENSITIVITY_TOLERANCE = 0.05
"""Allowed distance for a number recorded without an interval (ours): a sensitivity is deterministic for given
weights, seed and batch size, while each space LooC trains for an augmentation sits 0.2 to 0.6 above Z_0 on it
(docs/reproduction.md, claim (e))."""


@dataclass(frozen=True)
class Comparison:
    """One recorded number, what was measured in its place (None: nothing was) and whether it agrees."""

    recorded: EvalRecord
    measured: EvalRecord | None
    allowed: float  # the largest |measured - recorded| that passes

    @property
    def difference(self) -> float | None:
        return None if self.measured is None else self.measured.value - self.recorded.value

    @property
    def verdict(self) -> str:
        if self.difference is None:
            return "missing"
        return "pass" if abs(self.difference) <= self.allowed else "outside interval"

    @property
    def passed(self) -> bool:
        return self.verdict == "pass"


def compare_records(
    recorded: Sequence[EvalRecord], measured: Iterable[EvalRecord], *, tolerance: float = SENSITIVITY_TOLERANCE
) -> list[Comparison]:
    """One `Comparison` per recorded number, in the recorded order."""
    found = {record.measures(): record for record in measured}
    return [
        Comparison(record, found.get(record.measures()), record.ci95 if record.ci95 is not None else tolerance)
        for record in recorded
    ]


def comparison_table(comparisons: Sequence[Comparison]) -> str:
    """A Markdown table: one row per recorded number with its interval, the measured value and the verdict."""
    lines = [
        "| protocol | dataset | space | metric | recorded | measured | difference | verdict |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for comparison in comparisons:
        record, difference = comparison.recorded, comparison.difference
        interval = "±" if record.ci95 is not None else "tolerance ±"
        measured = "-" if comparison.measured is None else f"{comparison.measured.value:.2f}"
        lines.append(
            f"| {record.protocol} | {record.dataset} | {record.space} | {record.metric} | {record.value:.2f} "
            f"{interval}{comparison.allowed:.2f} | {measured} | {'-' if difference is None else f'{difference:+.2f}'} "
            f"| {comparison.verdict} |"
        )
    return "\n".join(lines)
