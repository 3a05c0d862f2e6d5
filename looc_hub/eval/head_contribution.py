"""Head contribution (paper Fig. 4): how much each space's part of a concatenated feature decides a prediction.

A linear classifier is trained on the concatenation of the given spaces (LooC++'s concatenated feature in the
paper). For each correctly classified test image with class y, the contribution of space h is

    c_h = sum over the dimensions d of h of (x_d - mean_d) * W[y, d]

(activation x weight, summed per head), so sum_h c_h + bias_y = the logit of y. Centring the activations on the
train mean (ours) makes the per-head terms independent of the arbitrary offset of non-negative backbone
features: W here is the probe's weight on raw features, its standardisation folded in (`LinearProbe`). The paper
shows histograms of these per head; we save the same (PNG) and report each head's mean contribution and how often
it is the largest one.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import Tensor

from ..model import LooCNetwork
from ..spaces import space_key
from .config import EvalConfig, option
from .linear_probe import fit_linear_probe
from .plotting import pyplot, save_figure
from .protocol import EvalContext, Protocol, per_class_problems
from .record import EvalRecord

__all__ = ["PROTOCOLS", "HeadContributionOptions", "HeadContributions", "head_contributions", "plot_head_contributions"]


@dataclass(frozen=True)
class HeadContributions:
    """Per-head contributions to the true-class logit of every correct prediction."""

    spaces: tuple[str, ...]
    values: Tensor  # (num_correct, len(spaces))
    accuracy: float  # top-1 (%) of the classifier on the concatenation

    def mean(self) -> dict[str, float]:
        return {space: self.values[:, index].mean().item() for index, space in enumerate(self.spaces)}

    def largest_rate(self) -> dict[str, float]:
        """% of correct predictions in which each head contributes the most."""
        winners = self.values.argmax(1).bincount(minlength=len(self.spaces)).float()  # (len(spaces),)
        return {space: 100.0 * (winners[index] / len(self.values)).item() for index, space in enumerate(self.spaces)}

    def records(self, dataset: str, split: str, params: Mapping[str, object]) -> list[EvalRecord]:
        """ "head_contribution" records per head: mean_contribution and largest_rate (%), plus the probe's top1."""
        concatenation = space_key(self.spaces)
        setting = {**params, "concatenation": concatenation, "correct": len(self.values)}
        records = [EvalRecord("head_contribution", dataset, split, concatenation, "top1", self.accuracy, dict(params))]
        for metric, numbers in (("mean_contribution", self.mean()), ("largest_rate", self.largest_rate())):
            records += [
                EvalRecord("head_contribution", dataset, split, space, metric, value, setting)
                for space, value in numbers.items()
            ]
        return records


def head_contributions(
    train_features: Mapping[str, Tensor],
    train_labels: Tensor,
    test_features: Mapping[str, Tensor],
    test_labels: Tensor,
    *,
    spaces: Sequence[str],
    method: str = "lbfgs",
    seed: int = 0,
) -> HeadContributions:
    """Train a linear probe on the concatenation of `spaces` and split its correct test logits by space."""
    if len(spaces) < 2:
        raise ValueError(f"head contribution compares at least 2 spaces, got {list(spaces)}")
    key = space_key(spaces)  # validates the names
    missing = [space for space in spaces if space not in train_features or space not in test_features]
    if missing:
        raise ValueError(f"no features for space(s) {missing}; extracted: {list(train_features)}")
    train_x = torch.cat([train_features[space].float() for space in spaces], dim=1)  # (N, D)
    test_x = torch.cat([test_features[space].float() for space in spaces], dim=1)  # (M, D)
    probe = fit_linear_probe(train_x, train_labels, method=method, seed=seed)
    correct = probe.predict_logits(test_x).argmax(1) == test_labels  # (M,)
    centred = test_x[correct] - train_x.mean(0)  # (C, D)
    products = centred * probe.classifier.weight[test_labels[correct]]  # (C, D): activation x true-class weight
    widths = [train_features[space].shape[1] for space in spaces]
    per_head = torch.stack([part.sum(1) for part in products.split(widths, dim=1)], dim=1)  # (C, len(spaces))
    accuracy = 100.0 * correct.float().mean().item()
    if not len(per_head):
        raise ValueError(f"the probe on {key} classified no test image correctly; nothing to attribute")
    return HeadContributions(tuple(spaces), per_head, accuracy)


def plot_head_contributions(result: HeadContributions, path: str | Path, *, bins: int = 40) -> Path:
    """Overlaid histograms of each head's contribution over the correct predictions (paper Fig. 4), as a PNG."""
    plt = pyplot()

    values = result.values.numpy()
    edges = torch.linspace(float(values.min()), float(values.max()), bins + 1).numpy()
    figure, axes = plt.subplots(figsize=(6.0, 3.6))
    for index, space in enumerate(result.spaces):
        axes.hist(values[:, index], bins=edges, alpha=0.5, label=f"{space} (mean {values[:, index].mean():.2f})")
    axes.axvline(0.0, color="black", linewidth=0.8)
    axes.set_xlabel("activation x weight, summed per head (true class)")
    axes.set_ylabel("correct test predictions")
    axes.set_title(f"Head contribution: probe on {space_key(result.spaces)}, {result.accuracy:.1f}% top-1", fontsize=9)
    axes.legend(fontsize=8)
    figure.tight_layout()
    return save_figure(figure, path)


@dataclass
class HeadContributionOptions:
    """The head-contribution protocol's settings."""

    head_spaces: list[str] | None = option(None, help="head contribution (default: the model's heads)")


def _head_spaces(config: EvalConfig, model: LooCNetwork) -> list[str]:
    return config.options(HeadContributionOptions).head_spaces or list(model.head_names)


def _check(context: EvalContext) -> list[str]:
    found = per_class_problems(context, 2)
    head_spaces = _head_spaces(context.config, context.model)
    if len(head_spaces) < 2:
        found.append(f"it compares 2+ spaces, got --head_spaces {head_spaces}")
    return found


def _run(context: EvalContext) -> Iterator[EvalRecord]:
    method = context.config.probe_method
    heads = head_contributions(
        context.train_features,
        context.train_labels,
        context.test_features,
        context.test_labels,
        spaces=_head_spaces(context.config, context.model),
        method=method,
    )
    yield from heads.records(context.source, context.config.test_split, {"method": method})
    path = context.output_dir / f"{context.file_prefix()}head_contribution.png"
    context.artifact(plot_head_contributions(heads, path))


PROTOCOLS = (
    Protocol(
        "head_contribution",
        "head contribution",
        "image-feature-extraction",
        run=_run,
        options=HeadContributionOptions,
        check=_check,
        labelled=True,
        extra_spaces=_head_spaces,
    ),
)
