"""Retrieval as a measured protocol: Recall@1/5/10, mAP@R and precision@10 of evaluation-split queries against the
train split.

Each query image of the evaluation split ranks the train split's images (the gallery) by cosine similarity in a
space key (concatenations normalise each part, as kNN does) or by a named weighting of spaces (the weighted sum of
per-space cosines, `looc_hub.eval.weighting`); a gallery image is relevant when it has the query's label.

- Recall@k: the share of queries with at least one relevant image among their k nearest (the metric-learning
  literature's Recall@k, e.g. Song et al. 2016), in %.
- mAP@R (Musgrave et al., "A Metric Learning Reality Check", ECCV 2020): with R the number of relevant gallery
  images, the mean over queries of (1/R) sum_{i <= R} precision@i x relevant(i), in %.
- precision@10: the mean over queries of the share of its 10 nearest gallery images that have its label, in %:
  the paper's Fig. 3 read as a number (do a space's neighbours share the query's colour?).

The paper reports no retrieval numbers (its Fig. 3 shows neighbours only); the protocol, its gallery / query split
and the intervals are ours. A query whose label the gallery lacks counts as a miss (AP 0). Intervals: the 95%
normal approximation over queries (`accuracy_ci95` for recalls, 1.96 standard errors of the per-query AP or
share).
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from types import MappingProxyType

import torch
from torch import Tensor

from ..model import LooCNetwork
from ..spaces import concat_features, space_key
from .config import EvalConfig, option
from .intervals import accuracy_ci95
from .protocol import EvalContext, Metric, Protocol
from .record import EvalRecord
from .similarity_search import top_k_inner_product
from .weighting import gallery_matrix, parse_weighting, query_matrix, weighting_text

__all__ = ["PRECISION_K", "PROTOCOLS", "RECALL_KS", "RetrievalRecallOptions", "retrieval_scores"]

RECALL_KS = (1, 5, 10)
PRECISION_K = 10


def retrieval_scores(
    gallery: Tensor, gallery_labels: Tensor, queries: Tensor, query_labels: Tensor, ks: Sequence[int] = RECALL_KS
) -> dict[str, Tensor]:
    """Per-query {"recall@k": 0/1 for each k, "map@r": AP@R in [0, 1], "precision@10": the share of the 10 nearest
    that are relevant} of inner-product retrieval, (Q,) each.

    Rows are compared as given: normalise them (or lay them out with `weighting.query_matrix`) for cosines.
    """
    if len(gallery_labels) != len(gallery) or len(query_labels) != len(queries):
        raise ValueError("retrieval_scores needs one label per gallery row and per query row")
    counts = torch.bincount(gallery_labels, minlength=int(query_labels.max()) + 1)
    relevant = counts[query_labels]  # (Q,) R of each query
    depth = min(len(gallery), max(*ks, PRECISION_K, int(relevant.max())))
    _, indices = top_k_inner_product(gallery, queries, depth)
    hits = (gallery_labels[indices] == query_labels.unsqueeze(1)).float()  # (Q, depth)
    scores = {f"recall@{k}": hits[:, :k].amax(dim=1) for k in ks}
    ranks = torch.arange(1, depth + 1, dtype=torch.float32)
    within_r = ranks.unsqueeze(0) <= relevant.unsqueeze(1)  # (Q, depth): the first R ranks
    precision = hits.cumsum(dim=1) / ranks
    scores["map@r"] = (precision * hits * within_r).sum(dim=1) / relevant.clamp(min=1)
    scores[f"precision@{PRECISION_K}"] = hits[:, :PRECISION_K].mean(dim=1)  # of fewer when the gallery is smaller
    return scores


def _mean_ci95(values: Tensor, binary: bool) -> tuple[float, float]:
    """(mean, 95% half-width) in %."""
    mean = 100.0 * values.mean().item()
    if binary:
        return mean, accuracy_ci95(mean, len(values))
    spread = values.std().item() if len(values) > 1 else 0.0
    return mean, 196.0 * spread / math.sqrt(len(values))


@dataclass
class RetrievalRecallOptions:
    """The retrieval_recall protocol's settings."""

    retrieval_recall_weightings: list[str] = option(
        [],
        help="retrieval_recall: Recall@1/5/10 and mAP@R also for these weightings of spaces, each "
        "'space=weight,...' (e.g. invariant=1,color=-0.5: the score is the weighted sum of per-space cosines) "
        "(default: none)",
    )


def _weightings(config: EvalConfig, model: LooCNetwork) -> list[dict[str, float]]:
    """The parsed --retrieval_recall_weightings; a bad one fails when `looc-evaluate` resolves the spaces, before
    any feature is extracted."""
    weightings = []
    for text in config.options(RetrievalRecallOptions).retrieval_recall_weightings:
        try:
            weightings.append(parse_weighting(text, model.spaces))
        except ValueError as error:
            raise ValueError(f"--retrieval_recall_weightings {text!r}: {error}") from None
    return weightings


def _extra_spaces(config: EvalConfig, model: LooCNetwork) -> list[str]:
    return [name for weights in _weightings(config, model) for name in weights]


def _rankings(context: EvalContext) -> Iterator[tuple[str, dict[str, str], Tensor, Tensor]]:
    """(space key, extra params, gallery rows, query rows): each space key, then each weighting.

    A weighting's records carry the key of its spaces ("invariant+color") and its text in `params["weights"]`.
    """
    for key in context.keys:
        yield (
            key,
            {},
            concat_features(context.train_features, key, normalize_parts=True),
            concat_features(context.test_features, key, normalize_parts=True),
        )
    for weights in _weightings(context.config, context.model):
        spaces = list(weights)
        yield (
            space_key(spaces),
            {"weights": weighting_text(weights)},
            gallery_matrix(context.train_features, spaces),
            query_matrix(context.test_features, spaces, weights),
        )


def _run(context: EvalContext) -> Iterator[EvalRecord]:
    gallery_split = context.config.train_split
    for key, params, gallery, queries in _rankings(context):
        scores = retrieval_scores(gallery, context.train_labels, queries, context.test_labels)
        for metric, values in scores.items():
            value, ci95 = _mean_ci95(values, binary=metric.startswith("recall@"))
            yield context.record("retrieval_recall", key, metric, value, ci95, gallery=gallery_split, **params)


PROTOCOLS = (
    Protocol(
        "retrieval_recall",
        "retrieval Recall@k / mAP@R",
        "image-feature-extraction",
        run=_run,
        options=RetrievalRecallOptions,
        extra_spaces=_extra_spaces,
        metrics=MappingProxyType(
            {**{f"recall@{k}": Metric() for k in RECALL_KS}, "map@r": Metric(), f"precision@{PRECISION_K}": Metric()}
        ),
    ),
)
