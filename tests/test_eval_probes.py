"""Linear, few-shot (episodic and K-shot) and rotation probes on real digits features: numbers that could fail."""

from __future__ import annotations

import warnings

import pytest
import torch
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler

from looc_hub.eval.features import extract_features
from looc_hub.eval.few_shot import few_shot_accuracy, kshot_linear_probe
from looc_hub.eval.linear_probe import WEIGHT_DECAY_GRID, ConvergenceWarning, fit_linear_probe
from looc_hub.eval.rotation_probe import rotation_features
from tests.models import RotationAveragedModel, calibrated_model

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


# --- the linear probe: converged, its penalty chosen on validation data, the objective scikit-learn's ---


@pytest.mark.parametrize("weight_decay", [1e-3, 1e-1])
def test_lbfgs_probe_is_scikit_learns_logistic_regression_at_the_same_penalty(digits_features, weight_decay):
    """Ours: mean CE + wd/2 ||W||^2 on standardised features; sklearn: C sum CE + ||W||^2 / 2, so C = 1 / (N wd)."""
    train, train_labels, test, test_labels = digits_features
    x, x_test = train["backbone"].numpy(), test["backbone"].numpy()
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        # as tight as scikit-learn's tol below: the comparison is of optima, not of where two solvers stop
        probe = fit_linear_probe(train["backbone"], train_labels, weight_decay=weight_decay, tolerance=1e-7)
    assert probe.converged and probe.iterations < 1000 and probe.weight_decay == weight_decay
    scaler = StandardScaler().fit(x)
    reference = LogisticRegression(C=1 / (len(x) * weight_decay), max_iter=10_000, tol=1e-8)
    reference.fit(scaler.transform(x), train_labels.numpy())
    expected = torch.from_numpy(reference.predict_proba(scaler.transform(x_test))).float()
    probabilities = probe.predict_logits(test["backbone"]).softmax(1)
    assert (probabilities - expected).abs().max() < 0.02  # the same optimum, not merely similar accuracy
    sklearn_top1 = 100.0 * float((expected.argmax(1) == test_labels).float().mean())
    assert abs(probe.accuracy(test["backbone"], test_labels)["top1"] - sklearn_top1) <= 1.0


def test_a_probe_stopped_before_convergence_warns_with_its_iterations(digits_features):
    train, train_labels, test, test_labels = digits_features
    with pytest.warns(ConvergenceWarning, match=r"max_iter=5\): weight_decay=0\.0001: stopped after 5 iterations"):
        stopped = fit_linear_probe(train["backbone"], train_labels, weight_decay=1e-4, max_iter=5)
    assert not stopped.converged and stopped.iterations == 5
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        converged = fit_linear_probe(train["backbone"], train_labels, weight_decay=1e-4)
    assert converged.converged
    assert (
        converged.accuracy(test["backbone"], test_labels)["top1"]
        > stopped.accuracy(test["backbone"], test_labels)["top1"]
    )


def test_the_sweep_chooses_a_strong_penalty_for_noisy_labels_and_a_weak_one_for_clean_labels(digits_features):
    train, train_labels, test, test_labels = digits_features
    generator = torch.Generator().manual_seed(0)
    flipped = torch.rand(len(train_labels), generator=generator) < 0.5
    noisy = torch.where(flipped, torch.randint(0, 10, (len(train_labels),), generator=generator), train_labels)
    chosen = fit_linear_probe(train["backbone"], noisy)
    assert set(chosen.validation_accuracy) == set(WEIGHT_DECAY_GRID)
    assert chosen.weight_decay >= 0.1
    accuracy = {
        name: probe.accuracy(test["backbone"], test_labels)["top1"]
        for name, probe in (
            ("chosen", chosen),
            ("tiny", fit_linear_probe(train["backbone"], noisy, weight_decay=min(WEIGHT_DECAY_GRID))),
            ("huge", fit_linear_probe(train["backbone"], noisy, weight_decay=max(WEIGHT_DECAY_GRID))),
        )
    }
    assert accuracy["chosen"] > accuracy["tiny"] + 20 and accuracy["chosen"] > accuracy["huge"] + 20
    clean = fit_linear_probe(train["backbone"], train_labels)
    assert clean.weight_decay <= 1e-2 < chosen.weight_decay


def test_the_penalty_sweep_needs_two_images_per_class(digits_features):
    train, train_labels, _, _ = digits_features
    rows = torch.cat([(train_labels == c).nonzero()[:1, 0] for c in range(10)] + [torch.arange(30)])
    with pytest.raises(ValueError, match="needs 2\\+ per class .*fixed weight_decay"):
        fit_linear_probe(train["backbone"][rows[:10]], train_labels[rows[:10]])
    assert fit_linear_probe(train["backbone"][rows[:10]], train_labels[rows[:10]], weight_decay=1e-2).converged


# --- few-shot: the all-class K-shot linear probe beside the episodic protocol ---


def test_kshot_linear_probe_learns_from_k_images_per_class_and_more_shots_help(digits_features):
    train, train_labels, test, test_labels = digits_features
    five = kshot_linear_probe(train["backbone"], train_labels, test["backbone"], test_labels, shots=5, draws=4)
    ten = kshot_linear_probe(train["backbone"], train_labels, test["backbone"], test_labels, shots=10, draws=4)
    assert five.accuracy > 5 * CHANCE_10_WAY and ten.accuracy > five.accuracy
    assert five.accuracy == pytest.approx(sum(five.accuracies) / 4) and 0 < five.ci95 < 15
    assert len(set(five.accuracies)) > 1  # the draws differ
    assert len(five.weight_decays) == 4 and all(value in WEIGHT_DECAY_GRID for value in five.weight_decays)
    again = kshot_linear_probe(train["backbone"], train_labels, test["backbone"], test_labels, shots=5, draws=4)
    assert again == five  # seeded


def test_kshot_linear_probe_with_meaningless_labels_is_near_chance(digits_features):
    train, train_labels, test, test_labels = digits_features
    shuffled = train_labels[torch.randperm(len(train_labels), generator=torch.Generator().manual_seed(0))]
    result = kshot_linear_probe(train["backbone"], shuffled, test["backbone"], test_labels, shots=5, draws=4)
    assert result.accuracy < 2 * CHANCE_10_WAY


def test_kshot_linear_probe_refuses_what_it_cannot_measure(digits_features):
    train, train_labels, test, test_labels = digits_features
    few = torch.cat([(train_labels == c).nonzero()[:3, 0] for c in range(10)])
    with pytest.raises(ValueError, match="5-shot needs 5 training images in every class.*largest valid K is 3"):
        kshot_linear_probe(train["backbone"][few], train_labels[few], test["backbone"], test_labels, shots=5)
    with pytest.raises(ValueError, match="shots must be an integer >= 2 \\(choosing the penalty"):
        kshot_linear_probe(train["backbone"], train_labels, test["backbone"], test_labels, shots=1)
    one_shot = kshot_linear_probe(
        train["backbone"], train_labels, test["backbone"], test_labels, shots=1, draws=2, weight_decay=1.0
    )
    assert one_shot.accuracy > 2 * CHANCE_10_WAY and one_shot.weight_decays == (1.0, 1.0)
    no_nines = train_labels != 9
    with pytest.raises(ValueError, match="class 9: 0"):  # a class only the test split holds
        kshot_linear_probe(train["backbone"][no_nines], train_labels[no_nines], test["backbone"], test_labels, shots=2)
