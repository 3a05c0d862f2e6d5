"""`scripts/reproduce.py`: a real (tiny) grid that resumes, and verdicts that follow the numbers either way."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

from looc_hub.eval.record import EvalRecord
from looc_hub.eval.results import EvalResults, ModelInfo, load_results, save_results
from looc_hub.recipes import recipe_path
from looc_hub.reproduction.grid import Evaluation, GridDataset
from looc_hub.reproduction.runs import pretrain_command
from tests.pretrain_runs import REPO

_spec = importlib.util.spec_from_file_location("reproduce", REPO / "scripts" / "reproduce.py")
reproduce = importlib.util.module_from_spec(_spec)
sys.modules["reproduce"] = reproduce  # its dataclasses look their module up
_spec.loader.exec_module(reproduce)

# OpenMoji pretraining (the zoo's recipe, 2 steps), judged on a slice of the digits: the pipeline, not the science.
TINY = GridDataset(
    "openmoji32",
    "tiny",
    (
        Evaluation(
            "base",
            "looc-hub/digits",
            "train",
            "test",
            "label",
            ("knn", "linear_probe", "rotation_probe", "sensitivity"),
            120,
            60,
        ),
    ),
)


def test_a_grid_runs_every_step_writes_results_and_resumes(tmp_path):
    methods = [m for m in reproduce.METHODS if m.key in ("moco_rotation", "looc")]
    runs = reproduce.grid_runs([TINY], [0], tmp_path, methods, max_steps=2)
    assert [run.name for run in runs] == ["random_init", "looc", "moco_rotation"]
    assert reproduce.run_grid(runs, jobs=2) == []
    for run in runs:
        assert run.finished() and (run.model_dir / "model.safetensors").is_file()
        assert not run.results_path(TINY.evaluations[0]).parent.with_name("eval_base.partial").exists()
    table = reproduce.collect(runs)
    columns = {"linear", "knn", "rotation", "sens. rotation", "sens. colour"}
    assert set(table[("openmoji32", 0, "looc", "rotation")]) == columns
    pixels = table[("openmoji32", 0, "random_init", reproduce.PIXELS)]
    assert pixels["knn"].ci95 > 0 and 0 <= pixels["rotation"].value <= 100
    assert ("openmoji32", 0, "moco_rotation", reproduce.PIXELS) not in table  # raw pixels: the reference run only

    stamps = {run.name: run.results_path(TINY.evaluations[0]).stat().st_mtime_ns for run in runs}
    assert reproduce.run_grid(runs, jobs=1) == []  # everything finished: nothing is redone
    assert stamps == {run.name: run.results_path(TINY.evaluations[0]).stat().st_mtime_ns for run in runs}

    markdown = reproduce.report(runs, [0], tmp_path)
    assert "| LooC (colour + rotation) | rotation |" in markdown and "| raw pixels |" in markdown
    assert (tmp_path / "reproduction.png").stat().st_size > 0 and (tmp_path / "report.json").is_file()

    written = reproduce.zoo_results(runs, 0, tmp_path / "zoo")
    assert sorted(path.name for path in written) == [
        "looc_resnet10t.openmoji32.json",
        "moco_rotation_resnet10t.openmoji32.json",
    ]  # the trained models, named by the zoo; the reference run is not a zoo entry
    merged = load_results(written[0])
    assert merged.model.source == "looc_resnet10t.openmoji32"
    assert {r.protocol for r in merged.results} == {"knn", "linear_probe", "rotation_probe", "sensitivity"}


def test_an_interrupted_pretraining_resumes_and_a_failed_evaluation_is_redone(tmp_path):
    looc = next(m for m in reproduce.METHODS if m.key == "looc")
    run = reproduce.Run(TINY, looc, 0, tmp_path)
    run.pretrain_dir.mkdir(parents=True)
    (run.pretrain_dir / "logs").mkdir()  # a start that died before its first checkpoint
    assert pretrain_command(run)[-2:] == ["--overwrite", "true"]
    (run.pretrain_dir / "checkpoints" / "step_100").mkdir(parents=True)
    assert pretrain_command(run)[-2:] == ["--resume", "latest"]
    partial = run.directory / "eval_base.partial"
    partial.mkdir()
    assert not run.finished()  # a failed evaluation's folder never counts as finished


def _results(path: Path, rows: dict[tuple[str, str], float]) -> None:
    """A results file with given (protocol, space) -> value, 1 point of noise each."""
    records = [
        EvalRecord(protocol, "data", "test", space, "top1", value, {}, 1.0) for (protocol, space), value in rows.items()
    ]
    save_results(EvalResults(ModelInfo("m", "looc", "resnet10t", ()), records), path)


@pytest.mark.parametrize("moco_rotation_probe, holds", [(40.0, True), (59.0, False)])
def test_claim_a_follows_the_numbers_either_way(tmp_path, moco_rotation_probe, holds):
    runs = reproduce.grid_runs([TINY], [0], tmp_path)
    by_name = {run.name: run for run in runs}
    _results(
        by_name["moco"].results_path(TINY.evaluations[0]),
        {("rotation_probe", "backbone"): 60.0, ("linear_probe", "backbone"): 80.0},
    )
    _results(
        by_name["moco_rotation"].results_path(TINY.evaluations[0]),
        {("rotation_probe", "backbone"): moco_rotation_probe, ("linear_probe", "backbone"): 79.0},
    )
    verdicts = reproduce.judge(reproduce.collect(runs), "openmoji32", 0)
    (claim_a,) = [v for v in verdicts if v.claim.startswith("(a)")]
    assert claim_a.holds is holds
    assert "MoCo 60.0 ± 1.0" in claim_a.evidence


def test_claim_e_judges_the_left_out_space_and_the_invariant_space_separately(tmp_path):
    looc = next(m for m in reproduce.METHODS if m.key == "looc")
    run = reproduce.Run(TINY, looc, 0, tmp_path)
    path = run.results_path(TINY.evaluations[0])

    def write(rotation: dict[str, float], colour: dict[str, float]) -> tuple[bool, bool]:
        records = [
            EvalRecord("sensitivity", "data", "test", space, augmentation, value, {"seed": 0})
            for augmentation, values in (("rotation", rotation), ("color", colour))
            for space, value in values.items()
        ]
        save_results(EvalResults(ModelInfo("m", "looc", "resnet10t", ()), records), path)
        verdicts = [v for v in reproduce.judge(reproduce.collect([run]), "openmoji32", 0) if v.claim.startswith("(e)")]
        most, least = verdicts
        assert "most sensitive" in most.claim and "least sensitive" in least.claim
        return most.holds, least.holds

    colour = {"invariant": 0.1, "color": 0.6, "rotation": 0.3}
    assert write({"invariant": 0.1, "color": 0.2, "rotation": 0.5}, colour) == (True, True)
    assert write({"invariant": 0.1, "color": 0.6, "rotation": 0.5}, colour) == (False, True)  # Z_colour moves most
    assert write({"invariant": 0.3, "color": 0.2, "rotation": 0.5}, colour) == (True, False)  # Z_colour moves less


def test_the_paper_grid_launches_every_paper_recipe_with_accelerate():
    commands = list(reproduce.paper_commands("/data/in100", 8))
    pretraining = [c for c in commands if c.startswith("accelerate launch")]
    assert len(pretraining) == len(reproduce.PAPER_MODELS) == 5
    for command in pretraining:
        recipe = command.split("--config ")[1].split()[0]
        assert recipe_path(recipe).is_file() and "--dataset /data/in100" in command
