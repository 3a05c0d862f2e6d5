"""The feature cache: same numbers as extract_features, computed once per (model, dataset, split, space)."""

from __future__ import annotations

import pytest
import torch

from looc_hub import LooCConfig, LooCModel
from looc_hub.eval.feature_cache import FeatureCache
from looc_hub.eval.features import extract_features


@pytest.fixture(scope="module")
def model() -> LooCModel:
    torch.manual_seed(0)
    return LooCModel(LooCConfig(backbone="resnet10t", image_size=32, augmentations=("color",))).eval()


def test_cached_features_equal_extracted_and_are_reused(tmp_path, model, digits_test):
    subset = digits_test.select(range(24))
    cache = FeatureCache(tmp_path)
    first, labels = cache.features(model, subset, dataset_name="looc-hub/digits", split="test", spaces=["color"])
    expected, expected_labels = extract_features(model, subset, spaces=["color"])
    torch.testing.assert_close(first["color"], expected["color"])
    assert torch.equal(labels, expected_labels)
    stored = cache.folder(model, subset, dataset_name="looc-hub/digits", split="test") / "color.safetensors"
    mtime = stored.stat().st_mtime_ns
    again, _ = cache.features(model, subset, dataset_name="looc-hub/digits", split="test", spaces=["backbone", "color"])
    assert stored.stat().st_mtime_ns == mtime  # read back, not recomputed
    assert sorted(p.name for p in stored.parent.iterdir()) == ["backbone.safetensors", "color.safetensors"]
    torch.testing.assert_close(again["backbone"], extract_features(model, subset, spaces=["backbone"])[0]["backbone"])


def test_key_changes_with_weights_split_and_data(tmp_path, model, digits_test):
    cache = FeatureCache(tmp_path)
    subset = digits_test.select(range(8))
    folder = cache.folder(model, subset, dataset_name="looc-hub/digits", split="test")
    assert cache.folder(model, subset, dataset_name="looc-hub/digits", split="train") != folder
    assert cache.folder(model, digits_test.select(range(1, 9)), dataset_name="looc-hub/digits", split="test") != folder
    changed = LooCModel(model.config)
    changed.load_state_dict(model.state_dict())
    with torch.no_grad():
        changed.heads["color"].parameters().__next__().add_(1e-3)
    assert cache.folder(changed, subset, dataset_name="looc-hub/digits", split="test") != folder


def test_unknown_space_fails_before_extraction(tmp_path, model, digits_test):
    with pytest.raises(ValueError, match="valid spaces"):
        FeatureCache(tmp_path).features(model, digits_test, dataset_name="d", split="test", spaces=["rotation"])
    assert not any(tmp_path.iterdir())
