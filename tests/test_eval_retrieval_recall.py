"""The retrieval protocol: Recall@k and mAP@R on a hand-computed case, and in `looc-evaluate` with a weighting."""

from __future__ import annotations

import pytest
import torch
from datasets import DatasetDict

from looc_hub.cli import evaluate
from looc_hub.eval.results import load_results, results_table
from looc_hub.eval.retrieval_recall import retrieval_scores
from tests.models import calibrated_model


def test_recall_at_k_and_map_at_r_on_a_hand_computed_ranking():
    gallery = torch.tensor([[1.0, 0.0], [0.8, 0.6], [0.0, 1.0], [-1.0, 0.0]])
    gallery_labels = torch.tensor([0, 1, 0, 1])
    queries, query_labels = torch.tensor([[1.0, 0.0], [0.0, 1.0]]), torch.tensor([0, 1])
    scores = retrieval_scores(gallery, gallery_labels, queries, query_labels)
    # query 0 ranks rows 0 (hit), 1, 2 (hit), 3: R = 2, AP@R = (1/1) / 2. Query 1 ranks 2, 1 (hit), 0, 3 (hit, a
    # tie with row 0 at 0 broken by index): AP@R = (1/2) / 2.
    assert scores["recall@1"].tolist() == [1.0, 0.0]
    assert scores["recall@5"].tolist() == [1.0, 1.0] and scores["recall@10"].tolist() == [1.0, 1.0]
    assert scores["map@r"].tolist() == [0.5, 0.25]
    assert scores["precision@10"].tolist() == [0.5, 0.5]  # 2 relevant of the whole 4-image gallery
    twelve = torch.cat([gallery, -gallery, gallery]), torch.tensor([0, 1, 0, 1, 1, 1, 1, 1, 0, 1, 0, 1])
    shares = retrieval_scores(*twelve, queries, query_labels)["precision@10"]
    # query 0's 10 nearest: cosine 1 (rows 0, 7, 8), 0.8 (1, 9), 0 (2, 6, 10), -0.8 (5), -1 (one of 3, 4, 11): label
    # 0 at 0, 8, 2, 10. Query 1's: cosine 1 (2, 10), 0.6 (1, 9), 0 (0, 3, 4, 7, 8, 11): label 1 at 1, 9, 3, 4, 7, 11.
    assert shares.tolist() == pytest.approx([0.4, 0.6])
    missing = retrieval_scores(gallery, gallery_labels, queries[:1], torch.tensor([2]))  # a label the gallery lacks
    assert missing["recall@10"].item() == 0.0 and missing["map@r"].item() == 0.0


@pytest.fixture(scope="module")
def setup(tmp_path_factory, digits_train, digits_test) -> tuple[str, str]:
    root = tmp_path_factory.mktemp("retrieval-recall")
    calibrated_model(digits_train).save_pretrained(root / "model")
    DatasetDict({"train": digits_train.select(range(300)), "test": digits_test}).save_to_disk(root / "digits")
    return str(root / "model"), str(root / "digits")


def test_looc_evaluate_records_recall_and_map_at_r_per_space_and_weighting_with_intervals(tmp_path, setup, capsys):
    model_dir, dataset = setup
    argv = ["--model", model_dir, "--dataset", dataset, "--output_dir", str(tmp_path / "out")]
    argv += ["--cache_dir", str(tmp_path / "cache"), "--protocols", "retrieval_recall", "--spaces", "invariant"]
    argv += ["--concat", "invariant+color", "--retrieval_recall_weightings", "invariant=1,color=1"]
    argv += ["invariant=1,color=-0.5"]
    evaluate.evaluate(evaluate.parse_args(argv))
    records = load_results(tmp_path / "out" / "results.json").results
    found = {(r.space, r.params.get("weights"), r.metric): r for r in records}
    metrics = ("recall@1", "recall@5", "recall@10", "map@r", "precision@10")
    keys = [("invariant", None), ("invariant+color", None)]
    keys += [("invariant+color", "invariant=1,color=1"), ("invariant+color", "invariant=1,color=-0.5")]
    assert set(found) == {(*key, metric) for key in keys for metric in metrics}
    for key in keys:
        values = [found[(*key, metric)].value for metric in metrics]
        assert 0 < values[0] <= values[1] <= values[2] <= 100 and 0 < values[3] <= 100 and 0 < values[4] <= 100, key
        assert all(found[(*key, metric)].ci95 > 0 for metric in metrics)
        assert found[(*key, "recall@1")].params["gallery"] == "train"
    for metric in metrics:  # equal weights of normalised parts: the concatenation's own cosine ranking, scaled
        assert found[("invariant+color", "invariant=1,color=1", metric)].value == pytest.approx(
            found[("invariant+color", None, metric)].value, abs=1e-9
        )
    assert found[("invariant", None, "recall@1")].value > 50  # a calibrated network on digits: far above chance
    table = results_table(records)
    assert "retrieval_recall recall@1 [invariant=1,color=-0.5]" in table and "retrieval_recall map@r" in table


def test_retrieval_recall_is_named_in_the_help_and_a_bad_weighting_is_refused_before_extraction(tmp_path, setup):
    shown = " ".join(evaluate.build_parser().format_help().split())
    assert "retrieval_recall" in shown and "Recall@1/5/10 and mAP@R" in shown
    model_dir, dataset = setup
    argv = ["--model", model_dir, "--dataset", dataset, "--output_dir", str(tmp_path / "out")]
    argv += ["--cache_dir", str(tmp_path / "cache"), "--protocols", "retrieval_recall"]
    with pytest.raises(
        ValueError,
        match=r"--retrieval_recall_weightings 'invariant=1,color=nan': The weight of space 'color' must be a finite",
    ):
        evaluate.evaluate(evaluate.parse_args([*argv, "--retrieval_recall_weightings", "invariant=1,color=nan"]))
    assert not (tmp_path / "cache").exists()
