"""build_dataloader: reproducible order, mid-epoch resume and per-process sharding through Accelerate."""

from __future__ import annotations

import pytest
import torch
from accelerate.data_loader import prepare_data_loader, skip_first_batches
from datasets import Dataset

from looc_hub.data import EpochShuffleSampler, build_dataloader


@pytest.fixture(scope="module")
def indexed(digits_train) -> Dataset:
    """48 real digit images whose "label" is their row index, so every batch says which rows it holds."""
    subset = digits_train.select(range(48))
    return subset.remove_columns("label").add_column("label", list(range(48)))


def rows_seen(batches) -> list[int]:
    return [row for batch in batches for row in batch["labels"].tolist()]


def test_batches_are_uint8_canvases_with_labels(digits_train):
    loader = build_dataloader(digits_train, batch_size=16, canvas_size=24)
    batch = next(iter(loader))
    assert batch["images"].shape == (16, 3, 24, 24) and batch["images"].dtype == torch.uint8
    assert batch["labels"].shape == (16,) and batch["labels"].dtype == torch.int64
    assert len(loader) == len(digits_train) // 16  # drop_last


def test_order_is_a_function_of_seed_and_epoch(indexed):
    def epoch_order(seed: int, epoch: int) -> list[int]:
        loader = build_dataloader(indexed, batch_size=5, canvas_size=8, seed=seed, drop_last=False)
        loader.sampler.set_epoch(epoch)
        return rows_seen(loader)

    first = epoch_order(seed=0, epoch=0)
    assert sorted(first) == list(range(48))
    assert epoch_order(seed=0, epoch=0) == first
    assert epoch_order(seed=0, epoch=1) != first
    assert epoch_order(seed=1, epoch=0) != first
    unshuffled = build_dataloader(indexed, batch_size=5, canvas_size=8, shuffle=False, drop_last=False)
    assert rows_seen(unshuffled) == list(range(48))


def test_worker_processes_produce_the_same_batches(indexed):
    batches = {
        workers: list(build_dataloader(indexed, batch_size=8, canvas_size=16, num_workers=workers, seed=3))
        for workers in (0, 2)
    }
    for in_process, in_workers in zip(batches[0], batches[2], strict=True):
        assert torch.equal(in_process["images"], in_workers["images"])
        assert torch.equal(in_process["labels"], in_workers["labels"])


def prepared_loader(dataset: Dataset, num_processes: int, process_index: int):
    loader = build_dataloader(dataset, batch_size=4, canvas_size=8, seed=5)
    return prepare_data_loader(loader, num_processes=num_processes, process_index=process_index, put_on_device=False)


@pytest.mark.parametrize("num_processes", [1, 2])
def test_mid_epoch_resume_with_skip_first_batches_replays_the_rest_of_the_epoch(indexed, num_processes):
    """What a resumed run does: the same epoch's order via set_epoch, then Accelerate skips the seen batches."""
    seen = []
    for process_index in range(num_processes):
        uninterrupted = prepared_loader(indexed, num_processes, process_index)
        uninterrupted.set_epoch(2)
        full_epoch = rows_seen(uninterrupted)
        resumed = prepared_loader(indexed, num_processes, process_index)
        resumed.set_epoch(2)
        assert rows_seen(skip_first_batches(resumed, num_batches=3)) == full_epoch[3 * 4 :]
        seen.extend(full_epoch)
    assert sorted(seen) == list(range(48))  # the processes split the epoch without overlap


def test_prepared_loader_reshuffles_every_epoch(indexed):
    loader = prepare_data_loader(build_dataloader(indexed, batch_size=4, canvas_size=8), put_on_device=False)
    first, second = rows_seen(loader), rows_seen(loader)  # Accelerate advances the epoch after each pass
    assert first != second and sorted(first) == sorted(second)
    loader.set_epoch(0)
    assert rows_seen(loader) == first


@pytest.fixture(scope="module")
def stream(indexed):
    return indexed.to_iterable_dataset(num_shards=8)


def test_streaming_shuffle_is_seeded_and_reshuffled_each_epoch(stream):
    def epoch_order(seed: int, epoch: int) -> list[int]:
        loader = build_dataloader(
            stream, batch_size=5, canvas_size=8, seed=seed, shuffle_buffer_size=16, drop_last=False
        )
        loader.dataset.set_epoch(epoch)
        return rows_seen(loader)

    first = epoch_order(seed=0, epoch=0)
    assert sorted(first) == list(range(48))
    assert first != list(range(48))
    assert epoch_order(seed=0, epoch=0) == first
    assert epoch_order(seed=0, epoch=1) != first
    unshuffled = build_dataloader(stream, batch_size=5, canvas_size=8, shuffle=False, drop_last=False)
    assert rows_seen(unshuffled) == list(range(48))


def test_accelerate_shards_a_stream_between_processes_by_files(stream):
    """Each process reads only its own shards: together they see every row once per epoch."""
    seen = []
    for process_index in range(2):
        loader = build_dataloader(stream, batch_size=4, canvas_size=8, drop_last=False)
        prepared = prepare_data_loader(
            loader, num_processes=2, process_index=process_index, put_on_device=False, dispatch_batches=False
        )
        assert prepared.dataset.num_shards == 4
        seen.append(rows_seen(prepared))
    assert not set(seen[0]) & set(seen[1])
    assert sorted(seen[0] + seen[1]) == list(range(48))


def test_streaming_loader_works_with_worker_processes(stream):
    loader = build_dataloader(stream, batch_size=4, canvas_size=8, num_workers=2, drop_last=False)
    assert sorted(rows_seen(loader)) == list(range(48))


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"batch_size": 0}, ValueError, "batch_size must be a positive integer"),
        ({"batch_size": True}, ValueError, "batch_size must be a positive integer, got True"),  # an int to Python
        ({"num_workers": -1}, ValueError, "num_workers must be an integer >= 0"),
        ({"shuffle_buffer_size": 0}, ValueError, "shuffle_buffer_size must be a positive integer"),
        ({"canvas_size": 0}, ValueError, "canvas_size must be a positive int"),
    ],
)
def test_bad_arguments_are_refused(indexed, kwargs, error, message):
    with pytest.raises(error, match=message):
        build_dataloader(indexed, **{"batch_size": 4, "canvas_size": 8, **kwargs})


def test_datasets_without_an_image_column_are_refused():
    with pytest.raises(ValueError, match=r"no 'image' image column \(columns: \['x'\]\).*load_image_dataset"):
        build_dataloader(Dataset.from_dict({"x": [1, 2]}), batch_size=1, canvas_size=8)
    with pytest.raises(TypeError, match="must be a datasets.Dataset or IterableDataset, got list"):
        build_dataloader([1, 2], batch_size=1, canvas_size=8)


def test_sampler_rejects_an_empty_dataset():
    with pytest.raises(ValueError, match="num_samples must be at least 1"):
        EpochShuffleSampler(0)
