"""The column contract between any HF image dataset and the rest of looc-hub.

Whatever a dataset calls its columns, looc-hub works on `image` (a `datasets.Image` column) and, when labels are
asked for, `label` (class ids). Checking and renaming once, here, gives every bad column one clear error at load
time instead of a KeyError inside a DataLoader worker.
"""

from __future__ import annotations

from datasets import ClassLabel, Dataset, Features, Image, IterableDataset, Value

IMAGE_COLUMN = "image"
LABEL_COLUMN = "label"


def select_image_columns(
    dataset: Dataset | IterableDataset, image_column: str, label_column: str | None
) -> Dataset | IterableDataset:
    """Keep only `image_column` (renamed `image`) and `label_column` (renamed `label`), after checking them."""
    features = _features(dataset)
    image_columns = [name for name, feature in features.items() if isinstance(feature, Image)]
    if image_column not in features:
        raise ValueError(f"No image column {image_column!r}. Columns: {list(features)}; image columns: {image_columns}")
    if not isinstance(features[image_column], Image):
        raise ValueError(
            f"Column {image_column!r} holds {features[image_column]}, not images. Image columns: {image_columns}. "
            f"A column of image paths or bytes becomes one with dataset.cast_column({image_column!r}, "
            "datasets.Image())"
        )
    renames = {image_column: IMAGE_COLUMN}
    if label_column is not None:
        if label_column not in features:
            raise ValueError(f"No label column {label_column!r}. Columns: {list(features)}")
        if not _holds_class_ids(features[label_column]):
            raise ValueError(
                f"Label column {label_column!r} holds {features[label_column]}, not class ids: use a ClassLabel "
                f"or integer column (dataset.class_encode_column({label_column!r}) turns strings into class ids)"
            )
        renames[label_column] = LABEL_COLUMN
    dataset = dataset.select_columns(list(renames))
    return dataset.rename_columns({old: new for old, new in renames.items() if old != new})


def _features(dataset: Dataset | IterableDataset) -> Features:
    if dataset.features is None:  # only streaming sources without a schema (e.g. JSON lines)
        raise ValueError(
            "The dataset declares no column types, so its image column cannot be found: pass "
            "features=datasets.Features({...}) with a datasets.Image() column when loading it"
        )
    return dataset.features


def _holds_class_ids(feature: object) -> bool:
    return isinstance(feature, ClassLabel) or (isinstance(feature, Value) and feature.dtype.startswith(("int", "uint")))
