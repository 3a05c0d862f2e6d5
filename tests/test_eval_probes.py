"""Linear, few-shot and rotation probes on real digits features: numbers that could fail."""

from __future__ import annotations

import pytest
import torch

from looc_hub.eval.features import extract_features
from looc_hub.eval.few_shot import few_shot_accuracy
from looc_hub.eval.linear_probe import fit_linear_probe
from looc_hub.eval.rotation_probe import rotation_features
from tests.eval_models import RotationAveragedModel, calibrated_model

CHANCE_10_WAY = 10.0


@pytest.fixture(scope="module")
def digits_features(digits_train, digits_test):
    model = calibrated_model(digits_train)
    train, train_labels = extract_features(model, digits_train, spaces=["backbone", "invariant"])
    test, test_labels = extract_features(model, digits_test, spaces=["backbone", "invariant"])
    return train, train_labels, test, test_labels


@pytest.mark.parametrize("method", ["lbfgs", "sgd"])
def test_linear_probe_on_random_features_is_far_above_chance(digits_features, method):
    train, train_labels, test, test_labels = digits_features
    probe = fit_linear_probe(train["backbone"], train_labels, method=method, epochs=20)
    accuracy = probe.accuracy(test["backbone"], test_labels)
    assert accuracy["top1"] > 8 * CHANCE_10_WAY
    assert accuracy["top5"] >= accuracy["top1"]


def test_linear_probe_is_blind_to_feature_scale_and_takes_raw_features(digits_features):
    train, train_labels, test, _ = digits_features
    probe = fit_linear_probe(train["backbone"], train_labels)
    rescaled = fit_linear_probe(train["backbone"] * 1000.0, train_labels)
    same = probe.predict_logits(test["backbone"]).argmax(1) == rescaled.predict_logits(
        test["backbone"] * 1000.0
    ).argmax(1)
    assert same.float().mean() > 0.98


def test_linear_probe_rejects_bad_input(digits_features):
    train, train_labels, _, _ = digits_features
    with pytest.raises(ValueError, match="valid choices"):
        fit_linear_probe(train["backbone"], train_labels, method="adam")
    with pytest.raises(ValueError, match="out of range"):
        fit_linear_probe(train["backbone"], train_labels, num_classes=5)
    with pytest.raises(ValueError, match="integer class ids"):
        fit_linear_probe(train["backbone"], train_labels.float())


def test_few_shot_is_above_chance_and_more_shots_help(digits_features):
    _, _, test, test_labels = digits_features
    five = few_shot_accuracy(test["backbone"], test_labels, ways=5, shots=5, episodes=300)
    ten = few_shot_accuracy(test["backbone"], test_labels, ways=5, shots=10, episodes=300)
    assert five.accuracy > 3 * 20.0  # 5-way chance is 20%
    assert ten.accuracy > five.accuracy - five.ci95
    assert 0 < five.ci95 < 3


def test_few_shot_with_labels_permuted_is_at_chance(digits_features):
    _, _, test, test_labels = digits_features
    shuffled = test_labels[torch.randperm(len(test_labels), generator=torch.Generator().manual_seed(0))]
    result = few_shot_accuracy(test["backbone"], shuffled, ways=5, shots=5, episodes=300)
    assert abs(result.accuracy - 20.0) < 4 * max(result.ci95, 1.0)


def test_few_shot_rejects_impossible_episodes(digits_features):
    _, _, test, test_labels = digits_features
    with pytest.raises(ValueError, match="only 10 qualify"):
        few_shot_accuracy(test["backbone"], test_labels, ways=11, shots=5)
    with pytest.raises(ValueError, match="shots must be a positive integer"):
        few_shot_accuracy(test["backbone"], test_labels, shots=0)


def test_rotation_probe_separates_orientation_aware_from_rotation_invariant_features(digits_train, digits_test):
    train, test = digits_train.select(range(160)), digits_test.select(range(80))
    aware = calibrated_model(digits_train)
    invariant = RotationAveragedModel(aware.config)
    invariant.load_state_dict(aware.state_dict())
    accuracies = {}
    for name, model in (("aware", aware), ("invariant", invariant.eval())):
        train_x, train_turns = rotation_features(model, train, spaces=["backbone"])
        test_x, test_turns = rotation_features(model, test, spaces=["backbone"])
        assert torch.equal(train_turns.bincount(), torch.full((4,), len(train)))
        accuracies[name] = fit_linear_probe(train_x["backbone"], train_turns).accuracy(test_x["backbone"], test_turns)
    assert accuracies["aware"]["top1"] > 65.0
    assert accuracies["invariant"]["top1"] < 35.0  # chance: 25%
