"""The two collectives the objective needs, over torch.distributed's default group (Accelerate's and torchrun's).

Both are identities when no process group is initialised, so single-process code needs no special case.
"""

from __future__ import annotations

import torch
import torch.distributed as dist
from torch import Tensor


def world_size() -> int:
    return dist.get_world_size() if dist.is_available() and dist.is_initialized() else 1


def rank() -> int:
    return dist.get_rank() if dist.is_available() and dist.is_initialized() else 0


@torch.no_grad()
def gather(x: Tensor, dim: int = 0) -> Tensor:
    """`x` from every process, concatenated along `dim` in rank order; not differentiable.

    Every process must pass the same shape (the trainer drops incomplete last batches, as MoCo does).
    """
    if world_size() == 1:
        return x
    x = x.contiguous()
    parts = [torch.empty_like(x) for _ in range(world_size())]
    dist.all_gather(parts, x)
    return torch.cat(parts, dim=dim)


@torch.no_grad()
def random_permutation(n: int, device: torch.device, generator: torch.Generator | None = None) -> Tensor:
    """A permutation of range(n) that is the same on every process (rank 0's), drawn from `generator` if given."""
    permutation = torch.randperm(n, device=device, generator=generator)
    if world_size() > 1:
        dist.broadcast(permutation, src=0)
    return permutation
