"""LooCObjective around a real LooCModel (timm's small `test_resnet`, 32 px), on one process."""

import copy

import pytest
import torch
from safetensors.torch import load_file, save_file

from looc_hub import LooCConfig, LooCModel
from looc_hub.objective import LooCLoss, LooCObjective
from looc_hub.views import LooCViews

BATCH = 4
QUEUE = 12


def make_objective(seed: int = 0, bn_groups: int = 1, momentum: float = 0.999, **overrides) -> LooCObjective:
    """Plain BatchNorm over the whole batch (bn_groups 1): these tests check the loss and queues around it."""
    torch.manual_seed(seed)
    settings = {"backbone": "test_resnet", "augmentations": ("color", "rotation"), "head_out_dim": 16, "image_size": 32}
    model = LooCModel(LooCConfig(**settings | overrides))
    return LooCObjective(model, queue_size=QUEUE, momentum=momentum, bn_groups=bn_groups)


def make_views(num_keys: int = 3, seed: int = 0) -> LooCViews:
    generator = torch.Generator().manual_seed(seed)
    return LooCViews(
        query=torch.randn(BATCH, 3, 32, 32, generator=generator),
        keys=torch.randn(num_keys, BATCH, 3, 32, 32, generator=generator),
    )


def gradient_norm(module: torch.nn.Module) -> float:
    return sum(p.grad.norm().item() for p in module.parameters() if p.grad is not None)


def test_forward_is_the_loss_of_query_keys_and_the_queue_before_enqueue():
    objective = make_objective()
    views = make_views()
    queue_before = objective.queue.keys.clone()
    output = objective(views, return_logits=True)

    expected = LooCLoss(0.2)(
        objective.query_encoder.forward_projections(views.query),
        objective.encode_keys(views.keys),
        queue_before,
        return_logits=True,
    )
    assert list(output.space_losses) == ["invariant", "color", "rotation"]
    torch.testing.assert_close(output.loss, expected.loss)
    torch.testing.assert_close(torch.stack(list(output.space_losses.values())), expected.space_losses)
    for space, logits in zip(output.logits.values(), expected.logits, strict=True):
        torch.testing.assert_close(space, logits)
    assert all(labels.eq(0).all() for labels in output.labels.values())


def test_each_queue_receives_its_space_positive_key():
    objective = make_objective()
    views = make_views()
    objective(views)
    keys = objective.encode_keys(views.keys)  # (V, S, B, D); train-mode BN: same batch, same statistics
    assert objective.queue.pointer.item() == BATCH
    for space in range(3):
        torch.testing.assert_close(objective.queue.keys[space, :BATCH], keys[space, space])
    assert not torch.equal(objective.queue.keys[0, :BATCH], keys[1, 0])  # not another key's projection


def test_all_keys_go_through_the_key_encoder_in_one_batched_forward():
    objective = make_objective()
    batches = {"query": [], "key": []}
    objective.query_encoder.backbone.register_forward_hook(lambda m, i, o: batches["query"].append(len(i[0])))
    objective.key_encoder.backbone.register_forward_hook(lambda m, i, o: batches["key"].append(len(i[0])))
    objective(make_views())
    assert batches == {"query": [BATCH], "key": [3 * BATCH]}


def test_gradients_reach_only_the_query_encoder():
    objective = make_objective()
    objective(make_views()).loss.backward()
    for name, parameter in objective.query_encoder.named_parameters():
        assert parameter.grad is not None, f"no gradient for {name}"
    # timm zero-initialises each residual branch's last BN scale, so some gradients are exactly 0 at step 0
    for part in (objective.query_encoder.backbone, *objective.query_encoder.heads.values()):
        assert gradient_norm(part) > 0
    for name, parameter in objective.key_encoder.named_parameters():
        assert not parameter.requires_grad and parameter.grad is None, f"key encoder {name} got a gradient"
    assert not objective.queue.keys.requires_grad


def test_eval_mode_computes_the_loss_without_touching_the_queue():
    objective = make_objective().eval()
    queue_before = objective.queue.keys.clone()
    output = objective(make_views())
    assert torch.isfinite(output.loss)
    assert torch.equal(objective.queue.keys, queue_before) and objective.queue.pointer.item() == 0


def test_momentum_update_defaults_to_the_momentum_given():
    objective = make_objective(momentum=0.5)
    optimizer = torch.optim.SGD(objective.query_encoder.parameters(), lr=1.0)
    objective(make_views()).loss.backward()
    optimizer.step()
    query = copy.deepcopy(objective.query_encoder.state_dict())
    key = copy.deepcopy(objective.key_encoder.state_dict())
    objective.momentum_update()
    names = [name for name, _ in objective.key_encoder.named_parameters()]
    moved = [name for name in names if not torch.equal(query[name], key[name])]
    assert moved, "the optimiser step should have separated the encoders"
    for name, parameter in objective.key_encoder.named_parameters():
        torch.testing.assert_close(parameter, 0.5 * key[name] + 0.5 * query[name], msg=name)


def train_step(objective: LooCObjective, optimizer: torch.optim.Optimizer, seed: int) -> float:
    loss = objective(make_views(seed=seed)).loss
    loss.backward()
    optimizer.step()
    optimizer.zero_grad()
    objective.momentum_update(0.9)
    return loss.item()


def test_state_dict_restores_key_encoder_and_queues_for_an_exact_resume(tmp_path):
    objective = make_objective(seed=0)
    optimizer = torch.optim.SGD(objective.query_encoder.parameters(), lr=0.1, momentum=0.9)
    for seed in range(2):  # 2 x 4 keys: the 12-slot queue is not yet full
        train_step(objective, optimizer, seed)
    state = objective.state_dict()
    assert {"queue.keys", "queue.pointer"} <= set(state)
    assert any(name.startswith("key_encoder.") for name in state)
    save_file(state, tmp_path / "objective.safetensors")  # the format Accelerate's save_state writes

    resumed = make_objective(seed=1)
    resumed.load_state_dict(load_file(tmp_path / "objective.safetensors"), strict=True)
    resumed_optimizer = torch.optim.SGD(resumed.query_encoder.parameters(), lr=0.1, momentum=0.9)
    resumed_optimizer.load_state_dict(copy.deepcopy(optimizer.state_dict()))
    for seed in range(2, 4):  # wraps the queue around
        assert train_step(resumed, resumed_optimizer, seed) == pytest.approx(
            train_step(objective, optimizer, seed), abs=1e-6
        )
    assert resumed.queue.pointer.item() == 4 * BATCH % QUEUE
    for name, value in objective.state_dict().items():
        torch.testing.assert_close(resumed.state_dict()[name], value, msg=name)


def test_moco_baselines_are_the_single_space_case():
    objective = make_objective(augmentations=(), invariant_augmentations=("color", "rotation"))
    output = objective(make_views(num_keys=1), return_logits=True)
    assert list(output.space_losses) == ["invariant"]
    assert output.logits["invariant"].shape == (BATCH, 1 + QUEUE)
    torch.testing.assert_close(output.loss, output.space_losses["invariant"])


def test_looc_plus_plus_trains_every_branch():
    objective = make_objective(variant="looc++")
    objective(make_views()).loss.backward()
    assert set(objective.query_encoder.last_stages) == {"color", "rotation"}
    for branch in objective.query_encoder.last_stages.values():
        assert gradient_norm(branch) > 0


def test_loss_stays_float32_under_autocast():
    objective = make_objective()
    with torch.autocast("cpu", dtype=torch.bfloat16):
        output = objective(make_views())
    assert output.loss.dtype == torch.float32
    assert objective.queue.keys.dtype == torch.float32


def test_views_that_do_not_match_the_spaces_are_rejected():
    objective = make_objective()
    with pytest.raises(ValueError, match=r"views.keys must be \(n\+1 = 3, B, C, H, W\)"):
        objective(make_views(num_keys=2))
    views = make_views()
    with pytest.raises(ValueError, match="views.query must be"):
        objective(LooCViews(query=views.query[:2], keys=views.keys))


def test_the_model_must_be_a_looc_model():
    with pytest.raises(TypeError, match="model must be a looc_hub.LooCModel"):
        LooCObjective(torch.nn.Linear(2, 2))
