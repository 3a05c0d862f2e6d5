"""The two ways an index finds its top k: exact chunked search in torch (default), or FAISS when installed.

Both search the same matrix by inner product (FAISS's `IndexFlatIP`, also exact), so they return the same
neighbours; FAISS is there for its speed on large galleries (`pip install looc-hub[faiss]`, the `faiss-cpu` wheel).
"""

from __future__ import annotations

from typing import Protocol

import numpy as np
import torch
from torch import Tensor

from ..eval.similarity_search import DEFAULT_CHUNK_ROWS, top_k_inner_product

try:  # an optional dependency (the `faiss` extra)
    import faiss
except ImportError:
    faiss = None

__all__ = ["BACKENDS", "ExactSearch", "FaissSearch", "SearchBackend", "faiss_available", "make_backend"]

BACKENDS = ("exact", "faiss")


class SearchBackend(Protocol):
    def search(self, queries: Tensor, k: int) -> tuple[Tensor, Tensor]:
        """(scores (Q, k) float32, row indices (Q, k) int64), best first."""
        ...


class ExactSearch:
    """Exact inner-product top-k in torch, the gallery read in chunks (`top_k_inner_product`)."""

    def __init__(self, gallery: Tensor, chunk_rows: int = DEFAULT_CHUNK_ROWS) -> None:
        self.gallery, self.chunk_rows = gallery, chunk_rows

    def search(self, queries: Tensor, k: int) -> tuple[Tensor, Tensor]:
        return top_k_inner_product(self.gallery, queries, k, chunk_rows=self.chunk_rows)


class FaissSearch:
    """FAISS's exact inner-product index (`IndexFlatIP`) over the same matrix."""

    def __init__(self, gallery: Tensor) -> None:
        if faiss is None:
            raise ImportError("backend 'faiss' needs the faiss-cpu package: pip install 'looc-hub[faiss]'")
        self.index = faiss.IndexFlatIP(gallery.shape[1])
        self.index.add(np.ascontiguousarray(gallery.float().numpy()))

    def search(self, queries: Tensor, k: int) -> tuple[Tensor, Tensor]:
        scores, indices = self.index.search(np.ascontiguousarray(queries.float().cpu().numpy()), k)
        return torch.from_numpy(scores), torch.from_numpy(indices).long()


def faiss_available() -> bool:
    return faiss is not None


def make_backend(name: str, gallery: Tensor, chunk_rows: int = DEFAULT_CHUNK_ROWS) -> SearchBackend:
    if name == "exact":
        return ExactSearch(gallery, chunk_rows)
    if name == "faiss":
        return FaissSearch(gallery)
    raise ValueError(f"Unknown search backend {name!r}; choices: {list(BACKENDS)}")
