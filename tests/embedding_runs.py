"""Shared pieces of the embedding tests: a saved model, the `looc-embed` argv, and a folder's rows as one table."""

from __future__ import annotations

import sys
from pathlib import Path

import pandas

EMBED_COMMAND = str(Path(sys.executable).parent / "looc-embed")  # the installed console script
DIGITS = "looc-hub/digits"


def embed_argv(model_dir: str | Path, output_dir: str | Path, *extra: str, split: str = "test") -> list[str]:
    return [
        "--model",
        str(model_dir),
        "--dataset",
        DIGITS,
        "--split",
        split,
        "--label_column",
        "label",
        "--output_dir",
        str(output_dir),
        "--num_workers",
        "0",
        *extra,
    ]


def folder_rows(output_dir: str | Path) -> pandas.DataFrame:
    """Every shard's rows, sorted by id (pandas reads the shard folder as it is)."""
    return pandas.read_parquet(Path(output_dir) / "data").sort_values("id").reset_index(drop=True)
