"""One entry point for image data: any HF dataset source, or a looc-hub embedded dataset by name."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

from datasets import Dataset, DatasetDict, IterableDataset, config, load_dataset, load_from_disk
from datasets.exceptions import DatasetGenerationError
from pyarrow import ArrowInvalid

from .columns import select_image_columns
from .embedded import EMBEDDED_DATASET_NAMES, load_embedded_dataset

# Shards that a streamed in-memory dataset (embedded or `save_to_disk`) is cut into: enough for every DataLoader
# worker of every process to get its own (both split a `datasets.IterableDataset` by shards).
STREAMING_SHARDS = 64
_HUB_ID = re.compile(r"[A-Za-z0-9][\w.-]*(/[A-Za-z0-9][\w.-]*)?")


def load_image_dataset(
    source: str | os.PathLike,
    *,
    split: str = "train",
    image_column: str = "image",
    label_column: str | None = None,
    streaming: bool = False,
    image_size: int | None = None,
    cache_dir: str | os.PathLike | None = None,
    **load_kwargs: Any,
) -> Dataset | IterableDataset:
    """Load one split of an image dataset, with its columns checked and renamed `image` (+ `label`).

    `source` may be:
      - an embedded dataset: "looc-hub/openmoji" (pretraining default; labels "group", "subgroup") or
        "looc-hub/digits" (labelled evaluation set; label "label"), built from pip packages and cached under
        `cache_dir` (default `$LOOC_HUB_CACHE` or ~/.cache/looc_hub), rendered at `image_size` px;
      - a folder written by `save_to_disk` (recognised by its `dataset_dict.json` or `state.json`);
      - a parquet file or glob ("data/*.parquet"), whose rows form the split "train";
      - any other local folder (imagefolder, parquet files, ...) or Hub dataset id, through `load_dataset`
        (offline, a Hub dataset loads from the HF datasets cache); `load_kwargs` go to `load_dataset`
        (e.g. `name`, `revision`, `data_dir`) and `cache_dir` is its cache.

    `split` is a split name (for `load_dataset` sources also a slice such as "train[:10%]"). With
    `streaming=True` the result is a `datasets.IterableDataset`, read lazily. Other columns are dropped.

    Raises:
        ValueError: unknown embedded name or split, a missing or non-image image column, a missing or non-integer
            label column, an empty split, or `image_size` for a source that is not embedded.
        FileNotFoundError: `source` looks like a path but does not exist.

    Example:
        >>> test = load_image_dataset("looc-hub/digits", split="test", label_column="label")
        >>> test.column_names
        ['image', 'label']
    """
    dataset = _load_split(
        os.fspath(source), split, streaming=streaming, image_size=image_size, cache_dir=cache_dir, **load_kwargs
    )
    dataset = select_image_columns(dataset, image_column, label_column)
    if _is_empty(dataset):
        raise ValueError(f"Split {split!r} of {os.fspath(source)!r} has no rows")
    if streaming and isinstance(dataset, Dataset):  # an embedded or save_to_disk split, read lazily from disk
        dataset = dataset.to_iterable_dataset(num_shards=min(STREAMING_SHARDS, len(dataset)))
    return dataset


def _load_split(
    source: str,
    split: str,
    *,
    streaming: bool,
    image_size: int | None,
    cache_dir: str | os.PathLike | None,
    **load_kwargs: Any,
) -> Dataset | IterableDataset:
    if source in EMBEDDED_DATASET_NAMES:
        return _pick_split(load_embedded_dataset(source, image_size=image_size, cache_dir=cache_dir), source, split)
    if image_size is not None:
        raise ValueError(
            f"image_size only applies to the embedded datasets {list(EMBEDDED_DATASET_NAMES)}; the images of "
            f"{source!r} are resized to the loader's canvas_size"
        )
    path = Path(source).expanduser()
    if _is_saved_to_disk(path):
        saved = load_from_disk(str(path), **load_kwargs)
        if isinstance(saved, Dataset):
            saved = DatasetDict({str(saved.split or "train"): saved})
        return _pick_split(saved, source, split)
    if not path.exists() and not source.endswith(".parquet") and not _HUB_ID.fullmatch(source):
        raise FileNotFoundError(
            f"{source!r} is not an existing path, a Hub dataset id or an embedded dataset "
            f"{list(EMBEDDED_DATASET_NAMES)}"
        )
    if cache_dir is not None:
        load_kwargs["cache_dir"] = os.fspath(cache_dir)
    if source.endswith(".parquet"):
        try:
            return load_dataset("parquet", data_files=str(path), split=split, streaming=streaming, **load_kwargs)
        except (ArrowInvalid, DatasetGenerationError) as error:  # e.g. a 0-byte or truncated file
            cause = error.__cause__ or error
            raise ValueError(f"{source} is not a readable parquet file: {type(cause).__name__}: {cause}") from None
    # Hub ids and local folders; datasets' own error lists the splits when `split` is unknown.
    return load_dataset(str(path) if path.exists() else source, split=split, streaming=streaming, **load_kwargs)


def _is_saved_to_disk(path: Path) -> bool:
    return (path / config.DATASETDICT_JSON_FILENAME).is_file() or (path / config.DATASET_STATE_JSON_FILENAME).is_file()


def _pick_split(splits: DatasetDict, source: str, split: str) -> Dataset:
    if split not in splits:
        raise ValueError(f"Unknown split {split!r} of {source!r}; splits: {list(splits)}")
    return splits[split]


def _is_empty(dataset: Dataset | IterableDataset) -> bool:
    if isinstance(dataset, IterableDataset):
        return next(iter(dataset.take(1)), None) is None  # reads one row: a stream has no length
    return len(dataset) == 0
