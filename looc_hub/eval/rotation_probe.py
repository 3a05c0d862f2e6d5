"""The rotation-prediction probe (paper Table 1): does a frozen feature still know which way is up?

Every image is embedded at 0, 90, 180 and 270 degrees (`looc_hub.views.RandomRotation90` with explicit
parameters) and a linear probe predicts the quarter turn: 4-way, chance 25%. A rotation-invariant feature
(MoCo + Rotation) stays near chance; LooC's rotation space should not. Embedding all four turns of every image
(rather than one random turn each) is ours: the classes are balanced and the number is deterministic.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import torch
from datasets import Dataset
from torch import Tensor

from ..model import LooCNetwork
from ..spaces import concat_features
from ..views import RandomRotation90, RotationParams
from .features import extract_features
from .intervals import accuracy_ci95
from .linear_probe import fit_probe, probe_params
from .protocol import EvalContext, Protocol
from .record import EvalRecord

__all__ = ["PROTOCOLS", "QUARTER_TURNS", "rotation_features"]

QUARTER_TURNS = 4


def rotation_features(
    model: LooCNetwork,
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


def _check(context: EvalContext) -> list[str]:
    train, test = len(context.train_labels), len(context.test_labels)
    if train < 2 or test < 1:
        return [f"it needs 2+ train and 1+ test images, got {train} and {test}"]
    return []


def _run(context: EvalContext) -> Iterator[EvalRecord]:
    extract = {"spaces": context.needed, "batch_size": context.config.batch_size, "device": context.config.device}
    train_rot, train_turns = rotation_features(context.model, context.train, **extract)
    test_rot, test_turns = rotation_features(context.model, context.test, **extract)
    for key in context.keys:
        probe = fit_probe(context, concat_features(train_rot, key), train_turns)
        accuracy = probe.accuracy(concat_features(test_rot, key), test_turns)["top1"]
        ci95 = accuracy_ci95(accuracy, len(context.test))  # per image: its four turns are not independent
        yield context.record("rotation_probe", key, "top1", accuracy, ci95, **probe_params(context, probe), ways=4)


PROTOCOLS = (
    Protocol(
        "rotation_probe", "rotation prediction probe", "image-classification", run=_run, check=_check, default=True
    ),
)
