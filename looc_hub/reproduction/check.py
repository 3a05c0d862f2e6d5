"""A model's numbers against the ones its card records: each within the expected range, or not.

The card's numbers are a results file (`looc_hub.eval.results`); a measured record answers a recorded one when
they share protocol, dataset, split, space, metric and settings (`params` without the penalty a probe chose,
which is an outcome). For the card's own weights (a download), a number passes when it lies within the recorded
95% interval of the recorded value, or, for a number recorded without one (the sensitivities: deterministic for
given weights, seed and batch), within `tolerance` of it (ours). That interval is test-set noise only: the same
weights reproduce a number far inside it, while a model trained again also carries training noise. So a
retrained model is judged, where the card holds the recipe's number for `MIN_SEEDS` seeds or more, by the 95%
prediction interval of one more seed around their mean (Student's t over the seeds; never narrower than the test
interval or tolerance), and with fewer seeds by the test interval, where an "outside" says where to look.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from scipy.stats import t as student_t

from ..eval.record import EvalRecord

__all__ = ["MIN_SEEDS", "SENSITIVITY_TOLERANCE", "Comparison", "compare_records", "comparison_table"]

SENSITIVITY_TOLERANCE = 0.05
"""Allowed distance for a number recorded without an interval (ours): a sensitivity is deterministic for given
weights, seed and batch size, while each space LooC trains for an augmentation sits 0.2 to 0.6 above Z_0 on it
(docs/reproduction.md, claim (e))."""


MIN_SEEDS = 3
"""Seeds of a recipe on its card before a retrained model is judged by their spread (ours): with two, the t
quantile (12.7) would pass almost any number."""


@dataclass(frozen=True)
class Comparison:
    """One recorded number, what was measured in its place (None: nothing was) and whether it agrees."""

    recorded: EvalRecord
    measured: EvalRecord | None
    expected: float  # the recorded value, or the mean of the recipe's seeds
    allowed: float  # the largest |measured - expected| that passes
    basis: str  # what `allowed` is: "interval", "tolerance" or "<n> seeds"

    @property
    def difference(self) -> float | None:
        return None if self.measured is None else self.measured.value - self.expected

    @property
    def verdict(self) -> str:
        if self.difference is None:
            return "missing"
        return "pass" if abs(self.difference) <= self.allowed else "outside interval"

    @property
    def passed(self) -> bool:
        return self.verdict == "pass"


def compare_records(
    recorded: Sequence[EvalRecord],
    measured: Iterable[EvalRecord],
    *,
    tolerance: float = SENSITIVITY_TOLERANCE,
    seeds: Sequence[Sequence[EvalRecord]] = (),
) -> list[Comparison]:
    """One `Comparison` per recorded number, in the recorded order. `seeds`: the recipe's records for its other
    seeds, given when the measured model was trained again (its training noise is then part of what passes)."""
    found = {record.measures(): record for record in measured}
    comparisons = []
    for record in recorded:
        expected, allowed, basis = _expected(record, seeds, tolerance)
        comparisons.append(Comparison(record, found.get(record.measures()), expected, allowed, basis))
    return comparisons


def _expected(record: EvalRecord, seeds: Sequence[Sequence[EvalRecord]], tolerance: float) -> tuple[float, float, str]:
    """(centre, half-width, basis) of the range a measured number must fall in (module docstring)."""
    allowed, basis = (record.ci95, "interval") if record.ci95 is not None else (tolerance, "tolerance")
    values = record.over_seeds(seeds)
    if len(values) < MIN_SEEDS:
        return record.value, allowed, basis
    count = len(values)
    spread = student_t.ppf(0.975, count - 1) * statistics.stdev(values) * math.sqrt(1 + 1 / count)
    return statistics.fmean(values), max(allowed, spread), f"{count} seeds"


def comparison_table(comparisons: Sequence[Comparison]) -> str:
    """A Markdown table: one row per recorded number, the range it was expected in (and why), the measured value
    and the verdict."""
    lines = [
        "| protocol | dataset | space | metric | recorded | expected | measured | difference | verdict |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for comparison in comparisons:
        record, difference = comparison.recorded, comparison.difference
        interval = f" ± {record.ci95:.2f}" if record.ci95 is not None else ""
        measured = "-" if comparison.measured is None else f"{comparison.measured.value:.2f}"
        lines.append(
            f"| {record.protocol} | {record.dataset} | {record.space} | {record.metric} | {record.value:.2f}{interval} "
            f"| {comparison.expected:.2f} ± {comparison.allowed:.2f} ({comparison.basis}) | {measured} "
            f"| {'-' if difference is None else f'{difference:+.2f}'} | {comparison.verdict} |"
        )
    return "\n".join(lines)
