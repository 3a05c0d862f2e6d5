"""`scripts/embed_demo.py`, the main job's second half, as a user runs it: photos, then the learning table."""

import os
import re
import subprocess
import sys

from tests.pretrain_runs import REPO


def test_embed_demo_prints_the_learning_table_with_its_reference_rows():
    command = [
        sys.executable, "scripts/embed_demo.py", "looc_resnet10t.openmoji32", "--random-init",
        "--dataset", "looc-hub/digits", "--test_split", "test", "--label_column", "label",
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
