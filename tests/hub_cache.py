"""A hand-built Hugging Face cache, so that repo ids resolve offline through the real client code path.

Layout (huggingface_hub's cache layout): `<cache>/models--org--name/refs/<ref>` holds a 40-hex commit id and
`snapshots/<commit>/` holds the files.
"""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

from huggingface_hub import constants


def add_to_hf_cache(source_dir: Path, repo_id: str, refs: tuple[str, ...] = ("main",)) -> str:
    """Copy a model directory into the HF cache as one commit of `repo_id`; returns the commit id."""
    files = sorted(p for p in Path(source_dir).iterdir() if p.is_file())
    commit = hashlib.sha1(b"".join(p.read_bytes() for p in files)).hexdigest()
    repo_dir = Path(constants.HF_HUB_CACHE) / f"models--{repo_id.replace('/', '--')}"
    snapshot = repo_dir / "snapshots" / commit
    snapshot.mkdir(parents=True, exist_ok=True)
    for path in files:
        shutil.copy2(path, snapshot / path.name)
    (repo_dir / "refs").mkdir(exist_ok=True)
    for ref in refs:
        (repo_dir / "refs" / ref).write_text(commit)
    return commit
