"""ImageNet-C style corruptions: deterministic, stronger with severity, and they hurt a clean-trained probe."""

from __future__ import annotations

import pytest
import torch

from looc_hub.eval.corruptions import CORRUPTIONS, Corruption, corrupt, corruption_accuracy
from looc_hub.eval.extraction_steps import image_batches
from looc_hub.eval.features import extract_features
from looc_hub.eval.linear_probe import fit_linear_probe
from tests.models import calibrated_model


@pytest.fixture(scope="module")
def colour_images(openmoji_validation):
    images, _ = next(image_batches(openmoji_validation.select(range(8)), 64, batch_size=8))
    return images


@pytest.mark.parametrize("name", CORRUPTIONS)
def test_corruptions_are_deterministic_in_range_and_grow_with_severity(name, colour_images):
    distances = []
    for severity in (1, 5):
        first = corrupt(colour_images, name, severity, torch.Generator().manual_seed(0))
        again = corrupt(colour_images, name, severity, torch.Generator().manual_seed(0))
        assert torch.equal(first, again)
        assert first.shape == colour_images.shape and first.min() >= 0 and first.max() <= 1
        distances.append((first - colour_images).abs().mean().item())
    assert distances[1] > distances[0] > 0


def test_noise_depends_on_the_seed_and_corruption_transforms_draw_fresh_noise(colour_images):
    zero = corrupt(colour_images, "gaussian_noise", 3, torch.Generator().manual_seed(0))
    one = corrupt(colour_images, "gaussian_noise", 3, torch.Generator().manual_seed(1))
    assert not torch.equal(zero, one)
    transform = Corruption("shot_noise", 2, seed=5)
    assert not torch.equal(transform(colour_images), transform(colour_images))
    replayed = Corruption("shot_noise", 2, seed=5)
    assert torch.equal(replayed(colour_images), Corruption("shot_noise", 2, seed=5)(colour_images))


def test_bad_corruption_or_severity_fails_at_construction():
    with pytest.raises(ValueError, match="valid choices"):
        Corruption("fog", 1)
    with pytest.raises(ValueError, match="severity must be one of"):
        Corruption("contrast", 6)


def test_severe_corruptions_lower_a_clean_probe_on_digits(digits_train, digits_test):
    model = calibrated_model(digits_train)
    train, test = digits_train.select(range(400)), digits_test.select(range(120))
    features, labels = extract_features(model, train, spaces=["backbone"])
    probes = {"backbone": fit_linear_probe(features["backbone"], labels)}
    result = corruption_accuracy(
        model, test, probes, corruptions=["gaussian_noise", "contrast", "pixelate"], severities=[1, 5]
    )["backbone"]
    assert result.clean > 80.0
    for name, (mild, severe) in result.accuracy.items():
        assert severe < result.clean - 10.0, name
        assert severe <= mild, name
    assert result.mean_corruption_accuracy < result.clean
    records = result.records("backbone", "looc-hub/digits", "test", {"method": "lbfgs"})
    assert len(records) == 1 + 3 * 2 + 1
    assert records[-1].metric == "mean_corruption_accuracy"
