"""A seeded random subset of a dataset, in stored order: what calibration and capped evaluations draw from."""

from __future__ import annotations

import torch
from datasets import Dataset

__all__ = ["random_subset"]


def random_subset(dataset: Dataset, rows: int, seed: int) -> Dataset:
    """Up to `rows` rows drawn at random with `seed`, kept in their stored order (the whole dataset if it is no
    larger). Random, not the first rows: datasets are often stored sorted by class (OpenMoji is)."""
    if rows < 1:
        raise ValueError(f"rows must be >= 1, got {rows}")
    if rows >= len(dataset):
        return dataset
    chosen = torch.randperm(len(dataset), generator=torch.Generator().manual_seed(seed))[:rows]
    return dataset.select(sorted(chosen.tolist()))
