"""`EmbeddingIndex` and `looc-search`: weighted search is the weighted sum of per-space cosines, FAISS agrees with
the exact search, image queries embed like the rows, the sheet is drawn, and bad input gets clear errors."""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from looc_hub import EmbeddingIndex, eval_transform
from looc_hub.cli import embed, search
from looc_hub.embeddings import (
    EmbeddingsMismatchError,
    PartialEmbeddingsError,
    faiss_available,
    load_embedding_model,
)
from looc_hub.embeddings.search import ExactSearch, FaissSearch
from looc_hub.eval.similarity_search import top_k_inner_product
from tests.embedding_runs import embed_argv, folder_rows
from tests.models import calibrated_model

SPACES = ("invariant", "color", "rotation")


@pytest.fixture(scope="module")
def folder(tmp_path_factory, digits_train) -> str:
    """The digits test split embedded (float32) in three spaces."""
    root = tmp_path_factory.mktemp("search")
    calibrated_model(digits_train).save_pretrained(root / "model")
    calibrated_model(digits_train, seed=1).save_pretrained(root / "other-model")
    embed.main(embed_argv(root / "model", root / "out", "--spaces", ",".join(SPACES), "--shard_rows", "100"))
    return str(root / "out")


def unit(rows) -> np.ndarray:
    matrix = np.stack(rows).astype(np.float64)
    return matrix / np.linalg.norm(matrix, axis=1, keepdims=True)


@pytest.mark.parametrize(
    "weights", [{"invariant": 1.0, "color": -0.5}, {"color": 1.0}, {"invariant": 0.3, "color": 0.2, "rotation": 2.0}]
)
def test_weighted_search_is_the_weighted_sum_of_per_space_cosines(folder, weights):
    index = EmbeddingIndex.load(folder)
    rows = folder_rows(folder)
    queries = [0, 77, 449]
    found = index.search(queries, weights, k=10)
    for position, query in enumerate(queries):
        scores = sum(weight * unit(rows[space]) @ unit(rows[space])[query] for space, weight in weights.items())
        scores[query] = -np.inf  # a row is not its own neighbour
        best = np.argsort(-scores, kind="stable")[:10]
        assert found.ids[position].tolist() == best.tolist()
        assert np.allclose(found.scores[position].numpy(), scores[best], atol=1e-5)
        assert found.labels[position] == rows["label"].iloc[best].tolist()
    assert found.weights == weights


def test_an_image_query_is_embedded_like_the_rows_and_finds_its_own_row(folder, digits_test):
    index = EmbeddingIndex.load(folder)
    image = digits_test[123]["image"]
    found = index.search(image, {"invariant": 1.0, "rotation": 1.0}, k=3)
    assert found.ids[0, 0].item() == 123 and math.isclose(found.scores[0, 0].item(), 2.0, abs_tol=1e-5)
    tensor = eval_transform(index.model())(image.convert("RGB"))  # (3, S, S), as the card's snippet makes it
    by_tensor = index.search(tensor, {"color": 1.0}, k=5)
    assert by_tensor.ids[0, 0].item() == 123
    assert by_tensor.ids[0, 1:].tolist() == index.search(123, {"color": 1.0}, k=4).ids[0].tolist()


def test_faiss_and_the_exact_search_return_the_same_top_k(folder):
    assert faiss_available()  # the faiss extra is part of the dev install
    exact, fast = EmbeddingIndex.load(folder), EmbeddingIndex.load(folder, backend="faiss")
    for weights in ({"invariant": 1.0}, {"invariant": 1.0, "color": -0.5}, {"rotation": 0.5, "color": 1.0}):
        mine, theirs = (
            exact.search(list(range(0, 450, 9)), weights, k=10),
            fast.search(list(range(0, 450, 9)), weights, k=10),
        )
        assert torch.equal(mine.ids, theirs.ids), weights
        assert torch.allclose(mine.scores, theirs.scores, atol=1e-5)
    generator = torch.Generator().manual_seed(0)
    gallery = torch.nn.functional.normalize(torch.randn(20_000, 64, generator=generator), dim=1)
    queries = torch.nn.functional.normalize(torch.randn(50, 64, generator=generator), dim=1)
    exact_scores, exact_ids = ExactSearch(gallery, chunk_rows=3_000).search(queries, 20)  # several chunks merged
    faiss_scores, faiss_ids = FaissSearch(gallery).search(queries, 20)
    assert torch.equal(exact_ids, faiss_ids) and torch.allclose(exact_scores, faiss_scores, atol=1e-5)
    whole = (queries @ gallery.T).topk(20, dim=1)
    assert torch.equal(exact_ids, whole.indices)


def test_chunked_search_keeps_the_lower_index_first_among_equal_scores():
    gallery = torch.tensor([[1.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 0.0]])
    scores, ids = top_k_inner_product(gallery, torch.tensor([[1.0, 0.0]]), 3, chunk_rows=1)
    assert ids.tolist() == [[0, 2, 3]] and scores.tolist() == [[1.0, 1.0, 1.0]]


def test_looc_search_prints_a_table_per_query_and_weighting_and_draws_the_sheet(folder, tmp_path, capsys):
    sheet = tmp_path / "sheet.png"
    argv = ["--index", folder, "--query", "5", "17", "--weights", "invariant", "invariant=1,color=-0.5", "--k", "4"]
    found = search.search(search.build_parser().parse_args([*argv, "--sheet", str(sheet)]))
    printed = capsys.readouterr().out
    assert set(found) == {(q, w) for q in ("5", "17") for w in ("invariant=1", "invariant=1,color=-0.5")}
    assert "query 17, weights invariant=1,color=-0.5:" in printed and printed.count("rank") == 4
    assert sheet.read_bytes()[:4] == b"\x89PNG" and f"sheet: {sheet}" in printed
    assert found[("5", "invariant=1")].ids.shape == (1, 4)


@pytest.mark.parametrize("spelled", [["5", "17"], ["[5, 17]"]])
def test_row_id_queries_read_alike_as_separate_values_or_one_yaml_list(folder, spelled):
    args = search.build_parser().parse_args(["--index", folder, "--query", *spelled, "--weights", "invariant"])
    assert set(search.search(args)) == {("5", "invariant=1"), ("17", "invariant=1")}


def test_bad_queries_and_weightings_are_clear_errors(folder, tmp_path):
    index = EmbeddingIndex.load(folder)
    with pytest.raises(
        ValueError, match=r"Unknown space\(s\) \['colour'\].*spaces of this index: \['invariant', 'color', 'rotation'\]"
    ):
        index.search(0, {"colour": 1.0})
    for bad in (math.nan, math.inf, -math.inf):
        with pytest.raises(ValueError, match=r"weight of space 'color' must be a finite number"):
            index.search(0, {"invariant": 1.0, "color": bad})
    with pytest.raises(ValueError, match="Every weight of .* is zero"):
        index.search(0, {"invariant": 0.0, "color": 0.0})
    with pytest.raises(ValueError, match=r"Row id\(s\) \[450\] are not in this index \(ids 0 to 449\)"):
        index.search(450, {"invariant": 1.0})
    with pytest.raises(ValueError, match=r"k must be in \[1, 449\]"):
        index.search(0, {"invariant": 1.0}, k=450)
    with pytest.raises(FileNotFoundError, match="Query image .* does not exist"):
        index.search(tmp_path / "missing.png", {"invariant": 1.0})
    with pytest.raises(ValueError, match=r"Unknown space\(s\) \['texture'\]"):
        EmbeddingIndex.load(folder, spaces=["texture"])
    with pytest.raises(ValueError, match="Unknown search backend 'annoy'; choices: \\['exact', 'faiss'\\]"):
        EmbeddingIndex.load(folder, backend="annoy")


def test_a_query_model_other_than_the_manifests_is_refused_naming_both(folder):
    other = load_embedding_model(str(folder).replace("/out", "/other-model"))
    with pytest.raises(
        EmbeddingsMismatchError, match=r"query model's weights .* not those the index was embedded"
    ) as refused:
        EmbeddingIndex.load(folder, model=other)
    manifest = json.loads((Path(folder) / "embeddings.json").read_text())
    assert manifest["model"]["weights_sha256"][:12] in str(refused.value) and manifest["model"]["source"] in str(
        refused.value
    )


def test_a_missing_or_partial_folder_is_refused(folder, tmp_path):
    with pytest.raises(FileNotFoundError, match="No embeddings folder .*nowhere: write one with looc-embed"):
        EmbeddingIndex.load(tmp_path / "nowhere")
    (tmp_path / "plain").mkdir()
    with pytest.raises(FileNotFoundError, match="has no embeddings.json: it is not a looc-embed output folder"):
        EmbeddingIndex.load(tmp_path / "plain")
    damaged = shutil.copytree(folder, tmp_path / "damaged")
    (damaged / "data" / "test-00002-of-00005.parquet").unlink()
    with pytest.raises(PartialEmbeddingsError, match="lacks shard data/test-00002-of-00005.parquet"):
        EmbeddingIndex.load(damaged)
