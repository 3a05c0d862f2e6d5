"""`looc-embed` as real processes: killed with SIGKILL mid-run then rerun, and launched as 2 gloo processes on CPU.

Both end with every row exactly once and the same rows as an uninterrupted one-process run.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time

import numpy as np
import pytest

from looc_hub.cli import embed
from looc_hub.embeddings import EmbeddingIndex, PartialEmbeddingsError, read_manifest
from tests.embedding_runs import EMBED_COMMAND, embed_argv, folder_rows
from tests.models import calibrated_model
from tests.pretrain_runs import accelerate_cpu_launcher

SPACES = ("--spaces", "invariant,color")


@pytest.fixture(scope="module")
def setup(tmp_path_factory, digits_train) -> tuple[str, str]:
    """(a saved model, an uninterrupted one-process run of the train split in small shards)."""
    root = tmp_path_factory.mktemp("embed-processes")
    calibrated_model(digits_train).save_pretrained(root / "model")
    embed.main(embed_argv(root / "model", root / "reference", *SPACES, "--shard_rows", "8", split="train"))
    return str(root / "model"), str(root / "reference")


def assert_same_rows(folder: str, reference: str) -> None:
    rows, expected = folder_rows(folder), folder_rows(reference)
    assert rows["id"].tolist() == list(range(1347))  # every row once
    for column in ("label", "path"):
        assert rows[column].equals(expected[column]), column
    for space in ("invariant", "color"):  # the same vectors; the reference ran in this process, whose torch
        # threads may differ from the command's, and a float32 sum's order with them (seen: 1e-7 apart)
        np.testing.assert_allclose(np.stack(rows[space]), np.stack(expected[space]), rtol=0, atol=1e-6, err_msg=space)


def test_kill_9_mid_run_then_rerun_gives_every_row_once_as_an_uninterrupted_run(tmp_path, setup):
    model_dir, reference = setup
    out = tmp_path / "out"
    argv = embed_argv(model_dir, out, *SPACES, "--shard_rows", "8", split="train")
    process = subprocess.Popen([EMBED_COMMAND, *argv], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 600
    while (
        len(list((out / "data").glob("train-*.parquet"))) < 5 and process.poll() is None and time.monotonic() < deadline
    ):
        time.sleep(0.02)
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    assert process.returncode == -signal.SIGKILL, process.stderr.read().decode()[-2000:]
    written = len(list((out / "data").glob("train-*.parquet")))
    assert 5 <= written < 169 and not read_manifest(out).complete  # killed mid-run: some shards, not all
    with pytest.raises(PartialEmbeddingsError, match="partial run"):
        EmbeddingIndex.load(out)

    summary = embed.embed(embed.build_parser().parse_args(argv))
    assert summary.shards_written == 169 - written and summary.rows == 1347
    assert not list((out / "data").glob(".*"))  # no temporary shard left
    assert_same_rows(str(out), reference)


def test_two_processes_each_write_their_own_shards_and_the_union_is_every_row_once(tmp_path, setup):
    model_dir, reference = setup
    out = tmp_path / "out"
    launch = [*accelerate_cpu_launcher(2), "-m", "looc_hub.cli.embed"]
    argv = embed_argv(model_dir, out, *SPACES, "--shard_rows", "8", "--log_level", "info", split="train")
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    done = subprocess.run(
        [*launch, *argv], env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=900
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "1347 by 2 process(es)" in done.stdout  # the world size: two processes
    # each process wrote its own shards: 0, 2, ..., 168 and 1, 3, ..., 167
    assert "process 0 of 2 wrote 85 shard(s), 675 rows" in done.stderr, done.stderr[-3000:]
    assert "process 1 of 2 wrote 84 shard(s), 672 rows" in done.stderr, done.stderr[-3000:]
    assert read_manifest(out).complete and read_manifest(out).rows == 1347
    assert_same_rows(str(out), reference)
