"""Task-driven space selection (beyond the paper): which space, or concatenation, should a labelled task use?

LooC leaves this choice to the user; this ranks every candidate with a cheap probe and recommends one. Ours:
the candidates' train features are split into a fit part and a held-out validation part (seeded, stratified
by class), an L-BFGS linear probe (`fit_linear_probe`) is fitted on the first and scored on the second, and the
recommendation follows the one-standard-error rule (Breiman et al.): among the candidates whose validation
accuracy is within one binomial standard error of the best, the narrowest embedding wins, so a concatenation
must earn its extra dimensions.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from itertools import combinations

from torch import Tensor

from ..spaces import concat_features, space_key
from .linear_probe import fit_linear_probe, stratified_split
from .protocol import EvalContext, Protocol, per_class_problems
from .record import EvalRecord

__all__ = ["PROTOCOLS", "SpaceRanking", "candidate_keys", "select_space"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class SpaceRanking:
    """Validation top-1 (%) per candidate key, best first, and the recommended key."""

    accuracy: dict[str, float]
    dims: dict[str, int]
    recommended: str
    standard_error: float  # of the best accuracy, in percentage points

    def records(self, dataset: str, split: str, params: Mapping[str, object]) -> list[EvalRecord]:
        """A "space_selection" top1 record per candidate (params: rank, recommended) on the validation part."""
        return [
            EvalRecord(
                "space_selection",
                dataset,
                split,
                key,
                "top1",
                value,
                {**params, "rank": rank, "dim": self.dims[key], "recommended": key == self.recommended},
            )
            for rank, (key, value) in enumerate(self.accuracy.items(), start=1)
        ]


def candidate_keys(spaces: Sequence[str], max_parts: int = 2) -> list[str]:
    """Every space, every concatenation of up to `max_parts` of them, and all of them together, in order."""
    spaces = list(dict.fromkeys(spaces))
    keys = [space_key(list(group)) for size in range(1, max_parts + 1) for group in combinations(spaces, size)]
    return list(dict.fromkeys([*keys, space_key(spaces)]))


def select_space(
    features: Mapping[str, Tensor],
    labels: Tensor,
    *,
    keys: Sequence[str] | None = None,
    validation_fraction: float = 0.25,
    seed: int = 0,
) -> SpaceRanking:
    """Rank `keys` (default: `candidate_keys` of every space in `features`) on a held-out part of (features, labels)."""
    if not 0 < validation_fraction < 1:
        raise ValueError(f"validation_fraction must be in (0, 1), got {validation_fraction}")
    keys = list(keys or candidate_keys(list(features)))
    fit_rows, validation_rows = stratified_split(labels, validation_fraction, seed)
    accuracy, dims = {}, {}
    for key in keys:
        x = concat_features(features, key)  # (N, d)
        probe = fit_linear_probe(x[fit_rows], labels[fit_rows], num_classes=int(labels.max()) + 1, seed=seed)
        accuracy[key] = probe.accuracy(x[validation_rows], labels[validation_rows])["top1"]
        dims[key] = x.shape[1]
    ranked = dict(sorted(accuracy.items(), key=lambda item: (-item[1], dims[item[0]])))
    best = next(iter(ranked.values()))
    error = 100.0 * math.sqrt(best / 100.0 * (1 - best / 100.0) / len(validation_rows))
    close = [key for key, value in ranked.items() if value >= best - error]
    recommended = min(close, key=lambda key: (dims[key], -ranked[key]))
    return SpaceRanking(ranked, dims, recommended, error)


def _check(context: EvalContext) -> list[str]:
    return per_class_problems(context, 3)  # the probe's validation split nests inside this one's fit part


def _run(context: EvalContext) -> Iterator[EvalRecord]:
    seed = context.config.seed
    ranking = select_space(context.train_features, context.train_labels, keys=context.keys, seed=seed)
    yield from ranking.records(context.source, context.config.train_split, {"method": "lbfgs", "seed": seed})
    logger.info(f"{context.source}: recommended feature {ranking.recommended!r}")


PROTOCOLS = (
    Protocol("space_selection", "space selection", "image-feature-extraction", run=_run, check=_check, labelled=True),
)
