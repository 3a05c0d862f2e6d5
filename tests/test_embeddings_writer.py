"""`looc-embed` in one process: the rows are `model.embed`'s, the folder reads in `datasets` and pandas, reruns
are no-ops, and a folder of other embeddings or other files is refused."""

from __future__ import annotations

import json

import datasets
import numpy as np
import pytest
import torch

from looc_hub import eval_transform
from looc_hub._atomic import FileExistsNotOursError, atomic_file
from looc_hub.cli import embed
from looc_hub.embeddings import EmbeddingsMismatchError, load_embedding_model, read_manifest
from looc_hub.embeddings.manifest import write_manifest
from tests.embedding_runs import embed_argv, folder_rows
from tests.models import calibrated_model


@pytest.fixture(scope="module")
def model_dirs(tmp_path_factory, digits_train) -> tuple[str, str]:
    """Two saved models with different weights (seeds 0 and 1)."""
    root = tmp_path_factory.mktemp("embed-models")
    for seed in (0, 1):
        calibrated_model(digits_train, seed=seed).save_pretrained(root / f"model{seed}")
    return str(root / "model0"), str(root / "model1")


@pytest.mark.parametrize(("dtype", "tolerance"), [("float32", 1e-5), ("float16", 1e-3)])
def test_a_row_is_model_embed_of_its_image_and_the_folder_reads_in_datasets_and_pandas(
    tmp_path, model_dirs, digits_test, dtype, tolerance, capsys
):
    out = tmp_path / "out"
    summary = embed.embed(
        embed.build_parser().parse_args(
            embed_argv(
                model_dirs[0], out, "--spaces", "invariant,color", "rotation", "--dtype", dtype, "--shard_rows", "100"
            )
        )
    )
    assert (summary.rows, summary.shards, summary.rows_embedded) == (450, 5, 450)
    table = capsys.readouterr().out
    assert "images/s" in table and "shards" in table and "invariant (128), color (128), rotation (128)" in table

    loaded = datasets.load_dataset("parquet", data_dir=str(out))["test"]  # the split's name, the manifest skipped
    assert loaded.column_names == ["id", "path", "label", "invariant", "color", "rotation"]
    rows = folder_rows(out)
    assert rows["id"].tolist() == list(range(450)) == sorted(loaded["id"])
    assert rows["label"].tolist() == digits_test["label"]
    assert rows["path"].isna().all()  # the embedded digits are bytes, no files

    model = load_embedding_model(model_dirs[0])
    picked = [0, 101, 449]
    images = torch.stack([eval_transform(model)(digits_test[i]["image"].convert("RGB")) for i in picked])
    with torch.no_grad():
        for space in ("invariant", "color", "rotation"):
            expected = model.embed(images, space=space).numpy()
            stored = np.stack(rows[space].iloc[picked].to_numpy()).astype(np.float32)
            assert stored.dtype == np.float32 and np.abs(stored - expected).max() <= tolerance, space
    assert np.asarray(loaded[0]["invariant"]).shape == (128,)

    manifest = json.loads((out / "embeddings.json").read_text())
    assert manifest["complete"] and manifest["rows"] == 450 and manifest["dtype"] == dtype
    assert manifest["spaces"] == {"invariant": 128, "color": 128, "rotation": 128}
    assert manifest["dataset"] == {
        "source": "looc-hub/digits",
        "split": "test",
        "image_column": "image",
        "label_column": "label",
        "streaming": False,
    }
    assert manifest["preprocessing"]["input_size"] == [3, 32, 32] and len(manifest["model"]["weights_sha256"]) == 64
    assert [shard["file"] for shard in manifest["shards"]] == [f"data/test-{i:05d}-of-00005.parquet" for i in range(5)]


def test_a_finished_run_is_a_no_op_and_other_embeddings_or_files_are_refused(tmp_path, model_dirs, capsys):
    out = tmp_path / "out"
    argv = embed_argv(model_dirs[0], out, "--spaces", "invariant", "--shard_rows", "200")
    embed.main(argv)
    before = {path: path.stat().st_mtime_ns for path in out.rglob("*")}
    capsys.readouterr()
    embed.main(argv)
    assert "is already complete (450 rows, 3 shards, spaces invariant (128)): nothing to do" in capsys.readouterr().out
    assert {path: path.stat().st_mtime_ns for path in out.rglob("*")} == before

    with pytest.raises(EmbeddingsMismatchError) as refused:  # another model: both named
        embed.main(embed_argv(model_dirs[1], out, "--spaces", "invariant", "--shard_rows", "200"))
    message = str(refused.value)
    assert model_dirs[0] in message and model_dirs[1] in message, message
    assert read_manifest(out).model.weights_sha256[:12] in message and "differing: ['model']" in message
    with pytest.raises(EmbeddingsMismatchError, match=r"looc-hub/digits split 'test'.*split 'train'.*'dataset'"):
        embed.main(embed_argv(model_dirs[0], out, "--spaces", "invariant", "--shard_rows", "200", split="train"))
    assert {path: path.stat().st_mtime_ns for path in out.rglob("*")} == before  # nothing touched

    notes = tmp_path / "notes"
    notes.mkdir()
    (notes / "todo.txt").write_text("mine")
    with pytest.raises(FileExistsNotOursError, match=r"todo\.txt"):
        embed.main(embed_argv(model_dirs[0], notes))
    assert [path.name for path in notes.iterdir()] == ["todo.txt"]


def test_bad_flags_are_refused_naming_the_choices(tmp_path, model_dirs, capsys):
    with pytest.raises(ValueError, match=r"Unknown space\(s\) \['colour'\] \(did you mean 'color'\?\); valid spaces"):
        embed.main(embed_argv(model_dirs[0], tmp_path / "a", "--spaces", "colour"))
    with pytest.raises(SystemExit):
        embed.main(embed_argv(model_dirs[0], tmp_path / "b", "--dtype", "int8"))
    err = capsys.readouterr().err
    assert "argument --dtype: invalid choice: 'int8'" in err and "float32" in err and "float16" in err
    with pytest.raises(ValueError, match="shard_rows must be a positive integer, got 0"):
        embed.main(embed_argv(model_dirs[0], tmp_path / "c", "--shard_rows", "0"))
    assert not (tmp_path / "a").exists() and not (tmp_path / "c").exists()


def test_a_streamed_split_gives_the_same_rows_as_the_map_style_one(tmp_path, model_dirs):
    common = ("--spaces", "color", "--shard_rows", "128")
    embed.main(embed_argv(model_dirs[0], tmp_path / "map", *common))
    embed.main(embed_argv(model_dirs[0], tmp_path / "stream", *common, "--streaming"))
    streamed, mapped = folder_rows(tmp_path / "stream"), folder_rows(tmp_path / "map")
    assert streamed["id"].tolist() == list(range(450))
    assert np.array_equal(np.stack(streamed["color"]), np.stack(mapped["color"]))
    assert read_manifest(tmp_path / "stream").shards[-1] == {
        "file": "data/test-00003-of-00004.parquet",
        "first_id": 384,
        "rows": 66,
    }


def test_a_shard_missing_from_a_run_is_rewritten_bit_for_bit(tmp_path, model_dirs):
    """One loader decodes every shard, in batches that end at each shard's end: a resumed run embeds a shard in the
    same batches as an uninterrupted one (batches across a shard end would shift them, and floats with them)."""
    out = tmp_path / "out"
    argv = embed_argv(model_dirs[0], out, "--spaces", "invariant,color", "--shard_rows", "100", "--batch_size", "64")
    embed.main(argv)
    uninterrupted = folder_rows(out)
    shard = next((out / "data").glob("test-00002-of-*.parquet"))
    shard.unlink()  # the folder of a run killed while it wrote shard 2: no shard, a half-written temporary
    with pytest.raises(InterruptedError), atomic_file(shard) as staging:
        raise InterruptedError
    staging.write_bytes(b"PAR1 half")  # where a kill -9 leaves it, with the name atomic_file gives it
    manifest = read_manifest(out)
    manifest.complete, manifest.rows, manifest.shards = False, None, []
    write_manifest(out, manifest)

    summary = embed.embed(embed.build_parser().parse_args(argv))
    assert (summary.shards_written, summary.rows_embedded, summary.rows) == (1, 100, 450)
    assert not list((out / "data").glob(".*"))  # the temporary is gone
    resumed = folder_rows(out)
    assert resumed["id"].tolist() == list(range(450))
    for space in ("invariant", "color"):
        assert np.array_equal(np.stack(resumed[space]), np.stack(uninterrupted[space])), space
