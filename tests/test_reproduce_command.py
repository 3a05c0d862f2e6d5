"""`looc-reproduce`: a model checked against its card's numbers, passing as recorded and failing when one is moved.

The model is the main job's entry (looc_resnet10t.openmoji32): its configuration, random init with BatchNorm
calibrated on OpenMoji (no training: the test is of the check, not of the science). Its "card" is made the way
the zoo's was (`scripts/reproduce.py --zoo_results`: the grid's evaluations of the model, merged), on a subset of
the evaluation splits so that the test stays short.
"""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import replace

import pytest

from looc_hub import LooCModel, get_zoo_entry
from looc_hub.eval.baselines import random_init_like
from looc_hub.eval.record import EvalRecord
from looc_hub.eval.results import save_results
from looc_hub.reproduction.check import compare_records
from looc_hub.reproduction.grid import GridDataset, grid_model
from looc_hub.reproduction.runs import Run, execute, merged_results

ENTRY = "looc_resnet10t.openmoji32"
ROWS = {"max_train_rows": 400, "max_test_rows": 80}  # seed 0 draws 3+ of the rarest group (7 of 3,692)


def reproduce(*args: str) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "looc_hub.cli.reproduce", ENTRY, "--threads", "1", *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=900)


def verdicts(output: str) -> dict[tuple[str, str, str, str], str]:
    """{(protocol, dataset, space, metric): verdict} from the printed table."""
    rows = [line.split("|")[1:-1] for line in output.splitlines() if line.startswith("| ") and "---" not in line]
    return {tuple(cell.strip() for cell in row[:4]): row[-1].strip() for row in rows[1:]}


@pytest.fixture(scope="module")
def carded_model(tmp_path_factory, openmoji_train):
    """(model folder, its card's results file) for the entry's model."""
    root = tmp_path_factory.mktemp("reproduce")
    model = random_init_like(LooCModel(get_zoo_entry(ENTRY).config), openmoji_train.select(range(256)))
    model.save_pretrained(root / "model")
    dataset, method = grid_model(ENTRY)
    small = GridDataset(dataset.tag, dataset.label, tuple(replace(e, **ROWS) for e in dataset.evaluations))
    run = Run(small, method, 0, root / "card", model=root / "model")
    execute(run, threads=1)
    return root / "model", save_results(merged_results(run, ENTRY), root / "card.json")


def test_a_model_passes_against_its_card_and_fails_when_a_card_number_is_moved(carded_model, tmp_path):
    folder, card = carded_model
    rows = ["--max_train_rows", str(ROWS["max_train_rows"]), "--max_test_rows", str(ROWS["max_test_rows"])]
    measured = tmp_path / "measured.json"
    done = reproduce("--model", str(folder), "--results", str(card), "--save_results", str(measured), *rows)
    assert done.returncode == 0, done.stdout + done.stderr
    table = verdicts(done.stdout)
    recorded = json.loads(card.read_text())["results"]
    assert len(table) == len({(r["protocol"], r["dataset"], r["space"], r["metric"]) for r in recorded}) > 30
    assert set(table.values()) == {"pass"}
    assert {"linear_probe", "knn", "rotation_probe", "sensitivity", "retrieval_recall"} == {key[0] for key in table}
    assert ("linear_probe", "looc-hub/openmoji-skin-tones", "color", "top1") in table

    edited = json.loads(card.read_text())
    probe = next(r for r in edited["results"] if r["protocol"] == "linear_probe" and r["space"] == "color")
    probe["value"] = min(100.0, probe["value"] + 2 * probe["ci95"] + 1) if probe["value"] < 50 else 1.0
    sensitivity = next(r for r in edited["results"] if r["protocol"] == "sensitivity")
    sensitivity["value"] += 0.2  # recorded without an interval: the tolerance (0.05) applies
    moved = tmp_path / "moved.json"
    moved.write_text(json.dumps(edited))
    done = reproduce("--measured", str(measured), "--results", str(moved))
    assert done.returncode == 1, done.stdout + done.stderr
    table = verdicts(done.stdout)
    outside = {key for key, verdict in table.items() if verdict != "pass"}
    assert outside == {
        (probe["protocol"], probe["dataset"], probe["space"], probe["metric"]),
        (sensitivity["protocol"], sensitivity["dataset"], sensitivity["space"], sensitivity["metric"]),
    }
    assert set(table[key] for key in outside) == {"outside interval"}


def test_a_retrained_model_is_judged_by_the_recipe_s_seeds_once_the_card_has_three(carded_model, tmp_path):
    """A number outside seed 0's test interval passes for a retrained model when the card's three seeds spread as
    far, and not for the card's own weights, nor with two seeds."""
    _, card = carded_model
    original = json.loads(card.read_text())
    index = next(i for i, r in enumerate(original["results"]) if r["protocol"] == "linear_probe")
    value, ci95 = original["results"][index]["value"], original["results"][index]["ci95"]
    for seed, shift in ((None, 2 * ci95 + 1), (1, -(2 * ci95 + 1)), (2, 0.0)):
        moved = json.loads(card.read_text())
        moved["results"][index]["value"] = value + shift
        name = "card.json" if seed is None else f"card.seed{seed}.json"
        (tmp_path / name).write_text(json.dumps(moved))
    key = tuple(original["results"][index][f] for f in ("protocol", "dataset", "space", "metric"))
    measured, recorded = str(card), str(tmp_path / "card.json")

    done = reproduce("--measured", measured, "--results", recorded, "--retrained")
    assert done.returncode == 0, done.stdout + done.stderr
    assert verdicts(done.stdout)[key] == "pass" and "the card holds 3 seed(s)" in done.stdout
    assert f"| {value:.2f} ± " in done.stdout and "(3 seeds)" in done.stdout  # the seeds' mean is the centre

    done = reproduce("--measured", measured, "--results", recorded)  # the card's own weights: the test interval
    assert done.returncode == 1 and verdicts(done.stdout)[key] == "outside interval"
    (tmp_path / "card.seed2.json").unlink()
    done = reproduce("--measured", measured, "--results", recorded, "--retrained")  # two seeds: not enough
    assert done.returncode == 1 and verdicts(done.stdout)[key] == "outside interval"
    assert "the card holds 2 seed(s)" in done.stdout


def test_a_folder_of_another_model_and_a_missing_card_are_refused(carded_model, tmp_path):
    folder, card = carded_model
    done = subprocess.run(
        [sys.executable, "-m", "looc_hub.cli.reproduce", "moco_resnet10t.openmoji32", "--model", str(folder)],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=tmp_path,
    )
    assert done.returncode == 2 and "no recorded results at model_cards/results/moco_resnet10t" in done.stderr
    other = "moco_resnet10t.openmoji32"
    done = subprocess.run(
        [sys.executable, "-m", "looc_hub.cli.reproduce", other, "--model", str(folder), "--results", str(card)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 2
    assert f"is not a {other} model: augmentations: ('color', 'rotation'), the entry's ()" in done.stderr


def test_every_recorded_number_is_answered_by_protocol_space_metric_and_settings():
    recorded = [
        EvalRecord("linear_probe", "d", "test", "color", "top1", 60.0, {"method": "lbfgs", "weight_decay": 1e-3}, 3.0),
        EvalRecord("sensitivity", "d", "test", "color", "rotation", 0.20, {"seed": 0}),
        EvalRecord("knn", "d", "test", "color", "top1", 50.0, {"k": 20}, 3.0),
    ]
    measured = [
        EvalRecord("linear_probe", "d", "test", "color", "top1", 62.5, {"method": "lbfgs", "weight_decay": 1e-1}, 3.0),
        EvalRecord("sensitivity", "d", "test", "color", "rotation", 0.26, {"seed": 0}),
        EvalRecord("knn", "d", "test", "color", "top1", 50.0, {"k": 200}, 3.0),  # another setting: not an answer
    ]
    comparisons = compare_records(recorded, measured, tolerance=0.05)
    assert [c.verdict for c in comparisons] == ["pass", "outside interval", "missing"]
    assert comparisons[0].difference == pytest.approx(2.5) and comparisons[1].allowed == 0.05
    assert [c.verdict for c in compare_records(recorded, measured, tolerance=0.1)][:2] == ["pass", "pass"]


def test_the_seeds_spread_is_a_prediction_interval_around_their_mean_never_below_the_test_interval():
    record = EvalRecord("knn", "d", "test", "color", "top1", 60.0, {"k": 20}, 3.0)
    seeds = [[replace(record, value=66.0)], [replace(record, value=63.0)]]
    (comparison,) = compare_records([record], [replace(record, value=70.0)], seeds=seeds)
    # mean 63, sd 3, t(0.975, 2) = 4.303: 4.303 x 3 x sqrt(1 + 1/3) = 14.9
    assert (comparison.expected, comparison.basis) == (63.0, "3 seeds")
    assert comparison.allowed == pytest.approx(14.91, abs=0.01) and comparison.verdict == "pass"
    (tight,) = compare_records([record], [record], seeds=[[record], [record]])  # seeds that agree exactly
    assert tight.allowed == 3.0 and tight.basis == "3 seeds"
    (two,) = compare_records([record], [replace(record, value=70.0)], seeds=seeds[:1])
    assert (two.expected, two.allowed, two.basis, two.verdict) == (60.0, 3.0, "interval", "outside interval")
