"""scripts/benchmark_loader.py runs end to end on generated JPEGs and writes its results (no timing asserted)."""

import json
import math
import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "benchmark_loader.py"


def test_loader_benchmark_reports_the_workers_a_step_rate_needs(tmp_path):
    tiny = ["--generated", "16", "--batches", "1", "--batch-size", "8", "--workers", "1", "--image-size", "64"]
    command = [sys.executable, str(SCRIPT), *tiny, "--step-images-per-s", "1000", "--output-dir", str(tmp_path)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]

    report = json.loads((tmp_path / "loader.json").read_text())
    result = report["result"]
    assert result["per_worker"] > 0 and result["with_workers"] > 0
    assert result["workers_per_gpu"] == math.ceil(1000 / result["per_worker"])
    assert report["meta"]["canvas_size"] == 80
    assert f"needs **{result['workers_per_gpu']} loader workers**" in (tmp_path / "loader.md").read_text()
