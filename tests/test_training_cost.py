"""Training cost records: the card's "Training cost" section and the zoo table are rendered from them, a measurement
replaces the projections, and a malformed record is refused naming the field."""

import json
import shutil
from pathlib import Path

import pytest

from looc_hub import LooCConfig, LooCModel, get_zoo_entry, list_models, validate_model_dir
from looc_hub.hub.card import write_folder_card
from looc_hub.hub.records import COST_NAME, read_records
from looc_hub.hub.training_cost import CostEstimate, TrainingCost, load_training_cost, save_training_cost
from tests.scripts import load_script

REPO = Path(__file__).resolve().parents[1]
SMALL = LooCConfig(backbone="resnet18", image_size=32, augmentations=("color", "rotation"))
IN100 = [name for name in list_models() if ".in100" in name]


def _estimate(kind: str, images_per_s: float, gpu: str = "A100 SXM") -> CostEstimate:
    return CostEstimate(
        gpu=gpu,
        kind=kind,
        images_per_s=images_per_s,
        epochs=500,
        train_images=126_689,
        basis=(f"{kind} basis sentence on {gpu}",),
        step_gflops_per_image=49.0,
        achieved_fraction_of_peak=0.19,
        source="scripts/cost_table.py",
    )


def _card(folder: Path) -> str:
    write_folder_card(folder, LooCModel.from_pretrained(folder))
    return (folder / "README.md").read_text()


def test_a_folder_cost_record_becomes_the_cards_training_cost_section(tmp_path):
    LooCModel(SMALL).save_pretrained(tmp_path)
    assert "## Training cost" not in (tmp_path / "README.md").read_text()

    projected = _estimate("projected", 1234.4)
    save_training_cost(TrainingCost((projected,)), tmp_path / COST_NAME)
    assert read_records(tmp_path).cost == TrainingCost((projected,))
    card = _card(tmp_path)
    hours = 500 * 126_689 / 1234.4 / 3600
    assert "## Training cost" in card and "projected (not measured yet" in card
    assert f"| A100 SXM | 1,234 | 500 x 126,689 | {hours:.1f} | {hours / 8:.1f} | 49.0 | 19.0% | projected |" in card
    assert "- projected basis sentence on A100 SXM" in card


def test_a_folder_with_its_cost_record_passes_publish_validation(tmp_path):
    """The record is one of the folder's own records: publishing it is allowed, not an unexpected file."""
    LooCModel(SMALL).save_pretrained(tmp_path)
    save_training_cost(TrainingCost((_estimate("measured", 900.0),)), tmp_path / COST_NAME)
    _card(tmp_path)
    validate_model_dir(tmp_path)


def test_a_measurement_replaces_every_projection_on_the_card(tmp_path):
    LooCModel(SMALL).save_pretrained(tmp_path)
    cost = TrainingCost((_estimate("projected", 1234.4), _estimate("projected", 2000.0, gpu="H100 SXM")))
    measured = cost.with_estimate(_estimate("measured", 1800.0, gpu="H100 SXM"))
    save_training_cost(measured, tmp_path / COST_NAME)
    card = _card(tmp_path)
    assert "| H100 SXM | 1,800 |" in card and "- measured basis sentence on H100 SXM" in card
    assert "1,234" not in card and "2,000" not in card and "projected basis" not in card
    assert "one GPU, measured;" in card and "| projected |" not in card


def test_a_new_estimate_replaces_only_the_same_gpu_and_kind():
    first, other_gpu = _estimate("projected", 1000.0), _estimate("projected", 3000.0, gpu="H100 SXM")
    cost = TrainingCost((first, other_gpu)).with_estimate(_estimate("projected", 1100.0))
    assert [(e.gpu, e.images_per_s) for e in cost.estimates] == [("H100 SXM", 3000.0), ("A100 SXM", 1100.0)]
    assert cost.shown_estimates() == cost.estimates
    assert TrainingCost.from_dict(json.loads(json.dumps(cost.to_dict()))) == cost


@pytest.mark.parametrize(
    ("change", "named"),
    [
        ({"kind": "guessed"}, "kind must be one of ['measured', 'projected'], got 'guessed'"),
        ({"images_per_s": 0}, "estimates[0].images_per_s must be a finite number > 0, got 0"),
        ({"epochs": "500"}, "estimates[0].epochs has the wrong type: '500'"),
        ({"basis": "one string"}, "estimates[0].basis must be a list of sentences"),
        ({"gpu_hours": 3}, "unknown ['estimates[0].gpu_hours']"),
    ],
)
def test_a_malformed_record_is_refused_naming_file_and_field(tmp_path, change, named):
    data = {"estimates": [{**_estimate("projected", 1000.0).to_dict(), **change}]}
    (tmp_path / COST_NAME).write_text(json.dumps(data))
    with pytest.raises(ValueError, match="not a valid training cost record") as error:
        read_records(tmp_path)
    assert str(tmp_path / COST_NAME) in str(error.value) and named in str(error.value)


def test_every_imagenet100_card_and_the_zoo_table_show_its_recorded_cost():
    assert IN100  # every ImageNet-100 entry must have a cost record: loading a missing one fails
    table = (REPO / "docs" / "zoo.md").read_text()
    for name in IN100:
        cost = load_training_cost(REPO / "model_cards" / "results" / f"{name}.training_cost.json")
        card = (REPO / "model_cards" / f"{name}.md").read_text()
        assert "## Training cost" in card
        for estimate in cost.shown_estimates():
            assert (
                f"| {estimate.gpu} | {estimate.images_per_s:,.0f} | 500 x 126,689 | {estimate.gpu_hours:.1f} |" in card
            )
            assert f"| [`{name}`](../model_cards/{name}.md) | {estimate.gpu} | {estimate.images_per_s:,.0f} " in table
            assert any("FLOPs per image" in sentence for sentence in estimate.basis)
            assert estimate.kind == "measured" or any("fraction" in sentence for sentence in estimate.basis)
    assert "## Training cost" not in (REPO / "model_cards" / "looc_resnet10t.openmoji32.md").read_text()


def test_make_cards_shows_a_zoo_measurement_instead_of_its_projection(tmp_path, monkeypatch):
    make_cards, cost_table = load_script("make_cards"), load_script("cost_table")
    name = "looc_resnet50.in100"
    shutil.copy(REPO / "model_cards" / "results" / f"{name}.training_cost.json", tmp_path)
    monkeypatch.setattr(make_cards, "RESULTS", tmp_path)
    projected = load_training_cost(tmp_path / f"{name}.training_cost.json").estimates[0]
    before = make_cards.render_card(get_zoo_entry(name))
    assert f"| {projected.gpu} | {projected.images_per_s:,.0f} |" in before

    cost_table.record_estimates({name: _estimate("measured", 777.0, gpu="H100 SXM")}, tmp_path)
    recorded = load_training_cost(tmp_path / f"{name}.training_cost.json")
    assert [e.kind for e in recorded.estimates] == ["projected", "measured"]  # the projection is kept in the record
    after = make_cards.render_card(get_zoo_entry(name))
    assert "| H100 SXM | 777 |" in after and f"| {projected.images_per_s:,.0f} |" not in after
    table = "\n".join(make_cards._cost_section())
    assert f"| [`{name}`](../model_cards/{name}.md) | H100 SXM | 777 |" in table
