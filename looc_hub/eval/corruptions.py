"""ImageNet-C style corruptions on tensors, and the robustness protocol built on them (paper: ImageNet-C style).

Hendrycks & Dietterich, "Benchmarking Neural Network Robustness to Common Corruptions and Perturbations"
(ICLR 2019). Each corruption has five severities whose constants are the ImageNet-C code's
(`imagenet_c/corruptions.py`), reimplemented on float (B, 3, H, W) batches in [0, 1]:

| corruption | constant per severity 1..5 | operation |
|---|---|---|
| gaussian_noise | sigma .08 .12 .18 .26 .38 | x + N(0, sigma^2) |
| shot_noise | photons 60 25 12 5 3 | Poisson(x c) / c |
| impulse_noise | amount .03 .06 .09 .17 .27 | salt and pepper per value (skimage "s&p") |
| gaussian_blur | sigma 1 2 3 4 6 (px at 224) | Gaussian blur |
| contrast | factor .4 .3 .2 .1 .05 | (x - channel mean) c + channel mean |
| brightness | shift .1 .2 .3 .4 .5 | HSV value + c |
| saturate | (scale, shift) (.3,0) (.1,0) (2,0) (5,.1) (20,.2) | HSV saturation s c0 + c1 |
| pixelate | size factor .6 .5 .4 .3 .25 | box downsample to c side, nearest upsample |
| jpeg_compression | quality 25 18 15 10 7 | JPEG encode / decode (PIL, as ImageNet-C) |

Ours: the blur sigma, given in pixels of a 224 px image, is scaled to the image side (an image is the same
scene at any resolution); the blur pads by reflection (ImageNet-C: skimage's "nearest"); randomness comes from a
`torch.Generator`, so a corruption is deterministic given its seed (and the batch size, when applied per batch).
Every result is clamped to [0, 1].

The protocol (`corruption_accuracy`): a linear probe trained on clean features is tested on every corruption x
severity of the test set; the mean corruption accuracy is the mean over all of them (ImageNet-C's mCE needs
AlexNet's errors, which do not exist here, so we report mean accuracy instead; ours).
"""

from __future__ import annotations

import io
import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType

import numpy as np
import torch
import torch.nn.functional as F
from datasets import Dataset
from PIL import Image
from torch import Tensor

from .._checks import is_int
from ..model import LooCNetwork
from ..spaces import concat_features, parse_space_key
from ..views.blur import blur_rows
from .config import option
from .features import extract_features
from .linear_probe import LinearProbe, fit_probe, penalty_problems, probe_params
from .protocol import TOP_K, EvalContext, Metric, Protocol
from .record import EvalRecord

__all__ = [
    "CORRUPTIONS",
    "PROTOCOLS",
    "SEVERITIES",
    "SEVERITY_CONSTANTS",
    "Corruption",
    "CorruptionOptions",
    "CorruptionResult",
    "corrupt",
    "corruption_accuracy",
]

SEVERITIES = (1, 2, 3, 4, 5)
SEVERITY_CONSTANTS: dict[str, tuple] = {
    "gaussian_noise": (0.08, 0.12, 0.18, 0.26, 0.38),
    "shot_noise": (60, 25, 12, 5, 3),
    "impulse_noise": (0.03, 0.06, 0.09, 0.17, 0.27),
    "gaussian_blur": (1, 2, 3, 4, 6),
    "contrast": (0.4, 0.3, 0.2, 0.1, 0.05),
    "brightness": (0.1, 0.2, 0.3, 0.4, 0.5),
    "saturate": ((0.3, 0.0), (0.1, 0.0), (2.0, 0.0), (5.0, 0.1), (20.0, 0.2)),
    "pixelate": (0.6, 0.5, 0.4, 0.3, 0.25),
    "jpeg_compression": (25, 18, 15, 10, 7),
}
CORRUPTIONS = tuple(SEVERITY_CONSTANTS)
_REFERENCE_SIDE = 224  # ImageNet-C's image side, the unit of its blur sigmas


def corrupt(images: Tensor, corruption: str, severity: int, generator: torch.Generator | None = None) -> Tensor:
    """`corruption` at `severity` (1..5) of float images (B, 3, H, W) in [0, 1]; a new tensor, in [0, 1]."""
    _check(corruption, severity)
    if images.ndim != 4 or images.shape[1] != 3 or not images.is_floating_point():
        raise ValueError(f"corrupt needs float images (B, 3, H, W) in [0, 1], got {images.dtype} {tuple(images.shape)}")
    constant = SEVERITY_CONSTANTS[corruption][severity - 1]
    return _OPERATIONS[corruption](images, constant, generator).clamp(0.0, 1.0)


class Corruption:
    """One corruption at one severity as an `ImageTransform` (for `extract_features`), with its own seeded noise.

    Raises ValueError at construction for an unknown corruption or a severity outside 1..5.
    """

    def __init__(self, corruption: str, severity: int, seed: int = 0) -> None:
        _check(corruption, severity)
        self.corruption, self.severity = corruption, severity
        self.generator = torch.Generator().manual_seed(seed)

    def __call__(self, images: Tensor) -> Tensor:
        return corrupt(images, self.corruption, self.severity, self.generator)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.corruption!r}, severity={self.severity})"


@dataclass(frozen=True)
class CorruptionResult:
    """Top-1 accuracy (%) of one space key's probe: clean, and per corruption one value per severity."""

    clean: float
    accuracy: dict[str, tuple[float, ...]]
    severities: tuple[int, ...]

    @property
    def mean_corruption_accuracy(self) -> float:
        values = [value for per_severity in self.accuracy.values() for value in per_severity]
        return sum(values) / len(values)

    def records(self, key: str, dataset: str, split: str, params: Mapping[str, object]) -> list[EvalRecord]:
        """Records of protocol "corruption": top1 per corruption and severity (clean: severity 0), and the mean."""
        records = [EvalRecord("corruption", dataset, split, key, "top1", self.clean, {**params, "corruption": "clean"})]
        for name, values in self.accuracy.items():
            for severity, value in zip(self.severities, values, strict=True):
                setting = {**params, "corruption": name, "severity": severity}
                records.append(EvalRecord("corruption", dataset, split, key, "top1", value, setting))
        mean = self.mean_corruption_accuracy
        records.append(EvalRecord("corruption", dataset, split, key, "mean_corruption_accuracy", mean, dict(params)))
        return records


def corruption_accuracy(
    model: LooCNetwork,
    test: Dataset,
    probes: Mapping[str, LinearProbe],
    *,
    corruptions: Sequence[str] = CORRUPTIONS,
    severities: Sequence[int] = SEVERITIES,
    seed: int = 0,
    batch_size: int = 256,
    device: torch.device | str = "cpu",
) -> dict[str, CorruptionResult]:
    """{space key: CorruptionResult} of clean-trained `probes` on every corruption x severity of `test`.

    One extraction pass per corruption and severity serves every key; each pass has its own seed-derived noise.
    """
    for name in corruptions:
        for severity in severities:
            _check(name, severity)
    spaces = list(dict.fromkeys(name for key in probes for name in parse_space_key(key)))
    extract = {"spaces": spaces, "batch_size": batch_size, "device": device}
    features, labels = extract_features(model, test, **extract)
    if labels is None:
        raise ValueError("the corruption protocol needs a labelled test split")
    clean = {key: probe.accuracy(concat_features(features, key), labels)["top1"] for key, probe in probes.items()}
    accuracy: dict[str, dict[str, list[float]]] = {key: {name: [] for name in corruptions} for key in probes}
    for index, name in enumerate(corruptions):
        for severity in severities:
            transform = Corruption(name, severity, seed=seed + 10 * index + severity)
            features, _ = extract_features(model, test, transform=transform, **extract)
            for key, probe in probes.items():
                accuracy[key][name].append(probe.accuracy(concat_features(features, key), labels)["top1"])
    return {
        key: CorruptionResult(clean[key], {name: tuple(v) for name, v in accuracy[key].items()}, tuple(severities))
        for key in probes
    }


def _check(corruption: str, severity: int) -> None:
    if corruption not in SEVERITY_CONSTANTS:
        raise ValueError(f"unknown corruption {corruption!r}; valid choices: {list(CORRUPTIONS)}")
    if not is_int(severity) or severity not in SEVERITIES:
        raise ValueError(f"severity must be one of {list(SEVERITIES)}, got {severity!r}")


def _random_like(images: Tensor, generator: torch.Generator | None, normal: bool = False) -> Tensor:
    """Noise drawn on the generator's device (CPU by default) and moved to the images' device."""
    device = generator.device if generator is not None else images.device
    draw = torch.randn if normal else torch.rand
    return draw(images.shape, generator=generator, device=device).to(images.device)


def _gaussian_noise(images: Tensor, sigma: float, generator: torch.Generator | None) -> Tensor:
    return images + sigma * _random_like(images, generator, normal=True)


def _shot_noise(images: Tensor, photons: float, generator: torch.Generator | None) -> Tensor:
    device = generator.device if generator is not None else images.device
    counts = torch.poisson((images * photons).to(device), generator=generator)
    return counts.to(images.device) / photons


def _impulse_noise(images: Tensor, amount: float, generator: torch.Generator | None) -> Tensor:
    """skimage's "s&p": each value becomes 0 or 1 (equally likely) with probability `amount`."""
    draw = _random_like(images, generator)
    return torch.where(draw < amount / 2, 0.0, torch.where(draw < amount, 1.0, images))


def _gaussian_blur(images: Tensor, sigma: float, generator: torch.Generator | None) -> Tensor:
    side = min(images.shape[-2:])
    scaled = sigma * side / _REFERENCE_SIDE
    kernel_size = min(2 * math.ceil(4 * scaled) + 1, 2 * (side // 2) - 1)  # skimage's 4-sigma truncation
    sigmas = torch.full((len(images),), scaled, device=images.device)
    return blur_rows(images, sigmas, kernel_size)


def _contrast(images: Tensor, factor: float, generator: torch.Generator | None) -> Tensor:
    means = images.mean(dim=(2, 3), keepdim=True)  # (B, 3, 1, 1): ImageNet-C's per-channel mean
    return (images - means) * factor + means


def _brightness(images: Tensor, shift: float, generator: torch.Generator | None) -> Tensor:
    """HSV value + shift with hue and saturation kept: every channel scales by new value / old value."""
    value = images.amax(dim=1, keepdim=True)  # (B, 1, H, W)
    brighter = (value + shift).clamp(0.0, 1.0)
    return torch.where(value > 0, images * brighter / value.clamp_min(1e-12), brighter)  # black: grey of new value


def _saturate(images: Tensor, scale_shift: tuple[float, float], generator: torch.Generator | None) -> Tensor:
    """HSV saturation s * scale + shift with hue and value kept.

    A channel is value - value * saturation * g(hue) with g in [0, 1], so a new saturation rescales each
    channel's distance below the value. Grey pixels have hue 0 (red) in skimage's conversion, as in ImageNet-C.
    """
    scale, shift = scale_shift
    value = images.amax(dim=1, keepdim=True)  # (B, 1, H, W)
    saturation = (value - images.amin(dim=1, keepdim=True)) / value.clamp_min(1e-12)  # (B, 1, H, W)
    saturated = (saturation * scale + shift).clamp(0.0, 1.0)
    red_hue = torch.tensor([0.0, 1.0, 1.0], device=images.device).view(1, 3, 1, 1)  # g(0) per channel
    rescaled = value - (value - images) * saturated / saturation.clamp_min(1e-12)
    return torch.where(saturation > 0, rescaled, value - value * saturated * red_hue)


def _pixelate(images: Tensor, factor: float, generator: torch.Generator | None) -> Tensor:
    height, width = images.shape[-2:]
    small = F.interpolate(images, size=(max(1, int(height * factor)), max(1, int(width * factor))), mode="area")
    return F.interpolate(small, size=(height, width), mode="nearest")  # PIL's BOX upsampling repeats pixels


def _jpeg_compression(images: Tensor, quality: int, generator: torch.Generator | None) -> Tensor:
    pixels = images.mul(255).round().to(torch.uint8).permute(0, 2, 3, 1).cpu().numpy()  # (B, H, W, 3)
    decoded = []
    for image in pixels:
        buffer = io.BytesIO()
        Image.fromarray(image).save(buffer, format="JPEG", quality=quality)
        decoded.append(torch.from_numpy(np.array(Image.open(buffer).convert("RGB"))))
    return torch.stack(decoded).permute(0, 3, 1, 2).to(images.device).float() / 255  # (B, 3, H, W)


_OPERATIONS = {
    "gaussian_noise": _gaussian_noise,
    "shot_noise": _shot_noise,
    "impulse_noise": _impulse_noise,
    "gaussian_blur": _gaussian_blur,
    "contrast": _contrast,
    "brightness": _brightness,
    "saturate": _saturate,
    "pixelate": _pixelate,
    "jpeg_compression": _jpeg_compression,
}


@dataclass
class CorruptionOptions:
    """The corruption protocol's settings: which corruptions, at which severities (all, by default)."""

    corruptions: list[str] = option(list(CORRUPTIONS), help="corruption: which ones", choices=CORRUPTIONS)
    severities: list[int] = option(list(SEVERITIES), help="corruption: severity levels", choices=SEVERITIES)


def _run(context: EvalContext) -> Iterator[EvalRecord]:
    config = context.config
    options = config.options(CorruptionOptions)
    probes = {
        key: fit_probe(context, concat_features(context.train_features, key), context.train_labels)
        for key in context.keys
    }
    corrupted = corruption_accuracy(
        context.model,
        context.test,
        probes,
        corruptions=options.corruptions,
        severities=options.severities,
        seed=config.seed,
        batch_size=config.batch_size,
        device=config.device,
    )
    for key, outcome in corrupted.items():
        yield from outcome.records(key, context.source, config.test_split, probe_params(context, probes[key]))


PROTOCOLS = (
    Protocol(
        "corruption",
        "corruption robustness",
        "image-classification",
        run=_run,
        options=CorruptionOptions,
        check=penalty_problems,
        labelled=True,
        metrics=MappingProxyType({**TOP_K, "mean_corruption_accuracy": Metric()}),
    ),
)
