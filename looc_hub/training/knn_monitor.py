"""The online kNN monitor of pretraining (solo-learn / MoCo style): kNN accuracy per space on held-out data."""

from __future__ import annotations

import torch
from datasets import Dataset

from ..eval.features import extract_features
from ..eval.knn import knn_accuracy
from ..model import LooCModel

__all__ = ["knn_monitor"]


def knn_monitor(
    model: LooCModel,
    bank: Dataset,
    queries: Dataset,
    *,
    image_column: str,
    label_column: str,
    k: int,
    temperature: float,
    device: torch.device | str,
) -> dict[str, dict[str, float]]:
    """{space: {"top1": %, "top5": %}}: weighted cosine kNN of `queries` against the labelled `bank`."""
    columns = {"image_column": image_column, "label_column": label_column, "device": device}
    bank_features, bank_labels = extract_features(model, bank, **columns)
    query_features, query_labels = extract_features(model, queries, **columns)
    return {
        space: knn_accuracy(
            bank_features[space], bank_labels, query_features[space], query_labels, k=k, temperature=temperature
        )
        for space in model.spaces
    }
