"""Reusable pytest fixtures: the embedded datasets, and one small labelled dataset in every kind of HF source.

Registered by `pytest_plugins` in tests/conftest.py. The embedded datasets are built once
per session into the default cache (`$LOOC_HUB_CACHE`, a temporary folder under tests/conftest.py), so any
test that loads the same name and size reuses them.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import datasets
import pytest
from datasets import ClassLabel, Dataset, DatasetDict, Features, Image

from looc_hub.data import load_image_dataset

OPENMOJI_TEST_SIZE = 64
HUB_TEST_DATASET = "looc-hub-tests/tiny-digits"


@pytest.fixture(scope="session")
def openmoji_train() -> Dataset:
    """OpenMoji rendered at 64 px, split "train", label "group"."""
    return load_image_dataset("looc-hub/openmoji", label_column="group", image_size=OPENMOJI_TEST_SIZE)


@pytest.fixture(scope="session")
def openmoji_validation() -> Dataset:
    """OpenMoji rendered at 64 px, split "validation", label "group"."""
    return load_image_dataset(
        "looc-hub/openmoji", split="validation", label_column="group", image_size=OPENMOJI_TEST_SIZE
    )


@pytest.fixture(scope="session")
def digits_train() -> Dataset:
    """scikit-learn digits at 32 px, split "train" (1,347 images), label "label"."""
    return load_image_dataset("looc-hub/digits", label_column="label")


@pytest.fixture(scope="session")
def digits_test() -> Dataset:
    """scikit-learn digits at 32 px, split "test" (450 images), label "label"."""
    return load_image_dataset("looc-hub/digits", split="test", label_column="label")


@pytest.fixture(scope="session")
def tiny_splits(digits_train: Dataset, digits_test: Dataset) -> DatasetDict:
    """20 train + 10 test real digit images with labels, columns "image" / "label"."""
    return DatasetDict({"train": digits_train.select(range(20)), "test": digits_test.select(range(10))})


@pytest.fixture(scope="session")
def image_sources(tmp_path_factory: pytest.TempPathFactory, tiny_splits: DatasetDict) -> dict[str, str]:
    """`tiny_splits` as every source kind `load_image_dataset` accepts: {kind: source}.

    Kinds: "imagefolder" (class folders, splits train/test), "parquet" (one file: split "train"), "parquet_glob",
    "save_to_disk" (a DatasetDict), "save_to_disk_dataset" (one Dataset: split "train") and "hub" (a Hub id found
    offline in the HF datasets cache).
    """
    root = tmp_path_factory.mktemp("image-sources")
    names = tiny_splits["train"].features["label"].names
    for split, dataset in tiny_splits.items():
        for index, row in enumerate(dataset):
            folder = root / "imagefolder" / split / names[row["label"]]
            folder.mkdir(parents=True, exist_ok=True)
            row["image"].save(folder / f"{index}.png")
    (root / "parquet").mkdir()
    for part in range(2):
        tiny_splits["train"].shard(num_shards=2, index=part).to_parquet(root / "parquet" / f"part-{part}.parquet")
    tiny_splits.save_to_disk(root / "save_to_disk")
    tiny_splits["train"].save_to_disk(root / "save_to_disk_dataset")
    _cache_as_hub_dataset(tiny_splits, HUB_TEST_DATASET, root / "hub-staging")
    return {
        "imagefolder": str(root / "imagefolder"),
        "parquet": str(root / "parquet" / "part-0.parquet"),
        "parquet_glob": str(root / "parquet" / "*.parquet"),
        "save_to_disk": str(root / "save_to_disk"),
        "save_to_disk_dataset": str(root / "save_to_disk_dataset"),
        "hub": HUB_TEST_DATASET,
    }


def _cache_as_hub_dataset(splits: DatasetDict, repo_id: str, staging: Path) -> None:
    """Leave the HF datasets cache as an earlier online `load_dataset(repo_id)` of parquet files would.

    Offline, `load_dataset(repo_id)` then takes datasets' real cache path (`<namespace>___<name>/default/0.0.0/
    <hash>/`, read by its "cache" builder). The layout is datasets' (checked on 5.2), not ours.
    """
    from datasets.packaged_modules.parquet.parquet import Parquet

    staging.mkdir()
    data_files = {}
    for split, dataset in splits.items():
        data_files[split] = str(staging / f"{split}.parquet")
        dataset.to_parquet(data_files[split])
    namespace, name = repo_id.split("/")
    features = Features({"image": Image(), "label": ClassLabel(names=splits["train"].features["label"].names)})
    builder = Parquet(
        dataset_name=name, data_files=data_files, features=features, hash="0" * 40, cache_dir=str(staging / "hf")
    )
    builder.download_and_prepare()
    prepared = Path(builder.cache_dir)  # <staging>/hf/<name>/<config id>/0.0.0/<hash>
    target = Path(datasets.config.HF_DATASETS_CACHE) / f"{namespace}___{name}" / "default" / "0.0.0" / ("0" * 40)
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copytree(prepared, target)
