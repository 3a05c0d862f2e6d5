"""MoCo's Shuffle-BN (He et al., CVPR 2020, Sec. 3.3) for the key encoder.

BatchNorm computes its statistics per process. If a query and its positive keys are normalised with the
statistics of the same sub-batch, the model can "cheat" through them. Shuffle-BN encodes the keys in a random
sub-batch: gather the key images of all processes, take a shard of one shared permutation, encode it, gather
the outputs and undo the permutation. With one process it is the plain forward (BN sees the whole batch either
way). The common alternative is `torch.nn.SyncBatchNorm.convert_sync_batchnorm` (no code of ours).
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor

from ._distributed import gather, random_permutation, rank, world_size

__all__ = ["shuffle_bn_forward"]


@torch.no_grad()
def shuffle_bn_forward(encoder: Callable[[Tensor], Tensor], x: Tensor, output_batch_dim: int = 0) -> Tensor:
    """`encoder(x)` computed on a random shard of the global batch, returned for this process's own samples.

    Args:
        encoder: maps a batch (N, ...) to outputs whose batch axis is `output_batch_dim`.
        x: this process's inputs (N, ...); every process passes the same N.
        output_batch_dim: the batch axis of the encoder's output (1 for `LooCModel.forward_projections`).

    Returns:
        The encoder's output for `x`, in `x`'s order; not differentiable (keys need no gradient).
    """
    if world_size() == 1:
        return encoder(x)
    local = len(x)
    everyone = gather(x)  # (W*N, ...), rank-major
    permutation = random_permutation(len(everyone), x.device)  # position j encodes sample permutation[j]
    shard = slice(rank() * local, (rank() + 1) * local)
    encoded = gather(encoder(everyone[permutation[shard]]), dim=output_batch_dim)  # in permuted order
    own_positions = torch.argsort(permutation)[shard]
    return encoded.index_select(output_batch_dim, own_positions)
