"""Nearest-neighbour retrieval grids per space (paper Fig. 3): what each space considers "the same image".

For each query image, one row per space key: the query, then its k most cosine-similar images of a bank. A
colour space should retrieve same-coloured images, a rotation space same-oriented ones, the invariant space
same-content ones in any colour or orientation. Concatenations L2-normalise each part first, as kNN does; the
choice of queries (evenly spaced through the query set) and the grid layout are ours.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType

import torch
import torch.nn.functional as F
from datasets import Dataset
from torch import Tensor

from ..data import LABEL_COLUMN
from ..spaces import concat_features
from .config import option
from .extraction_steps import image_batches
from .plotting import pyplot, save_figure
from .protocol import EvalContext, Protocol
from .record import EvalRecord
from .similarity_search import top_k_inner_product

__all__ = [
    "PROTOCOLS",
    "RetrievalOptions",
    "SheetRow",
    "display_images",
    "draw_retrieval_sheet",
    "nearest_neighbours",
    "plot_retrieval",
]


def nearest_neighbours(bank: Tensor, queries: Tensor, k: int) -> Tensor:
    """Indices (Q, k) of the k bank rows (N, d) most cosine-similar to each query row (Q, d), best first."""
    if not 1 <= k <= len(bank):
        raise ValueError(f"k must be in [1, {len(bank)}] (the bank size), got {k}")
    return top_k_inner_product(F.normalize(bank.float(), dim=1), F.normalize(queries.float(), dim=1), k)[1]


HIT_COLOUR, MISS_COLOUR = "#1a9850", "#d73027"


@dataclass(frozen=True)
class SheetRow:
    """One row of a retrieval sheet: a query and its neighbours under one space key or weighting."""

    name: str
    """What ranked the neighbours (a space key, a weighting), written left of the row."""
    query: Tensor
    """(3, S, S) float image in [0, 1]."""
    neighbours: Tensor
    """(k, 3, S, S) float images in [0, 1], best first."""
    hits: Sequence[bool] | None = None
    """Per neighbour: has the query's label (framed green) or not (red); None when unlabelled (no frames)."""


def draw_retrieval_sheet(rows: Sequence[SheetRow], path: str | Path) -> Path:
    """The one retrieval picture (`looc-evaluate`'s retrieval protocol and `looc-search --sheet` both draw it):
    a PNG grid, a row per `SheetRow` (query | its neighbours), hits framed green and misses red when known."""
    if not rows:
        raise ValueError("a retrieval sheet needs at least one row")
    k = max(len(row.neighbours) for row in rows)
    plt = pyplot()
    figure, axes = plt.subplots(len(rows), k + 1, figsize=(0.9 * (k + 1) + 1.6, 0.9 * len(rows)), squeeze=False)
    for row, line in zip(rows, axes, strict=True):
        for column, image in enumerate([row.query, *row.neighbours]):
            line[column].imshow(image.permute(1, 2, 0).clamp(0, 1).numpy())
        for axis in line:
            axis.set_xticks([])
            axis.set_yticks([])
        for column, hit in enumerate(row.hits or [], start=1):  # green: the query's label (a hit); red: a miss
            for spine in line[column].spines.values():
                spine.set_edgecolor(HIT_COLOUR if hit else MISS_COLOUR)
                spine.set_linewidth(2.5)
        line[0].set_ylabel(row.name, rotation=0, ha="right", va="center", fontsize=8)
    axes[0][0].set_title("query", fontsize=8)
    for column in range(1, k + 1):
        axes[0][column].set_title(f"#{column}", fontsize=8)
    figure.tight_layout(h_pad=0.2, w_pad=0.2)
    return save_figure(figure, path, dpi=100)


def plot_retrieval(
    bank: Dataset,
    bank_features: Mapping[str, Tensor],
    queries: Dataset,
    query_features: Mapping[str, Tensor],
    path: str | Path,
    *,
    keys: Sequence[str],
    num_queries: int = 4,
    k: int = 8,
    image_size: int = 64,
) -> Path:
    """A retrieval sheet: for each of `num_queries` queries, a row per space key (query | its k bank neighbours).

    When both datasets are labelled, each neighbour is framed green (same label as the query) or red.
    """
    if not keys:
        raise ValueError("plot_retrieval needs at least one space key")
    if not 1 <= num_queries <= len(queries):
        raise ValueError(f"num_queries must be in [1, {len(queries)}], got {num_queries}")
    chosen = torch.linspace(0, len(queries) - 1, num_queries).round().long()  # (q,) evenly spaced queries
    neighbours = {
        key: nearest_neighbours(
            concat_features(bank_features, key, normalize_parts=True),
            concat_features(query_features, key, normalize_parts=True)[chosen],
            k,
        )
        for key in keys
    }  # {key: (q, k)}
    query_images = display_images(queries, chosen.tolist(), image_size)
    labelled = LABEL_COLUMN in bank.column_names and LABEL_COLUMN in queries.column_names
    bank_labels = bank[LABEL_COLUMN] if labelled else None
    query_labels = [queries[LABEL_COLUMN][i] for i in chosen.tolist()] if labelled else None
    rows = []
    for query in range(num_queries):
        for key in keys:
            found = neighbours[key][query].tolist()
            hits = [bank_labels[i] == query_labels[query] for i in found] if labelled else None
            rows.append(SheetRow(key, query_images[query], display_images(bank, found, image_size), hits))
    return draw_retrieval_sheet(rows, path)


def display_images(dataset: Dataset, indices: list[int], image_size: int) -> Tensor:
    """(len(indices), 3, S, S) float images in [0, 1] for display (the loader's canvas), in `indices` order."""
    images, _ = next(image_batches(dataset.select(indices), image_size, batch_size=len(indices)))
    return images


@dataclass
class RetrievalOptions:
    """The retrieval grid's settings."""

    retrieval_queries: int = option(4, help="retrieval: query images in the grid")
    retrieval_k: int = option(8, help="retrieval: neighbours shown per query")


def _run(context: EvalContext) -> Iterator[EvalRecord]:
    options = context.config.options(RetrievalOptions)
    grid = plot_retrieval(
        context.train,
        context.train_features,
        context.test,
        context.test_features,
        context.output_dir / f"{context.file_prefix()}retrieval.png",
        keys=context.keys,
        num_queries=min(options.retrieval_queries, len(context.test)),
        k=min(options.retrieval_k, len(context.train)),
    )
    context.artifact(grid)
    yield from ()  # a PNG only: no record


PROTOCOLS = (
    Protocol(
        "retrieval",
        "retrieval",
        "image-feature-extraction",
        run=_run,
        options=RetrievalOptions,
        reads_labels=False,
        writes_records=False,
        metrics=MappingProxyType({}),
    ),
)
