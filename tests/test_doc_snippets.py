"""The README's and docs' Python snippets run as written (issue 18: a documented call that fails is a bug).

Every ```python block runs, in a fresh interpreter in an empty folder, offline, unless the line before it marks
it `<!-- snippet: needs-hub (...) -->` (it loads a repo from the Hub) or `<!-- snippet: fragment (...) -->` (it
uses names that the reader's own code defines, e.g. a training loop's `loader`). A new block runs by default.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
DOCS = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
BLOCK = re.compile(r"(?:<!-- snippet: (?P<mark>[a-z-]+) \(.+?\) -->\n)?```python\n(?P<code>.*?)```", re.DOTALL)
MARKS = {"needs-hub", "fragment"}


def snippets() -> list[tuple[str, str | None, str]]:
    found = []
    for path in DOCS:
        for number, match in enumerate(BLOCK.finditer(path.read_text(encoding="utf-8")), start=1):
            found.append((f"{path.relative_to(REPO)}#{number}", match["mark"], match["code"]))
    return found


SNIPPETS = snippets()
RUNNABLE = [(name, code) for name, mark, code in SNIPPETS if mark is None]


def test_every_snippet_is_run_or_marked_with_a_known_reason():
    assert [mark for _, mark, _ in SNIPPETS if mark is not None and mark not in MARKS] == []
    assert len(RUNNABLE) >= 2  # the README's block and the data loader's


@pytest.mark.parametrize(("name", "code"), RUNNABLE, ids=[name for name, _ in RUNNABLE])
def test_a_documented_snippet_runs_as_written(name, code, tmp_path):
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600
    )
    assert result.returncode == 0, f"{name} failed:\n{code}\n{result.stderr[-3000:]}"
