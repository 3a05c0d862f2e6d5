"""The rotation-prediction probe (paper Table 1): does a frozen feature still know which way is up?

Every image is embedded at 0, 90, 180 and 270 degrees (`looc_hub.views.RandomRotation90` with explicit
parameters) and a linear probe predicts the quarter turn: 4-way, chance 25%. A rotation-invariant feature
(MoCo + Rotation) stays near chance; LooC's rotation space should not. Embedding all four turns of every image
(rather than one random turn each) is ours: the classes are balanced and the number is deterministic.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import torch
from datasets import Dataset
from torch import Tensor

from ..views import RandomRotation90, RotationParams
from .features import extract_features

if TYPE_CHECKING:
    from ..model import LooCModel  # hints only: the model's Hub layer (card) imports evaluation

__all__ = ["QUARTER_TURNS", "rotation_features"]

QUARTER_TURNS = 4


def rotation_features(
    model: LooCModel,
    dataset: Dataset,
    *,
    spaces: Sequence[str],
    batch_size: int = 256,
    device: torch.device | str = "cpu",
) -> tuple[dict[str, Tensor], Tensor]:
    """({space: (4 N, d)}, quarter turns (4 N,)): each image at every quarter turn, turn-major order."""
    rotation = RandomRotation90()
    per_turn = []
    for turns in range(QUARTER_TURNS):

        def rotate(images: Tensor, turns: int = turns) -> Tensor:
            quarter_turns = torch.full((len(images),), turns, dtype=torch.long, device=images.device)
            return rotation.apply(images, RotationParams(quarter_turns=quarter_turns))

        features, _ = extract_features(
            model, dataset, spaces=spaces, transform=rotate, batch_size=batch_size, device=device
        )
        per_turn.append(features)
    features = {space: torch.cat([turn[space] for turn in per_turn]) for space in spaces}
    targets = torch.arange(QUARTER_TURNS).repeat_interleave(len(per_turn[0][spaces[0]]))
    return features, targets
