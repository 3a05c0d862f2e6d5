"""The augmentation-sensitivity matrix on real digits: invariance shows as ~0, sensitivity as a large value."""

from __future__ import annotations

import matplotlib
import numpy as np
import pytest
import torch
from PIL import Image

from looc_hub.eval.sensitivity import (
    SensitivityMatrix,
    augmentation_sensitivity,
    fixed_augmentation,
    plot_sensitivity,
)
from tests.models import RotationAveragedModel, calibrated_model


@pytest.fixture(scope="module")
def models(digits_train):
    aware = calibrated_model(digits_train)
    invariant = RotationAveragedModel(aware.config)
    invariant.load_state_dict(aware.state_dict())
    return aware, invariant.eval()


def test_rotation_averaged_feature_is_rotation_invariant_and_plain_feature_is_not(models, digits_test, tmp_path):
    images = digits_test.select(range(64))
    aware, invariant = models
    keys = ["backbone", "invariant+color"]
    plain = augmentation_sensitivity(aware, images, keys=keys, augmentations=["rotation", "blur"])
    averaged = augmentation_sensitivity(invariant, images, keys=keys, augmentations=["rotation", "flip"])
    assert plain.values.shape == (2, 2) and averaged.values.shape == (2, 2)
    assert (plain.values[:, 0] > 0.5).all()  # a quarter turn moves a digit most of the way to another digit
    assert (averaged.values[:, 0].abs() < 0.02).all()  # exactly invariant up to float rounding
    assert (averaged.values[:, 1] > 0.1).all()  # ...but a mirror image is a different input to it
    assert (plain.values[:, 1] < plain.values[:, 0]).all()  # blurring moves a digit less than turning it
    assert all(0 < similarity < 1 for similarity in plain.baseline_similarity.values())
    png = plot_sensitivity(plain, tmp_path / "sensitivity.png")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    records = plain.records("looc-hub/digits", "test", seed=0)
    assert {(r.space, r.metric) for r in records} == {(k, a) for k in keys for a in ("rotation", "blur")}


def test_fixed_augmentations_are_deterministic_given_the_seed_and_change_the_images(digits_test):
    images = torch.rand(6, 3, 32, 32, generator=torch.Generator().manual_seed(0))
    for name in ("crop", "flip", "blur", "color", "rotation", "texture"):
        first = fixed_augmentation(name, 32, seed=3)(images)
        assert torch.equal(first, fixed_augmentation(name, 32, seed=3)(images)), name
        assert first.shape == images.shape and first.min() >= 0 and first.max() <= 1, name
        assert not torch.allclose(first, images), name


def test_unknown_augmentation_or_space_fails_before_extraction(models, digits_test):
    aware, _ = models
    with pytest.raises(ValueError, match="valid choices"):
        augmentation_sensitivity(aware, digits_test, augmentations=["jpeg"])
    with pytest.raises(ValueError, match="valid spaces"):
        augmentation_sensitivity(aware, digits_test, keys=["shape"])


def _pixels_of_colour(png_path, rgb, tolerance: int = 3) -> int:
    pixels = torch.from_numpy(np.array(Image.open(png_path).convert("RGB"))).int()  # (H, W, 3)
    return int(((pixels - torch.tensor(rgb)).abs().max(dim=-1).values <= tolerance).sum())


def test_heatmap_scale_shows_differences_below_one_beside_a_large_value(tmp_path):
    matrix = SensitivityMatrix(("invariant",), ("color", "rotation", "crop"), torch.tensor([[0.2, 0.8, 14.0]]), {})
    png = plot_sensitivity(matrix, tmp_path / "heat.png")
    for value in (0.2, 0.8, 1.0):  # 14 saturates at the colour of 1; 0.2 and 0.8 keep their own colours
        rgb = [round(255 * c) for c in matplotlib.colormaps["viridis"](value)[:3]]
        assert _pixels_of_colour(png, rgb) > 2000, value  # a whole cell, not the colour bar's thin stripe
