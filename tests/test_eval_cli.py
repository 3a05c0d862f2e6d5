"""`looc-evaluate` end to end: a saved model and real digits in, a valid results JSON out."""

from __future__ import annotations

import pytest
from datasets import DatasetDict

from looc_hub.cli import evaluate
from looc_hub.eval.linear_probe import WEIGHT_DECAY_GRID
from looc_hub.eval.results import load_results
from tests.models import calibrated_model


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


def test_evaluate_writes_one_record_per_protocol_space_and_metric_and_prints_a_table(tmp_path, setup, capsys):
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
        "kshot_linear_probe",
        "--knn_k",
        "20",
        "--episodes",
        "100",
        "--kshot",
        "5",
        "--kshot_draws",
        "2",
    ]
    evaluate.evaluate(evaluate.parse_args(argv))
    results = load_results(tmp_path / "out" / "results.json")
    assert results.model.backbone == "resnet10t" and results.model.source == model_dir
    keys = {(r.protocol, r.space, r.metric, r.params.get("shots")) for r in results.results}
    for space in ("backbone", "rotation", "backbone+color"):
        assert {("knn", space, "top1", None), ("linear_probe", space, "top5", None)} <= keys
        assert {("few_shot", space, "accuracy", 5), ("few_shot", space, "accuracy", 10)} <= keys
        assert ("kshot_linear_probe", space, "top1", 5) in keys
    linear = {r.space: r for r in results.results if r.protocol == "linear_probe" and r.metric == "top1"}
    assert linear["backbone"].value > 80.0
    assert linear["backbone"].params["weight_decay"] in WEIGHT_DECAY_GRID  # chosen on a validation split
    assert linear["backbone"].params["weight_decay_from"] == "validation split"
    assert all(r.ci95 is not None for r in results.results if r.protocol in ("few_shot", "kshot_linear_probe"))
    assert all(r.params["method"] == "episodic prototypes" for r in results.results if r.protocol == "few_shot")
    kshot = next(r for r in results.results if r.protocol == "kshot_linear_probe" and r.space == "backbone")
    assert kshot.params["draws"] == 2 and len(kshot.params["weight_decays"]) == 2 and kshot.value > 40.0
    table = capsys.readouterr().out
    header = next(line for line in table.splitlines() if line.startswith("space"))
    assert header.split() == [
        "space",
        "knn",
        "linear_probe",
        "few_shot",
        "5-shot",
        "few_shot",
        "10-shot",
        "kshot_linear_probe",
        "5-shot",
    ]
    row = next(line for line in table.splitlines() if line.startswith("backbone+color"))
    cell = f"{linear['backbone+color'].value:.1f}±{linear['backbone+color'].ci95:.1f}"
    assert cell in row.split() and linear["backbone+color"].ci95 > 0  # the 95% test-set interval
    assert any((tmp_path / "cache").rglob("color.safetensors"))  # concatenation parts were cached


def test_unknown_space_fails_before_any_work(tmp_path, setup):
    model_dir, dataset = setup
    argv = ["--model", model_dir, "--dataset", dataset, "--output_dir", str(tmp_path), "--spaces", "shape"]
    with pytest.raises(ValueError, match="valid spaces"):
        evaluate.evaluate(evaluate.parse_args(argv))


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
    evaluate.evaluate(evaluate.parse_args(argv))
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


def test_protocols_are_checked_against_the_labels_before_any_feature_is_extracted(tmp_path, setup):
    argv = [
        *run_argv(setup, tmp_path),
        "--protocols",
        "knn",
        "few_shot",
        "kshot_linear_probe",
        "--ways",
        "11",
        "--kshot",
        "5",
        "500",
        "--knn_temperature",
        "0",
    ]
    with pytest.raises(ValueError, match="cannot run the requested protocols") as error:
        evaluate.evaluate(evaluate.parse_args(argv))
    message = str(error.value)
    assert "protocol 'knn': --knn_temperature must be > 0, got 0.0" in message
    assert "protocol 'few_shot': --ways 11 --shots 5 --queries 15 needs 11 classes with 20+ images" in message
    assert "--ways 11 --shots 10 --queries 15 needs 11 classes" in message  # every requested value is checked
    assert "10 have that (use fewer --ways or --queries)" in message
    assert "protocol 'kshot_linear_probe': --kshot 500: 500-shot needs 500 training images" in message
    assert "largest valid K is" in message and "--kshot 5:" not in message
    assert not (tmp_path / "cache").exists() and not (tmp_path / "out").exists()  # nothing extracted or written


def test_a_protocol_failing_at_run_time_keeps_the_results_of_the_others(tmp_path, setup):
    argv = [
        *run_argv(setup, tmp_path),
        "--spaces",
        "backbone",
        "--protocols",
        "knn",
        "sensitivity",
        "linear_probe",
        "--augmentations",
        "flip",
    ]
    (tmp_path / "out" / "sensitivity.png").mkdir(parents=True)  # the heatmap cannot be written
    with pytest.raises(evaluate.ProtocolFailure, match="1 protocol run\\(s\\) failed .*sensitivity"):
        evaluate.evaluate(evaluate.parse_args(argv))
    results = load_results(tmp_path / "out" / "results.json")
    assert {r.protocol for r in results.results} >= {"knn", "linear_probe"}  # before and after the failure


def test_a_row_cap_below_one_is_refused_naming_the_flag(tmp_path, setup):
    model_dir, dataset = setup
    argv = ["--model", model_dir, "--dataset", dataset, "--output_dir", str(tmp_path), "--max_test_rows", "0"]
    with pytest.raises(ValueError, match=r"--max_train_rows / --max_test_rows must be >= 1, got 0"):
        evaluate.evaluate(evaluate.parse_args(argv))


def test_a_results_json_looc_evaluate_did_not_write_is_not_overwritten(tmp_path, setup):
    argv = run_argv(setup, tmp_path)
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "results.json").write_text('{"my": "own results"}\n')
    with pytest.raises(FileExistsError, match=r"results.json exists and is not a looc-hub results file"):
        evaluate.evaluate(evaluate.parse_args([*argv, "--protocols", "knn"]))
    assert (tmp_path / "out" / "results.json").read_text() == '{"my": "own results"}\n'
