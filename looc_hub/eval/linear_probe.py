"""Linear classification on frozen features: the paper's main protocol (Table 1: IN-100 top-1, rotation).

Two optimisers over the same model, a linear layer on standardised features (standardising with the training
mean and std is ours; it lets one learning rate serve every space, whose scales differ by orders of magnitude):
- "sgd": the paper's protocol (MoCo's linear evaluation): mini-batch SGD with momentum 0.9 and cross-entropy;
  the cosine schedule, no weight decay and the default epochs are ours for small data (MoCo: 100 epochs).
- "lbfgs": ours, a fast option for small data: full-batch multinomial logistic regression with a small L2 penalty,
  solved by L-BFGS, deterministic.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

__all__ = ["PROBE_METHODS", "LinearProbe", "fit_linear_probe", "topk_accuracy"]

PROBE_METHODS = ("lbfgs", "sgd")


@dataclass
class LinearProbe:
    """A trained probe: `classifier` maps raw features (N, d) to logits (N, C); standardisation is folded in."""

    classifier: nn.Linear
    num_classes: int

    @torch.no_grad()
    def predict_logits(self, features: Tensor) -> Tensor:
        return self.classifier(features.float())

    def accuracy(self, features: Tensor, labels: Tensor) -> dict[str, float]:
        """{"top1": %, "top5": %} on `features` / `labels`."""
        return topk_accuracy(self.predict_logits(features), labels)


def fit_linear_probe(
    features: Tensor,
    labels: Tensor,
    *,
    num_classes: int | None = None,
    method: str = "lbfgs",
    epochs: int = 30,
    lr: float = 0.1,
    batch_size: int = 256,
    weight_decay: float = 1e-4,
    seed: int = 0,
) -> LinearProbe:
    """Train a linear classifier on (N, d) `features` with integer `labels` (N,).

    `epochs`, `lr` and `batch_size` apply to "sgd"; `weight_decay` is the L2 penalty of "lbfgs" (and SGD's
    decoupled decay). `num_classes` defaults to the largest label + 1.
    """
    if method not in PROBE_METHODS:
        raise ValueError(f"Unknown probe method {method!r}; valid choices: {list(PROBE_METHODS)}")
    if features.ndim != 2 or labels.shape != (len(features),) or len(features) == 0:
        raise ValueError(
            f"need features (N, d) and labels (N,) with N > 0, got {tuple(features.shape)}, {tuple(labels.shape)}"
        )
    if labels.dtype.is_floating_point or int(labels.min()) < 0:
        raise ValueError("labels must be integer class ids >= 0")
    num_classes = num_classes or int(labels.max()) + 1
    if int(labels.max()) >= num_classes:
        raise ValueError(f"label {int(labels.max())} is out of range for num_classes={num_classes}")
    features = features.float()
    mean, std = features.mean(0), features.std(0).clamp_min(1e-6)  # (d,), (d,)
    standardised = (features - mean) / std
    generator = torch.Generator().manual_seed(seed)
    linear = nn.Linear(features.shape[1], num_classes)
    nn.init.normal_(linear.weight, std=0.01, generator=generator)
    nn.init.zeros_(linear.bias)
    if method == "lbfgs":
        _fit_lbfgs(linear, standardised, labels, weight_decay)
    else:
        _fit_sgd(linear, standardised, labels, epochs, lr, batch_size, weight_decay, generator)
    with torch.no_grad():  # logits = W (x - mean) / std + b = (W / std) x + (b - (W / std) mean)
        weight = linear.weight / std  # (C, d)
        linear.bias -= weight @ mean
        linear.weight.copy_(weight)
    return LinearProbe(linear.requires_grad_(False), num_classes)


def topk_accuracy(logits: Tensor, labels: Tensor) -> dict[str, float]:
    """{"top1": %, "top5": %} of (N, C) scores; "top5" counts the 5 best classes (all when fewer exist)."""
    ranked = logits.topk(min(5, logits.shape[1]), dim=1).indices  # (N, 5)
    hits = ranked == labels.to(ranked.device).unsqueeze(1)  # (N, 5)
    return {"top1": 100.0 * hits[:, 0].float().mean().item(), "top5": 100.0 * hits.any(1).float().mean().item()}


def _fit_lbfgs(linear: nn.Linear, features: Tensor, labels: Tensor, weight_decay: float) -> None:
    optimizer = torch.optim.LBFGS(
        linear.parameters(), lr=1, max_iter=100, history_size=20, line_search_fn="strong_wolfe"
    )

    def closure() -> Tensor:
        optimizer.zero_grad()
        loss = F.cross_entropy(linear(features), labels) + weight_decay * linear.weight.square().sum()
        loss.backward()
        return loss

    optimizer.step(closure)


def _fit_sgd(
    linear: nn.Linear,
    features: Tensor,
    labels: Tensor,
    epochs: int,
    lr: float,
    batch_size: int,
    weight_decay: float,
    generator: torch.Generator,
) -> None:
    optimizer = torch.optim.SGD(linear.parameters(), lr=lr, momentum=0.9, weight_decay=weight_decay)
    steps_per_epoch = -(-len(features) // batch_size)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=epochs * steps_per_epoch)
    for _ in range(epochs):
        for rows in torch.randperm(len(features), generator=generator).split(batch_size):
            loss = F.cross_entropy(linear(features[rows]), labels[rows])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            schedule.step()
