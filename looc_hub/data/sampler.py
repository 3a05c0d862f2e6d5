"""A shuffling sampler whose order is a pure function of (seed, epoch): reproducible and resumable."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
from torch.utils.data import Sampler


class EpochShuffleSampler(Sampler[int]):
    """A fresh permutation of `range(num_samples)` every epoch, drawn from (seed, epoch) alone.

    Unlike `RandomSampler`, nothing depends on a generator's history, so a resumed run re-creates the order of
    its epoch with `set_epoch(epoch)` and skips the batches it already saw (Accelerate's `skip_first_batches`),
    and every process draws the same order, which Accelerate's `BatchSamplerShard` then splits between them.
    A loader prepared by Accelerate calls `set_epoch` itself at the start of each pass.

    Example:
        >>> sampler = EpochShuffleSampler(5, seed=0)
        >>> sampler.set_epoch(3)
        >>> sorted(sampler) == list(range(5))
        True
    """

    def __init__(self, num_samples: int, seed: int = 0) -> None:
        if num_samples < 1:
            raise ValueError(f"num_samples must be at least 1, got {num_samples}")
        self.num_samples = num_samples
        self.seed = seed
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __iter__(self) -> Iterator[int]:
        yield from np.random.default_rng((self.seed, self.epoch)).permutation(self.num_samples).tolist()

    def __len__(self) -> int:
        return self.num_samples
