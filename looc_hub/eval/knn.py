"""Weighted cosine k-nearest-neighbour classification, the kNN monitor of InstDisc and MoCo.

Wu et al., "Unsupervised Feature Learning via Non-Parametric Instance Discrimination" (CVPR 2018): each of the
k bank features most cosine-similar to a query votes for its label with weight exp(similarity / T). Defaults
k = 200 and T = 0.07 are InstDisc's (also MoCo's and solo-learn's monitor); LooC's paper does not use kNN.
Shared by the pretraining kNN monitor and the evaluation protocols.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from ..spaces import concat_features
from .config import option
from .intervals import accuracy_ci95
from .protocol import EvalContext, Protocol
from .record import EvalRecord

__all__ = ["PROTOCOLS", "KnnOptions", "knn_accuracy", "knn_class_scores"]

# Similarity blocks hold at most this many entries (256 MiB in float32): query chunk size = this / bank size.
_MAX_BLOCK_ELEMENTS = 2**26


def knn_class_scores(
    bank_features: torch.Tensor,
    bank_labels: torch.Tensor,
    query_features: torch.Tensor,
    *,
    num_classes: int | None = None,
    k: int = 200,
    temperature: float = 0.07,
    chunk_size: int | None = None,
) -> torch.Tensor:
    """Summed neighbour weights per class: (num_queries, num_classes), float32, on the bank's device.

    Queries go through in chunks of `chunk_size` (default: as many as keep one similarity block under 2^26
    entries), so memory stays bounded for any test set. Features need not be normalised; both sides are
    L2-normalised here in float32. `num_classes` defaults to the largest bank label + 1. With fewer than `k`
    bank features, all of them vote.

    Example:
        >>> bank = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
        >>> knn_class_scores(bank, torch.tensor([0, 1]), torch.tensor([[2.0, 0.1]]), k=1).argmax(1).tolist()
        [0]
    """
    _check_args(bank_features, bank_labels, query_features, k, temperature, chunk_size)
    num_classes = _num_classes(bank_labels, num_classes)
    device = bank_features.device
    bank = F.normalize(bank_features.float(), dim=1)  # (N, D)
    bank_labels = bank_labels.to(device)
    k = min(k, len(bank))
    chunk_size = chunk_size or max(1, _MAX_BLOCK_ELEMENTS // len(bank))
    scores = []
    for chunk in query_features.split(chunk_size):
        queries = F.normalize(chunk.to(device).float(), dim=1)  # (b, D)
        similarity, neighbours = (queries @ bank.T).topk(k, dim=1)  # (b, N) -> (b, k), (b, k)
        weights = (similarity / temperature).exp()  # (b, k)
        votes = torch.zeros(len(queries), num_classes, device=device)  # (b, C)
        scores.append(votes.scatter_add_(1, bank_labels[neighbours], weights))
    return torch.cat(scores)


def knn_accuracy(
    bank_features: torch.Tensor,
    bank_labels: torch.Tensor,
    query_features: torch.Tensor,
    query_labels: torch.Tensor,
    *,
    k: int = 200,
    temperature: float = 0.07,
    chunk_size: int | None = None,
) -> dict[str, float]:
    """{"top1": %, "top5": %} of weighted cosine kNN; "top5" counts the 5 best classes (all when fewer exist).

    Example:
        >>> bank = torch.tensor([[1.0, 0.0], [0.9, 0.1], [0.0, 1.0]])
        >>> knn_accuracy(bank, torch.tensor([0, 0, 1]), torch.tensor([[0.1, 1.0]]), torch.tensor([1]), k=1)
        {'top1': 100.0, 'top5': 100.0}
    """
    if len(query_features) == 0:
        raise ValueError("knn_accuracy needs at least one query")
    _check_labels("query_labels", query_labels, len(query_features))
    scores = knn_class_scores(
        bank_features, bank_labels, query_features, k=k, temperature=temperature, chunk_size=chunk_size
    )  # (Q, C): a query label the bank never holds is simply never predicted
    ranked = scores.topk(min(5, scores.shape[1]), dim=1).indices  # (Q, 5)
    hits = ranked == query_labels.to(ranked.device).unsqueeze(1)  # (Q, 5)
    return {
        "top1": 100.0 * hits[:, 0].float().mean().item(),
        "top5": 100.0 * hits.any(dim=1).float().mean().item(),
    }


def _check_args(
    bank_features: torch.Tensor,
    bank_labels: torch.Tensor,
    query_features: torch.Tensor,
    k: int,
    temperature: float,
    chunk_size: int | None,
) -> None:
    if k < 1:
        raise ValueError(f"k must be at least 1, got {k}")
    if temperature <= 0:
        raise ValueError(f"temperature must be positive, got {temperature}")
    if chunk_size is not None and chunk_size < 1:
        raise ValueError(f"chunk_size must be at least 1 (or None), got {chunk_size}")
    if bank_features.ndim != 2 or query_features.ndim != 2 or bank_features.shape[1] != query_features.shape[1]:
        raise ValueError(
            f"features must be (N, D) and (Q, D), got {tuple(bank_features.shape)} and {tuple(query_features.shape)}"
        )
    if len(bank_features) == 0:
        raise ValueError("the kNN bank is empty")
    _check_labels("bank_labels", bank_labels, len(bank_features))


def _check_labels(name: str, labels: torch.Tensor, count: int) -> None:
    if labels.shape != (count,):
        raise ValueError(f"{name} must hold one label per feature ({count}), got shape {tuple(labels.shape)}")
    if labels.dtype.is_floating_point or labels.dtype == torch.bool:
        raise ValueError(f"{name} must be integer class ids, got dtype {labels.dtype}")
    if int(labels.min()) < 0:
        raise ValueError(f"{name} must be class ids >= 0, got {int(labels.min())}")


def _num_classes(bank_labels: torch.Tensor, num_classes: int | None) -> int:
    needed = int(bank_labels.max()) + 1
    if num_classes is None:
        return needed
    if num_classes < needed:
        raise ValueError(f"num_classes={num_classes} but the bank holds label {needed - 1}")
    return num_classes


@dataclass
class KnnOptions:
    """The knn protocol's settings (InstDisc's defaults)."""

    knn_k: int = option(200, help="knn: neighbours")
    knn_temperature: float = option(0.07, help="knn: temperature of the weighted vote")


def _check(context: EvalContext) -> list[str]:
    options, found = context.config.options(KnnOptions), []
    if options.knn_k < 1:
        found.append(f"--knn_k must be >= 1, got {options.knn_k}")
    if not options.knn_temperature > 0:
        found.append(f"--knn_temperature must be > 0, got {options.knn_temperature}")
    return found


def _run(context: EvalContext) -> Iterator[EvalRecord]:
    options = context.config.options(KnnOptions)
    for key in context.keys:
        train_x, test_x = (
            concat_features(f, key, normalize_parts=True) for f in (context.train_features, context.test_features)
        )
        knn = knn_accuracy(
            train_x,
            context.train_labels,
            test_x,
            context.test_labels,
            k=options.knn_k,
            temperature=options.knn_temperature,
        )
        for metric, value in knn.items():
            ci95 = accuracy_ci95(value, len(context.test_labels))
            yield context.record("knn", key, metric, value, ci95, k=options.knn_k, temperature=options.knn_temperature)


PROTOCOLS = (
    Protocol(
        "knn",
        "kNN",
        "image-classification",
        run=_run,
        options=KnnOptions,
        check=_check,
        labelled=True,
        default=True,
    ),
)
