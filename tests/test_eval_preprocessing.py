"""One evaluation preprocessing: extraction, the kNN monitor and the card's `eval_transform` give the same features.

The card's usage snippet is `model(torch.stack([looc_hub.eval_transform(model)(image) for image in images]))`;
`extract_features` decodes in uint8 batches through the data loader. Both must see the same pixels (checked
exactly) and give the same features (up to float32 summation order across batch sizes: atol 1e-5, rtol 1e-5).
"""

from __future__ import annotations

import pytest
import torch
from datasets import Dataset, Features, Image

import looc_hub
from looc_hub.eval.extraction_steps import embed_images, image_batches
from looc_hub.eval.features import extract_features
from looc_hub.eval.knn import knn_accuracy
from looc_hub.training.knn_monitor import knn_monitor
from tests.models import calibrated_model

SPACES = ["backbone", "rotation"]


def snippet_features(model: looc_hub.LooCModel, dataset: Dataset, spaces: list[str]) -> dict[str, torch.Tensor]:
    """The model card's usage snippet, image by image, on the dataset's PIL images."""
    transform = looc_hub.eval_transform(model)
    inputs = torch.stack([transform(row["image"].convert("RGB")) for row in dataset])
    with torch.no_grad():
        return model.eval()(inputs, spaces=spaces)


def non_square(dataset: Dataset, count: int) -> Dataset:
    """`count` of the images cropped to 64 x 44 (landscape) and 40 x 64 (portrait): the shorter-side rule."""
    images = [
        row["image"].crop((0, 10, 64, 54) if index % 2 else (12, 0, 52, 64))
        for index, row in enumerate(dataset.select(range(count)))
    ]
    return Dataset.from_dict({"image": images}, features=Features({"image": Image()}))


@pytest.fixture(scope="module")
def datasets(digits_train, openmoji_validation) -> dict[str, Dataset]:
    return {
        "digits": digits_train.select(range(48)),
        "openmoji": openmoji_validation.select(range(48)),
        "openmoji_non_square": non_square(openmoji_validation, 24),
    }


@pytest.mark.parametrize(("crop_pct", "interpolation"), [(0.875, "bilinear"), (1.0, "bilinear"), (0.875, "bicubic")])
@pytest.mark.parametrize("name", ["digits", "openmoji", "openmoji_non_square"])
def test_extracted_features_are_the_card_snippets(datasets, digits_train, crop_pct, interpolation, name):
    model = calibrated_model(digits_train, crop_pct=crop_pct, interpolation=interpolation)
    dataset = datasets[name]
    expected_inputs = torch.stack([looc_hub.eval_transform(model)(row["image"].convert("RGB")) for row in dataset])
    images = torch.cat([batch for batch, _ in image_batches(dataset, model, batch_size=16)])
    mean, std = (torch.tensor(model.pretrained_cfg[key]).view(1, 3, 1, 1) for key in ("mean", "std"))
    assert torch.equal((images - mean) / std, expected_inputs)  # the same pixels, bit for bit

    extracted, _ = extract_features(model, dataset, spaces=SPACES, batch_size=16)
    expected = snippet_features(model, dataset, SPACES)
    for space in SPACES:
        torch.testing.assert_close(extracted[space], expected[space], atol=1e-5, rtol=1e-5)


def test_the_old_canvas_without_crop_pct_is_a_different_preprocessing(datasets, digits_train):
    """What the extraction did before: shorter side straight to image_size. The tests above would catch it."""
    model = calibrated_model(digits_train, crop_pct=0.875)
    dataset = datasets["digits"]
    old = torch.cat([batch for batch, _ in image_batches(dataset, model.config.image_size, batch_size=16)])
    new = torch.cat([batch for batch, _ in image_batches(dataset, model, batch_size=16)])
    assert old.shape == new.shape and (old - new).abs().mean() > 0.02
    old_features = embed_images(model, old, ["backbone"])["backbone"]
    expected = snippet_features(model, dataset, ["backbone"])["backbone"]
    assert not torch.allclose(old_features, expected, atol=1e-3, rtol=1e-3)


@pytest.mark.parametrize("crop_pct", [0.875, 1.0])
def test_the_knn_monitor_measures_the_card_snippets_features(digits_train, digits_test, crop_pct):
    model = calibrated_model(digits_train, crop_pct=crop_pct)
    bank, queries = digits_train.select(range(300)), digits_test.select(range(120))
    monitored = knn_monitor(model, bank, queries, k=20, temperature=0.07, device="cpu")
    bank_features, query_features = (
        snippet_features(model, bank, list(model.spaces)),
        snippet_features(model, queries, list(model.spaces)),
    )
    bank_labels, query_labels = torch.tensor(bank["label"]), torch.tensor(queries["label"])
    for space in model.spaces:
        expected = knn_accuracy(
            bank_features[space], bank_labels, query_features[space], query_labels, k=20, temperature=0.07
        )
        assert monitored[space] == pytest.approx(expected, abs=1e-9), space
    assert monitored["backbone"]["top1"] > 50.0  # chance: 10%; a real feature, not a constant


def test_image_batches_rejects_what_is_neither_a_model_nor_a_size(datasets):
    with pytest.raises(TypeError, match="a model or a canvas size"):
        next(image_batches(datasets["digits"], "resnet10t"))
