"""Few-shot N-way K-shot classification on frozen features (the paper's Flowers-102 5/10-shot transfer).

The paper reports 5- and 10-shot accuracy but not its episode protocol. Ours, the standard episodic one
(Prototypical Networks, Snell et al. 2017): each episode samples N classes, K support and Q query images per
class; queries take the class of the nearest prototype (mean of the L2-normalised support features) by cosine
similarity. The result is the mean over episodes with the half-width of its 95% confidence interval.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor

__all__ = ["FewShotResult", "few_shot_accuracy"]


@dataclass(frozen=True)
class FewShotResult:
    accuracy: float  # mean episode accuracy, %
    ci95: float  # half-width of the 95% confidence interval of the mean, %
    episodes: int


def few_shot_accuracy(
    features: Tensor,
    labels: Tensor,
    *,
    ways: int = 5,
    shots: int = 5,
    queries: int = 15,
    episodes: int = 600,
    seed: int = 0,
) -> FewShotResult:
    """Mean ± 95% CI accuracy of nearest-prototype classification over `episodes` N-way K-shot episodes.

    Only classes with at least `shots + queries` images take part; at least `ways` such classes must exist.
    """
    for name, value in (("ways", ways), ("shots", shots), ("queries", queries), ("episodes", episodes)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{name} must be a positive integer, got {value!r}")
    if ways < 2:
        raise ValueError(f"ways must be at least 2, got {ways}")
    if features.ndim != 2 or labels.shape != (len(features),):
        raise ValueError(f"need features (N, d) and labels (N,), got {tuple(features.shape)}, {tuple(labels.shape)}")
    features = F.normalize(features.float(), dim=1)
    per_class = [(labels == c).nonzero().squeeze(1) for c in labels.unique()]
    eligible = [rows for rows in per_class if len(rows) >= shots + queries]
    if len(eligible) < ways:
        raise ValueError(
            f"{ways}-way {shots}-shot with {queries} queries needs {ways} classes of >= {shots + queries} images; "
            f"only {len(eligible)} qualify"
        )
    generator = torch.Generator().manual_seed(seed)
    accuracies = torch.empty(episodes)
    for episode in range(episodes):
        chosen = torch.randperm(len(eligible), generator=generator)[:ways]
        picks = [eligible[c][torch.randperm(len(eligible[c]), generator=generator)[: shots + queries]] for c in chosen]
        rows = torch.stack(picks)  # (ways, shots + queries)
        support, query = features[rows[:, :shots]], features[rows[:, shots:]]  # (W, K, d), (W, Q, d)
        prototypes = F.normalize(support.mean(1), dim=1)  # (W, d)
        predicted = (query @ prototypes.T).argmax(-1)  # (W, Q, W) -> (W, Q)
        truth = torch.arange(ways).unsqueeze(1)  # (W, 1)
        accuracies[episode] = 100.0 * (predicted == truth).float().mean()
    half_width = 1.96 * accuracies.std().item() / math.sqrt(episodes) if episodes > 1 else 0.0
    return FewShotResult(accuracies.mean().item(), half_width, episodes)
