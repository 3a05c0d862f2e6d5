"""The results JSON: round trip, atomic write, and errors that name the offending key."""

from __future__ import annotations

import copy
import json

import pytest

from looc_hub import LooCConfig, LooCModel
from looc_hub.eval.record import EvalRecord
from looc_hub.eval.results import EvalResults, ModelInfo, load_results, save_results, validate_results


@pytest.fixture(scope="module")
def results() -> EvalResults:
    model = LooCModel(LooCConfig(backbone="resnet10t", image_size=32, augmentations=("color", "rotation")))
    return EvalResults(
        ModelInfo.from_model(model, "runs/looc"),
        [
            EvalRecord("knn", "looc-hub/digits", "test", "backbone", "top1", 93.1, {"k": 200, "temperature": 0.07}),
            EvalRecord("few_shot", "looc-hub/digits", "test", "invariant+color", "accuracy", 71.2, {"shots": 5}, 1.3),
        ],
        {"sensitivity_heatmap": "sensitivity.png"},
    )


def test_round_trip_keeps_every_field(tmp_path, results):
    path = save_results(results, tmp_path / "out" / "results.json")
    loaded = load_results(path)
    assert loaded == results
    data = json.loads(path.read_text())
    assert data["schema"] == "looc-hub/results" and data["schema_version"] == 1
    assert data["model"]["augmentations"] == ["color", "rotation"]
    assert "ci95" not in data["results"][0] and data["results"][1]["ci95"] == 1.3
    assert [p.name for p in path.parent.iterdir()] == ["results.json"]  # no staging file left behind


def test_failed_save_leaves_the_old_file(tmp_path, results):
    path = save_results(results, tmp_path / "results.json")
    before = path.read_text()
    broken = copy.deepcopy(results)
    broken.results.append(EvalRecord("knn", "d", "test", "backbone", "top1", 140.0))
    with pytest.raises(ValueError, match=r"percentage in \[0, 100\]"):
        save_results(broken, path)
    assert path.read_text() == before
    assert len(list(tmp_path.iterdir())) == 1


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda d: d.pop("model"), r"missing key\(s\) \['model'\]"),
        (lambda d: d["model"].pop("backbone"), r"\['model.backbone'\]"),
        (lambda d: d["results"][0].pop("metric"), r"\['results\[0\].metric'\]"),
        (lambda d: d["results"][1].update(value="71"), r"results\[1\].value must be int or float"),
        (lambda d: d["results"][0].update(value=True), r"results\[0\].value must be"),
        (lambda d: d["results"][0].update(protocol="knn2"), "valid protocols"),
        (lambda d: d["results"][0].update(space="a++b"), "Malformed space key"),
        (lambda d: d["results"][0].update(extra=1), r"unknown key\(s\) \['results\[0\].extra'\]"),
        (lambda d: d.update(schema_version=2), "schema_version 2 is not supported"),
        (lambda d: d["artifacts"].update(grid="/tmp/grid.png"), "relative to the results file"),
        (lambda d: d["results"][1].update(ci95=-1), "ci95 must be"),
    ],
)
def test_validation_names_the_problem(results, edit, message):
    data = results.to_dict()
    edit(data)
    with pytest.raises(ValueError, match=message):
        validate_results(data)


def test_load_names_the_file(tmp_path):
    path = tmp_path / "results.json"
    path.write_text('{"schema": "looc-hub/results"}')
    with pytest.raises(ValueError, match=r"results.json: not a valid looc-hub results file: missing key"):
        load_results(path)
