"""`looc-publish` as a user runs it: a dry run prints the plan, a real run lands one commit on the loopback Hub.

The real Hub's LFS/Xet upload paths are not exercised (see tests/hub_server.py).
"""

import os
import subprocess
import sys
from pathlib import Path

import torch

from looc_hub import LooCConfig, LooCModel

REPO = Path(__file__).resolve().parents[1]


def _run(*args, endpoint=None):
    env = {**os.environ, "HF_HUB_OFFLINE": "0" if endpoint else "1", "HF_TOKEN": "hf_loopback"}
    command = [sys.executable, "-m", "looc_hub.cli.publish", *args] + (["--endpoint", endpoint] if endpoint else [])
    return subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, timeout=300)


def test_dry_run_then_publish(loopback_hub_server, tmp_path):
    torch.manual_seed(0)
    LooCModel(LooCConfig(backbone="resnet18", image_size=32)).save_pretrained(tmp_path / "m")
    dry = _run(str(tmp_path / "m"), "looc-test/cli", "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert f"Would upload to looc-test/cli@main in one commit from {tmp_path / 'm'}: 4 file(s)" in dry.stdout
    assert not loopback_hub_server.repo_dir("looc-test/cli").exists()

    (tmp_path / "m" / "optimizer.bin").write_bytes(b"x")
    refused = _run(str(tmp_path / "m"), "looc-test/cli", endpoint=loopback_hub_server.endpoint)
    assert refused.returncode != 0 and "unexpected file(s) ['optimizer.bin']" in refused.stderr
    assert not loopback_hub_server.repo_dir("looc-test/cli").exists()

    (tmp_path / "m" / "optimizer.bin").unlink()
    done = _run(str(tmp_path / "m"), "looc-test/cli", "--tag", "v1", endpoint=loopback_hub_server.endpoint)
    assert done.returncode == 0, done.stderr
    assert loopback_hub_server.git("looc-test/cli", "rev-parse", "v1") == loopback_hub_server.git(
        "looc-test/cli", "rev-parse", "main"
    )
    card = loopback_hub_server.git("looc-test/cli", "show", "main:README.md")  # saved without a repo id
    assert 'LooCModel.from_pretrained("looc-test/cli")' in card and '"hf-hub:looc-test/cli"' in card
    assert "your-org" not in card and "\n# cli\n" in card
    assert "your-org/" in (tmp_path / "m" / "README.md").read_text()  # the folder's own copy is left as it was


def test_publish_refuses_early_and_clearly(loopback_hub_server, tmp_path):
    """An invalid repo id, an existing tag and an unreachable Hub are said before anything is written."""
    LooCModel(LooCConfig(backbone="resnet10t", image_size=32)).save_pretrained(tmp_path / "m")
    invalid = _run(str(tmp_path / "m"), "../evil", "--dry-run")
    assert invalid.returncode != 0 and "Would upload" not in invalid.stdout
    assert "'../evil' is not a Hub repo id" in invalid.stderr and "Traceback" not in invalid.stderr

    unreachable = _run(str(tmp_path / "m"), "looc-test/cli-early", "--dry-run", endpoint="http://127.0.0.1:9")
    assert unreachable.returncode == 0, unreachable.stderr
    assert "did not answer" in unreachable.stdout and "deletions are unknown" in unreachable.stdout
    refused = _run(str(tmp_path / "m"), "looc-test/cli-early", endpoint="http://127.0.0.1:9")
    assert refused.returncode != 0 and "did not answer" in refused.stderr and "Traceback" not in refused.stderr

    endpoint = loopback_hub_server.endpoint
    assert _run(str(tmp_path / "m"), "looc-test/cli-early", "--tag", "v1", endpoint=endpoint).returncode == 0
    head = loopback_hub_server.git("looc-test/cli-early", "rev-parse", "main")
    LooCModel(LooCConfig(backbone="resnet10t", image_size=32)).save_pretrained(tmp_path / "m", overwrite=True)
    again = _run(str(tmp_path / "m"), "looc-test/cli-early", "--tag", "v1", endpoint=endpoint)
    assert again.returncode != 0 and "already has a revision (tag or branch) 'v1'" in again.stderr
    assert loopback_hub_server.git("looc-test/cli-early", "rev-parse", "main") == head  # no commit landed
