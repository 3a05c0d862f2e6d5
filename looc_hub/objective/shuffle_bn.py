"""MoCo's Shuffle-BN (He et al., CVPR 2020, Sec. 3.3) for the key encoder, across processes or within one.

BatchNorm normalises each sample with its batch's statistics. If a query and its positive keys are normalised
with the statistics of the same set of images, the model can "cheat" through them: the statistics carry which
images share the batch, a signal the queue's negatives (other batches) lack. MoCo blocks this by computing
BatchNorm per GPU and encoding the keys in a shuffled order, so a key's sub-batch is a random mix.

- Several processes (MoCo): gather the key images of all processes, take a shard of one shared permutation,
  encode it, gather the outputs and undo the permutation. Queries use their own process's statistics.
- One process (MoCo's single-GPU CIFAR recipe, `SplitBatchNorm`): statistics are computed per group of the
  batch, for queries (`grouped_forward`: contiguous groups) and keys alike, and the keys are spread over the
  groups before their forward (`mixing_order`) and restored after. Ours: the spread is balanced rather than a
  plain random permutation, so every key group draws equally from every query group and no key group holds the
  same images as any query group, whatever the group count.

The common alternative is `torch.nn.SyncBatchNorm.convert_sync_batchnorm` (no code of ours).
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor

from ._distributed import gather, random_permutation, rank, world_size

__all__ = ["grouped_forward", "mixing_order", "query_groups", "shuffle_bn_forward"]

Encoder = Callable[[Tensor], Tensor]


def query_groups(batch_size: int, groups: int) -> Tensor:
    """(batch_size,) the BatchNorm group of every query row: `groups` contiguous, near-equal chunks."""
    return torch.cat(
        [torch.full((len(chunk),), g) for g, chunk in enumerate(torch.arange(batch_size).tensor_split(groups))]
    )


def grouped_forward(encoder: Encoder, x: Tensor, groups: int, output_batch_dim: int = 0) -> Tensor:
    """`encoder(x)` with BatchNorm statistics computed per contiguous group of rows (`query_groups`)."""
    if groups == 1:
        return encoder(x)
    return torch.cat([encoder(chunk) for chunk in x.tensor_split(groups)], dim=output_batch_dim)


def mixing_order(row_groups: Tensor, groups: int, generator: torch.Generator | None = None) -> Tensor:
    """A permutation of rows whose `groups` contiguous chunks each draw evenly from every group of `row_groups`.

    Rows are shuffled within their group, listed group after group, then dealt round-robin to the chunks:
    chunk h takes every `groups`-th row starting at h. So each chunk holds ~1/groups of every row group (exactly,
    when the sizes divide), and no chunk equals a row group.
    """
    shuffled = torch.randperm(len(row_groups), device=row_groups.device, generator=generator)
    by_group = shuffled[torch.argsort(row_groups[shuffled], stable=True)]  # group 0's rows, then group 1's, ...
    return torch.cat([by_group[chunk::groups] for chunk in range(groups)])


@torch.no_grad()
def shuffle_bn_forward(
    encoder: Encoder,
    x: Tensor,
    output_batch_dim: int = 0,
    *,
    groups: int = 1,
    row_groups: Tensor | None = None,
    generator: torch.Generator | None = None,
) -> Tensor:
    """`encoder(x)` with every row normalised among rows that do not share its query's BatchNorm statistics.

    Args:
        encoder: maps a batch (N, ...) to outputs whose batch axis is `output_batch_dim`.
        x: this process's inputs (N, ...); every process passes the same N.
        output_batch_dim: the batch axis of the encoder's output (1 for `LooCModel.forward_projections`).
        groups: one process only: the number of BatchNorm groups (1: the plain forward).
        row_groups: one process, `groups` > 1: (N,) the query group of each row's image (`query_groups`).
        generator: draws the shuffle (on `x`'s device); None uses the global RNG. A per-step generator makes a
            resumed run draw what the uninterrupted run drew (the global RNG also feeds DataLoader workers).

    Returns:
        The encoder's output for `x`, in `x`'s order; not differentiable (keys need no gradient).
    """
    if world_size() == 1:
        if groups == 1:
            return encoder(x)
        if row_groups is None or row_groups.shape != (len(x),):
            raise ValueError(f"row_groups must give the query group of each of the {len(x)} rows")
        order = mixing_order(row_groups.to(x.device), groups, generator)
        encoded = grouped_forward(encoder, x[order], groups, output_batch_dim)
        return encoded.index_select(output_batch_dim, torch.argsort(order))
    local = len(x)
    everyone = gather(x)  # (W*N, ...), rank-major
    permutation = random_permutation(len(everyone), x.device, generator)  # position j encodes sample permutation[j]
    shard = slice(rank() * local, (rank() + 1) * local)
    encoded = gather(encoder(everyone[permutation[shard]]), dim=output_batch_dim)  # in permuted order
    own_positions = torch.argsort(permutation)[shard]
    return encoded.index_select(output_batch_dim, own_positions)
