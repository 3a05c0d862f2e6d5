"""The generator's views rebuilt one image and one view at a time with torchvision.transforms.v2.functional.

The slow, obviously-correct twin of ``LooCViewGenerator.render``, and a readable definition of the views: the
tests compare the engine against it, and scripts/benchmark_views.py times it as the per-sample torchvision
pipeline that produces the same views.
Texture has no torchvision counterpart; it is evaluated here from its defining formula, grating by grating.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor
from torchvision.transforms.v2 import functional as TF

from looc_hub.views.blur import gaussian_kernel_size
from looc_hub.views.generator import LooCViewGenerator
from looc_hub.views.params import AugmentationParams

_COLOR_ADJUSTMENTS = (TF.adjust_brightness, TF.adjust_contrast, TF.adjust_saturation, TF.adjust_hue)


def reference_texture(image: Tensor, strength: float, frequency: list, orientation: list, phase: list) -> Tensor:
    """One image (3, H, W): image * (1 + strength * mean_k cos(2 pi f_k (x cos t_k + y sin t_k) + phase_k))."""
    height, width = image.shape[-2:]
    side = min(height, width)
    ys, xs = torch.meshgrid(
        (torch.arange(height, dtype=torch.float64) + 0.5) / side,
        (torch.arange(width, dtype=torch.float64) + 0.5) / side,
        indexing="ij",
    )
    pattern = sum(
        torch.cos(2 * math.pi * f * (xs * math.cos(t) + ys * math.sin(t)) + p)
        for f, t, p in zip(frequency, orientation, phase, strict=True)
    ) / len(frequency)
    return (image * (1 + strength * pattern).to(image.dtype)).clamp(0.0, 1.0)


def render_reference(generator: LooCViewGenerator, images: Tensor, params: dict[str, AugmentationParams]) -> Tensor:
    """Same contract as ``generator.render``: float images in [0, 1] (B, 3, H, W) -> ((n + 2) * B, 3, S, S)."""
    size = generator.output_size
    rows = {name: {field: value.tolist() for field, value in vars(p).items()} for name, p in params.items()}
    views = []
    for row in range(params["crop"].batch_size):
        crop = {field: values[row] for field, values in rows["crop"].items()}
        view = TF.resized_crop(images[row % images.shape[0]], **crop, size=[size, size], antialias=False)
        if rows["flip"]["flipped"][row]:
            view = TF.horizontal_flip(view)
        if "rotation" in rows:
            view = TF.rotate(view, 90.0 * rows["rotation"]["quarter_turns"][row])  # counter-clockwise
        if "texture" in rows and rows["texture"]["textured"][row]:
            texture = {field: values[row] for field, values in rows["texture"].items() if field != "textured"}
            view = reference_texture(view, **texture)
        if "color" in rows:
            view = _reference_color(view, {field: values[row] for field, values in rows["color"].items()})
        if rows["blur"]["blurred"][row]:
            sigma = rows["blur"]["sigma"][row]
            kernel_size = gaussian_kernel_size(size)
            view = TF.gaussian_blur(view, [kernel_size, kernel_size], [sigma, sigma])
        views.append(TF.normalize(view, list(generator.mean), list(generator.std)))
    return torch.stack(views)


def _reference_color(view: Tensor, color: dict) -> Tensor:
    if color["jittered"]:
        factors = (color["brightness"], color["contrast"], color["saturation"], color["hue"])
        for index in color["order"]:
            view = _COLOR_ADJUSTMENTS[index](view, factors[index])
    if color["grayscale"]:
        view = TF.rgb_to_grayscale(view, num_output_channels=3)
    return view
