"""Embeddings as a product: a dataset embedded per space into Parquet shards (`looc-embed`), and an index searched
with any weighting of its spaces (`looc-search`, `EmbeddingIndex`). docs/embedding.md."""

from .index import EmbeddingIndex, SearchResults
from .manifest import (
    MANIFEST_NAME,
    DatasetInfo,
    EmbeddingManifest,
    EmbeddingsMismatchError,
    ModelIdentity,
    PartialEmbeddingsError,
    read_manifest,
)
from .model_source import load_embedding_model, model_identity
from .search import BACKENDS, faiss_available
from .sheet import load_indexed_dataset, save_search_sheet
from .writer import DEFAULT_SHARD_ROWS, EmbedSummary, embed_dataset

__all__ = [
    "BACKENDS",
    "DEFAULT_SHARD_ROWS",
    "MANIFEST_NAME",
    "DatasetInfo",
    "EmbedSummary",
    "EmbeddingIndex",
    "EmbeddingManifest",
    "EmbeddingsMismatchError",
    "ModelIdentity",
    "PartialEmbeddingsError",
    "SearchResults",
    "embed_dataset",
    "faiss_available",
    "load_embedding_model",
    "load_indexed_dataset",
    "model_identity",
    "read_manifest",
    "save_search_sheet",
]
