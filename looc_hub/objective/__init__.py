"""The LooC pretraining objective: MoCo v2 generalised to n+1 spaces (Xiao et al., ICLR 2021).

Pieces, one per module: `LooCLoss` (InfoNCE per space, a pure function of embeddings), `KeyQueue` (one queue
of negatives per space), `update_momentum` / `cosine_momentum` (the key encoder's EMA), `shuffle_bn_forward`
(MoCo's Shuffle-BN) and `LooCObjective`, which puts them together around a `LooCModel`.
"""

from .looc import LooCObjective, LooCObjectiveOutput
from .loss import LooCLoss, LooCLossOutput
from .momentum import cosine_momentum, update_momentum
from .queue import KeyQueue
from .shuffle_bn import shuffle_bn_forward

__all__ = [
    "KeyQueue",
    "LooCLoss",
    "LooCLossOutput",
    "LooCObjective",
    "LooCObjectiveOutput",
    "cosine_momentum",
    "shuffle_bn_forward",
    "update_momentum",
]
