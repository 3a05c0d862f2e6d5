"""Exact top-k by inner product, the gallery read in chunks: a million rows search with bounded extra memory.

The similarity of a query block with a gallery chunk is one matrix product; each chunk's best k are merged with the
best so far, so the extra memory is (queries x chunk) whatever the gallery's size. With unit rows (or the weighted
layout of `looc_hub.eval.weighting`) the inner product is the cosine (or the weighted sum of cosines).
"""

from __future__ import annotations

import torch
from torch import Tensor

__all__ = ["DEFAULT_CHUNK_ROWS", "top_k_inner_product"]

DEFAULT_CHUNK_ROWS = 65_536
"""Gallery rows per chunk (ours): 1,024 queries x 65,536 rows is a 256 MiB float32 block."""


def top_k_inner_product(
    gallery: Tensor, queries: Tensor, k: int, *, chunk_rows: int = DEFAULT_CHUNK_ROWS
) -> tuple[Tensor, Tensor]:
    """(scores (Q, k), indices (Q, k)) of the k gallery rows (N, D) with the largest inner product with each query.

    Best first; float32 scores. Ties keep the lower index first (a stable order, the same in every chunking).
    """
    if gallery.ndim != 2 or queries.ndim != 2 or gallery.shape[1] != queries.shape[1]:
        raise ValueError(
            f"gallery and queries must be (N, D) and (Q, D), got {tuple(gallery.shape)} and {tuple(queries.shape)}"
        )
    if not 1 <= k <= len(gallery):
        raise ValueError(f"k must be in [1, {len(gallery)}] (the gallery's rows), got {k}")
    if chunk_rows < 1:
        raise ValueError(f"chunk_rows must be >= 1, got {chunk_rows}")
    queries = queries.float()
    best_scores = torch.full((len(queries), 0), float("-inf"))
    best_indices = torch.zeros((len(queries), 0), dtype=torch.long)
    for start in range(0, len(gallery), chunk_rows):
        chunk = gallery[start : start + chunk_rows].float()
        scores, indices = (queries @ chunk.T).topk(min(k, len(chunk)), dim=1, sorted=True)
        merged_scores = torch.cat([best_scores, scores.cpu()], dim=1)
        merged_indices = torch.cat([best_indices, indices.cpu() + start], dim=1)
        order = _descending_by_score_then_index(merged_scores, merged_indices)[:, :k]
        best_scores, best_indices = merged_scores.gather(1, order), merged_indices.gather(1, order)
    return best_scores, best_indices


def _descending_by_score_then_index(scores: Tensor, indices: Tensor) -> Tensor:
    """Column order sorting each row by score (high first), equal scores by index (low first)."""
    by_index = indices.argsort(dim=1, stable=True)
    by_score = scores.gather(1, by_index).argsort(dim=1, descending=True, stable=True)
    return by_index.gather(1, by_score)
