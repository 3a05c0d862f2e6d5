"""One-process Shuffle-BN: BatchNorm statistics per group of the batch, keys spread over the groups."""

import pytest
import torch

from looc_hub import LooCConfig, LooCModel
from looc_hub.objective import LooCObjective, mixing_order, query_groups
from looc_hub.views import LooCViews

BATCH = 16
GROUPS = 4
KEYS = 3


def make_objective(bn_groups: int = GROUPS) -> LooCObjective:
    torch.manual_seed(0)
    config = LooCConfig(backbone="test_resnet", augmentations=("color", "rotation"), head_out_dim=16, image_size=32)
    return LooCObjective(LooCModel(config), queue_size=64, bn_groups=bn_groups)


def make_views(batch: int = BATCH) -> LooCViews:
    generator = torch.Generator().manual_seed(0)
    return LooCViews(
        query=torch.randn(batch, 3, 32, 32, generator=generator),
        keys=torch.randn(KEYS, batch, 3, 32, 32, generator=generator),
    )


def record_backbone_inputs(objective: LooCObjective) -> dict[str, list[torch.Tensor]]:
    calls = {"query": [], "key": []}
    for name in calls:
        encoder = objective.query_encoder if name == "query" else objective.key_encoder
        encoder.backbone.register_forward_hook(lambda m, i, o, name=name: calls[name].append(i[0].detach().clone()))
    return calls


def row_ids(batch: torch.Tensor, reference: torch.Tensor) -> list[int]:
    """Which rows of `reference` the rows of `batch` are (inputs are distinct random images)."""
    return [int((reference.flatten(1) == row.flatten()).all(1).nonzero().item()) for row in batch]


@pytest.mark.parametrize(("batch", "groups"), [(16, 4), (16, 2), (10, 3)])
def test_mixing_order_deals_every_query_group_evenly_to_every_key_group(batch, groups):
    torch.manual_seed(1)
    row_groups = query_groups(batch, groups).repeat(KEYS)  # key-major rows: image b = row % batch
    order = mixing_order(row_groups, groups)
    assert sorted(order.tolist()) == list(range(KEYS * batch))
    for chunk in order.tensor_split(groups):
        images = {row % batch for row in chunk.tolist()}
        for group in range(groups):
            group_rows = int((row_groups == group).sum())
            drawn = int((row_groups[chunk] == group).sum())
            assert abs(drawn - group_rows / groups) <= 1  # an even share of every query group
            assert images != set((query_groups(batch, groups) == group).nonzero().squeeze(1).tolist())


def test_no_key_is_normalised_with_the_statistics_of_its_query_group():
    objective = make_objective()
    views = make_views()
    calls = record_backbone_inputs(objective)
    objective(views)

    # Queries: GROUPS forwards of contiguous groups; each group's BatchNorm sees only its own images.
    assert [len(c) for c in calls["query"]] == [BATCH // GROUPS] * GROUPS
    query_group_of = {b: g for g, call in enumerate(calls["query"]) for b in row_ids(call, views.query)}
    assert sorted(query_group_of) == list(range(BATCH))
    # Keys: GROUPS forwards, each a mix: at most an even share (1/GROUPS) of any query group's images.
    flat_keys = views.keys.flatten(0, 1)
    assert [len(c) for c in calls["key"]] == [KEYS * BATCH // GROUPS] * GROUPS
    for call in calls["key"]:
        images = [row % BATCH for row in row_ids(call, flat_keys)]
        for group in range(GROUPS):
            same_group = [b for b in images if query_group_of[b] == group]
            assert len(same_group) <= len(images) // GROUPS
            assert set(images) != {b for b, g in query_group_of.items() if g == group}


def test_grouped_keys_come_back_in_order_each_with_its_own_group_statistics():
    objective = make_objective()
    views = make_views()
    calls = record_backbone_inputs(objective)
    keys = objective.encode_keys(views.keys)  # (V, S, B, D), BatchNorm in training mode
    flat = keys.transpose(0, 1).flatten(1, 2)  # (S, V*B, D), key-major rows
    with torch.no_grad():
        for call in list(calls["key"]):
            expected = objective.key_encoder.forward_projections(call)  # (S, rows, D): that group's statistics
            torch.testing.assert_close(flat[:, row_ids(call, views.keys.flatten(0, 1))], expected)
    plain = objective.key_encoder.forward_projections(views.keys.flatten(0, 1))  # one BatchNorm batch
    assert not torch.allclose(flat, plain, atol=1e-4)  # the grouping changes the statistics


def test_one_group_eval_mode_and_sync_bn_keep_one_batch():
    for objective, mode in ((make_objective(bn_groups=1), "train"), (make_objective(), "eval")):
        objective.train(mode == "train")
        calls = record_backbone_inputs(objective)
        objective(make_views())
        assert [len(c) for c in calls["query"]] == [BATCH] and [len(c) for c in calls["key"]] == [KEYS * BATCH]
    unshuffled = LooCObjective(make_objective().query_encoder, queue_size=64, shuffle_bn=False)  # SyncBN users
    calls = record_backbone_inputs(unshuffled)
    unshuffled(make_views())
    assert [len(c) for c in calls["query"]] == [BATCH]


def test_a_batch_too_small_for_its_groups_is_refused():
    with pytest.raises(ValueError, match=r"bn_groups = 4 .* batch of 6 is too small: raise the batch size to >= 8"):
        make_objective()(make_views(batch=6))
    with pytest.raises(ValueError, match="bn_groups must be a positive integer"):
        make_objective(bn_groups=0)


def test_a_generator_fixes_the_shuffle_whatever_the_global_rng():
    objective = make_objective()
    views = make_views()
    runs = []
    for global_seed in (1, 2):
        torch.manual_seed(global_seed)  # e.g. a resumed run's DataLoader drew from the global RNG
        runs.append(objective.encode_keys(views.keys, generator=torch.Generator().manual_seed(7)))
    torch.testing.assert_close(runs[0], runs[1])
    torch.manual_seed(1)
    unseeded = objective.encode_keys(views.keys)  # the global RNG: another deal of the keys
    assert not torch.allclose(unseeded, runs[0], atol=1e-5)
