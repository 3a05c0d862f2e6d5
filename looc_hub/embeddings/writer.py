"""Embed a whole dataset into Parquet shards: bounded memory, resumable, one or several processes.

The rows are cut into shards of `shard_rows`; process p of P writes shards p, p + P, ... that are not on disk yet,
each one read, decoded (the data loader, `num_workers` processes overlapping the model), embedded in every space
from one backbone pass per batch (`looc_hub.eval.extraction_steps`, the model's evaluation preprocessing) and
written atomically. One loader decodes all of a process's shards of a split (a stream's: one per shard, as it is
read), so its workers start once and decode ahead across shard ends while a shard is written; its batches end at
every shard's end, so a shard's batches, and its vectors bit for bit, are the same whichever other shards a run
embeds. Memory holds one shard's vectors, never the dataset's. A killed run rerun with the same arguments writes
only the missing shards, so the folder ends with every row once, the same rows an uninterrupted run writes; a
finished run is a no-op. The manifest is written when the run starts and completed at the end by the main
process, once every shard exists (ours: lightly's and clip-retrieval's embedders write one file per run).
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

import pyarrow.compute as pc
import torch
from accelerate import PartialState
from accelerate.utils import gather_object, parse_flag_from_env
from datasets import Dataset, IterableDataset
from datasets import Image as ImageFeature
from tqdm.auto import tqdm

from .._atomic import FileExistsNotOursError, leftover_temporary_files
from .._checks import check_int
from ..data import IMAGE_COLUMN, LABEL_COLUMN
from ..eval.extraction_steps import embed_images, image_batches
from ..model import LooCNetwork
from ..preprocessing import eval_data_config
from ..spaces import check_spaces
from .manifest import (
    MANIFEST_NAME,
    DatasetInfo,
    EmbeddingManifest,
    EmbeddingsMismatchError,
    ModelIdentity,
    read_manifest,
    write_manifest,
)
from .shards import (
    DTYPES,
    SHARD_FOLDER,
    find_shard,
    shard_name,
    shard_row_count,
    shard_schema,
    write_shard,
)

__all__ = ["DEFAULT_SHARD_ROWS", "EmbedSummary", "embed_dataset", "process_state"]

DEFAULT_SHARD_ROWS = 10_000
logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class EmbedSummary:
    """What a `looc-embed` run did (this process's share of the work, the folder's totals)."""

    output_dir: Path
    rows: int
    spaces: dict[str, int]
    shards: int
    shards_written: int
    """By this process in this run (0 for a finished folder)."""
    rows_embedded: int
    """By all processes in this run."""
    seconds: float
    """This run's embedding time (the slowest process's)."""
    processes: int
    already_complete: bool

    @property
    def images_per_second(self) -> float:
        return self.rows_embedded / self.seconds if self.seconds > 0 else 0.0


def embed_dataset(
    model: LooCNetwork,
    dataset: Dataset | IterableDataset,
    output_dir: str | os.PathLike,
    *,
    model_info: ModelIdentity,
    dataset_info: DatasetInfo,
    spaces: Sequence[str] | None = None,
    dtype: str = "float32",
    shard_rows: int = DEFAULT_SHARD_ROWS,
    batch_size: int = 256,
    num_workers: int = 1,
    device: torch.device | str | None = None,
) -> EmbedSummary:
    """Embed `dataset` (a `load_image_dataset` split) into `output_dir`; call it in every process of a launch.

    Raises:
        EmbeddingsMismatchError: `output_dir` holds another model's, dataset's or setting's embeddings.
        FileExistsNotOursError: `output_dir` holds files that no embeddings run wrote.
    """
    if dtype not in DTYPES:
        raise ValueError(f"Unknown dtype {dtype!r}; choices: {list(DTYPES)}")
    for name, value in (("shard_rows", shard_rows), ("batch_size", batch_size)):
        check_int(name, value)
    check_int("num_workers", num_workers, 0)
    state = process_state()
    names = check_spaces(list(spaces or model.spaces), model.spaces)
    manifest = EmbeddingManifest(
        model_info,
        dataset_info,
        {name: model.embedding_dim(name) for name in names},
        dtype,
        {key: list(value) if isinstance(value, tuple) else value for key, value in eval_data_config(model).items()},
        shard_rows,
    )
    output_dir = Path(output_dir)
    existing = _check_folder(output_dir, manifest)  # every process raises the same error, so none waits forever
    if existing is not None and existing.complete:
        return _summary(output_dir, existing, 0, 0, 0.0, state.num_processes, already_complete=True)
    state.wait_for_everyone()
    if state.is_main_process:
        _start(output_dir, manifest, fresh=existing is None)
    state.wait_for_everyone()

    started = time.perf_counter()
    model.eval().to(device or state.device)
    plan = _ShardPlan(dataset, shard_rows)
    written, embedded = _write_own_shards(model, plan, output_dir, manifest, state, batch_size, num_workers)
    logger.info(f"process {state.process_index} of {state.num_processes} wrote {written} shard(s), {embedded} rows")
    state.wait_for_everyone()
    seconds = time.perf_counter() - started
    embedded = sum(gather_object([embedded]))
    if state.is_main_process:
        _complete(output_dir, manifest, plan.counted)
    state.wait_for_everyone()
    return _summary(output_dir, manifest, written, embedded, seconds, state.num_processes, already_complete=False)


def _write_own_shards(
    model: LooCNetwork,
    plan: _ShardPlan,
    output_dir: Path,
    manifest: EmbeddingManifest,
    state: PartialState,
    batch_size: int,
    num_workers: int,
) -> tuple[int, int]:
    """(shards, rows) this process wrote: its shards (index % processes) not on disk yet."""
    split, shard_rows = manifest.dataset.split, manifest.shard_rows
    schema = shard_schema(manifest.spaces, manifest.dtype, labelled=manifest.dataset.label_column is not None)
    count = -(-plan.total // shard_rows) if plan.total is not None else 0  # a stream's count: known at its end

    def todo(index: int) -> bool:
        return index % state.num_processes == state.process_index and find_shard(output_dir, split, index) is None

    written = embedded = 0
    progress = tqdm(total=plan.total, unit="img", desc="embedding", disable=None if state.is_main_process else True)
    for rows, shards in plan.groups(todo):
        embedded_shards = _embedded_shards(
            model, rows, shards, list(manifest.spaces), batch_size, num_workers, progress
        )
        for index, positions, labels, vectors in embedded_shards:
            ids = range(index * shard_rows, index * shard_rows + len(positions))
            paths = _paths(rows.select(positions))
            write_shard(output_dir / shard_name(split, index, count), schema, list(ids), paths, labels, vectors)
            written, embedded = written + 1, embedded + len(positions)
    progress.close()
    return written, embedded


def process_state() -> PartialState:
    """This process's place in the launch. `ACCELERATE_USE_CPU=true` makes a CPU launch gloo processes, as it does
    for `Accelerator` (a bare `PartialState()` would see one process in each)."""
    return PartialState(cpu=parse_flag_from_env("ACCELERATE_USE_CPU"))


def _check_folder(output_dir: Path, manifest: EmbeddingManifest) -> EmbeddingManifest | None:
    """The folder's manifest when it holds this run's embeddings (None when the folder is empty or absent)."""
    existing = read_manifest(output_dir)
    if existing is None:
        others = sorted(path.name for path in output_dir.iterdir()) if output_dir.is_dir() else []
        if output_dir.exists() and not output_dir.is_dir():
            raise FileExistsNotOursError(f"--output_dir {output_dir} is a file; embeddings go into a folder")
        if others:
            raise FileExistsNotOursError(
                f"--output_dir {output_dir} holds files no looc-embed run wrote ({others[:5]}) and no {MANIFEST_NAME}; "
                "choose an empty or new folder"
            )
        return None
    differences = existing.differences(manifest)
    if differences:
        raise EmbeddingsMismatchError(
            f"--output_dir {output_dir} holds the embeddings of model {existing.model.describe()} on "
            f"{existing.dataset.describe()}; this run is model {manifest.model.describe()} on "
            f"{manifest.dataset.describe()} (differing: {differences}). Choose another --output_dir"
        )
    return existing


def _start(output_dir: Path, manifest: EmbeddingManifest, fresh: bool) -> None:
    """Write the incomplete manifest of a new run; on a resumed one, remove the temporary shards a kill left."""
    (output_dir / SHARD_FOLDER).mkdir(parents=True, exist_ok=True)
    if fresh:
        write_manifest(output_dir, manifest)
    for path in leftover_temporary_files(output_dir / SHARD_FOLDER):
        path.unlink()


def _complete(output_dir: Path, manifest: EmbeddingManifest, total: int) -> None:
    """Check that every shard is there with its rows (a stream's get their count in their names), then mark the
    manifest complete."""
    shards, missing = [], []
    count = -(-total // manifest.shard_rows)
    for index in range(count):
        name = shard_name(manifest.dataset.split, index, count)
        found = find_shard(output_dir, manifest.dataset.split, index)
        expected = min(manifest.shard_rows, total - index * manifest.shard_rows)
        if found is None or shard_row_count(found) != expected:
            missing.append(name)
            continue
        if found != output_dir / name:
            os.replace(found, output_dir / name)
        shards.append({"file": name, "first_id": index * manifest.shard_rows, "rows": expected})
    if missing:
        raise RuntimeError(
            f"{len(missing)} shard(s) missing or short in {output_dir} after every process finished: {missing[:5]}; "
            "rerun the same command to write them"
        )
    manifest.complete, manifest.rows, manifest.shards = True, total, shards
    write_manifest(output_dir, manifest)


def _summary(
    output_dir: Path,
    manifest: EmbeddingManifest,
    written: int,
    embedded: int,
    seconds: float,
    processes: int,
    *,
    already_complete: bool,
) -> EmbedSummary:
    final = read_manifest(output_dir) or manifest
    return EmbedSummary(
        output_dir,
        final.rows or 0,
        dict(final.spaces),
        len(final.shards),
        written,
        embedded,
        seconds,
        processes,
        already_complete,
    )


class _ShardPlan:
    """The shards of a split, in order; for a stream the rows are counted as it is read (every process reads it)."""

    def __init__(self, dataset: Dataset | IterableDataset, shard_rows: int) -> None:
        self.dataset, self.shard_rows = dataset, shard_rows
        self.total = len(dataset) if isinstance(dataset, Dataset) else None
        self.counted = self.total or 0

    def groups(self, todo: Callable[[int], bool]) -> Iterator[tuple[Dataset, list[tuple[int, range]]]]:
        """(rows, [(index, the shard's positions in rows)]) for the shards where `todo(index)`: a split's in one
        group (one loader decodes them all), a stream's one at a time as it is read."""
        if isinstance(self.dataset, Dataset):
            total, size = len(self.dataset), self.shard_rows
            own = [(i, range(i * size, min(total, (i + 1) * size))) for i in range(-(-total // size)) if todo(i)]
            if own:
                yield self.dataset, own
            return
        for index, rows in self._stream_shards(todo):
            yield rows, [(index, range(len(rows)))]

    def _stream_shards(self, todo: Callable[[int], bool]) -> Iterator[tuple[int, Dataset]]:
        undecoded = self.dataset.cast_column(IMAGE_COLUMN, ImageFeature(decode=False))
        buffer: list[dict] = []
        index = 0
        for row in undecoded:
            self.counted += 1
            if todo(index):
                buffer.append(row)
            if self.counted % self.shard_rows == 0:
                if buffer:
                    yield index, Dataset.from_list(buffer, features=undecoded.features)
                buffer, index = [], index + 1
        if buffer:
            yield index, Dataset.from_list(buffer, features=undecoded.features)


def _paths(rows: Dataset) -> list[str | None]:
    """Each row's image file where the source has one (None for images stored as bytes)."""
    images = rows.cast_column(IMAGE_COLUMN, ImageFeature(decode=False)).with_format("arrow")[IMAGE_COLUMN]
    return pc.struct_field(images, "path").to_pylist()


@dataclass(frozen=True)
class _ShardBatches:
    """Row positions in batches of at most `batch_size` that end at every shard's end (a DataLoader batch_sampler)."""

    shards: Sequence[range]
    batch_size: int

    def __iter__(self) -> Iterator[list[int]]:
        for positions in self.shards:
            for start in range(0, len(positions), self.batch_size):
                yield list(positions[start : start + self.batch_size])

    def __len__(self) -> int:
        return sum(-(-len(positions) // self.batch_size) for positions in self.shards)


@torch.no_grad()
def _embedded_shards(
    model: LooCNetwork,
    rows: Dataset,
    shards: list[tuple[int, range]],
    spaces: list[str],
    batch_size: int,
    num_workers: int,
    progress: tqdm,
) -> Iterator[tuple[int, range, list[int] | None, dict[str, torch.Tensor]]]:
    """(index, positions, labels or None, {space: (rows, d)}) of each shard in turn, in row order, all decoded by
    one loader: its workers keep decoding the next shard while this process writes the last one."""
    device = next(model.parameters()).device
    labelled = LABEL_COLUMN in rows.column_names
    sampler = _ShardBatches([positions for _, positions in shards], batch_size)
    with closing(image_batches(rows, model, num_workers=num_workers, batch_sampler=sampler)) as batches:
        for index, positions in shards:
            vectors: dict[str, list[torch.Tensor]] = {space: [] for space in spaces}
            labels: list[int] = []
            for _ in range(0, len(positions), batch_size):  # the shard's batches, as `_ShardBatches` cuts them
                images, batch_labels = next(batches)
                out = embed_images(model, images.to(device), spaces)
                for space in spaces:
                    vectors[space].append(out[space].float().cpu())
                if batch_labels is not None:
                    labels += batch_labels.tolist()
                progress.update(len(images))
            yield index, positions, (labels if labelled else None), {s: torch.cat(p) for s, p in vectors.items()}
