"""LooCLoss against references written independently of it (issue 4, requirement 2).

- With no leave-one-out augmentation (S = 1) the loss is MoCo v2's InfoNCE: checked against a per-sample formula
  written here and against lightly's MoCo loss (`NTXentLoss` with a memory bank). lightly 1.6.0 installs beside
  this project's torch without replacing it (`pip install --dry-run lightly` only adds lightly, pytorch_lightning,
  hydra-core and their small dependencies); it is a dev dependency for this test.
- For n = 2 (S = 3) the logits and labels of every space match a naive per-space, per-sample reference built
  straight from docs/method.md's table of positives and negatives, and so does the loss.
"""

import math

import pytest
import torch
import torch.nn.functional as F

from looc_hub.objective import LooCLoss

TEMPERATURE = 0.2


def unit(*shape: int, generator: torch.Generator) -> torch.Tensor:
    return F.normalize(torch.randn(*shape, generator=generator, dtype=torch.float64), dim=-1)


def embeddings(spaces: int, batch: int, dim: int, queue: int, seed: int = 0):
    """query (S, B, D), keys (V = S, S, B, D), queues (S, K, D), all unit vectors."""
    generator = torch.Generator().manual_seed(seed)
    query = unit(spaces, batch, dim, generator=generator)
    keys = unit(spaces, spaces, batch, dim, generator=generator)
    queues = unit(spaces, queue, dim, generator=generator)
    return query, keys, queues


def info_nce_term(positive: float, negatives: list[float], temperature: float) -> float:
    """-log(exp(p/t) / (exp(p/t) + sum_n exp(n/t))) for one anchor, from the definition."""
    numerator = math.exp(positive / temperature)
    return -math.log(numerator / (numerator + sum(math.exp(n / temperature) for n in negatives)))


def dot(a: torch.Tensor, b: torch.Tensor) -> float:
    return sum(float(x) * float(y) for x, y in zip(a, b, strict=True))


def test_without_leave_one_out_it_is_moco_v2_infonce():
    query, keys, queues = embeddings(spaces=1, batch=5, dim=8, queue=12)
    output = LooCLoss(TEMPERATURE)(query, keys, queues, return_logits=True)

    q, k, queue = query[0], keys[0, 0], queues[0]
    expected = sum(
        info_nce_term(dot(q[b], k[b]), [dot(q[b], n) for n in queue], TEMPERATURE) for b in range(len(q))
    ) / len(q)
    assert output.loss.item() == pytest.approx(expected, rel=1e-12)
    assert output.space_losses.shape == (1,)
    # MoCo v2's logits: [q.k, q.queue] / t with label 0
    expected_logits = torch.cat([(q * k).sum(1, keepdim=True), q @ queue.T], dim=1) / TEMPERATURE
    torch.testing.assert_close(output.logits[0], expected_logits)
    assert output.labels[0].tolist() == [0] * len(q)


def test_without_leave_one_out_it_matches_lightly_moco_loss():
    lightly_loss = pytest.importorskip("lightly.loss", reason="lightly is a dev dependency (see module docstring)")
    query, keys, queues = embeddings(spaces=1, batch=6, dim=16, queue=20, seed=1)
    query, keys, queues = query.float(), keys.float(), queues.float()
    moco = lightly_loss.NTXentLoss(temperature=TEMPERATURE, memory_bank_size=(20, 16))
    moco.memory_bank.bank.copy_(queues[0])  # lightly keeps its bank as (size, dim)

    # lightly L2-normalises inside the loss, LooCModel before it: normalise ours too so gradients compare.
    query_ours = query.clone().requires_grad_()
    query_lightly = query[0].clone().requires_grad_()
    ours = LooCLoss(TEMPERATURE)(F.normalize(query_ours, dim=-1), keys, queues).loss
    theirs = moco(query_lightly, keys[0, 0])
    torch.testing.assert_close(ours, theirs)
    ours.backward()
    theirs.backward()
    torch.testing.assert_close(query_ours.grad[0], query_lightly.grad)


def naive_looc_logits(query, keys, queues, temperature):
    """docs/method.md's table, one space and one sample at a time; the positive first in every row."""
    spaces, batch = query.shape[:2]
    logits = []
    # Z_0: every key of the same image is a positive, one row per (key, image); negatives: Z_0's queue only.
    rows = []
    for key in range(spaces):
        for b in range(batch):
            q = query[0, b]
            rows.append([dot(q, keys[key, 0, b]), *(dot(q, n) for n in queues[0])])
    logits.append(rows)
    # Z_i: positive z_i(k_i); negatives: z_i(k_j), j != i, of the same image, then Z_i's queue.
    for space in range(1, spaces):
        rows = []
        for b in range(batch):
            q = query[space, b]
            positive = dot(q, keys[space, space, b])
            same_image = [dot(q, keys[other, space, b]) for other in range(spaces) if other != space]
            rows.append([positive, *same_image, *(dot(q, n) for n in queues[space])])
        logits.append(rows)
    return [torch.tensor(rows, dtype=torch.float64) / temperature for rows in logits]


def test_two_leave_one_out_spaces_match_naive_reference():
    query, keys, queues = embeddings(spaces=3, batch=4, dim=8, queue=7, seed=2)
    output = LooCLoss(TEMPERATURE)(query, keys, queues, return_logits=True)
    reference = naive_looc_logits(query, keys, queues, TEMPERATURE)

    assert [tuple(logits.shape) for logits in output.logits] == [(3 * 4, 1 + 7), (4, 3 + 7), (4, 3 + 7)]
    for space, (ours, theirs) in enumerate(zip(output.logits, reference, strict=True)):
        torch.testing.assert_close(ours, theirs, msg=f"logits of space {space}")
    for labels, logits in zip(output.labels, reference, strict=True):
        assert labels.tolist() == [0] * len(logits)  # the positive's column in the reference

    space_losses = [
        sum(info_nce_term(row[0].item(), row[1:].tolist(), 1.0) for row in logits) / len(logits) for logits in reference
    ]
    torch.testing.assert_close(output.space_losses, torch.tensor(space_losses, dtype=torch.float64))
    assert output.loss.item() == pytest.approx(sum(space_losses) / 3, rel=1e-12)


def test_loss_is_the_cross_entropy_of_the_returned_logits():
    query, keys, queues = embeddings(spaces=4, batch=6, dim=8, queue=9, seed=5)
    output = LooCLoss(TEMPERATURE)(query, keys, queues, return_logits=True)
    pairs = zip(output.logits, output.labels, strict=True)
    torch.testing.assert_close(output.space_losses, torch.stack([F.cross_entropy(*pair) for pair in pairs]))
    assert LooCLoss(TEMPERATURE)(query, keys, queues).logits is None  # built only on request


def test_same_image_keys_are_negatives_only_in_leave_one_out_spaces():
    query, keys, queues = embeddings(spaces=3, batch=4, dim=8, queue=7, seed=3)
    loss = LooCLoss(TEMPERATURE)
    before = loss(query, keys, queues).space_losses
    # Pull z_1(k_0) (a same-image negative of Z_1) onto the query: only Z_1's loss may change, and it grows.
    moved = keys.clone()
    moved[0, 1] = query[1]
    after = loss(query, moved, queues).space_losses
    assert after[1] > before[1]
    torch.testing.assert_close(after[[0, 2]], before[[0, 2]])


def test_gradient_flows_to_query_and_not_through_detached_keys():
    query, keys, queues = embeddings(spaces=3, batch=4, dim=8, queue=7, seed=4)
    query.requires_grad_()
    LooCLoss(TEMPERATURE)(query, keys, queues).loss.backward()
    assert query.grad is not None and torch.all(query.grad.abs().sum(-1) > 0)


@pytest.mark.parametrize("temperature", [0, -0.1, "0.2", True, None])
def test_invalid_temperature_is_rejected(temperature):
    with pytest.raises(ValueError, match="temperature must be a positive number"):
        LooCLoss(temperature)


@pytest.mark.parametrize(
    ("keys_shape", "queues_shape", "message"),
    [
        ((2, 3, 4, 8), (3, 7, 8), "keys must be"),
        ((3, 3, 5, 8), (3, 7, 8), "keys must be"),
        ((3, 3, 4, 8), (2, 7, 8), "queues must be"),
        ((3, 3, 4, 8), (3, 7, 16), "queues must be"),
    ],
)
def test_mismatched_shapes_are_rejected(keys_shape, queues_shape, message):
    with pytest.raises(ValueError, match=message):
        LooCLoss()(torch.randn(3, 4, 8), torch.randn(*keys_shape), torch.randn(*queues_shape))


def test_keys_sharing_the_querys_value_leave_the_leave_one_out_denominator():
    query, keys, queues = embeddings(spaces=3, batch=6, dim=8, queue=7, seed=6)
    shares = torch.rand(2, 3, 6, generator=torch.Generator().manual_seed(0)) < 0.5  # (S - 1, V, B)
    shares[0, 1] = shares[1, 2] = True  # k_i always shares q's value of i: the positive
    output = LooCLoss(TEMPERATURE)(query, keys, queues, shares_query=shares, return_logits=True)

    plain = LooCLoss(TEMPERATURE)(query, keys, queues)
    torch.testing.assert_close(output.space_losses[0], plain.space_losses[0])  # Z_0 has no same-image negatives
    for space in (1, 2):
        terms = []
        for b in range(6):
            q = query[space, b]
            others = [other for other in range(3) if other != space and not shares[space - 1, other, b]]
            kept = [dot(q, keys[other, space, b]) for other in others]
            queued = [dot(q, n) for n in queues[space]]
            terms.append(info_nce_term(dot(q, keys[space, space, b]), kept + queued, TEMPERATURE))
        assert output.space_losses[space].item() == pytest.approx(sum(terms) / 6, rel=1e-12)
        left_out = torch.isinf(output.logits[space][:, 1:3]).sum().item()
        assert left_out == int(shares[space - 1].sum()) - 6  # every shared key but the positive
    assert torch.isfinite(output.logits[1][:, 0]).all()  # the positive is never masked


def test_shares_query_of_the_wrong_shape_is_rejected():
    query, keys, queues = embeddings(spaces=3, batch=4, dim=8, queue=7)
    with pytest.raises(ValueError, match=r"shares_query must be bool \(S - 1 = 2, V = 3, B = 4\)"):
        LooCLoss()(query, keys, queues, shares_query=torch.zeros(3, 3, 4, dtype=torch.bool))
