"""One FIFO queue of negative keys per contrastive space: MoCo's dictionary, once per LooC space."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .._checks import check_int

__all__ = ["MAX_QUEUE_FRACTION", "KeyQueue", "check_queue_fits_dataset"]

# Ours: a fixed seed, so every process of a distributed run builds the same initial queue by itself.
_INITIAL_KEYS_SEED = 0

MAX_QUEUE_FRACTION = 0.5
"""Ours: the longest queue allowed, as a fraction of the training set (see `check_queue_fits_dataset`)."""


def check_queue_fits_dataset(queue_size: int, num_images: int) -> None:
    """Refuse a queue so long that it holds older keys of the query's own image as negatives.

    Each epoch shows every image once in a shuffled order, so an image's key from the previous epoch is still
    queued when fewer than `queue_size` keys came in between: with a queue at least as long as the dataset,
    every query meets its own image among the negatives; with a queue of a fraction f < 1 of the dataset, about
    f^2 / 2 of the queries do (12.5% at f = 0.5, 3% at f = 0.25). Ours: refuse f > `MAX_QUEUE_FRACTION` before
    training, naming a safe size (a quarter of the dataset), rather than capping the queue silently.

    Raises:
        ValueError: `queue_size` > MAX_QUEUE_FRACTION x `num_images`.
    """
    if queue_size > MAX_QUEUE_FRACTION * num_images:
        safe = 2 ** max(0, (num_images // 4).bit_length() - 1)  # the largest power of 2 <= num_images / 4
        raise ValueError(
            f"queue_size {queue_size} is too long for a training set of {num_images} images: a queue longer than "
            f"{MAX_QUEUE_FRACTION:.0%} of the data fills with older keys of each query's own image, which then count "
            f"as negatives. Use queue_size <= {int(MAX_QUEUE_FRACTION * num_images)}, e.g. {safe} "
            f"(--queue_size {safe}, or queue_size: {safe} in the recipe)"
        )


class KeyQueue(nn.Module):
    """S queues of K unit vectors each, filled oldest-first (MoCo, He et al., CVPR 2020; one per space in LooC).

    The keys and the write pointer are buffers, so `state_dict()` (and Accelerate's `save_state`) carries them:
    a resumed run sees exactly the negatives the uninterrupted run would have seen.

    The initial contents are random unit vectors, as in MoCo. Ours: they are drawn from a fixed seed, so all
    processes start from the same queue whatever their per-process seeds and without relying on DDP's initial
    buffer broadcast (which `broadcast_buffers=False` turns off).

    Args:
        num_spaces: S, one queue per contrastive space.
        size: K, keys per queue (the paper: 16,384).
        dim: D, the embedding dimension of the spaces.

    Raises:
        ValueError: a non-positive size; `enqueue` with keys of the wrong shape or more keys than `size`.
    """

    keys: Tensor
    pointer: Tensor

    def __init__(self, num_spaces: int, size: int, dim: int) -> None:
        super().__init__()
        for name, value in (("num_spaces", num_spaces), ("size", size), ("dim", dim)):
            check_int(f"KeyQueue {name}", value)
        generator = torch.Generator().manual_seed(_INITIAL_KEYS_SEED)
        initial = torch.randn(num_spaces, size, dim, generator=generator)
        self.register_buffer("keys", F.normalize(initial, dim=-1))  # (S, K, D)
        self.register_buffer("pointer", torch.zeros((), dtype=torch.long))  # next slot to overwrite

    @property
    def size(self) -> int:
        return self.keys.shape[1]

    @torch.no_grad()
    def enqueue(self, keys: Tensor) -> None:
        """Overwrite the oldest N entries of every queue with `keys` (S, N, D), wrapping around the end.

        In a distributed run, pass the keys gathered from all processes so that every queue stays identical.
        """
        num_spaces, size, dim = self.keys.shape
        if keys.ndim != 3 or keys.shape[0] != num_spaces or keys.shape[2] != dim:
            raise ValueError(f"keys must be (S = {num_spaces}, N, D = {dim}), got shape {tuple(keys.shape)}")
        count = keys.shape[1]
        if count > size:
            raise ValueError(
                f"Cannot enqueue {count} keys into a queue of size {size}: the queue must hold at least one "
                "global batch (batch size x processes); raise queue_size or lower the batch size"
            )
        slots = (self.pointer + torch.arange(count, device=self.keys.device)) % size  # (N,)
        self.keys[:, slots] = keys.to(self.keys.dtype)
        self.pointer.copy_((self.pointer + count) % size)

    def extra_repr(self) -> str:
        num_spaces, size, dim = self.keys.shape
        return f"num_spaces={num_spaces}, size={size}, dim={dim}"
