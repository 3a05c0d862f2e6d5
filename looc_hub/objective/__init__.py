"""The LooC pretraining objective: MoCo v2 generalised to n+1 spaces (Xiao et al., ICLR 2021).

Pieces, one per module: `LooCLoss` (InfoNCE per space, a pure function of embeddings), `KeyQueue` (one queue
of negatives per space), `update_momentum` / `cosine_momentum` (the key encoder's EMA), `shuffle_bn_forward`
(MoCo's Shuffle-BN, across processes or across groups of one process's batch) and `LooCObjective`, which puts
them together around a `LooCModel`.
"""

from .looc import LooCObjective, LooCObjectiveOutput
from .loss import LooCLoss, LooCLossOutput
from .momentum import cosine_momentum, update_momentum
from .queue import MAX_QUEUE_FRACTION, KeyQueue, check_queue_fits_dataset
from .shuffle_bn import grouped_forward, mixing_order, query_groups, shuffle_bn_forward

__all__ = [
    "MAX_QUEUE_FRACTION",
    "KeyQueue",
    "LooCLoss",
    "LooCLossOutput",
    "LooCObjective",
    "LooCObjectiveOutput",
    "check_queue_fits_dataset",
    "cosine_momentum",
    "grouped_forward",
    "mixing_order",
    "query_groups",
    "shuffle_bn_forward",
    "update_momentum",
]
