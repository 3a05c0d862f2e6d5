"""Pretraining through `training/pretrain.py` end to end on the embedded OpenMoji data: learning, export, exact
resume, 2 processes."""

import json
import re
import shutil

import pytest
import timm
import torch
from safetensors.torch import load_file

import looc_hub
from looc_hub import LooCModel, build_dataloader, load_image_dataset
from looc_hub.hub.publish import TRAINED_MODEL_FILES
from looc_hub.objective import LooCObjective
from looc_hub.views import LooCViewGenerator
from tests.pretrain_runs import accelerate_cpu_launcher, logged_losses, run_pretrain, summary


def test_every_zoo_recipe_exists_and_names_its_model():
    from looc_hub.training import PretrainConfig

    for name in looc_hub.list_models():
        entry = looc_hub.get_zoo_entry(name)
        recipe = PretrainConfig.from_file(entry.recipe)
        assert recipe.model == name


def heldout_contrastive_loss(model: LooCModel, batches: list[torch.Tensor]) -> float:
    """The LooC loss on held-out images, negatives = keys of other held-out images, both encoders = `model`.

    The running training loss is no measure of learning over a few dozen steps: the queues start as random
    vectors (easy negatives, MoCo's init), so it rises while they fill with real keys. Here every number is
    computed the same way for any model, with the library's own views and objective.
    """
    objective = LooCObjective(model, queue_size=64, shuffle_bn=False).eval()
    views = LooCViewGenerator.from_config(model.config)
    losses = []
    with torch.no_grad():
        for anchors, others in zip(batches[::2], batches[1::2], strict=True):
            negatives = objective.encode_keys(views(others, generator=torch.Generator().manual_seed(1)).keys)[0]
            objective.queue.keys.copy_(negatives)  # (S, B, D): z_s(k_0) of B other images
            losses.append(objective(views(anchors, generator=torch.Generator().manual_seed(2))).loss.item())
    return sum(losses) / len(losses)


def test_single_process_run_learns_and_exports_a_hub_model(tmp_path):
    done = run_pretrain(
        tmp_path,
        "--max_steps", "60",
        "--batch_size", "32",
        "--base_lr", "0.24",
        "--model_overrides", "{image_size: 32}",
        "--queue_size", "64",
        "--key_momentum", "0.99",
        "--eval_split", "validation",
        "--knn_bank_size", "600",
    )  # fmt: skip
    assert len(logged_losses(tmp_path)) == 60
    run = summary(tmp_path)
    assert run["world_size"] == 1 and run["steps"] == 60 and run["queues_agree"]
    assert set(run["knn"]) == {"backbone", "invariant", "color", "rotation", "concat"}
    assert all(0 <= row["top1"] <= 100 for row in run["knn"].values())
    knn_rows = [
        row for row in map(json.loads, (tmp_path / "logs" / "metrics.jsonl").open()) if "knn/backbone/top1" in row
    ]
    assert knn_rows[-1]["step"] == 60  # the card and summary report the final model
    assert knn_rows[-1]["knn/backbone/top1"] == run["knn"]["backbone"]["top1"]
    assert re.search(r"INFO .*step 60: kNN top-1 backbone: ", done.stderr)  # progress: Accelerate's logger, info
    table = done.stdout[done.stdout.index("pretraining finished") :].splitlines()  # the end-of-run table
    assert "60 steps on 1 process(es)" in table[0]
    rows = {line.split()[0]: line.split()[1:] for line in table if line.split()}
    for space, row in run["knn"].items():
        assert rows[space] == [f"{row['top1']:.1f}", f"{row['top5']:.1f}"]
    assert rows["model:"] == [str(tmp_path / "model")]

    # learning: the held-out contrastive loss fell below that of the run's own initialisation (same seed)
    model = LooCModel.from_pretrained(tmp_path / "model")
    config = model.config
    trained = LooCModel(config)
    trained.load_state_dict(model.state_dict())
    torch.manual_seed(0)  # the run's seed: `create_model` there drew exactly these initial weights
    initial = LooCModel(config)
    validation = load_image_dataset("looc-hub/openmoji", split="validation")
    loader = iter(build_dataloader(validation, batch_size=64, canvas_size=40, seed=0))
    batches = [next(loader)["images"] for _ in range(8)]
    before, after = heldout_contrastive_loss(initial, batches), heldout_contrastive_loss(trained, batches)
    assert after < before - 0.05, f"held-out loss did not fall: {before:.3f} -> {after:.3f}"

    backbone = timm.create_model(f"local-dir:{tmp_path / 'model'}", pretrained=True).eval()
    x = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        assert torch.equal(backbone(x), model.embed(x, space="backbone"))
    card = (tmp_path / "model" / "README.md").read_text()
    assert "kNN monitor" in card and "| `rotation` |" in card and "base_lr: 0.24" in card
    assert (tmp_path / "curves.png").stat().st_size > 10_000  # loss and kNN against the step


def test_resume_continues_exactly(tmp_path):
    straight, resumed = tmp_path / "straight", tmp_path / "resumed"
    run_pretrain(straight, "--max_steps", "6", "--checkpoint_every_steps", "3", "--keep_checkpoints", "3")
    (resumed / "checkpoints").mkdir(parents=True)
    shutil.copytree(straight / "checkpoints" / "step_00000003", resumed / "checkpoints" / "step_00000003")
    run_pretrain(resumed, "--max_steps", "6", "--checkpoint_every_steps", "3", "--resume", "latest")

    expected, got = logged_losses(straight), logged_losses(resumed)
    assert sorted(got) == [4, 5, 6]
    for step in (4, 5, 6):
        assert got[step] == pytest.approx(expected[step], rel=1e-5, abs=1e-6), step
    final_a = load_file(straight / "model" / "model.safetensors")
    final_b = load_file(resumed / "model" / "model.safetensors")
    for key, value in final_a.items():
        torch.testing.assert_close(final_b[key], value, rtol=1e-5, atol=1e-6)
    # checkpoints are named by step, so the resumed run neither restarts at checkpoint_0 nor deletes step 3
    assert sorted(p.name for p in (resumed / "checkpoints").iterdir()) == ["step_00000003", "step_00000006"]


def test_two_processes_on_cpu_through_accelerate_launch(tmp_path):
    run_pretrain(tmp_path, "--max_steps", "4", launcher=accelerate_cpu_launcher(2))
    run = summary(tmp_path)
    assert run["world_size"] == 2
    assert run["queues_agree"]
    assert LooCModel.from_pretrained(tmp_path / "model").config.image_size == 32


def test_resume_without_a_checkpoint_is_a_clear_error(tmp_path):
    with pytest.raises(AssertionError, match="no checkpoint in"):
        run_pretrain(tmp_path, "--max_steps", "2", "--resume", "latest")


def test_push_to_hub_publishes_the_model_to_a_loopback_hub(tmp_path, loopback_hub):
    """A real push over HTTP (tests/hub_server.py; the Hub's LFS/Xet upload paths are not exercised)."""
    hub_env = {"HF_ENDPOINT": loopback_hub.endpoint, "HF_HUB_OFFLINE": "0", "HF_TOKEN": loopback_hub.token}
    run_pretrain(tmp_path, "--max_steps", "2", "--push_to_hub", "looc-test/pretrained-r18", env=hub_env)
    # What the check before training expects the push to upload (repo files beyond it stop the run early).
    assert {p.name for p in (tmp_path / "model").iterdir()} <= set(TRAINED_MODEL_FILES)
    local = LooCModel.from_pretrained(tmp_path / "model")
    pushed = LooCModel.from_pretrained("looc-test/pretrained-r18")
    x = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        assert torch.equal(pushed.embed(x, space="rotation"), local.embed(x, space="rotation"))
    card = loopback_hub.git("looc-test/pretrained-r18", "show", "main:README.md")
    assert 'from_pretrained("looc-test/pretrained-r18")' in card and "\n# pretrained-r18\n" in card


def test_streaming_dataset_run(tmp_path):
    run_pretrain(tmp_path, "--streaming", "--max_steps", "3")  # a boolean flag alone means true
    assert summary(tmp_path)["steps"] == 3
    assert sorted(logged_losses(tmp_path)) == [1, 2, 3]


def test_streaming_needs_max_steps(tmp_path):
    with pytest.raises(AssertionError, match="set --max_steps"):
        run_pretrain(tmp_path, "--streaming", "true")


def test_a_queue_longer_than_half_the_dataset_is_refused_before_training(tmp_path):
    with pytest.raises(AssertionError, match=r"queue_size 4096 is too long for a training set of \d+ images"):
        run_pretrain(tmp_path, "--max_steps", "2", "--model_overrides", "{image_size: 32}", "--queue_size", "4096")
    assert not (tmp_path / "checkpoints").exists() and not (tmp_path / "model").exists()
