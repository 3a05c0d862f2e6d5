"""Parquet shards of embeddings: one row per image, written atomically, read by pandas and `datasets` as they are.

Shard i holds the rows with ids [i x shard_rows, (i + 1) x shard_rows): its name and contents follow from the
dataset and the shard size alone, so a rerun rewrites exactly the missing ones and several processes can each write
their own. The layout is the Hub's (`push_to_hub`'s): `data/{split}-00000-of-00012.parquet`, so that
`datasets.load_dataset("parquet", data_dir=OUT)` finds the split by its name and skips the manifest beside it (a
stream's shard count is known at its end: its shards are named `-of-00000` until then). Columns: `id` (int64, the
row index in the split), `path` (string, null where the source has no file), `label` (int64, when the dataset has
labels), then one fixed-length float list per space.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import torch
from torch import Tensor

from .._atomic import atomic_file

__all__ = [
    "DTYPES",
    "SHARD_FOLDER",
    "find_shard",
    "read_shard_columns",
    "shard_name",
    "shard_row_count",
    "shard_schema",
    "shard_split_name",
    "write_shard",
]

DTYPES = {"float32": pa.float32(), "float16": pa.float16()}
"""--dtype choices: the arrow type of the space columns' values."""
SHARD_FOLDER = "data"


def shard_split_name(split: str) -> str:
    """The split as a file-name word ("train[:10%]" -> "train_10"), the split name `datasets` will give it."""
    return re.sub(r"[^A-Za-z0-9]+", "_", split).strip("_") or "train"


def shard_name(split: str, index: int, count: int) -> str:
    """The path of shard `index` of `count`, relative to the output folder."""
    return f"{SHARD_FOLDER}/{shard_split_name(split)}-{index:05d}-of-{count:05d}.parquet"


def find_shard(folder: Path, split: str, index: int) -> Path | None:
    """Shard `index` on disk, whatever shard count its name carries (None when it is not written yet)."""
    found = sorted((folder / SHARD_FOLDER).glob(f"{shard_split_name(split)}-{index:05d}-of-[0-9]*.parquet"))
    return found[0] if found else None


def shard_schema(spaces: Mapping[str, int], dtype: str, labelled: bool) -> pa.Schema:
    value_type = DTYPES[dtype]
    fields = [pa.field("id", pa.int64()), pa.field("path", pa.string())]
    if labelled:
        fields.append(pa.field("label", pa.int64()))
    fields += [pa.field(space, pa.list_(value_type, dim)) for space, dim in spaces.items()]
    return pa.schema(fields)


def write_shard(
    path: str | os.PathLike,
    schema: pa.Schema,
    ids: Sequence[int],
    paths: Sequence[str | None],
    labels: Sequence[int] | None,
    vectors: Mapping[str, Tensor],
) -> Path:
    """Write one shard atomically: a reader (or a killed run) never sees half of it."""
    columns: dict[str, pa.Array] = {
        "id": pa.array(ids, type=pa.int64()),
        "path": pa.array(paths, type=pa.string()),
    }
    if labels is not None:
        columns["label"] = pa.array(labels, type=pa.int64())
    for space, values in vectors.items():
        numpy_type = schema.field(space).type.value_type.to_pandas_dtype()
        flat = values.detach().float().cpu().numpy().astype(numpy_type).reshape(-1)
        columns[space] = pa.FixedSizeListArray.from_arrays(pa.array(flat), values.shape[1])
    table = pa.Table.from_pydict(columns, schema=schema)
    with atomic_file(path) as staging:
        # Dictionary-encode the id / path / label columns only: embedding values hardly ever repeat, so a dictionary
        # of them costs time (about 40% of the write, measured) and makes the file larger.
        pq.write_table(table, staging, use_dictionary=[name for name in ("path", "label") if name in columns])
    return Path(path)


def shard_row_count(path: str | os.PathLike) -> int:
    """Rows of a shard, from its footer (no data read); raises ValueError for a file that is no readable parquet."""
    try:
        return pq.ParquetFile(path).metadata.num_rows
    except (pa.ArrowInvalid, OSError) as error:
        raise ValueError(f"{path} is not a readable parquet shard: {error}") from None


def read_shard_columns(path: str | os.PathLike, spaces: Sequence[str]) -> tuple[pa.Table, dict[str, Tensor]]:
    """(the shard's id / path / label columns, {space: (rows, d) float32}) of one shard."""
    table = pq.read_table(path)
    vectors = {}
    for space in spaces:
        column = table.column(space).combine_chunks()
        flat = column.flatten().to_numpy(zero_copy_only=False).astype(np.float32)
        vectors[space] = torch.from_numpy(flat.reshape(len(column), column.type.list_size))
    return table.select([name for name in ("id", "path", "label") if name in table.column_names]), vectors
