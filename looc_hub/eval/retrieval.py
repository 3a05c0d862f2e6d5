"""Nearest-neighbour retrieval grids per space (paper Fig. 3): what each space considers "the same image".

For each query image, one row per space key: the query, then its k most cosine-similar images of a bank. A
colour space should retrieve same-coloured images, a rotation space same-oriented ones, the invariant space
same-content ones in any colour or orientation. Concatenations L2-normalise each part first, as kNN does; the
choice of queries (evenly spaced through the query set) and the grid layout are ours.
"""

from __future__ import annotations

import argparse
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from types import MappingProxyType

import torch
import torch.nn.functional as F
from datasets import Dataset
from torch import Tensor

from ..data import LABEL_COLUMN
from ..spaces import concat_features
from .extraction_steps import image_batches
from .plotting import pyplot, save_figure
from .protocol import EvalContext, Protocol
from .record import EvalRecord

__all__ = ["PROTOCOLS", "nearest_neighbours", "plot_retrieval"]


def nearest_neighbours(bank: Tensor, queries: Tensor, k: int) -> Tensor:
    """Indices (Q, k) of the k bank rows (N, d) most cosine-similar to each query row (Q, d), best first."""
    if not 1 <= k <= len(bank):
        raise ValueError(f"k must be in [1, {len(bank)}] (the bank size), got {k}")
    similarity = F.normalize(queries.float(), dim=1) @ F.normalize(bank.float(), dim=1).T  # (Q, N)
    return similarity.topk(k, dim=1).indices


HIT_COLOUR, MISS_COLOUR = "#1a9850", "#d73027"


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
    """A PNG grid: for each of `num_queries` queries, a row per space key (query | its k bank neighbours).

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
    query_images = _images(queries, chosen.tolist(), image_size)
    labelled = LABEL_COLUMN in bank.column_names and LABEL_COLUMN in queries.column_names
    bank_labels = bank[LABEL_COLUMN] if labelled else None
    query_labels = [queries[LABEL_COLUMN][i] for i in chosen.tolist()] if labelled else None

    plt = pyplot()

    rows = num_queries * len(keys)
    figure, axes = plt.subplots(rows, k + 1, figsize=(0.9 * (k + 1) + 1.2, 0.9 * rows), squeeze=False)
    for query in range(num_queries):
        for offset, key in enumerate(keys):
            row = axes[query * len(keys) + offset]
            found = _images(bank, neighbours[key][query].tolist(), image_size)
            for column, image in enumerate([query_images[query], *found]):
                row[column].imshow(image.permute(1, 2, 0).numpy())
                row[column].set_xticks([])
                row[column].set_yticks([])
            if labelled:  # a frame per neighbour: green, the query's label (a hit); red, another (a miss)
                for column, index in enumerate(neighbours[key][query].tolist(), start=1):
                    hit = bank_labels[index] == query_labels[query]
                    for spine in row[column].spines.values():
                        spine.set_edgecolor(HIT_COLOUR if hit else MISS_COLOUR)
                        spine.set_linewidth(2.5)
            row[0].set_ylabel(key, rotation=0, ha="right", va="center", fontsize=8)
    axes[0][0].set_title("query", fontsize=8)
    for column in range(1, k + 1):
        axes[0][column].set_title(f"#{column}", fontsize=8)
    figure.tight_layout(h_pad=0.2, w_pad=0.2)
    return save_figure(figure, path, dpi=100)


def _images(dataset: Dataset, indices: list[int], image_size: int) -> Tensor:
    """(len(indices), 3, S, S) float images in [0, 1] for display (the loader's canvas), in `indices` order."""
    images, _ = next(image_batches(dataset.select(indices), image_size, batch_size=len(indices)))
    return images


def _add_arguments(group: argparse._ArgumentGroup) -> None:
    group.add_argument("--retrieval_queries", type=int, default=4, help="retrieval: query images in the grid")
    group.add_argument("--retrieval_k", type=int, default=8, help="retrieval: neighbours shown per query")


def _run(context: EvalContext) -> Iterator[EvalRecord]:
    grid = plot_retrieval(
        context.train,
        context.train_features,
        context.test,
        context.test_features,
        context.output_dir / f"{context.file_prefix()}retrieval.png",
        keys=context.keys,
        num_queries=min(context.args.retrieval_queries, len(context.test)),
        k=min(context.args.retrieval_k, len(context.train)),
    )
    context.artifact(grid)
    yield from ()  # a PNG only: no record


PROTOCOLS = (
    Protocol(
        "retrieval",
        "retrieval",
        "image-feature-extraction",
        run=_run,
        add_arguments=_add_arguments,
        reads_labels=False,
        writes_records=False,
        metrics=MappingProxyType({}),
    ),
)
