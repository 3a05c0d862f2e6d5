"""Cards are generated: the zoo cards and table are up to date, and results files drive model-index and tables."""

import subprocess
import sys
from pathlib import Path

import torch
from huggingface_hub import ModelCard

from looc_hub import LooCConfig, LooCModel
from looc_hub.card import build_model_card
from looc_hub.eval.results import EvalRecord, EvalResults, ModelInfo

REPO = Path(__file__).resolve().parents[1]
SMALL = LooCConfig(backbone="resnet18", image_size=32, augmentations=("color", "rotation"), queue_size=64)


def test_zoo_cards_and_table_are_up_to_date():
    done = subprocess.run(
        [sys.executable, "scripts/make_cards.py", "--check"], cwd=REPO, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr
    table = (REPO / "docs" / "zoo.md").read_text()
    for card in (REPO / "model_cards").glob("*.md"):
        assert f"(../model_cards/{card.name})" in table


def test_results_become_model_index_table_and_heatmap(tmp_path):
    with torch.device("meta"):
        model = LooCModel(SMALL)
    records = [
        EvalRecord("knn", "looc-hub/digits", "test", "backbone", "top1", 91.5, {"k": 20}),
        EvalRecord("knn", "looc-hub/digits", "test", "rotation", "top1", 40.0, {"k": 20}),
        EvalRecord("few_shot", "looc-hub/digits", "test", "invariant+color", "accuracy", 71.2, {"shots": 5}, 1.3),
    ]
    results = EvalResults(ModelInfo.from_model(model, "x"), records, {"sensitivity_heatmap": "plots/sens.png"})
    card = build_model_card(model, repo_id="org/name", eval_results=results, base_model="org/base")
    card.save(tmp_path / "README.md")
    parsed = ModelCard.load(tmp_path / "README.md").data
    assert sorted((r.metric_name, r.metric_value) for r in parsed.eval_results) == sorted(
        (f"{'kNN' if r.protocol == 'knn' else 'few-shot'} {r.metric}, space {r.space}", r.value) for r in records
    )
    assert parsed.base_model == "org/base"
    text = str(card)
    assert "| few-shot | looc-hub/digits (test) | `invariant+color` | accuracy | 71.20 ± 1.30 % | shots=5 |" in text
    assert "![sensitivity heatmap](plots/sens.png)" in text
    assert 'timm.create_model("hf-hub:org/name", pretrained=True, num_classes=10)' in text


def test_a_card_without_results_has_no_model_index_or_heatmap():
    with torch.device("meta"):
        model = LooCModel(SMALL)
    text = str(build_model_card(model, repo_id="org/name"))
    assert "model-index" not in text and "sensitivity heatmap" not in text and "## Results" not in text
    assert "arXiv 2008.05659" in text and "## Paper choices and ours" in text
