"""DataLoaders of uint8 canvas batches for map-style and streaming datasets, ready for `accelerator.prepare`."""

from __future__ import annotations

from collections.abc import Iterable
from itertools import islice

from datasets import Dataset, IterableDataset
from datasets import Image as ImageFeature
from torch.utils.data import DataLoader, SequentialSampler

from .._checks import check_int
from .canvas import WHITE, CanvasCollate, PixelTransform
from .columns import IMAGE_COLUMN
from .sampler import EpochShuffleSampler


def build_dataloader(
    dataset: Dataset | IterableDataset,
    *,
    batch_size: int,
    canvas_size: int,
    num_workers: int = 0,
    seed: int = 0,
    shuffle: bool = True,
    drop_last: bool = True,
    shuffle_buffer_size: int = 10_000,
    background: tuple[int, int, int] = WHITE,
    pin_memory: bool = False,
    transform: PixelTransform | None = None,
    batch_sampler: Iterable[list[int]] | None = None,
) -> DataLoader:
    """A DataLoader of {"images": uint8 (B, 3, C, C), "labels": int64 (B,)} batches (labels when the dataset has them).

    `dataset` comes from `load_image_dataset`. `batch_size` is per process. Images are decoded by the loader
    itself (the `image` column is read undecoded) in `num_workers` worker processes.

    Map-style datasets: shuffled by `EpochShuffleSampler`, an order fixed by (seed, epoch), so a run resumes
    mid-epoch with `loader.set_epoch(epoch)` and `accelerator.skip_first_batches(loader, n)`.

    Streaming datasets: a shuffle buffer of `shuffle_buffer_size` rows over shards read in a seeded random order,
    both reseeded each epoch by `set_epoch`. Sharding across processes is left to `accelerator.prepare` because it
    always re-shards an IterableDataset: with `DataLoaderConfiguration(dispatch_batches=False)` it splits a
    `datasets.IterableDataset` by shards (`IterableDataset.shard`, the split `split_dataset_by_node` makes), so
    each process reads only its own files; with Accelerate's default for streams (`dispatch_batches=True`),
    process 0 reads and broadcasts every batch. Splitting here as well would shard twice and drop data.

    After `accelerator.prepare`, call `loader.set_epoch(epoch)` before each epoch.

    `transform` replaces the canvas (shorter side to C, centre crop) with a PIL -> uint8 (3, C, C) transform
    applied to the full-resolution RGB image: evaluation passes timm's eval transform of the model
    (`looc_hub.preprocessing.eval_pixel_transform`).

    `batch_sampler` (map-style datasets only): the batches' row positions, given in place of `batch_size`,
    `shuffle` and `drop_last` (`looc-embed` cuts its batches at shard ends).

    Example:
        >>> from looc_hub.data import load_image_dataset
        >>> loader = build_dataloader(load_image_dataset("looc-hub/digits"), batch_size=8, canvas_size=32)
        >>> next(iter(loader))["images"].shape
        torch.Size([8, 3, 32, 32])
    """
    for name, value, minimum in (
        ("batch_size", batch_size, 1),
        ("num_workers", num_workers, 0),
        ("shuffle_buffer_size", shuffle_buffer_size, 1),
    ):
        check_int(name, value, minimum)
    if not isinstance(dataset, (Dataset, IterableDataset)):
        raise TypeError(f"dataset must be a datasets.Dataset or IterableDataset, got {type(dataset).__name__}")
    if not isinstance((dataset.features or {}).get(IMAGE_COLUMN), ImageFeature):
        raise ValueError(
            f"dataset has no {IMAGE_COLUMN!r} image column (columns: {dataset.column_names}): "
            "load it with looc_hub.data.load_image_dataset"
        )
    collate = CanvasCollate(canvas_size, background, transform)
    dataset = dataset.cast_column(IMAGE_COLUMN, ImageFeature(decode=False))
    if isinstance(dataset, IterableDataset):
        if batch_sampler is not None:
            raise ValueError("batch_sampler needs a map-style dataset (row positions); a stream has none")
        if shuffle:
            dataset = dataset.shuffle(seed=seed, buffer_size=shuffle_buffer_size)
        # Workers are not persistent: each epoch's workers must receive the dataset with its new epoch.
        return DataLoader(
            dataset,
            batch_size=batch_size,
            collate_fn=collate,
            num_workers=num_workers,
            drop_last=drop_last,
            pin_memory=pin_memory,
        )
    if batch_sampler is not None:
        return DataLoader(
            dataset,
            batch_sampler=batch_sampler,
            collate_fn=collate,
            num_workers=num_workers,
            pin_memory=pin_memory,
            persistent_workers=num_workers > 0,
        )
    sampler = EpochShuffleSampler(len(dataset), seed) if shuffle else SequentialSampler(dataset)
    return DataLoader(
        dataset,
        batch_size=batch_size,
        sampler=sampler,
        collate_fn=collate,
        num_workers=num_workers,
        drop_last=drop_last,
        pin_memory=pin_memory,
        persistent_workers=num_workers > 0,
    )


def check_enough_rows(dataset: Dataset | IterableDataset, batch_size: int, num_processes: int = 1) -> None:
    """Fail before training when the data cannot fill one global batch.

    Training drops incomplete batches (every process must hold a full one), so fewer rows than
    `batch_size x num_processes` would give epochs with no step at all: a run that never progresses. A stream
    is read until it shows enough rows (images are not decoded).
    """
    needed = batch_size * num_processes
    if isinstance(dataset, IterableDataset):
        rows = sum(1 for _ in islice(dataset.cast_column(IMAGE_COLUMN, ImageFeature(decode=False)), needed))
    else:
        rows = len(dataset)
    if rows < needed:
        raise ValueError(
            f"The training data has {rows} rows < batch size {batch_size} x {num_processes} process(es) = {needed}: "
            "no full batch, so no training step. Lower --batch_size or use more data"
        )
