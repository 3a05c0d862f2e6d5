"""Cards are generated: the zoo cards and table are up to date, and results files drive model-index and tables."""

import re
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from huggingface_hub import CommitOperationAdd, HfApi, ModelCard

from looc_hub import LooCConfig, LooCModel, create_model
from looc_hub.data.embedded import EMBEDDED_DATASET_NAMES
from looc_hub.eval.record import EvalRecord
from looc_hub.eval.results import EvalResults, ModelInfo
from looc_hub.hub.card import EMBEDDED_DATASET_SOURCES, build_model_card, model_statistics
from looc_hub.hub.records import ModelRecords

REPO = Path(__file__).resolve().parents[1]
SMALL = LooCConfig(backbone="resnet18", image_size=32, augmentations=("color", "rotation"))


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
    classifier = {"feature": ["backbone"], "num_classes": 10, "base_model": "org/base"}
    card = build_model_card(model, repo_id="org/name", records=ModelRecords(evaluation=results, classifier=classifier))
    card.save(tmp_path / "README.md")
    parsed = ModelCard.load(tmp_path / "README.md").data
    assert sorted((r.metric_name, r.metric_value) for r in parsed.eval_results) == sorted(
        (f"{'kNN' if r.protocol == 'knn' else 'few-shot'} {r.metric}, space {r.space}", r.value) for r in records
    )
    assert parsed.base_model == "org/base"
    assert "- **Fine-tuned from:** [org/base](https://huggingface.co/org/base)" in str(card)
    text = str(card)
    assert "| few-shot | looc-hub/digits (test) | `invariant+color` | accuracy | 71.20 ± 1.30 % | shots=5 |" in text
    assert "![sensitivity heatmap](plots/sens.png)" in text
    assert 'timm.create_model("hf-hub:org/name", pretrained=True, num_classes=10)' in text


def test_a_zoo_card_gives_each_number_its_spread_over_the_recipes_seeds():
    """Seed k's results answer a number when they measure the same quantity (the run's own seed and the penalty a
    probe chose aside); the card's value and model-index stay these weights' own."""
    with torch.device("meta"):
        model = LooCModel(SMALL)

    def results(seed: int, probe: float, knn: float | None) -> EvalResults:
        records = [
            EvalRecord(
                "linear_probe", "looc-hub/digits", "test", "backbone", "top1", probe, {"weight_decay": seed}, 1.0
            ),
            EvalRecord("sensitivity", "looc-hub/digits", "test", "color", "rotation", 0.2 + seed / 10, {"seed": seed}),
        ]
        if knn is not None:
            records.append(EvalRecord("knn", "looc-hub/digits", "test", "backbone", "top1", knn, {"k": 20}, 1.0))
        return EvalResults(ModelInfo.from_model(model, "x"), records)

    card = build_model_card(
        model,
        records=ModelRecords(evaluation=results(0, 80.0, 70.0)),
        seed_results=[results(1, 81.0, None), results(2, 82.0, None)],
    )
    text = str(card)
    assert "| value | over seeds | settings |" in text and "trained with 3 seeds" in text
    assert "| linear probe | looc-hub/digits (test) | `backbone` | top1 | 80.00 ± 1.00 % | 81.00 ± 1.00 % (3) |" in text
    assert "| `color` | rotation | 0.20 | 0.30 ± 0.10 (3) | seed=0 |" in text
    assert "| `backbone` | top1 | 70.00 ± 1.00 % | - | k=20 |" in text  # measured on seed 0 only
    assert sorted(r.metric_value for r in card.data.eval_results) == [0.2, 70.0, 80.0]  # the weights' own numbers
    without = str(build_model_card(model, records=ModelRecords(evaluation=results(0, 80.0, 70.0))))
    assert "over seeds" not in without and "| top1 | 80.00 ± 1.00 % | weight_decay=0 |" in without


def test_a_card_without_results_has_no_model_index_or_heatmap():
    with torch.device("meta"):
        model = LooCModel(SMALL)
    text = str(build_model_card(model, repo_id="org/name"))
    assert "model-index" not in text and "sensitivity heatmap" not in text and "| protocol |" not in text
    assert "## Results\n\nNot measured yet" in text
    assert "arXiv 2008.05659" in text and "## Paper choices and ours" in text


def test_title_and_snippets_name_the_model_never_the_folder(tmp_path):
    zoo_model = create_model("looc_resnet10t.openmoji32")
    zoo_model.save_pretrained(tmp_path / "model")
    card = ModelCard.load(tmp_path / "model" / "README.md")
    assert card.data.model_name == "looc_resnet10t.openmoji32" and "\n# looc_resnet10t.openmoji32\n" in card.text
    assert 'from_pretrained("looc-hub/looc_resnet10t.openmoji32")' in card.text
    with torch.device("meta"):
        plain = LooCModel(SMALL)
    text = str(build_model_card(plain))
    assert "# looc_resnet18\n" in text and '"hf-hub:your-org/looc_resnet18"' in text and "# model" not in text
    named = ModelCard(str(build_model_card(plain, repo_id="org/looc-r18-digits")))
    assert named.data.model_name == "looc-r18-digits" and '"hf-hub:org/looc-r18-digits"' in named.text


def test_push_to_hub_card_shows_the_real_repo_id(loopback_hub, tmp_path):
    model = LooCModel(SMALL.replace(backbone="resnet10t"))
    model.push_to_hub("looc-test/pushed-card")
    card = loopback_hub.git("looc-test/pushed-card", "show", "main:README.md")
    assert 'LooCModel.from_pretrained("looc-test/pushed-card")' in card and "path/to/model" not in card
    assert "\n# pushed-card\n" in card


class _LeavesNotes(LooCModel):
    """A subclass whose save leaves a file a published repo may not hold: what validation must stop."""

    def _save_pretrained(self, save_directory: Path) -> None:
        super()._save_pretrained(save_directory)
        (save_directory / "notes.txt").write_text("not for the Hub")


def test_push_to_hub_validates_as_publish_does_before_writing_anything(loopback_hub):
    model = _LeavesNotes(SMALL.replace(backbone="resnet10t"))
    with pytest.raises(ValueError, match=r"unexpected file\(s\) \['notes.txt'\]"):
        model.push_to_hub("looc-test/with-notes")
    assert not HfApi().repo_exists("looc-test/with-notes")  # refused before the repo was created
    with pytest.raises(ValueError, match=r"\['allow_patterns'\] are not supported"):
        model.push_to_hub("looc-test/with-notes", allow_patterns=["*.json"])


def test_push_to_hub_is_publishings_upload_one_commit_with_its_stale_policy(loopback_hub):
    model = LooCModel(SMALL.replace(backbone="resnet10t"))
    model.push_to_hub("looc-test/pushed-twice")
    extra = [CommitOperationAdd("LICENSE", b"MIT")]
    loopback_hub.api().create_commit("looc-test/pushed-twice", operations=extra, commit_message="add a license")
    head = loopback_hub.git("looc-test/pushed-twice", "rev-parse", "main")
    with pytest.raises(ValueError, match=r"\['LICENSE'\].*Nothing was uploaded"):
        model.push_to_hub("looc-test/pushed-twice")
    assert loopback_hub.git("looc-test/pushed-twice", "rev-parse", "main") == head
    LooCModel(SMALL.replace(backbone="resnet10t")).push_to_hub("looc-test/pushed-twice", stale="keep")  # new weights
    parent = loopback_hub.git("looc-test/pushed-twice", "rev-parse", "main~1")
    assert parent == head  # one commit on top of the one it read
    assert "LICENSE" in loopback_hub.git("looc-test/pushed-twice", "ls-tree", "--name-only", "main").split()


def test_metadata_uses_standard_metric_types_datasets_and_hub_links():
    with torch.device("meta"):
        model = LooCModel(SMALL)
    records = [
        EvalRecord("linear_probe", "ylecun/mnist", "test", "backbone", "top1", 91.5, {}),
        EvalRecord("knn", "/data/local-folder", "test", "backbone", "top5", 99.0, {"k": 20}),
        EvalRecord("knn", "looc-hub/digits", "test", "backbone", "top1", 93.0, {"k": 20}),
    ]
    results = EvalResults(ModelInfo.from_model(model, "x"), records, {})
    classifier = {"feature": ["invariant"], "num_classes": 10, "base_model": "/tmp/base"}
    records = ModelRecords(evaluation=results, classifier=classifier)
    card = ModelCard(str(build_model_card(model, repo_id="org/name", records=records)))
    assert sorted(r.metric_type for r in card.data.eval_results) == ["accuracy", "accuracy", "top_5_accuracy"]
    assert {r.metric_name for r in card.data.eval_results} == {
        "linear probe top1, space backbone",
        "kNN top5, space backbone",
        "kNN top1, space backbone",
    }
    # Hub datasets as they are, embedded sets by what they are, no local folder
    assert card.data.datasets == ["ylecun/mnist", "uci-optdigits"]
    assert card.data.base_model is None  # a local path would render as a broken Hub link
    assert "/tmp/" not in str(card) and "/data/local-folder" not in str(card)
    assert "- **Fine-tuned from:** `base`" in str(card) and "local-folder (test)" in str(card)


def test_every_embedded_dataset_is_named_by_what_it_is():
    assert set(EMBEDDED_DATASET_SOURCES) == set(EMBEDDED_DATASET_NAMES)


def test_model_statistics_match_timms_resnet50():
    with torch.device("meta"):
        model = LooCModel(LooCConfig(backbone="resnet50"))
    stats = model_statistics(model)
    # timm's resnet50 card: 25.6 M params with its 2.0 M classifier, 4.1 GMACs, 11.1 M activations at 224 px
    assert stats["backbone params (M)"] == "23.5" and stats["activations (M)"] == "11.11"
    assert abs(float(stats["GMACs"]) - 4.11) < 0.05  # torch's counter skips what fvcore adds (pooling, BN)
    assert stats["image size"] == "224 x 224"
    text = str(build_model_card(model, repo_id="org/name"))
    assert f"  - GMACs: {stats['GMACs']}\n" in text and "- **Model Type:** Image feature backbone" in text


def test_zoo_cards_link_nothing_relative():
    for card in (REPO / "model_cards").glob("*.md"):
        text = card.read_text()
        assert "](../" not in text and "image.jpg" not in text, card.name


def test_the_feature_map_snippet_runs_on_a_saved_model(tmp_path):
    model = LooCModel(SMALL)
    model.save_pretrained(tmp_path / "model")
    text = ModelCard.load(tmp_path / "model" / "README.md").text
    snippet = next(c for c in re.findall(r"```python\n(.*?)```", text, flags=re.S) if "features_only" in c)
    namespace: dict = {}
    exec(snippet.replace('"hf-hub:your-org/looc_resnet18"', repr(f"local-dir:{tmp_path / 'model'}")), namespace)
    shapes = [tuple(f.shape) for f in namespace["feature_maps"]]
    assert len(shapes) == 5 and shapes[-1] == (1, 512, 1, 1)  # resnet18's stages at 32 px
    with torch.no_grad():  # the deepest map is the backbone the model embeds
        pooled = namespace["backbone"](torch.ones(1, 3, 32, 32))[-1].mean(dim=(2, 3))
        assert torch.allclose(pooled, model.eval().embed(torch.ones(1, 3, 32, 32), space="backbone"), atol=1e-5)
