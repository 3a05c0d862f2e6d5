"""`scripts/embed_demo.py`, the main job's second half, as a user runs it: photos, the learning table, then the
held-out split embedded and one query's neighbours per weighting."""

import os
import re
import subprocess
import sys

from tests.pretrain_runs import REPO


def test_embed_demo_prints_the_learning_table_with_its_reference_rows_and_the_neighbours(tmp_path):
    command = [
        sys.executable, "scripts/embed_demo.py", "looc_resnet10t.openmoji32", "--random-init",
        "--dataset", "looc-hub/digits", "--test_split", "test", "--label_column", "label",
        "--embeddings_dir", str(tmp_path),
    ]  # fmt: skip
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    result = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    out = result.stdout
    assert "what the model learned: looc-hub/digits 'label', 450 held-out images" in out
    rows = dict(
        re.findall(r"^\s+(backbone|invariant|color|rotation|concat)\s+([\d.]+)\s+[\d.]+\s+[\d.]+\s+[\d.]+$", out, re.M)
    )
    assert set(rows) == {"backbone", "invariant", "color", "rotation", "concat"}
    assert float(re.search(r"raw pixels\s+([\d.]+)", out).group(1)) > 80  # digits: a strong raw-pixel baseline
    assert re.search(r"best space '\w+' vs random init: [+-][\d.]+ points \(paired 95% interval", out)
    assert re.search(r"^rows\s+450$", out, re.M) and "images/s" in out  # looc-embed's summary
    assert re.search(r"neighbours of held-out row 0 \(0 \(label \d\)\), best first:", out), out[-1500:]
    header = re.search(r"^rank .*$", out, re.M).group(0).split("  ")
    names = ["same shape, any colour (invariant=1)", "same colours (color=1)"]
    assert [cell.strip() for cell in header if cell.strip()] == [
        "rank",
        *names,
        "same shape, other colours (invariant=1,color=-0.5)",
    ]
    sheets = list(tmp_path.glob("*-test/neighbours.png"))
    assert len(sheets) == 1 and sheets[0].read_bytes()[:4] == b"\x89PNG" and f"retrieval sheet: {sheets[0]}" in out
