"""Space selection, head contribution and retrieval grids on real digits features."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from looc_hub.eval.features import extract_features
from looc_hub.eval.head_contribution import head_contributions, plot_head_contributions
from looc_hub.eval.retrieval import HIT_COLOUR, MISS_COLOUR, nearest_neighbours, plot_retrieval
from looc_hub.eval.space_selection import candidate_keys, select_space
from tests.models import calibrated_model

SPACES = ["backbone", "invariant"]


@pytest.fixture(scope="module")
def digits(digits_train, digits_test):
    train, test = digits_train.select(range(400)), digits_test.select(range(150))
    model = calibrated_model(digits_train)
    train_features, train_labels = extract_features(model, train, spaces=SPACES)
    test_features, test_labels = extract_features(model, test, spaces=SPACES)
    noise = torch.Generator().manual_seed(0)
    train_features["noise"] = torch.randn(len(train), 32, generator=noise)
    test_features["noise"] = torch.randn(len(test), 32, generator=noise)
    return train, test, train_features, train_labels, test_features, test_labels


def test_space_selection_ranks_noise_last_and_never_recommends_it(digits):
    _, _, features, labels, _, _ = digits
    ranking = select_space(features, labels, keys=["noise", "backbone", "invariant", "backbone+noise"])
    assert list(ranking.accuracy)[-1] == "noise"
    assert ranking.accuracy["noise"] < 25.0  # chance: 10%
    assert ranking.accuracy["backbone"] > 70.0
    assert "noise" not in ranking.recommended
    assert ranking.recommended in ranking.accuracy and ranking.standard_error > 0
    records = ranking.records("looc-hub/digits", "train", {})
    assert [r.params["rank"] for r in records] == [1, 2, 3, 4]
    assert sum(r.params["recommended"] for r in records) == 1


def test_candidate_keys_cover_singles_pairs_and_everything():
    assert candidate_keys(["a", "b", "c"]) == ["a", "b", "c", "a+b", "a+c", "b+c", "a+b+c"]
    with pytest.raises(ValueError, match="validation_fraction"):
        select_space({"a": torch.zeros(4, 2)}, torch.tensor([0, 0, 1, 1]), validation_fraction=1.0)


def test_head_contributions_add_up_to_the_logit_and_noise_contributes_little(digits, tmp_path):
    _, _, train, train_labels, test, test_labels = digits
    result = head_contributions(train, train_labels, test, test_labels, spaces=["invariant", "noise"])
    assert result.accuracy > 60.0
    mean = result.mean()
    assert mean["invariant"] > 5 * abs(mean["noise"])
    assert result.largest_rate()["invariant"] > 80.0
    png = plot_head_contributions(result, tmp_path / "heads.png")
    assert png.read_bytes()[:4] == b"\x89PNG"
    with pytest.raises(ValueError, match="at least 2 spaces"):
        head_contributions(train, train_labels, test, test_labels, spaces=["invariant"])


def test_nearest_neighbour_of_a_bank_row_is_itself_and_grid_is_written(digits, tmp_path):
    train_set, test_set, train, _, test, _ = digits
    found = nearest_neighbours(train["backbone"], train["backbone"][:10], k=3)
    assert torch.equal(found[:, 0], torch.arange(10))
    png = plot_retrieval(train_set, train, test_set, test, tmp_path / "grid.png", keys=["backbone", "invariant+noise"])
    assert png.stat().st_size > 10_000
    pixels = torch.from_numpy(np.array(Image.open(png).convert("RGB"))).int()  # (H, W, 3)
    for colour in (HIT_COLOUR, MISS_COLOUR):  # labelled digits: frames mark hits and misses (noise misses some)
        rgb = torch.tensor([int(colour[i : i + 2], 16) for i in (1, 3, 5)])
        assert ((pixels - rgb).abs().max(dim=-1).values <= 3).any(), colour
    with pytest.raises(ValueError, match="k must be in"):
        nearest_neighbours(train["backbone"], train["backbone"][:1], k=0)
