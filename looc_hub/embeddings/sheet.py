"""The retrieval sheet of an index: a row of neighbours per query and weighting, drawn by the one implementation
that `looc-evaluate`'s retrieval picture uses (`looc_hub.eval.retrieval.draw_retrieval_sheet`)."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path

from datasets import Dataset

from ..data import load_image_dataset
from ..eval.retrieval import SheetRow, display_images, draw_retrieval_sheet
from ..eval.weighting import weighting_text
from .index import EmbeddingIndex

__all__ = ["load_indexed_dataset", "save_search_sheet"]


def load_indexed_dataset(index: EmbeddingIndex) -> Dataset:
    """The split the index was embedded from (its images, for the sheet), as the manifest names it."""
    info = index.manifest.dataset
    return load_image_dataset(info.source, split=info.split, image_column=info.image_column)


def save_search_sheet(
    index: EmbeddingIndex,
    query_ids: Sequence[int],
    weightings: Mapping[str, Mapping[str, float]],
    path: str | os.PathLike,
    *,
    dataset: Dataset | None = None,
    k: int = 8,
    image_size: int = 64,
) -> Path:
    """A PNG: for each query row, one row of its k neighbours per named weighting; hits / misses framed when the
    index has labels. `dataset` defaults to the split the manifest names."""
    dataset = dataset if dataset is not None else load_indexed_dataset(index)
    rows = []
    for query in query_ids:
        query_image = display_images(dataset, [query], image_size)[0]
        for name, weights in weightings.items():
            found = index.search(query, weights, k)
            ids = found.ids[0].tolist()
            hits = [label == index.labels[query] for label in found.labels[0]] if found.labels is not None else None
            label = name if name == weighting_text(weights) else f"{name}\n{weighting_text(weights)}"
            rows.append(SheetRow(label, query_image, display_images(dataset, ids, image_size), hits))
    return draw_retrieval_sheet(rows, path)
