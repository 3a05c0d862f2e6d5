"""The probe's solver where it changes coordinates: fewer rows than features (a K-shot probe) is solved in the
rows' span, and must still reach scikit-learn's optimum and the stop test in the original coordinates."""

from __future__ import annotations

import pytest
import torch
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler

from looc_hub.eval.features import extract_features
from looc_hub.eval.logistic import MultinomialLogistic
from tests.models import calibrated_model


@pytest.fixture(scope="module")
def few_rows(digits_train, digits_test):
    """60 training digits (6 per class on average) against 512-d features: N < d."""
    model = calibrated_model(digits_train)
    train, train_labels = extract_features(model, digits_train.select(range(60)), spaces=["backbone"])
    test, test_labels = extract_features(model, digits_test.select(range(200)), spaces=["backbone"])
    return train["backbone"], train_labels, test["backbone"], test_labels


def objective(x: torch.Tensor, labels: torch.Tensor, weight, bias, weight_decay: float) -> float:
    """The probe's objective: mean cross-entropy + weight_decay / 2 ||W||^2."""
    weight = torch.as_tensor(weight)
    logits = x @ weight.T + torch.as_tensor(bias)
    return float(torch.nn.functional.cross_entropy(logits, labels) + weight_decay / 2 * weight.square().sum())


@pytest.mark.parametrize("weight_decay", [1e-3, 1e-1])
def test_fewer_rows_than_features_reach_scikit_learns_optimum(few_rows, weight_decay):
    """At least as low an objective as scikit-learn's lbfgs (which stops on a relative decrease of 64 eps, a little
    short of the optimum on nearly separable rows), and the same training-row probabilities."""
    train, labels, _, _ = few_rows
    assert len(train) < train.shape[1]
    x = StandardScaler().fit_transform(train.double().numpy())
    solution = MultinomialLogistic(torch.from_numpy(x), labels, 10).solve(
        weight_decay, None, max_iter=1000, tolerance=1e-7
    )
    assert solution.largest_gradient <= 1e-7
    reference = LogisticRegression(C=1 / (len(x) * weight_decay), max_iter=10_000, tol=1e-8).fit(x, labels.numpy())
    ours = objective(torch.from_numpy(x), labels, solution.weight, solution.bias, weight_decay)
    theirs = objective(torch.from_numpy(x), labels, reference.coef_, reference.intercept_, weight_decay)
    assert ours <= theirs + 1e-9
    probabilities = (torch.from_numpy(x) @ solution.weight.T + solution.bias).softmax(1)
    assert (probabilities - torch.from_numpy(reference.predict_proba(x))).abs().max() < 0.02


def test_the_stop_test_is_the_original_coordinates_gradient(few_rows):
    train, labels, _, _ = few_rows
    x = (train - train.mean(0)) / train.std(0, unbiased=False).clamp_min(1e-12)
    problem = MultinomialLogistic(x, labels, 10)
    solution = problem.solve(1e-2, None, max_iter=1000, tolerance=1e-6)
    weight = solution.weight.clone().requires_grad_(True)
    bias = solution.bias.clone().requires_grad_(True)
    loss = torch.nn.functional.cross_entropy(x.double() @ weight.T + bias, labels) + 1e-2 / 2 * weight.square().sum()
    loss.backward()  # autograd's gradient, in the features' own coordinates
    largest = max(weight.grad.abs().max().item(), bias.grad.abs().max().item())
    assert largest <= 1e-6 and largest == pytest.approx(solution.largest_gradient, rel=1e-3, abs=1e-9)
    stopped = problem.solve(1e-2, None, max_iter=3, tolerance=1e-6)
    assert stopped.iterations == 3 and stopped.largest_gradient > 1e-6
