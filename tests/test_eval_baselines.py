"""The reference rows of every learning claim: a calibrated random init, raw pixels, and the paired bootstrap."""

import pytest
import torch

from looc_hub import LooCConfig, LooCModel, eval_transform
from looc_hub.data import random_subset
from looc_hub.eval.baselines import (
    calibrate_batchnorm,
    compare_to_baselines,
    paired_bootstrap,
    random_init_like,
)
from looc_hub.eval.features import extract_features
from looc_hub.spaces import PIXELS


def small_model(seed: int = 0) -> LooCModel:
    torch.manual_seed(seed)
    return LooCModel(LooCConfig(backbone="resnet10t", image_size=32, crop_pct=1.0, augmentations=("rotation",)))


def test_paired_bootstrap_separates_a_real_gain_from_noise():
    generator = torch.Generator().manual_seed(0)
    base = torch.rand(400, generator=generator) < 0.6
    same = paired_bootstrap(base, base.clone())
    assert same.difference == 0 and same.low <= 0 <= same.high and not same.significant
    better = base.clone()
    better[~base] = torch.rand(int((~base).sum()), generator=generator) < 0.5  # fixes half of the misses
    gain = paired_bootstrap(better, base)
    assert gain.difference == pytest.approx(100 * (better.float().mean() - base.float().mean()).item())
    assert gain.low > 0 and gain.significant
    with pytest.raises(ValueError, match="same length"):
        paired_bootstrap(base, base[:10])


def test_calibration_sets_batchnorm_statistics_from_random_rows_and_keeps_weights(openmoji_train):
    model = small_model()
    weights = {name: value.clone() for name, value in model.named_parameters()}
    first = next(m for m in model.modules() if isinstance(m, torch.nn.BatchNorm2d))
    inputs = []
    handle = first.register_forward_hook(lambda m, i, o: inputs.append(i[0].detach()))
    calibrate_batchnorm(model, openmoji_train, max_images=300, batch_size=100)
    handle.remove()
    assert not model.training and first.momentum == 0.1  # eval mode, momentum restored
    seen = torch.cat(inputs)  # (300, C, H, W): the rows calibration drew
    torch.testing.assert_close(first.running_mean, seen.mean((0, 2, 3)), rtol=1e-3, atol=1e-4)
    for name, value in model.named_parameters():
        assert torch.equal(value, weights[name]), name
    # OpenMoji is stored sorted by group (its first 300 rows hold few groups): random rows, not the first ones
    assert len(openmoji_train.select(range(300)).unique("label")) < 4
    first_rows = calibrate_batchnorm(small_model(), openmoji_train.select(range(300)), max_images=300)
    first_rows_mean = next(m for m in first_rows.modules() if isinstance(m, torch.nn.BatchNorm2d)).running_mean
    assert not torch.allclose(first.running_mean, first_rows_mean, rtol=0.05)


def test_random_init_like_is_the_seeds_own_start(openmoji_train):
    trained = small_model(seed=5)
    with torch.no_grad():
        for parameter in trained.parameters():
            parameter.add_(1.0)  # "training"
    reference = random_init_like(trained, openmoji_train.select(range(64)), seed=5)
    start = small_model(seed=5)
    for (name, value), (_, expected) in zip(reference.named_parameters(), start.named_parameters(), strict=True):
        assert torch.equal(value, expected), name


def test_raw_pixels_are_the_models_normalised_input(digits_test):
    model = small_model()
    features, labels = extract_features(model, digits_test.select(range(5)), spaces=[PIXELS, "invariant"], batch_size=2)
    assert features[PIXELS].shape == (5, 3 * 32 * 32) and labels.tolist() == digits_test["label"][:5]
    expected = eval_transform(model)(digits_test[0]["image"].convert("RGB")).flatten()
    torch.testing.assert_close(features[PIXELS][0], expected, rtol=1e-5, atol=1e-5)
    alone, _ = extract_features(model, digits_test.select(range(5)), spaces=["invariant"])
    torch.testing.assert_close(features["invariant"], alone["invariant"])


def test_compare_to_baselines_reports_every_space_and_the_reference_rows(digits_train, digits_test):
    model = calibrate_batchnorm(small_model(seed=1), digits_train)
    report = compare_to_baselines(model, digits_train, digits_test.select(range(120)), augmentations=("rotation",))
    assert list(report.knn) == list(model.spaces) == list(report.random_init_knn) == list(report.sensitivity)
    assert report.best_space == max(report.knn, key=report.knn.get)
    assert report.raw_pixels_knn > 80  # digits: raw pixels are a strong baseline
    assert all(50 < accuracy <= 100 for accuracy in report.random_init_knn.values())
    assert report.gain_over_raw_pixels.difference == pytest.approx(
        report.knn[report.best_space] - report.raw_pixels_knn
    )
    assert all(row["rotation"] >= 0 for row in report.sensitivity.values())


def test_random_subset_is_seeded_in_stored_order_and_caps_at_the_dataset(digits_test):
    numbered = digits_test.add_column("row", list(range(len(digits_test))))
    rows = random_subset(numbered, 50, seed=3)["row"]
    assert len(set(rows)) == 50 and rows == sorted(rows)  # distinct rows, in stored order
    assert random_subset(numbered, 50, seed=3)["row"] == rows
    assert random_subset(numbered, 50, seed=4)["row"] != rows  # another seed, other rows
    assert random_subset(numbered, 10_000, seed=0) is numbered
    with pytest.raises(ValueError, match="rows must be >= 1, got 0"):
        random_subset(numbered, 0, seed=0)
