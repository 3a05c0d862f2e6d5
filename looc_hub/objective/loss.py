"""LooC's contrastive loss: MoCo v2's InfoNCE generalised to n+1 embedding spaces.

Paper: Xiao, Wang, Efros, Darrell, "What Should Not Be Contrastive in Contrastive Learning", ICLR 2021
(arXiv 2008.05659), Sec. 3. The loss is a pure function of embeddings (no network, no state) so that it can be
checked against straightforward references and computed for all spaces in one batched shot.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor, nn

from .._checks import is_number

__all__ = ["LooCLoss", "LooCLossOutput"]


@dataclass(frozen=True)
class LooCLossOutput:
    """What `LooCLoss` computed.

    Attributes:
        space_losses: (S,) the InfoNCE loss of every space, in head order.
        logits: on request, per space, (rows, 1 + negatives) similarities / temperature, positive in column 0.
        labels: on request, per space, (rows,) zeros: the index of the positive (MoCo's convention).
    """

    space_losses: Tensor
    logits: list[Tensor] | None = None
    labels: list[Tensor] | None = None

    @property
    def loss(self) -> Tensor:
        """The objective: the mean of the per-space losses (ours: the paper does not say how they are combined)."""
        return self.space_losses.mean()


class LooCLoss(nn.Module):
    """InfoNCE in every LooC space with the paper's positives and negatives.

    Inputs are the L2-normalised projections of one query view and of the n+1 keys of the same images
    (S = n+1 spaces, V = S keys: k_0 resamples every augmentation, k_i reuses the query's parameters for
    leave-one-out augmentation i), and one queue of negatives per space:

    - Z_0 (invariant): every key of the same image is a positive. One InfoNCE term per positive key, against
      the queue of Z_0 only (paper), averaged over the keys (ours: the paper does not say how the terms combine).
      Rows are key-major: row v*B + b is image b with positive z_0(k_v).
    - Z_i (leave-one-out augmentation i): z_i(k_i) is the only positive; z_i(k_j) for every j != i (same image,
      other parameters for augmentation i, k_0 included) are negatives beside the queue of Z_i (paper).
      Columns: the positive, the same-image negatives in key order, then the queue (ours).
      Ours: a k_j that happened to draw the query's own value of augmentation i (rotation: 1 key in 4) is no
      negative: it differs from q only in what Z_i must be invariant to. Such pairs (`shares_query`) are
      masked out of the denominator (their logit is -inf), rather than k_j being drawn among the other values,
      so every key keeps the same distribution of augmentations as the query.

    The objective is the mean over the S spaces (ours). With no leave-one-out augmentation (S = V = 1, the
    MoCo baselines) this is exactly MoCo v2's loss: logits [q.k, q.queue] / temperature, label 0.

    Computation (ours): two einsums give every similarity of every space; each row's cross-entropy is then
    logsumexp(row) - positive, with the queue's logsumexp taken once per (space, image). This is the
    cross-entropy of the logits above without building them (Z_0 would copy the queue columns V times);
    `return_logits=True` builds them too, for inspection and tests.

    Args:
        temperature: InfoNCE temperature tau (MoCo v2 and the paper: 0.2).

    Raises:
        ValueError: a temperature that is not a positive number; inputs whose shapes do not fit together.

    Example:
        >>> loss_fn = LooCLoss(temperature=0.2)
        >>> out = loss_fn(query, keys, queues)  # (S, B, D), (S, S, B, D), (S, K, D)
        >>> out.loss.backward()
    """

    def __init__(self, temperature: float = 0.2) -> None:
        super().__init__()
        if not is_number(temperature) or temperature <= 0:
            raise ValueError(f"temperature must be a positive number (MoCo v2: 0.2), got {temperature!r}")
        self.temperature = float(temperature)

    def forward(
        self,
        query: Tensor,
        keys: Tensor,
        queues: Tensor,
        *,
        shares_query: Tensor | None = None,
        return_logits: bool = False,
    ) -> LooCLossOutput:
        """Per-space InfoNCE losses, and on request every space's logits and labels.

        Args:
            query: (S, B, D), query[s] = z_s(q).
            keys: (V = S, S, B, D), keys[v, s] = z_s(k_v); the caller detaches them (MoCo's key encoder).
            queues: (S, K, D), the negatives of every space.
            shares_query: (S - 1, V, B) bool, `LooCViews.shares_query`: [i, v, b] = k_v renders leave-one-out
                augmentation i + 1 as q does; such same-image keys are not negatives of Z_{i+1}. None: none do.
            return_logits: also build the explicit logits (memory for V + n copies of the queue columns).
        """
        _check_shapes(query, keys, queues)
        num_spaces = query.shape[0]
        anchors = query / self.temperature  # dividing (S, B, D) rather than the (S, B, K) similarities
        same_image = torch.einsum("sbd,vsbd->sbv", anchors, keys)  # [s, b, v] = z_s(q_b).z_s(k_v,b) / tau
        if shares_query is not None:
            same_image = _mask_shared_values(same_image, shares_query)
        queued = torch.einsum("sbd,skd->sbk", anchors, queues)  # (S, B, K): [s, b, k] = z_s(q_b).queue_s[k] / tau

        # InfoNCE of a row of logits = logsumexp(row) - positive. The queue's part of every row's logsumexp is
        # computed once per (space, image), so Z_0's V rows per image never copy the queue columns.
        queue_lse = queued.logsumexp(dim=-1)  # (S, B)
        # Z_0: the row of (image b, key v) is [z_0(q).z_0(k_v), Z_0's queue]
        invariant_positives = same_image[0]  # (B, V)
        invariant = torch.logaddexp(invariant_positives, queue_lse[0, :, None]) - invariant_positives
        # Z_i: the row of image b is [every same-image key, Z_i's queue], positive k_i
        spaces = torch.arange(1, num_spaces, device=query.device)
        leave_one_out_lse = torch.logaddexp(same_image[1:].logsumexp(dim=-1), queue_lse[1:])  # (n, B)
        leave_one_out = leave_one_out_lse - same_image[spaces, :, spaces]  # (n, B)
        space_losses = torch.cat([invariant.mean().unsqueeze(0), leave_one_out.mean(dim=1)])  # (S,)

        if not return_logits:
            return LooCLossOutput(space_losses=space_losses)
        logits = _explicit_logits(same_image, queued)
        labels = [torch.zeros(len(rows), dtype=torch.long, device=rows.device) for rows in logits]
        return LooCLossOutput(space_losses=space_losses, logits=logits, labels=labels)

    def extra_repr(self) -> str:
        return f"temperature={self.temperature}"


def _mask_shared_values(same_image: Tensor, shares_query: Tensor) -> Tensor:
    """-inf where a same-image key of Z_i shares the query's value of augmentation i, except Z_i's positive k_i."""
    num_spaces, batch, num_keys = same_image.shape
    if tuple(shares_query.shape) != (num_spaces - 1, num_keys, batch) or shares_query.dtype != torch.bool:
        raise ValueError(
            f"shares_query must be bool (S - 1 = {num_spaces - 1}, V = {num_keys}, B = {batch}), "
            f"got {shares_query.dtype} {tuple(shares_query.shape)}"
        )
    masked = torch.zeros_like(same_image, dtype=torch.bool)  # (S, B, V)
    masked[1:] = shares_query.to(same_image.device).transpose(1, 2)
    spaces = torch.arange(1, num_spaces, device=same_image.device)
    masked[spaces, :, spaces] = False  # k_i shares q's value of i by construction: it is Z_i's positive
    return same_image.masked_fill(masked, float("-inf"))


def _explicit_logits(same_image: Tensor, queued: Tensor) -> list[Tensor]:
    """Every space's rows of logits, positive in column 0 (the layout the class docstring describes)."""
    num_spaces = same_image.shape[0]
    # Z_0: one row per (positive key, image): (V, B, 1 + K) -> (V*B, 1 + K)
    invariant = torch.cat([same_image[0].T.unsqueeze(-1), queued[0].expand(num_spaces, -1, -1)], dim=-1)
    logits = [invariant.flatten(0, 1)]
    for space in range(1, num_spaces):
        key_order = [space, *(key for key in range(num_spaces) if key != space)]
        logits.append(torch.cat([same_image[space][:, key_order], queued[space]], dim=1))  # (B, V + K)
    return logits


def _check_shapes(query: Tensor, keys: Tensor, queues: Tensor) -> None:
    if query.ndim != 3:
        raise ValueError(f"query must be (S spaces, B, D), got shape {tuple(query.shape)}")
    num_spaces, batch, dim = query.shape
    if tuple(keys.shape) != (num_spaces, num_spaces, batch, dim):
        raise ValueError(
            f"keys must be (V = S keys, S spaces, B, D) = {(num_spaces, num_spaces, batch, dim)} for query "
            f"{tuple(query.shape)}, got {tuple(keys.shape)}"
        )
    if queues.ndim != 3 or queues.shape[0] != num_spaces or queues.shape[2] != dim:
        raise ValueError(
            f"queues must be (S = {num_spaces} spaces, K, D = {dim}) for query {tuple(query.shape)}, "
            f"got {tuple(queues.shape)}"
        )
