"""Publishing through the real huggingface_hub client to the loopback Hub (tests/hub_server.py).

Exercised over HTTP: repo creation, the one-commit upload, branches, tags, and loading back by repo id with
`LooCModel.from_pretrained` and `timm.create_model("hf-hub:...")`. NOT exercised: the real Hub's LFS and Xet
upload paths (the loopback answers "regular" uploads, so bytes travel inline in the commit), authentication,
and the Hub's server-side card validation.
"""

import itertools
import json
import shutil
from pathlib import Path

import pytest
import timm
import torch
import yaml
from huggingface_hub import hf_hub_download
from huggingface_hub.errors import EntryNotFoundError, RepositoryNotFoundError, RevisionNotFoundError

from looc_hub import LooCConfig, LooCModel
from looc_hub.eval.record import EvalRecord
from looc_hub.eval.results import EvalResults, ModelInfo, load_results, save_results
from looc_hub.hub.publish import attach_results, publish, validate_model_dir
from looc_hub.training.pretrain_config import PretrainConfig
from looc_hub.training.trained_model import write_trained_model
from tests.models import trained_like

SMALL = LooCConfig(backbone="resnet18", image_size=32, augmentations=("color", "rotation"))
_repo_names = (f"looc-test/publish-{i}" for i in itertools.count())


@pytest.fixture(scope="module")
def images():
    return torch.randn(3, 3, 32, 32, generator=torch.Generator().manual_seed(1))


def _saved(tmp_path_factory, seed: int) -> tuple[LooCModel, Path]:
    model = trained_like(SMALL, seed)
    directory = tmp_path_factory.mktemp(f"seed{seed}") / "model"
    model.save_pretrained(directory)
    return model, directory


@pytest.fixture(scope="module")
def first(tmp_path_factory):
    return _saved(tmp_path_factory, 0)


@pytest.fixture(scope="module")
def second(tmp_path_factory):
    return _saved(tmp_path_factory, 1)


@pytest.fixture
def with_results(first, tmp_path):
    """`first` plus a results file with a heatmap artifact, attached (card regenerated from it)."""
    model, directory = first
    target = tmp_path / "model"
    shutil.copytree(directory, target)
    source = tmp_path / "eval"
    source.mkdir()
    (source / "sensitivity.png").write_bytes(b"\x89PNG\r\n\x1a\n not really an image")
    records = [
        EvalRecord("knn", "looc-hub/digits", "test", "backbone", "top1", 91.5, {"k": 20, "temperature": 0.07}),
        EvalRecord("knn", "looc-hub/digits", "test", "invariant+rotation", "top1", 88.25, {"k": 20}),
        EvalRecord("few_shot", "looc-hub/digits", "test", "rotation", "accuracy", 71.2, {"shots": 5}, ci95=1.3),
    ]
    results = EvalResults(
        ModelInfo.from_model(model, str(directory)), records, {"sensitivity_heatmap": "sensitivity.png"}
    )
    save_results(results, source / "results.json")
    attach_results(target, source / "results.json")
    return model, target, records


def _embeddings(model, images):
    with torch.no_grad():
        return model(images)


def test_publish_then_load_by_repo_id_in_looc_hub_and_timm(loopback_hub, first, images):
    model, directory = first
    repo_id = next(_repo_names)
    result = publish(directory, repo_id, tag="v1.0")
    assert result.commit_oid == loopback_hub.git(repo_id, "rev-parse", "main")
    # one commit on top of the repo's initial .gitattributes commit, holding every file
    assert loopback_hub.git(repo_id, "rev-list", "--count", "main") == "2"
    stored = loopback_hub.git(repo_id, "ls-tree", "--name-only", "main").split()
    assert sorted(stored) == sorted([".gitattributes", *result.files])
    assert not loopback_hub.is_private(repo_id)

    loaded = LooCModel.from_pretrained(repo_id)
    expected, found = _embeddings(model, images), _embeddings(loaded, images)
    for space in model.spaces:
        assert torch.equal(found[space], expected[space]), space
    backbone = timm.create_model(f"hf-hub:{repo_id}", pretrained=True).eval()
    with torch.no_grad():
        assert torch.equal(backbone(images), expected["backbone"])


def test_revision_and_tag_pinning(loopback_hub, first, second, images):
    (model_1, directory_1), (model_2, directory_2) = first, second
    repo_id = next(_repo_names)
    v1 = publish(directory_1, repo_id, tag="v1")
    publish(directory_2, repo_id)
    dev = publish(directory_1, repo_id, revision="dev")
    assert dev.revision == "dev" and loopback_hub.git(repo_id, "rev-parse", "dev") == dev.commit_oid

    expected_1 = model_1.embed(images, space="rotation").detach()
    expected_2 = model_2.embed(images, space="rotation").detach()
    with torch.no_grad():
        assert torch.equal(LooCModel.from_pretrained(repo_id, revision="v1").embed(images, "rotation"), expected_1)
        assert torch.equal(
            LooCModel.from_pretrained(repo_id, revision=v1.commit_oid).embed(images, "rotation"), expected_1
        )
        assert torch.equal(LooCModel.from_pretrained(repo_id, revision="dev").embed(images, "rotation"), expected_1)
        assert torch.equal(LooCModel.from_pretrained(repo_id).embed(images, "rotation"), expected_2)
        pinned = timm.create_model(f"hf-hub:{repo_id}@v1", pretrained=True).eval()
        assert torch.equal(pinned(images), model_1.embed(images, space="backbone"))


def test_missing_repo_revision_or_file_gives_the_hub_error(loopback_hub, first):
    _, directory = first
    repo_id = next(_repo_names)
    publish(directory, repo_id)
    with pytest.raises(RepositoryNotFoundError):
        LooCModel.from_pretrained("looc-test/never-published")
    with pytest.raises(RevisionNotFoundError):
        LooCModel.from_pretrained(repo_id, revision="no-such-branch")
    with pytest.raises(EntryNotFoundError):
        hf_hub_download(repo_id, "results.json")
    with pytest.raises(RepositoryNotFoundError):
        timm.create_model("hf-hub:looc-test/never-published", pretrained=True)


def test_private_flag_reaches_the_hub(loopback_hub, first):
    repo_id = next(_repo_names)
    publish(first[1], repo_id, private=True)
    assert loopback_hub.is_private(repo_id)


def test_results_and_artifacts_travel_and_stale_files_are_deleted_in_the_same_commit(loopback_hub, with_results, first):
    _, directory, records = with_results
    repo_id = next(_repo_names)
    publish(directory, repo_id)
    assert "sensitivity.png" in loopback_hub.git(repo_id, "ls-tree", "--name-only", "main").split()
    card = loopback_hub.api().model_info(repo_id, revision="main").card_data
    assert len(card.eval_results) == len(records)
    assert sorted(r.metric_value for r in card.eval_results) == sorted(r.value for r in records)

    again = publish(first[1], repo_id, stale="delete")  # the same model without results
    assert sorted(again.deleted) == ["results.json", "sensitivity.png"]
    assert loopback_hub.git(repo_id, "rev-list", "--count", "main") == "3"
    assert sorted(loopback_hub.git(repo_id, "ls-tree", "--name-only", "main").split()) == sorted(
        [".gitattributes", *again.files]
    )


def test_a_failed_validation_uploads_nothing(loopback_hub, first, tmp_path):
    _, directory = first
    repo_id = next(_repo_names)
    broken = tmp_path / "broken"
    shutil.copytree(directory, broken)
    config = json.loads((broken / "config.json").read_text())
    config["head_out_dim"] = 64
    (broken / "config.json").write_text(json.dumps(config))
    with pytest.raises(ValueError, match="shape mismatch"):
        publish(broken, repo_id)
    assert not loopback_hub.repo_dir(repo_id).exists()

    publish(directory, repo_id)
    head = loopback_hub.git(repo_id, "rev-parse", "main")
    with pytest.raises(ValueError, match="cannot be published"):
        publish(broken, repo_id)
    assert loopback_hub.git(repo_id, "rev-parse", "main") == head


# Validation alone (no server) ---------------------------------------------------------------------------------


def _copy(directory, tmp_path):
    target = tmp_path / "copy"
    shutil.copytree(directory, target)
    return target


def test_a_valid_directory_lists_exactly_its_files(first, with_results):
    assert validate_model_dir(first[1], LooCModel).files == (
        "README.md",
        "config.json",
        "looc_heads.safetensors",
        "model.safetensors",
    )
    plan = validate_model_dir(with_results[1], LooCModel)
    assert "results.json" in plan.files and "sensitivity.png" in plan.files
    assert "sensitivity.png" in plan.describe()


def test_missing_and_unexpected_files(first, tmp_path):
    target = _copy(first[1], tmp_path)
    (target / "checkpoint.pt").write_bytes(b"\x80\x04pickle")
    with pytest.raises(ValueError, match=r"unexpected file\(s\) \['checkpoint.pt'\]"):
        validate_model_dir(target, LooCModel)
    (target / "model.safetensors").unlink()
    with pytest.raises(ValueError, match="missing model.safetensors"):
        validate_model_dir(target, LooCModel)
    with pytest.raises(ValueError, match="is not a directory"):
        validate_model_dir(tmp_path / "nowhere", LooCModel)


def test_card_metadata_is_checked(first, tmp_path):
    target = _copy(first[1], tmp_path)
    card = (target / "README.md").read_text()
    card = card.replace("library_name: looc-hub", "library_name: timm").replace("- self-supervised\n", "")
    (target / "README.md").write_text(card)
    with pytest.raises(ValueError, match=r"library_name is 'timm'.*lacks tag\(s\) \['self-supervised'\]"):
        validate_model_dir(target, LooCModel)


def test_card_must_hold_exactly_the_results_numbers(with_results, first, tmp_path):
    target = _copy(with_results[1], tmp_path)
    shutil.copyfile(first[1] / "README.md", target / "README.md")  # a card without the model-index
    with pytest.raises(ValueError, match=r"model-index \(0 metric\(s\)\) does not match results.json \(3 record"):
        validate_model_dir(target, LooCModel)


def test_results_file_is_validated_against_schema_model_and_artifacts(with_results, tmp_path):
    target = _copy(with_results[1], tmp_path)
    results = json.loads((target / "results.json").read_text())
    results["model"]["backbone"] = "resnet50"
    results["results"][0]["space"] = "texture"
    (target / "results.json").write_text(json.dumps(results))
    (target / "sensitivity.png").unlink()
    with pytest.raises(ValueError) as error:
        validate_model_dir(target, LooCModel)
    message = str(error.value)
    assert "artifact(s) that are not in the directory: ['sensitivity.png']" in message
    assert "'resnet50'" in message and "space(s) ['texture']" in message

    del results["results"][0]["metric"]
    (target / "results.json").write_text(json.dumps(results))
    with pytest.raises(ValueError, match=r"missing key\(s\) \['results\[0\]\.metric'\]"):
        validate_model_dir(target, LooCModel)


# Cards from records: a training run's recipe and kNN monitor survive attached results and publishing ----------


def test_attaching_results_and_publishing_keep_every_card_section(loopback_hub, tmp_path):
    model = trained_like(SMALL, 0)
    config = PretrainConfig(
        dataset=str(tmp_path / "my-images"), output_dir=str(tmp_path / "run"), num_workers=3, resume="latest"
    )
    knn = {space: {"top1": 50.0 + index, "top5": 90.0} for index, space in enumerate(model.spaces)}
    directory = write_trained_model(model, tmp_path / "run" / "model", config, knn)
    recipe = yaml.safe_load((directory / "recipe.yaml").read_text())
    assert recipe["dataset"] == config.dataset and recipe["crop_scale"] == config.crop_scale
    assert not {"output_dir", "num_workers", "resume", "push_to_hub"} & set(recipe)  # run-local settings
    monitor = load_results(directory / "training_results.json").results
    assert {(r.protocol, r.space, r.metric, r.value) for r in monitor} == {
        ("knn", space, metric, value) for space, row in knn.items() for metric, value in row.items()
    }
    sections = ("## Training recipe", "## Measured during training", "The kNN monitor of pretraining")

    def check_card(text: str) -> None:
        assert all(section in text for section in sections)
        assert str(tmp_path) not in text and "my-images (validation)" in text  # a local dataset by its name
        assert "output_dir" not in text and "num_workers" not in text and "resume:" not in text

    check_card((directory / "README.md").read_text())
    evaluated = tmp_path / "eval"
    evaluated.mkdir()
    record = EvalRecord("linear_probe", "looc-hub/digits", "test", "backbone", "top1", 88.5)
    save_results(EvalResults(ModelInfo.from_model(model, str(directory)), [record]), evaluated / "results.json")
    attach_results(directory, evaluated / "results.json")
    card = (directory / "README.md").read_text()
    check_card(card)
    assert "## Results" in card and "| linear probe | looc-hub/digits (test) | `backbone` | top1 | 88.50 % |" in card
    assert len(validate_model_dir(directory).model.spaces) == len(knn)  # the one-argument public call

    repo_id = next(_repo_names)
    published = publish(directory, repo_id)
    assert {"recipe.yaml", "training_results.json", "results.json"} <= set(published.files)
    uploaded = loopback_hub.git(repo_id, "show", "main:README.md")
    check_card(uploaded)
    assert f'LooCModel.from_pretrained("{repo_id}")' in uploaded and "## Results" in uploaded
    metrics = loopback_hub.api().model_info(repo_id, revision="main").card_data.eval_results
    assert len(metrics) == len(monitor) + 1
    assert sum(m.metric_name.endswith("(training run)") for m in metrics) == len(monitor)
