"""scripts/benchmark_step.py runs end to end and writes its results files (a smoke test: no timing asserted)."""

import json
import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "benchmark_step.py"


def test_benchmark_writes_json_and_markdown(tmp_path):
    tiny = ["--backbone", "test_resnet", "--image-size", "32", "--batch-sizes", "8", "--queue-size", "64"]
    command = [sys.executable, str(SCRIPT), *tiny, "--warmup", "0", "--steps", "1", "--output-dir", str(tmp_path)]
    subprocess.run(command, check=True, capture_output=True, timeout=300)

    report = json.loads((tmp_path / "step.json").read_text())
    assert [(row["method"], row["spaces"], row["batch_size"]) for row in report["results"]] == [
        ("LooC", 3, 8),
        ("LooC++", 3, 8),
        ("MoCo v2", 1, 8),
    ]
    for row in report["results"]:
        assert all(value > 0 for value in row["median_ms"].values()), row
        assert row["step_over_network"] > 0 and row["step_over_bare_backbone"] > 0
        assert 0 < row["views_share"] < 1 and row["images_per_s"] > 0 and row["peak_memory_mb"] > 0
    table = (tmp_path / "step.md").read_text()
    assert "| LooC (3 spaces) | 8 |" in table and "| MoCo v2 (1 space) | 8 |" in table
    assert "| LooC++ | 8 |" in table and "fp32" in table  # CPU: fp32 unless asked
    assert "4 BatchNorm group(s)" in table and report["meta"]["bn_groups"] == 4
