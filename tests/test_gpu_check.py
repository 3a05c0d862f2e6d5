"""scripts/gpu_check.sh, the prepared GPU run of issue 19, runs every step on the CPU (GPU_CHECK_QUICK=1), and the
cost table's measured path turns a benchmark_step.py file into measured records; neither touches the zoo's records.
Slow: a few minutes on 2 CPU cores (FLOPs of ResNet-50 steps at 224 px are counted)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from looc_hub.hub.training_cost import load_training_cost

pytestmark = pytest.mark.slow
REPO = Path(__file__).resolve().parents[1]
ZOO_RECORDS = REPO / "model_cards" / "results"


def _zoo_records() -> dict[str, str]:
    return {path.name: path.read_text() for path in sorted(ZOO_RECORDS.glob("*.training_cost.json"))}


def test_the_quick_gpu_check_runs_every_step_on_the_cpu(tmp_path):
    before = _zoo_records()
    env = {**os.environ, "GPU_CHECK_QUICK": "1", "GPU_CHECK_OUT": str(tmp_path), "PYTHON": sys.executable}
    env["OMP_NUM_THREADS"] = "1"
    done = subprocess.run(
        ["bash", "scripts/gpu_check.sh"], cwd=REPO, env=env, capture_output=True, text=True, timeout=3600
    )
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    assert "gpu_check: all steps ran" in done.stdout
    for name in ("step_r50_224_cuda.json", "loader.json", "cost.json", "openmoji_summary.json"):
        assert (tmp_path / name).is_file(), name
    record = load_training_cost(tmp_path / "records" / "looc_resnet50.in100.training_cost.json")
    assert [(e.gpu, e.kind) for e in record.estimates] == [("A100 SXM", "projected")]
    assert json.loads((tmp_path / "openmoji_summary.json").read_text())["steps"] == 3
    assert _zoo_records() == before


def test_a_measured_step_becomes_a_measured_record_and_projects_its_siblings(tmp_path):
    for name in ("looc_resnet50.in100", "looc_resnet50.in100_r"):
        shutil.copy(ZOO_RECORDS / f"{name}.training_cost.json", tmp_path)
    measured = REPO / "benchmarks" / "results" / "step_r50_224_cpu.json"  # ResNet-50 at 224 px, measured on a CPU
    rate = {row["method"]: row["images_per_s"] for row in json.loads(measured.read_text())["results"]}["LooC"]
    command = [sys.executable, "scripts/cost_table.py", "--gpu", "A100 SXM", "--measured", str(measured)]
    command += ["--suffixes", "looc_resnet50.in100", "looc_resnet50.in100_r"]
    command += ["--records-dir", str(tmp_path), "--output-dir", str(tmp_path)]
    done = subprocess.run(command, cwd=REPO, capture_output=True, text=True, timeout=1200)
    assert done.returncode == 0, done.stderr[-3000:]

    reference = load_training_cost(tmp_path / "looc_resnet50.in100.training_cost.json")
    assert [(e.gpu, e.kind) for e in reference.estimates] == [("A100 SXM", "projected"), ("A100 SXM", "measured")]
    (shown,) = reference.shown_estimates()
    assert shown.kind == "measured" and shown.images_per_s == pytest.approx(rate, abs=0.05)  # stored to 0.1
    assert shown.source == f"scripts/cost_table.py --measured {measured.name}"

    sibling = load_training_cost(tmp_path / "looc_resnet50.in100_r.training_cost.json").estimates
    assert [(e.gpu, e.kind) for e in sibling] == [("A100 SXM", "projected")]  # the same GPU's projection, replaced
    assert any("scaled by this step's FLOPs over looc_resnet50.in100's" in s for s in sibling[0].basis)
    ratio = sibling[0].step_gflops_per_image / shown.step_gflops_per_image
    assert sibling[0].images_per_s == pytest.approx(rate / ratio, abs=0.05)
