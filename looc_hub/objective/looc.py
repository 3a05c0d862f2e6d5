"""`LooCObjective`: LooC pretraining as one module, MoCo v2 generalised to n+1 embedding spaces.

Paper: Xiao, Wang, Efros, Darrell, "What Should Not Be Contrastive in Contrastive Learning", ICLR 2021
(arXiv 2008.05659); MoCo v2: Chen, Fan, Girshick, He, 2020. `docs/method.md` says which
choices are the paper's; those marked "ours" below are this project's, where the paper is silent.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

import torch
from torch import Tensor, nn

from .._checks import is_int, is_number
from ..model import LooCNetwork
from ..views import LooCViews
from ._distributed import gather, world_size
from .loss import LooCLoss
from .momentum import update_momentum
from .queue import KeyQueue
from .shuffle_bn import grouped_forward, query_groups, shuffle_bn_forward

__all__ = ["LooCObjective", "LooCObjectiveOutput"]


@dataclass
class LooCObjectiveOutput:
    """One step's result.

    Attributes:
        loss: the scalar to minimise, the mean of the per-space losses.
        space_losses: space name ("invariant", then the leave-one-out augmentations) -> scalar loss.
        logits, labels: per space, only when requested (`LooCLoss` documents their layout).
    """

    loss: Tensor
    space_losses: dict[str, Tensor]
    logits: dict[str, Tensor] | None = None
    labels: dict[str, Tensor] | None = None


class LooCObjective(nn.Module):
    """Query encoder, momentum key encoder, one queue per space and LooC's InfoNCE loss.

    - Query encoder: the network given (a `looc_hub.LooCModel`), trained by the optimiser; it is the model to export.
    - Key encoder: its momentum copy (paper, MoCo v2), with `requires_grad=False`. All n+1 key views go through
      it in one batched forward without gradients ((n+1)·B images), with Shuffle-BN by default in training mode
      (MoCo): across processes, or on one process across `bn_groups` groups of the batch (MoCo's single-GPU
      recipe: queries and keys alike get BatchNorm statistics per group, and the keys are spread over the
      groups, so no key shares its query's statistics; `shuffle_bn.py`).
    - Queues: one per space (paper). What is enqueued is ours: in every space its positive key, z_0(k_0) in Z_0
      (the fully resampled key, so Z_0's queue is exactly MoCo's) and z_i(k_i) in Z_i. Every queue thus advances
      by one key per image and holds the same images. Keys are gathered from all processes first, so every
      process holds the same queues.
    - Queue size, temperature and key momentum are its arguments, as lightly's losses take theirs (the paper's
      16,384 keys per space; MoCo v2's 0.2 and 0.999); the run's recipe sets them (`PretrainConfig`), the model
      does not carry them.

    When things happen (ours): `forward` in training mode enqueues the step's keys after computing the loss,
    as MoCo does; in eval mode it leaves the queues alone. The momentum update is the trainer's call,
    `momentum_update(m)` after each `optimizer.step()`, so that a schedule (`cosine_momentum`) needs no state
    here and gradient accumulation updates once per optimiser step.

    Distributed training: `accelerator.prepare(objective)` wraps it in DDP, which averages the query encoder's
    gradients (the key encoder has no trainable parameters). The queues, their pointer and the key encoder
    agree across processes by construction (same seeded initial queue, same gathered keys, EMA of identical
    query weights), so DDP's per-step buffer broadcast is not needed; we recommend
    `DistributedDataParallelKwargs(broadcast_buffers=False)`, which saves broadcasting S·K·D queue entries
    per step. BatchNorm running statistics then stay per process; rank 0's are saved and exported, just as
    with the broadcast, which copies rank 0's to everyone. For SyncBN instead of Shuffle-BN, call
    `torch.nn.SyncBatchNorm.convert_sync_batchnorm(objective)` before `prepare` and pass `shuffle_bn=False`.

    Exact resume: the key encoder, the queues and the queue pointer are in `state_dict()`, so Accelerate's
    `save_state` / `load_state` restore them with the query encoder.

    Args:
        model: the query encoder.
        queue_size: negatives kept per space (the paper's: 16,384).
        temperature: InfoNCE temperature tau (MoCo v2's: 0.2).
        momentum: the key encoder's EMA momentum in [0, 1) (MoCo v2's: 0.999); `momentum_update()`'s default.
        shuffle_bn: encode keys with MoCo's Shuffle-BN.
        bn_groups: one process only: BatchNorm groups of the one-process Shuffle-BN (ours: 4 by default; MoCo's
            CIFAR demo uses 8 of 64 images). 1 turns it off. Ignored with several processes, where each process
            is a group (MoCo), and when `shuffle_bn` is False (SyncBN or plain BatchNorm).

    Raises:
        TypeError: `model` is not a LooC network (`looc_hub.model.LooCNetwork`, which `LooCModel` is).
        ValueError: a `bn_groups` or `queue_size` that is not a positive integer, a temperature that is not
            positive, a momentum outside [0, 1); views whose shapes do not match the model's
            spaces, or a one-process training batch with fewer than 2 images per BatchNorm group (at `forward`).

    Example:
        >>> objective = LooCObjective(looc_hub.create_model("looc_resnet10t.openmoji32"), queue_size=128)
        >>> out = objective(views)  # views.query (B, 3, H, W), views.keys (n+1, B, 3, H, W)
        >>> out.loss.backward(); optimizer.step(); optimizer.zero_grad(); objective.momentum_update()
    """

    def __init__(
        self,
        model: LooCNetwork,
        *,
        queue_size: int = 16384,
        temperature: float = 0.2,
        momentum: float = 0.999,
        shuffle_bn: bool = True,
        bn_groups: int = 4,
    ) -> None:
        super().__init__()
        if not isinstance(model, LooCNetwork):
            raise TypeError(
                "model must be a looc_hub.LooCModel or another looc_hub.model.LooCNetwork (the query encoder), "
                f"got {type(model).__name__}"
            )
        if not is_int(bn_groups) or bn_groups < 1:
            raise ValueError(f"bn_groups must be a positive integer (1: off), got {bn_groups!r}")
        if not is_number(momentum) or not 0 <= momentum < 1:
            raise ValueError(f"momentum must be a number in [0, 1) (MoCo v2: 0.999), got {momentum!r}")
        self.space_names = model.head_names
        self.momentum = float(momentum)
        self.shuffle_bn = shuffle_bn
        self.bn_groups = bn_groups
        self.query_encoder = model
        self.key_encoder = copy.deepcopy(model).requires_grad_(False)
        self.queue = KeyQueue(len(self.space_names), queue_size, model.config.head_out_dim)
        self.loss = LooCLoss(temperature)

    def forward(
        self, views: LooCViews, *, generator: torch.Generator | None = None, return_logits: bool = False
    ) -> LooCObjectiveOutput:
        """The loss of one batch of views; in training mode, also enqueue their keys.

        Args:
            views: `views.query` (B, C, H, W) and `views.keys` (n+1, B, C, H, W), keys in head order.
            generator: draws Shuffle-BN's permutation (None: the global RNG); pass a per-step generator, as the
                views get, for an exact resume.
            return_logits: also return every space's logits and labels.
        """
        self._check_views(views.query, views.keys)
        groups = self._local_bn_groups(len(views.query))
        query = grouped_forward(self.query_encoder.forward_projections, views.query, groups, 1)  # (S, B, D)
        keys = self.encode_keys(views.keys, generator=generator)  # (V = S, S, B, D)
        # InfoNCE over thousands of negatives in float32 even under autocast (ours). The queue is copied: the
        # in-place enqueue below must not change what backward needs.
        with torch.autocast(device_type=query.device.type, enabled=False):
            queues = self.queue.keys.to(torch.float32, copy=True)
            result = self.loss(
                query.float(), keys.float(), queues, shares_query=views.shares_query, return_logits=return_logits
            )
        if self.training:
            spaces = torch.arange(len(self.space_names), device=keys.device)
            self.queue.enqueue(gather(keys[spaces, spaces], dim=1))  # positives z_s(k_s): (S, W*B, D)
        output = LooCObjectiveOutput(
            loss=result.loss, space_losses=dict(zip(self.space_names, result.space_losses.unbind(), strict=True))
        )
        if return_logits:
            output.logits = dict(zip(self.space_names, result.logits, strict=True))
            output.labels = dict(zip(self.space_names, result.labels, strict=True))
        return output

    @torch.no_grad()
    def encode_keys(self, key_images: Tensor, generator: torch.Generator | None = None) -> Tensor:
        """Every key view through the key encoder in one batched forward: (V, B, C, H, W) -> (V, S, B, D).

        Args:
            key_images: (V = n+1, B, C, H, W), k_0 then k_1 ... k_n.
            generator: draws Shuffle-BN's permutation (None: the global RNG).

        Returns:
            keys with keys[v, s] = z_s(k_v), L2-normalised, without gradient.
        """
        num_keys, batch = key_images.shape[:2]
        flat = key_images.flatten(0, 1)  # (V*B, C, H, W), key-major
        # Ours: only in training mode. In eval mode BN uses running statistics, which are per process, so
        # shuffling would just encode other processes' samples with this process's statistics.
        if self.shuffle_bn and self.key_encoder.training:
            groups = self._local_bn_groups(batch)
            row_groups = query_groups(batch, groups).to(flat.device).repeat(num_keys)  # each key row's query group
            projections = shuffle_bn_forward(
                self.key_encoder.forward_projections,
                flat,
                output_batch_dim=1,
                groups=groups,
                row_groups=row_groups,
                generator=generator,
            )
        else:
            projections = self.key_encoder.forward_projections(flat)  # (S, V*B, D)
        return projections.unflatten(1, (num_keys, batch)).transpose(0, 1)

    def _local_bn_groups(self, batch: int) -> int:
        """The BatchNorm groups of this forward: `bn_groups` for one-process Shuffle-BN in training, else 1."""
        if not (self.shuffle_bn and self.training and world_size() == 1):
            return 1
        if batch < 2 * self.bn_groups:
            raise ValueError(
                f"one-process Shuffle-BN splits the batch into bn_groups = {self.bn_groups} BatchNorm groups of at "
                f"least 2 images; a batch of {batch} is too small: raise the batch size to >= {2 * self.bn_groups} "
                "or lower bn_groups"
            )
        return self.bn_groups

    @torch.no_grad()
    def momentum_update(self, momentum: float | None = None) -> None:
        """key encoder <- m * key encoder + (1 - m) * query encoder; m defaults to the `momentum` given."""
        update_momentum(self.query_encoder, self.key_encoder, self.momentum if momentum is None else momentum)

    def _check_views(self, query_images: Tensor, key_images: Tensor) -> None:
        num_spaces = len(self.space_names)
        if key_images.ndim != 5 or key_images.shape[0] != num_spaces:
            raise ValueError(
                f"views.keys must be (n+1 = {num_spaces}, B, C, H, W): one key per space {list(self.space_names)}, "
                f"got shape {tuple(key_images.shape)}"
            )
        if query_images.ndim != 4 or query_images.shape[0] != key_images.shape[1]:
            raise ValueError(
                f"views.query must be (B, C, H, W) with the keys' batch size {key_images.shape[1]}, "
                f"got shape {tuple(query_images.shape)}"
            )
