"""The online kNN monitor of pretraining (solo-learn / MoCo style): kNN accuracy per space on held-out data.

Its final measurements are stored as results records (`knn_records`), the unit every evaluation protocol
writes, so the model card shows them from the same kind of file as any evaluation.
"""

from __future__ import annotations

import torch
from datasets import Dataset

from ..eval.features import extract_features
from ..eval.knn import knn_accuracy
from ..eval.record import EvalRecord
from ..model import LooCNetwork
from .pretrain_config import PretrainConfig

__all__ = ["knn_monitor", "knn_records"]


def knn_monitor(
    model: LooCNetwork,
    bank: Dataset,
    queries: Dataset,
    *,
    k: int,
    temperature: float,
    device: torch.device | str,
) -> dict[str, dict[str, float]]:
    """{space: {"top1": %, "top5": %}}: weighted cosine kNN of `queries` against the labelled `bank`.

    Both are `load_image_dataset` splits with a label column. Features come from `extract_features`, i.e. the
    model's one evaluation preprocessing (its `pretrained_cfg`, the card's `eval_transform`), so the monitor
    reports what `looc-evaluate` and the card's snippet would measure.
    """
    bank_features, bank_labels = extract_features(model, bank, device=device)
    query_features, query_labels = extract_features(model, queries, device=device)
    return {
        space: knn_accuracy(
            bank_features[space], bank_labels, query_features[space], query_labels, k=k, temperature=temperature
        )
        for space in model.spaces
    }


def knn_records(knn: dict[str, dict[str, float]], config: PretrainConfig) -> list[EvalRecord]:
    """The monitor's measurements as results records (protocol "knn"), as every evaluation protocol writes them."""
    params = {"k": config.knn_k, "temperature": config.knn_temperature}
    return [
        EvalRecord("knn", str(config.dataset), str(config.eval_split), space, metric, float(value), params)
        for space, row in knn.items()
        for metric, value in row.items()
    ]
