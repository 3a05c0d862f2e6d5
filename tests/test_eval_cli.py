"""training/evaluate.py end to end: a saved model and real digits in, a valid results JSON out."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
from datasets import DatasetDict

from looc_hub.eval.results import load_results
from tests.eval_models import calibrated_model

ROOT = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("evaluate", ROOT / "training" / "evaluate.py")
evaluate = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(evaluate)


@pytest.fixture(scope="module")
def setup(tmp_path_factory, digits_train, digits_test) -> tuple[str, str]:
    root = tmp_path_factory.mktemp("evaluate")
    calibrated_model(digits_train).save_pretrained(root / "model")
    small = DatasetDict({"train": digits_train.select(range(300)), "test": digits_test})
    small.save_to_disk(root / "digits")
    return str(root / "model"), str(root / "digits")


def run_argv(setup: tuple[str, str], tmp_path) -> list[str]:
    model_dir, dataset = setup
    out, cache = str(tmp_path / "out"), str(tmp_path / "cache")
    return ["--model", model_dir, "--dataset", dataset, "--output_dir", out, "--cache_dir", cache]


def test_evaluate_writes_one_record_per_protocol_space_and_metric(tmp_path, setup):
    model_dir, _ = setup
    argv = [
        *run_argv(setup, tmp_path),
        "--spaces",
        "backbone",
        "rotation",
        "--concat",
        "backbone+color",
        "--protocols",
        "knn",
        "linear_probe",
        "few_shot",
        "--knn_k",
        "20",
        "--episodes",
        "100",
    ]
    evaluate.main(evaluate.parse_args(argv))
    results = load_results(tmp_path / "out" / "results.json")
    assert results.model.backbone == "resnet10t" and results.model.source == model_dir
    keys = {(r.protocol, r.space, r.metric, r.params.get("shots")) for r in results.results}
    for space in ("backbone", "rotation", "backbone+color"):
        assert {("knn", space, "top1", None), ("linear_probe", space, "top5", None)} <= keys
        assert {("few_shot", space, "accuracy", 5), ("few_shot", space, "accuracy", 10)} <= keys
    linear = {r.space: r.value for r in results.results if r.protocol == "linear_probe" and r.metric == "top1"}
    assert linear["backbone"] > 80.0
    assert all(r.ci95 is not None for r in results.results if r.protocol == "few_shot")
    assert any((tmp_path / "cache").rglob("color.safetensors"))  # concatenation parts were cached


def test_unknown_space_fails_before_any_work(tmp_path, setup):
    model_dir, dataset = setup
    argv = ["--model", model_dir, "--dataset", dataset, "--output_dir", str(tmp_path), "--spaces", "shape"]
    with pytest.raises(ValueError, match="valid spaces"):
        evaluate.main(evaluate.parse_args(argv))


def test_evaluate_runs_the_robustness_and_analysis_protocols_and_records_their_pngs(tmp_path, setup):
    argv = [
        *run_argv(setup, tmp_path),
        "--spaces",
        "backbone",
        "invariant",
        "--protocols",
        "corruption",
        "sensitivity",
        "head_contribution",
        "space_selection",
        "retrieval",
        "--corruptions",
        "contrast",
        "--severities",
        "1",
        "5",
        "--augmentations",
        "rotation",
        "flip",
    ]
    evaluate.main(evaluate.parse_args(argv))
    out = tmp_path / "out"
    results = load_results(out / "results.json")
    assert set(results.artifacts) == {"sensitivity", "head_contribution", "retrieval"}
    assert all((out / path).read_bytes()[:4] == b"\x89PNG" for path in results.artifacts.values())
    by_protocol = {}
    for r in results.results:
        by_protocol.setdefault(r.protocol, []).append(r)
    mean = {r.space: r.value for r in by_protocol["corruption"] if r.metric == "mean_corruption_accuracy"}
    clean = {r.space: r.value for r in by_protocol["corruption"] if r.params.get("corruption") == "clean"}
    assert set(mean) == {"backbone", "invariant"} and all(mean[key] < clean[key] for key in mean)
    assert {(r.space, r.metric) for r in by_protocol["sensitivity"]} == {
        (space, augmentation) for space in ("backbone", "invariant") for augmentation in ("rotation", "flip")
    }
    assert {r.space for r in by_protocol["head_contribution"]} >= {"invariant", "color", "rotation"}
    assert sum(r.params["recommended"] for r in by_protocol["space_selection"]) == 1
