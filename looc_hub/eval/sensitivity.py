"""The augmentation-sensitivity matrix (beyond the paper): what each space is invariant to, for any checkpoint.

For a space f and an augmentation a, over the images x_i of a dataset:

    s_aug   = mean_i cos(f(x_i), f(a(x_i)))          how close an image stays to its augmented self
    s_other = mean_i cos(f(x_i), f(x_pi(i)))         how close it is to another image (pi: a fixed derangement)
    sensitivity = (1 - s_aug) / (1 - s_other)

0 means invariant (the augmentation does not move the embedding), 1 means the augmentation moves an image as
far as swapping it for a different image; values above 1 are possible. Normalising by the different-image
baseline is what makes spaces comparable: raw cosines of a ReLU backbone and of a unit-norm head live on very
different scales. A concatenation "a+b" L2-normalises each part first, as the kNN protocol does.

The augmentations are the view engine's own (`looc_hub.views`), always applied (p = 1: the number measures the
augmentation, not how often training applied it), at the MoCo v2 / project strengths used in pretraining, with
parameters drawn per image from a generator seeded once per augmentation, so the matrix is deterministic given
`seed` and `batch_size`. Rotation draws from the three non-trivial quarter turns. The metric, its normalisation,
p = 1 and the non-trivial turns are our choices; the paper has no such table.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType

import torch
import torch.nn.functional as F
from datasets import Dataset
from torch import Tensor

from ..model import LooCNetwork
from ..spaces import concat_features, model_spaces, parse_space_key
from ..views.registry import REGISTRY, get_augmentation
from .config import option
from .extraction_steps import ImageTransform
from .features import extract_features
from .plotting import pyplot, save_figure
from .protocol import EvalContext, Protocol
from .record import EvalRecord

__all__ = [
    "PROTOCOLS",
    "SENSITIVITY_AUGMENTATIONS",
    "SensitivityMatrix",
    "SensitivityOptions",
    "augmentation_sensitivity",
    "plot_sensitivity",
]

SENSITIVITY_AUGMENTATIONS: tuple[str, ...] = tuple(REGISTRY)  # every registered augmentation, in registry order


@dataclass(frozen=True)
class SensitivityMatrix:
    """Sensitivity per (space key, augmentation): 0 invariant, 1 as far as a different image."""

    keys: tuple[str, ...]
    augmentations: tuple[str, ...]
    values: Tensor  # (len(keys), len(augmentations))
    baseline_similarity: dict[str, float]  # s_other per space key

    def records(self, dataset: str, split: str, seed: int) -> list[EvalRecord]:
        """One "sensitivity" record per cell, metric = the augmentation's name."""
        return [
            EvalRecord("sensitivity", dataset, split, key, name, float(self.values[row, column]), {"seed": seed})
            for row, key in enumerate(self.keys)
            for column, name in enumerate(self.augmentations)
        ]


def augmentation_sensitivity(
    model: LooCNetwork,
    dataset: Dataset,
    *,
    keys: Sequence[str] | None = None,
    augmentations: Sequence[str] = SENSITIVITY_AUGMENTATIONS,
    seed: int = 0,
    batch_size: int = 256,
    device: torch.device | str = "cpu",
) -> SensitivityMatrix:
    """The sensitivity of every space key (default: the model's spaces) to every augmentation on `dataset`."""
    unknown = [name for name in augmentations if name not in SENSITIVITY_AUGMENTATIONS]
    if unknown or not augmentations:
        raise ValueError(f"unknown augmentations {unknown}; valid choices: {list(SENSITIVITY_AUGMENTATIONS)}")
    if len(dataset) < 2:
        raise ValueError(f"the different-image baseline needs at least 2 images, got {len(dataset)}")
    keys = list(keys or model.spaces)
    spaces = list(dict.fromkeys(name for key in keys for name in parse_space_key(key)))
    model.embedding_dim(model_spaces(spaces))  # unknown space names fail before any extraction
    extract = {"spaces": spaces, "batch_size": batch_size, "device": device}
    clean, _ = extract_features(model, dataset, **extract)
    clean = {key: F.normalize(concat_features(clean, key, normalize_parts=True), dim=1) for key in keys}
    others = _derangement(len(dataset), seed)  # (N,)
    baseline = {key: (clean[key] * clean[key][others]).sum(1).mean().item() for key in keys}
    values = torch.empty(len(keys), len(augmentations))
    for column, name in enumerate(augmentations):
        augment = fixed_augmentation(name, model.config.image_size, seed)
        moved, _ = extract_features(model, dataset, transform=augment, **extract)
        for row, key in enumerate(keys):
            augmented = F.normalize(concat_features(moved, key, normalize_parts=True), dim=1)
            similarity = (clean[key] * augmented).sum(1).mean().item()  # (N, d) -> (N,) -> mean
            values[row, column] = (1.0 - similarity) / max(1.0 - baseline[key], 1e-8)
    return SensitivityMatrix(tuple(keys), tuple(augmentations), values, baseline)


def fixed_augmentation(name: str, image_size: int, seed: int) -> ImageTransform:
    """The view engine's augmentation `name`, always applied (its registry entry's `always` keywords: p = 1,
    rotation by non-trivial turns only), parameters from a generator seeded with `seed`."""
    spec = get_augmentation(name)
    augmentation = spec.create(image_size, **spec.always)  # pretraining's strengths, e.g. its scaled blur sigma
    generator = torch.Generator().manual_seed(seed)

    def augment(images: Tensor) -> Tensor:
        params = spec.sample(augmentation, len(images), tuple(images.shape[-2:]), generator)
        return augmentation.apply(images, params)

    return augment


def plot_sensitivity(matrix: SensitivityMatrix, path: str | Path) -> Path:
    """A heatmap PNG, spaces as rows and augmentations as columns, each cell annotated with its value."""
    plt = pyplot()

    values = matrix.values.numpy()
    figure, axes = plt.subplots(figsize=(0.9 * len(matrix.augmentations) + 3.0, 0.5 * len(matrix.keys) + 1.5))
    # The scale is fixed to [0, 1] (0 invariant, 1 = another image): one cell far above 1 (a crop of 14) used to
    # stretch it and darken every 0-1 difference; larger values saturate and keep their printed number.
    image = axes.imshow(values, cmap="viridis", aspect="auto", vmin=0.0, vmax=1.0)
    axes.set_xticks(range(len(matrix.augmentations)), matrix.augmentations)
    axes.set_yticks(range(len(matrix.keys)), matrix.keys)
    for row in range(values.shape[0]):
        for column in range(values.shape[1]):
            shade = "black" if values[row, column] > 0.6 * image.norm.vmax else "white"
            axes.text(column, row, f"{values[row, column]:.2f}", ha="center", va="center", color=shade, fontsize=9)
    axes.set_title("Sensitivity: 0 invariant, 1 = another image", fontsize=10)
    figure.colorbar(image, ax=axes, fraction=0.046, pad=0.04, extend="max" if values.max() > 1 else "neither")
    figure.tight_layout()
    return save_figure(figure, path)


def _derangement(count: int, seed: int) -> Tensor:
    """A seeded permutation with no fixed point: a random order, each image paired with the next in it."""
    order = torch.randperm(count, generator=torch.Generator().manual_seed(seed))
    partner = torch.empty_like(order)
    partner[order] = order.roll(-1)
    return partner


@dataclass
class SensitivityOptions:
    """The sensitivity protocol's settings."""

    augmentations: list[str] = option(
        list(SENSITIVITY_AUGMENTATIONS),
        help="sensitivity: augmentations each space is measured against",
        choices=SENSITIVITY_AUGMENTATIONS,
    )


def _run(context: EvalContext) -> Iterator[EvalRecord]:
    config = context.config
    matrix = augmentation_sensitivity(
        context.model,
        context.test,
        keys=context.keys,
        augmentations=config.options(SensitivityOptions).augmentations,
        seed=config.seed,
        batch_size=config.batch_size,
        device=config.device,
    )
    yield from matrix.records(context.source, config.test_split, config.seed)
    context.artifact(plot_sensitivity(matrix, context.output_dir / f"{context.file_prefix()}sensitivity.png"))


PROTOCOLS = (
    Protocol(
        "sensitivity",
        "sensitivity",
        "image-feature-extraction",
        run=_run,
        options=SensitivityOptions,
        reads_labels=False,
        metrics=MappingProxyType({}),  # one metric per augmentation, named after it: a plain number
    ),
)
