"""The two reference rows every claim about learning is measured against: a random init and raw pixels.

A pretrained model has learned something only if it beats, on the same held-out split and protocol:
- `random_init_like`: a randomly initialised model of the same configuration (the run's own starting point for
  the same seed), with its BatchNorm statistics calibrated on training images (ours: without calibration a
  random network's eval-mode activations are meaningless, which would flatter any trained model);
- raw pixels (the `PIXELS` key of `extract_features`): the pixels themselves, preprocessed exactly as the model's
  inputs are (its evaluation transform and normalisation), flattened. On small images raw pixels are a strong
  baseline.
`paired_bootstrap` gives the noise of a difference between two such rows on the same test images.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from datasets import Dataset
from torch import Tensor

from ..data import random_subset
from ..model import LooCNetwork
from ..spaces import PIXELS
from .extraction_steps import embed_images, image_batches
from .features import extract_features
from .knn import knn_class_scores
from .sensitivity import augmentation_sensitivity

__all__ = [
    "BaselineComparison",
    "PairedDifference",
    "calibrate_batchnorm",
    "compare_to_baselines",
    "paired_bootstrap",
    "random_init_like",
]


@torch.no_grad()
def calibrate_batchnorm(
    model: LooCNetwork, dataset: Dataset, *, max_images: int = 1024, batch_size: int = 256, device: str = "cpu"
) -> LooCNetwork:
    """Set every BatchNorm's running statistics to their average over up to `max_images` random rows of `dataset`.

    Train-mode forwards with cumulative averaging (momentum None), no gradients, weights untouched; returns the
    model in eval mode.
    """
    norms = [m for m in model.modules() if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)]
    saved = [m.momentum for m in norms]
    for norm in norms:
        norm.reset_running_stats()
        norm.momentum = None  # cumulative average over the calibration batches
    model.to(device).train()
    # Random rows, not the first: statistics of a dataset stored sorted by class would calibrate for a few classes.
    for images, _ in image_batches(random_subset(dataset, max_images, seed=0), model, batch_size=batch_size):
        embed_images(model, images.to(device), model.spaces)
    for norm, momentum in zip(norms, saved, strict=True):
        norm.momentum = momentum
    return model.eval()


def random_init_like(model: LooCNetwork, calibration: Dataset, *, seed: int = 0, device: str = "cpu") -> LooCNetwork:
    """A random init of `model`'s configuration (`torch.manual_seed(seed)`: pretraining's own start for that
    seed), BatchNorm calibrated on `calibration` (`calibrate_batchnorm`)."""
    torch.manual_seed(seed)
    return calibrate_batchnorm(type(model)(model.config), calibration, device=device)


@dataclass(frozen=True)
class PairedDifference:
    """Mean accuracy difference (percentage points) of two classifiers on the same items, with a 95% interval."""

    difference: float
    low: float
    high: float

    @property
    def significant(self) -> bool:
        """Whether the 95% interval excludes 0."""
        return self.low > 0 or self.high < 0


def paired_bootstrap(hits_a: Tensor, hits_b: Tensor, *, samples: int = 2000, seed: int = 0) -> PairedDifference:
    """Accuracy of a minus accuracy of b, from per-item hits (N,) bool, with a paired bootstrap 95% interval."""
    if hits_a.shape != hits_b.shape or hits_a.ndim != 1 or len(hits_a) == 0:
        raise ValueError(
            f"need two (N,) hit vectors of the same length, got {tuple(hits_a.shape)}, {tuple(hits_b.shape)}"
        )
    delta = 100.0 * (hits_a.float() - hits_b.float())  # (N,)
    rows = torch.randint(len(delta), (samples, len(delta)), generator=torch.Generator().manual_seed(seed))
    means = delta[rows].mean(1)  # (samples,)
    low, high = torch.quantile(means, torch.tensor([0.025, 0.975])).tolist()
    return PairedDifference(delta.mean().item(), low, high)


@dataclass(frozen=True)
class BaselineComparison:
    """kNN top-1 (%) per space of a model and of its random init, raw pixels' kNN, and the trained model's
    sensitivity per space (`augmentation_sensitivity`), all on one held-out split."""

    knn: dict[str, float]
    random_init_knn: dict[str, float]
    raw_pixels_knn: float
    best_space: str
    gain_over_random_init: PairedDifference  # in the best space, paired over the test images
    gain_over_raw_pixels: PairedDifference
    sensitivity: dict[str, dict[str, float]]  # space -> augmentation -> sensitivity


def compare_to_baselines(
    model: LooCNetwork,
    train: Dataset,
    test: Dataset,
    *,
    k: int = 20,
    temperature: float = 0.07,
    augmentations: tuple[str, ...] = ("rotation", "color"),
    seed: int = 0,
    device: str = "cpu",
) -> BaselineComparison:
    """Weighted kNN (train split as the bank) of every space of `model`, of `random_init_like(model)` and of raw
    pixels on `test`, plus the trained model's sensitivity matrix on `test`."""

    def hits(bank: Tensor, bank_labels: Tensor, queries: Tensor, labels: Tensor) -> Tensor:
        scores = knn_class_scores(bank, bank_labels, queries, k=k, temperature=temperature)
        return scores.argmax(1) == labels  # (N,)

    spaces = list(model.spaces)
    per_model = {}
    for name, candidate in (("trained", model), ("random", random_init_like(model, train, seed=seed, device=device))):
        bank, bank_labels = extract_features(candidate, train, spaces=spaces, device=device)
        queries, labels = extract_features(candidate, test, spaces=spaces, device=device)
        per_model[name] = {space: hits(bank[space], bank_labels, queries[space], labels) for space in spaces}
    pixel_bank, pixel_labels = extract_features(model, train, spaces=[PIXELS])
    pixel_queries, labels = extract_features(model, test, spaces=[PIXELS])
    pixel_hits = hits(pixel_bank[PIXELS], pixel_labels, pixel_queries[PIXELS], labels)

    def accuracy(h: Tensor) -> float:
        return 100.0 * h.float().mean().item()

    knn = {space: accuracy(h) for space, h in per_model["trained"].items()}
    best = max(knn, key=knn.get)
    matrix = augmentation_sensitivity(model, test, keys=spaces, augmentations=augmentations, seed=seed, device=device)
    return BaselineComparison(
        knn=knn,
        random_init_knn={space: accuracy(h) for space, h in per_model["random"].items()},
        raw_pixels_knn=accuracy(pixel_hits),
        best_space=best,
        gain_over_random_init=paired_bootstrap(per_model["trained"][best], per_model["random"][best], seed=seed),
        gain_over_raw_pixels=paired_bootstrap(per_model["trained"][best], pixel_hits, seed=seed),
        sensitivity={
            space: {name: float(matrix.values[row, column]) for column, name in enumerate(matrix.augmentations)}
            for row, space in enumerate(matrix.keys)
        },
    )
