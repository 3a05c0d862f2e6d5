"""load_image_dataset: every source kind, streaming, and a clear error for every bad column or split."""

from __future__ import annotations

from collections import Counter

import PIL.Image
import pytest
from datasets import ClassLabel, Dataset, DatasetDict, Features, Image, IterableDataset, Value

from looc_hub.data import load_image_dataset
from looc_hub.data.columns import select_image_columns

SPLITS = {  # the splits each source kind of `image_sources` holds
    "imagefolder": ["train", "test"],
    "parquet": ["train"],
    "parquet_glob": ["train"],
    "save_to_disk": ["train", "test"],
    "save_to_disk_dataset": ["train"],
    "hub": ["train", "test"],
}


def label_counts(dataset: Dataset | IterableDataset) -> Counter:
    """Class names, not ids: imagefolder numbers the classes it finds itself."""
    return Counter(dataset.features["label"].int2str(row["label"]) for row in dataset)


@pytest.mark.parametrize("kind", list(SPLITS))
@pytest.mark.parametrize("streaming", [False, True])
def test_every_source_kind_loads_the_same_images_and_labels(image_sources, tiny_splits, kind, streaming):
    split = SPLITS[kind][-1]
    expected = tiny_splits[split]
    if kind == "parquet":  # one file of the two halves
        expected = expected.shard(num_shards=2, index=0)
    dataset = load_image_dataset(image_sources[kind], split=split, label_column="label", streaming=streaming)
    assert isinstance(dataset, IterableDataset if streaming else Dataset)
    assert dataset.column_names == ["image", "label"]
    assert label_counts(dataset) == label_counts(expected)
    first = next(iter(dataset))["image"]
    assert first.size == expected[0]["image"].size


def test_embedded_dataset_streams_in_shards(digits_test):
    stream = load_image_dataset("looc-hub/digits", split="test", label_column="label", streaming=True)
    assert stream.num_shards > 1
    assert label_counts(stream) == label_counts(digits_test)


def test_columns_are_selected_and_renamed(tmp_path):
    image = Image().encode_example(PIL.Image.new("RGB", (4, 4)))
    features = Features(
        {"photo": Image(), "thumb": Image(), "kind": ClassLabel(names=["a", "b"]), "note": Value("string")}
    )
    Dataset.from_dict(
        {"photo": [image] * 2, "thumb": [image] * 2, "kind": [0, 1], "note": ["x", "y"]}, features=features
    ).save_to_disk(tmp_path / "data")
    dataset = load_image_dataset(tmp_path / "data", image_column="thumb", label_column="kind")
    assert dataset.column_names == ["image", "label"]
    assert dataset.features["label"].names == ["a", "b"]
    unlabelled = load_image_dataset(tmp_path / "data", image_column="photo")
    assert unlabelled.column_names == ["image"]


@pytest.fixture(scope="module")
def mixed_columns(tmp_path_factory, tiny_splits) -> str:
    """A save_to_disk folder with an image column "picture", a string column "name", an int column "id"."""
    path = tmp_path_factory.mktemp("mixed") / "data"
    train = tiny_splits["train"].rename_column("image", "picture")
    train = train.add_column("name", [f"n{i}" for i in range(len(train))]).add_column("id", list(range(len(train))))
    DatasetDict({"train": train, "empty": train.select([])}).save_to_disk(path, num_shards={"train": 1, "empty": 1})
    return str(path)


def test_missing_image_column_lists_columns_and_image_columns(mixed_columns):
    with pytest.raises(ValueError, match=r"No image column 'image'.*'name'.*image columns: \['picture'\]"):
        load_image_dataset(mixed_columns)


def test_non_image_column_is_refused_with_the_image_columns(mixed_columns):
    with pytest.raises(ValueError, match=r"Column 'name' holds .*string.*not images.*\['picture'\].*cast_column"):
        load_image_dataset(mixed_columns, image_column="name")


def test_missing_label_column_lists_columns(mixed_columns):
    with pytest.raises(ValueError, match=r"No label column 'target'. Columns: \['picture', 'label', 'name', 'id'\]"):
        load_image_dataset(mixed_columns, image_column="picture", label_column="target")


def test_string_label_column_is_refused_and_integer_one_accepted(mixed_columns):
    with pytest.raises(ValueError, match=r"Label column 'name' holds .*not class ids.*class_encode_column"):
        load_image_dataset(mixed_columns, image_column="picture", label_column="name")
    dataset = load_image_dataset(mixed_columns, image_column="picture", label_column="id")
    assert dataset["label"][:3] == [0, 1, 2]


@pytest.mark.parametrize("streaming", [False, True])
def test_empty_split_is_refused(mixed_columns, streaming):
    with pytest.raises(ValueError, match=r"Split 'empty' of .* has no rows"):
        load_image_dataset(mixed_columns, split="empty", image_column="picture", streaming=streaming)


@pytest.mark.parametrize("kind", ["save_to_disk", "save_to_disk_dataset", "imagefolder", "hub"])
def test_unknown_split_lists_the_splits(image_sources, kind):
    with pytest.raises(ValueError, match=r"Unknown split .*val.*" + r".*".join(SPLITS[kind])):
        load_image_dataset(image_sources[kind], split="val")


def test_unknown_split_of_an_embedded_dataset_lists_the_splits(digits_test):
    with pytest.raises(
        ValueError, match=r"Unknown split 'validation' of 'looc-hub/digits'; splits: \['train', 'test'\]"
    ):
        load_image_dataset("looc-hub/digits", split="validation")


def test_image_size_only_applies_to_embedded_datasets(image_sources):
    with pytest.raises(ValueError, match="image_size only applies to the embedded datasets"):
        load_image_dataset(image_sources["save_to_disk"], image_size=64)


def test_a_missing_path_is_not_mistaken_for_a_hub_id(tmp_path):
    with pytest.raises(FileNotFoundError, match="not an existing path, a Hub dataset id or an embedded dataset"):
        load_image_dataset(str(tmp_path / "nowhere"))


def test_hub_slice_syntax_passes_through(image_sources):
    assert len(load_image_dataset(image_sources["hub"], split="train[:5]")) == 5


def test_a_stream_without_column_types_is_refused_with_advice():
    def rows():
        yield {"path": "cat.png"}

    with pytest.raises(ValueError, match=r"declares no column types.*features=datasets.Features"):
        select_image_columns(IterableDataset.from_generator(rows), "image", None)
