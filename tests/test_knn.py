"""Weighted cosine kNN: a hand-checked case, the temperature's role, chunking, real digits, devices, bad input."""

from __future__ import annotations

import math

import pytest
import torch

from looc_hub.data import build_dataloader
from looc_hub.eval import knn_accuracy, knn_class_scores

DEVICES = ["cpu", *(["cuda"] if torch.cuda.is_available() else [])]


def test_scores_by_hand():
    """Query (1, 0); bank cosines 1, 0, 1/sqrt(2); k = 2 keeps bank rows 0 (class 0) and 2 (class 1)."""
    bank = torch.tensor([[3.0, 0.0], [0.0, 2.0], [1.0, 1.0]])
    scores = knn_class_scores(bank, torch.tensor([0, 1, 1]), torch.tensor([[5.0, 0.0]]), k=2, temperature=0.5)
    expected = torch.tensor([[math.exp(1 / 0.5), math.exp(2**-0.5 / 0.5)]])
    torch.testing.assert_close(scores, expected)


def test_temperature_decides_between_the_nearest_neighbour_and_the_majority():
    """One class-0 neighbour at cosine 1 against two class-1 neighbours at cosine 0.8."""
    bank = torch.tensor([[1.0, 0.0], [0.8, 0.6], [0.8, -0.6]])
    labels, query = torch.tensor([0, 1, 1]), torch.tensor([[1.0, 0.0]])
    sharp = knn_class_scores(bank, labels, query, k=3, temperature=0.07)
    flat = knn_class_scores(bank, labels, query, k=3, temperature=10.0)
    assert sharp.argmax().item() == 0 and flat.argmax().item() == 1


def test_chunking_does_not_change_the_result():
    generator = torch.Generator().manual_seed(0)
    bank, queries = torch.randn(300, 16, generator=generator), torch.randn(37, 16, generator=generator)
    labels = torch.randint(0, 7, (300,), generator=generator)
    whole = knn_class_scores(bank, labels, queries, k=20)
    for chunk_size in (1, 5, 36):
        chunked = knn_class_scores(bank, labels, queries, k=20, chunk_size=chunk_size)
        torch.testing.assert_close(chunked, whole, rtol=1e-5, atol=0)  # matmul blocking differs in the last bits


def test_feature_scale_does_not_matter_and_k_is_capped_by_the_bank_size():
    bank = torch.tensor([[1.0, 0.2], [0.1, 1.0], [0.7, 0.7]])
    labels, queries = torch.tensor([0, 1, 2]), torch.tensor([[0.3, 0.9], [2.0, 0.1]])
    all_neighbours = knn_class_scores(bank, labels, queries, k=3)
    torch.testing.assert_close(knn_class_scores(10 * bank, labels, 0.1 * queries, k=200), all_neighbours)


@pytest.mark.parametrize("device", DEVICES)
def test_raw_pixels_of_real_digits_classify_far_above_chance(digits_train, digits_test, device):
    def pixels(dataset) -> tuple[torch.Tensor, torch.Tensor]:
        batches = list(build_dataloader(dataset, batch_size=512, canvas_size=16, shuffle=False, drop_last=False))
        images = torch.cat([batch["images"] for batch in batches]).flatten(1).float()
        return images.to(device), torch.cat([batch["labels"] for batch in batches]).to(device)

    bank, bank_labels = pixels(digits_train)
    queries, query_labels = pixels(digits_test)
    accuracy = knn_accuracy(bank, bank_labels, queries, query_labels, chunk_size=100)
    assert accuracy["top1"] > 90  # chance: 10
    assert accuracy["top5"] >= accuracy["top1"]
    scrambled = knn_accuracy(bank, bank_labels[torch.randperm(len(bank_labels), device=device)], queries, query_labels)
    assert scrambled["top1"] < 30  # the same features with meaningless labels


def test_top5_counts_every_class_when_there_are_fewer_than_five():
    bank = torch.tensor([[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0]])
    accuracy = knn_accuracy(bank, torch.tensor([0, 1, 2]), torch.tensor([[0.0, -1.0]]), torch.tensor([2]), k=1)
    assert accuracy["top5"] == 100.0


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"k": 0}, "k must be at least 1"),
        ({"temperature": 0.0}, "temperature must be positive"),
        ({"chunk_size": 0}, "chunk_size must be at least 1"),
        ({"bank_features": torch.ones(4, 3)}, r"features must be \(N, D\) and \(Q, D\)"),
        ({"bank_features": torch.ones(0, 2), "bank_labels": torch.ones(0, dtype=torch.long)}, "bank is empty"),
        ({"bank_labels": torch.tensor([0.0, 1.0, 1.0, 0.0])}, "must be integer class ids"),
        ({"bank_labels": torch.tensor([0, -1, 1, 0])}, "must be class ids >= 0"),
        ({"bank_labels": torch.tensor([0, 1, 1])}, r"one label per feature \(4\)"),
        ({"query_labels": torch.tensor([0, 1])}, r"query_labels must hold one label per feature \(1\)"),
    ],
)
def test_bad_input_is_a_clear_error(kwargs, message):
    arguments = {
        "bank_features": torch.ones(4, 2),
        "bank_labels": torch.tensor([0, 1, 1, 0]),
        "query_features": torch.ones(1, 2),
        "query_labels": torch.tensor([1]),
        **kwargs,
    }
    with pytest.raises(ValueError, match=message):
        knn_accuracy(**arguments)


def test_num_classes_below_the_largest_label_is_refused():
    with pytest.raises(ValueError, match="num_classes=2 but the bank holds label 2"):
        knn_class_scores(torch.ones(3, 2), torch.tensor([0, 1, 2]), torch.ones(1, 2), num_classes=2)
