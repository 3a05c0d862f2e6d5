"""`EmbeddingIndex`: a `looc-embed` folder, searched with any weighting of its spaces.

    index = looc_hub.EmbeddingIndex.load("outputs/emoji-embeddings")
    found = index.search(12, {"invariant": 1.0, "color": -0.5}, k=8)  # row 12's shape, in other colours
    found = index.search("query.png", {"color": 1.0})                 # an image, embedded like the rows

One matrix answers every weighting (`looc_hub.eval.weighting`): the gallery holds the concatenation of each row's
L2-normalised spaces, the query scales its own parts by the weights, and the inner product is the weighted sum of
per-space cosines. A query is a row id of the index (the row itself is left out of its results), an image file, a
PIL image, or a tensor as `looc_hub.eval_transform(model)` returns it ((3, S, S) or (B, 3, S, S)); images are
embedded with the manifest's model, loaded on the first image query and checked against the manifest's weights.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from PIL import Image
from torch import Tensor

from ..eval.similarity_search import DEFAULT_CHUNK_ROWS
from ..eval.weighting import check_weighting, query_matrix
from ..hub.pretrained import LooCModel
from ..preprocessing import eval_data_config, eval_transform
from ..spaces import check_spaces
from .manifest import MANIFEST_NAME, EmbeddingManifest, EmbeddingsMismatchError, PartialEmbeddingsError, read_manifest
from .manifest import weights_sha256 as compute_weights_sha256
from .model_source import load_embedding_model
from .search import BACKENDS, make_backend
from .shards import SHARD_FOLDER, read_shard_columns

__all__ = ["EmbeddingIndex", "Query", "SearchResults"]

Query = int | str | os.PathLike | Image.Image | Tensor


@dataclass(frozen=True)
class SearchResults:
    """The k best rows of each query, best first: ids and scores (Q, k), labels and paths (Q lists of k)."""

    ids: Tensor
    scores: Tensor
    labels: list[list[int]] | None
    paths: list[list[str | None]]
    weights: dict[str, float]

    def table(self, query: int = 0) -> list[dict[str, Any]]:
        """The results of query `query` as rows {rank, id, score, label?, path}."""
        rows = []
        pairs = zip(self.ids[query].tolist(), self.scores[query].tolist(), strict=True)
        for rank, (row_id, score) in enumerate(pairs, start=1):
            row: dict[str, Any] = {"rank": rank, "id": row_id, "score": round(score, 4)}
            if self.labels is not None:
                row["label"] = self.labels[query][rank - 1]
            row["path"] = self.paths[query][rank - 1]
            rows.append(row)
        return rows


class EmbeddingIndex:
    """A complete embeddings folder in memory, searchable with any weighting of its spaces."""

    def __init__(
        self,
        folder: Path,
        manifest: EmbeddingManifest,
        parts: Mapping[str, Tensor],
        labels: list[int] | None,
        paths: list[str | None],
        *,
        backend: str = "exact",
        model: LooCModel | None = None,
        chunk_rows: int = DEFAULT_CHUNK_ROWS,
    ) -> None:
        self.folder, self.manifest = folder, manifest
        self.spaces = list(parts)
        self.labels, self.paths = labels, paths
        self.gallery = torch.cat([torch.nn.functional.normalize(parts[name], dim=1) for name in self.spaces], dim=1)
        offsets = torch.tensor([0, *(parts[name].shape[1] for name in self.spaces)]).cumsum(0).tolist()
        self.layout = {name: slice(offsets[i], offsets[i + 1]) for i, name in enumerate(self.spaces)}
        self.backend_name = backend
        self.backend = make_backend(backend, self.gallery, chunk_rows)
        self._model = model

    @classmethod
    def load(
        cls,
        folder: str | os.PathLike,
        *,
        spaces: Sequence[str] | None = None,
        backend: str = "exact",
        model: LooCModel | None = None,
        chunk_rows: int = DEFAULT_CHUNK_ROWS,
    ) -> EmbeddingIndex:
        """Read a complete `looc-embed` folder (all rows; only `spaces` of them, default all).

        `backend`: "exact" (torch, chunked) or "faiss" (needs faiss-cpu). `model`: the encoder of image queries,
        checked against the manifest (default: the manifest's, loaded on the first image query).

        Raises:
            FileNotFoundError: no such folder, or no manifest in it.
            PartialEmbeddingsError: the run that writes it has not finished, or a shard is missing or short.
            EmbeddingsMismatchError: `model` is not the model the rows were embedded with.
        """
        if backend not in BACKENDS:
            raise ValueError(f"Unknown search backend {backend!r}; choices: {list(BACKENDS)}")
        folder = Path(folder)
        manifest = _complete_manifest(folder)
        names = check_spaces(list(spaces or manifest.spaces), list(manifest.spaces))
        if model is not None:
            _check_model(manifest, model)
        labels: list[int] | None = [] if manifest.dataset.label_column is not None else None
        paths: list[str | None] = []
        parts: dict[str, list[Tensor]] = {name: [] for name in names}
        for shard in manifest.shards:
            columns, vectors = read_shard_columns(_shard_path(folder, shard), names)
            if columns.column("id").to_pylist() != list(range(shard["first_id"], shard["first_id"] + shard["rows"])):
                raise PartialEmbeddingsError(f"{folder / shard['file']} does not hold the ids its manifest lists")
            paths += columns.column("path").to_pylist()
            if labels is not None:
                labels += columns.column("label").to_pylist()
            for name in names:
                parts[name].append(vectors[name])
        joined = {name: torch.cat(chunks) for name, chunks in parts.items()}
        return cls(folder, manifest, joined, labels, paths, backend=backend, model=model, chunk_rows=chunk_rows)

    def __len__(self) -> int:
        return len(self.gallery)

    def search(
        self, query: Query | Sequence[int], weights: Mapping[str, float] | None = None, k: int = 10
    ) -> SearchResults:
        """The k rows with the largest sum_s w_s cos(query_s, row_s), for one query or a list of row ids.

        `weights` defaults to 1 for every space of the index. Spaces left out of `weights` count 0.
        """
        weights = check_weighting(dict.fromkeys(self.spaces, 1.0) if weights is None else weights, self.spaces)
        if not 1 <= k < len(self):
            raise ValueError(f"k must be in [1, {len(self) - 1}] (the index's rows but one), got {k}")
        row_ids = _row_ids(query)
        parts = self._row_parts(row_ids) if row_ids is not None else self.embed(query)
        queries = query_matrix(parts, self.spaces, weights)
        scores, indices = self.backend.search(queries, k + (row_ids is not None))
        if row_ids is not None:  # a row is not its own neighbour
            scores, indices = _without_rows(scores, indices, torch.tensor(row_ids), k)
        ids = indices.tolist()
        labels = [[self.labels[i] for i in row] for row in ids] if self.labels is not None else None
        return SearchResults(indices, scores, labels, [[self.paths[i] for i in row] for row in ids], weights)

    def embed(self, images: str | os.PathLike | Image.Image | Tensor) -> dict[str, Tensor]:
        """{space: (B, d)} of image queries, with the manifest's model and preprocessing."""
        model = self.model()
        if isinstance(images, str | os.PathLike):
            path = Path(images)
            if not path.is_file():
                raise FileNotFoundError(f"Query image {path} does not exist (a row id is an int)")
            images = Image.open(path)
        if isinstance(images, Image.Image):
            images = eval_transform(model)(images.convert("RGB"))
        if not isinstance(images, Tensor):
            raise TypeError(f"A query is a row id, an image file, a PIL image or a tensor, got {type(images).__name__}")
        batch = images.unsqueeze(0) if images.ndim == 3 else images
        device = next(model.parameters()).device
        with torch.no_grad():
            return {name: out.float().cpu() for name, out in model(batch.to(device), spaces=self.spaces).items()}

    def model(self) -> LooCModel:
        """The encoder of image queries: the manifest's model (loaded once), checked against its weights."""
        if self._model is None:
            identity = self.manifest.model
            model = load_embedding_model(identity.source, identity.revision)
            _check_model(self.manifest, model)
            self._model = model
        return self._model

    def _row_parts(self, row_ids: list[int]) -> dict[str, Tensor]:
        bad = [row for row in row_ids if not 0 <= row < len(self)]
        if bad:
            raise ValueError(f"Row id(s) {bad} are not in this index (ids 0 to {len(self) - 1})")
        rows = self.gallery[row_ids]
        return {name: rows[:, part] for name, part in self.layout.items()}


def _complete_manifest(folder: Path) -> EmbeddingManifest:
    if not folder.is_dir():
        raise FileNotFoundError(f"No embeddings folder {folder}: write one with looc-embed --output_dir {folder}")
    manifest = read_manifest(folder)
    if manifest is None:
        raise FileNotFoundError(f"{folder} has no {MANIFEST_NAME}: it is not a looc-embed output folder")
    if not manifest.complete:
        present = len(list((folder / SHARD_FOLDER).glob("*.parquet")))
        raise PartialEmbeddingsError(
            f"{folder} holds a partial run ({present} shard(s) so far): its looc-embed run was stopped or is still "
            "running; rerun the same looc-embed command to finish it"
        )
    return manifest


def _shard_path(folder: Path, shard: Mapping[str, Any]) -> Path:
    path = folder / str(shard["file"])
    if not path.is_file():
        raise PartialEmbeddingsError(f"{folder} lacks shard {shard['file']} that its manifest lists")
    return path


def _check_model(manifest: EmbeddingManifest, model: LooCModel) -> None:
    """Refuse a query encoder that is not the model the rows were embedded with (weights or preprocessing)."""
    found = compute_weights_sha256(model)
    if found != manifest.model.weights_sha256:
        raise EmbeddingsMismatchError(
            f"The query model's weights (sha256 {found[:12]}) are not those the index was embedded with: "
            f"{manifest.model.describe()}; load that model, or embed the dataset again with this one"
        )
    config = {key: list(v) if isinstance(v, tuple) else v for key, v in eval_data_config(model).items()}
    if config != manifest.preprocessing:
        raise EmbeddingsMismatchError(
            f"The query model's preprocessing {config} differs from the index's {manifest.preprocessing}"
        )


def _row_ids(query: Any) -> list[int] | None:
    """The row ids of a row query (an int or a list of ints), None for an image query."""
    if isinstance(query, bool):
        raise TypeError("A query is a row id, an image file, a PIL image or a tensor, got a bool")
    if isinstance(query, int):
        return [query]
    if isinstance(query, Sequence) and not isinstance(query, str) and query and all(isinstance(q, int) for q in query):
        return list(query)
    return None


def _without_rows(scores: Tensor, indices: Tensor, rows: Tensor, k: int) -> tuple[Tensor, Tensor]:
    """The best k of k + 1 results per query, its own row left out (or the last one when it is not among them)."""
    keep = indices != rows.unsqueeze(1)  # (Q, k + 1)
    keep[keep.all(dim=1), -1] = False
    return scores[keep].view(-1, k), indices[keep].view(-1, k)
