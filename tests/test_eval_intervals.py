"""The test-set interval of an accuracy: the normal approximation where it holds, never zero at the ends."""

import math

import pytest

from looc_hub.eval.intervals import accuracy_ci95


def wald(accuracy: float, count: int) -> float:
    share = accuracy / 100.0
    return 196.0 * math.sqrt(share * (1.0 - share) / count)


@pytest.mark.parametrize("accuracy", [30.0, 50.0, 72.5])
def test_away_from_the_ends_the_interval_is_the_normal_approximation(accuracy):
    assert accuracy_ci95(accuracy, 803) == pytest.approx(wald(accuracy, 803), rel=0.01)


@pytest.mark.parametrize("accuracy", [0.0, 100.0])
def test_at_the_ends_the_interval_keeps_a_width_a_rerun_can_land_in(accuracy):
    half = accuracy_ci95(accuracy, 803)
    assert wald(accuracy, 803) == 0.0
    assert 0.2 < half < 0.5  # a rerun's 99.9 (one miss in 803) lies within a recorded 100's interval
    assert accuracy_ci95(accuracy, 100) > half  # and it narrows as the test set grows


def test_a_test_set_of_nothing_is_refused():
    with pytest.raises(ValueError, match="count must be >= 1, got 0"):
        accuracy_ci95(50.0, 0)
