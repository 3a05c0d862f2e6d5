"""The augmentation registry: one table that every list of augmentation names is derived from.

Like timm's ``_registry`` (one table feeds model listing, creation and configs), each augmentation is one
``AugmentationSpec`` in ``REGISTRY``: its class and parameter record, its role, where it is rendered, the view
generator's keywords for it, the card's words for it and how the sensitivity matrix applies it. The config's
``AUGMENTATIONS``, the view generator, the sensitivity matrix and the model card all read this table, so adding an
augmentation is one entry here plus its module (CONTRIBUTING.md, "Adding an augmentation").
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import torch

from looc_hub._checks import short_repr
from looc_hub.views.blur import RandomGaussianBlur, scaled_blur_sigma
from looc_hub.views.color import RandomColor
from looc_hub.views.crop import RandomResizedCrop
from looc_hub.views.flip import RandomHorizontalFlip
from looc_hub.views.params import (
    AugmentationParams,
    BlurParams,
    ColorParams,
    CropParams,
    FlipParams,
    RotationParams,
    TextureParams,
)
from looc_hub.views.rotation import RandomRotation90
from looc_hub.views.texture import RandomTexture

GEOMETRY = 0
"""``AugmentationSpec.stage`` of the augmentations folded into ``geometry.resized_crop``'s one resampling."""


def _no_size_defaults(output_size: int) -> dict[str, Any]:
    return {}


@dataclass(frozen=True)
class AugmentationSpec:
    """One augmentation, everything the rest of the package needs to know about it.

    Attributes:
        name: the name in configs, parameter dicts, keys (``k_<name>``) and spaces (``Z_<name>``).
        augmentation: the class with ``sample`` and ``apply`` (and ``apply_`` unless ``stage`` is ``GEOMETRY``).
        params: the record ``sample`` returns.
        base: resampled for every view whether listed or not, unless it is left out (MoCo v2's crop, flip, blur).
        leave_one_out: may be listed in ``augmentations`` (a key and a space of its own) or
            ``invariant_augmentations``. An augmentation that is neither base nor listed is not applied.
        stage: ``GEOMETRY`` (folded into ``geometry.resized_crop``, which takes it as the keyword ``name``), or
            the rank at which ``apply_`` runs in place on the resampled views (lower first).
        options: the view generator's keywords for it -> the class's constructor keywords.
        size_defaults: constructor keywords that depend on the output side (crop: the side; blur: its sigma).
        sensitive: what a space sensitive to it keeps, as the model card says it.
        always: constructor keywords that apply it to every image, for the sensitivity matrix (p = 1).
        takes_image_size: ``sample`` also takes the input's (H, W) (crop boxes are in input pixels).
    """

    name: str
    augmentation: type
    params: type[AugmentationParams]
    base: bool
    leave_one_out: bool
    stage: int
    options: Mapping[str, str]
    sensitive: str
    always: Mapping[str, Any] = field(default_factory=dict)
    size_defaults: Callable[[int], dict[str, Any]] = _no_size_defaults
    takes_image_size: bool = False

    def create(self, output_size: int, **kwargs: Any) -> Any:
        """An instance for views of side ``output_size``; ``kwargs`` are constructor keywords."""
        return self.augmentation(**{**self.size_defaults(output_size), **kwargs})

    def sample(
        self,
        augmentation: Any,
        rows: int,
        image_size: tuple[int, int],
        generator: torch.Generator | None = None,
        device: torch.device | str | None = None,
    ) -> AugmentationParams:
        """``augmentation.sample`` for ``rows`` images of ``image_size`` = (H, W), whatever its signature."""
        size = (image_size,) if self.takes_image_size else ()
        return augmentation.sample(rows, *size, generator, device)


_SPECS = (
    # Base augmentations and strengths: MoCo v2's. Rendering order (texture before colour), the blur sigma scaled
    # to the output side and blur as a leave-one-out augmentation are ours.
    AugmentationSpec(
        name="crop",
        augmentation=RandomResizedCrop,
        params=CropParams,
        base=True,
        leave_one_out=False,
        stage=GEOMETRY,
        options={"crop_scale": "scale", "crop_ratio": "ratio"},
        sensitive="framing (crop position and scale)",
        size_defaults=lambda size: {"output_size": size},
        takes_image_size=True,
    ),
    AugmentationSpec(
        name="flip",
        augmentation=RandomHorizontalFlip,
        params=FlipParams,
        base=True,
        leave_one_out=False,
        stage=GEOMETRY,
        options={"flip_p": "p"},
        sensitive="left-right mirroring",
        always={"p": 1.0},
    ),
    AugmentationSpec(
        name="blur",
        augmentation=RandomGaussianBlur,
        params=BlurParams,
        base=True,
        leave_one_out=True,  # ours: base unless listed, and may be left out (issue 13's example)
        stage=3,
        options={"blur_sigma": "sigma", "blur_p": "p"},
        sensitive="sharpness (Gaussian blur)",
        always={"p": 1.0},
        size_defaults=lambda size: {"sigma": scaled_blur_sigma(size)},
    ),
    # Leave-one-out augmentations: colour (MoCo v2's jitter; grayscale inside it is ours), rotation (the paper's
    # 4-way task, uniform: ours) and texture (ours, texture.py).
    AugmentationSpec(
        name="color",
        augmentation=RandomColor,
        params=ColorParams,
        base=False,
        leave_one_out=True,
        stage=2,
        options={
            "brightness": "brightness",
            "contrast": "contrast",
            "saturation": "saturation",
            "hue": "hue",
            "color_p": "jitter_p",
            "grayscale_p": "grayscale_p",
        },
        sensitive="colour (hue, saturation, brightness, contrast, grayscale)",
        always={"jitter_p": 1.0},
    ),
    AugmentationSpec(
        name="rotation",
        augmentation=RandomRotation90,
        params=RotationParams,
        base=False,
        leave_one_out=True,
        stage=GEOMETRY,
        options={},
        sensitive="orientation (0/90/180/270 degrees)",
        always={"turns": (1, 2, 3)},  # never the identity
    ),
    AugmentationSpec(
        name="texture",
        augmentation=RandomTexture,
        params=TextureParams,
        base=False,
        leave_one_out=True,
        stage=1,
        options={"texture_strength": "strength", "texture_frequency": "frequency", "texture_p": "p"},
        sensitive="texture",
        always={"p": 1.0},
    ),
)

REGISTRY: Mapping[str, AugmentationSpec] = MappingProxyType({spec.name: spec for spec in _SPECS})
"""Every augmentation by name, in parameter-draw order (a seed fixes the views only with a fixed order)."""

LEAVE_ONE_OUT_AUGMENTATIONS: tuple[str, ...] = tuple(name for name, spec in REGISTRY.items() if spec.leave_one_out)
"""The names a config or generator may list (``looc_hub.AUGMENTATIONS``), in registry order."""

GEOMETRY_AUGMENTATIONS: tuple[str, ...] = tuple(name for name, spec in REGISTRY.items() if spec.stage == GEOMETRY)
"""Folded into ``geometry.resized_crop``, passed as keywords of the same names."""

IN_PLACE_AUGMENTATIONS: tuple[str, ...] = tuple(
    sorted((name for name, spec in REGISTRY.items() if spec.stage != GEOMETRY), key=lambda name: REGISTRY[name].stage)
)
"""Applied in place after the resampling, in this (rendering) order."""


def get_augmentation(name: str) -> AugmentationSpec:
    """The spec of ``name``; an unknown name is a ValueError listing the valid ones."""
    if name not in REGISTRY:
        raise ValueError(f"unknown augmentation {name!r}; valid choices: {list(REGISTRY)}")
    return REGISTRY[name]


def create_augmentations(output_size: int, **options: Any) -> dict[str, Any]:
    """One instance per registered augmentation, from the view generator's keywords (None: the default).

    Raises:
        TypeError: a keyword no augmentation takes, naming it and listing the valid ones.
    """
    valid = [keyword for spec in REGISTRY.values() for keyword in spec.options]
    unknown = sorted(set(options) - set(valid))
    if unknown:
        raise TypeError(f"unknown augmentation keyword(s) {unknown}; valid keywords: {valid}")
    return {name: spec.create(output_size, **_constructor_kwargs(spec, options)) for name, spec in REGISTRY.items()}


def check_listed(augmentations: Sequence[str], invariant_augmentations: Sequence[str]) -> None:
    """What a config or view generator lists: leave-one-out-able names, none twice, none in both lists, and no base
    augmentation as an invariance (it is one already, so the entry would change nothing).

    Raises:
        ValueError: naming the list, the offending names and the valid choices.
    """
    for argument, names in (("augmentations", augmentations), ("invariant_augmentations", invariant_augmentations)):
        unknown = [name for name in names if name not in LEAVE_ONE_OUT_AUGMENTATIONS]
        if unknown:
            raise ValueError(
                f"Unknown {argument} {short_repr(unknown)}; valid choices: {list(LEAVE_ONE_OUT_AUGMENTATIONS)}"
            )
        if len(set(names)) != len(names):
            raise ValueError(f"{argument} lists an augmentation twice: {short_repr(list(names))}")
    both = sorted(set(augmentations) & set(invariant_augmentations))
    if both:
        raise ValueError(
            f"{both} cannot be both left out (augmentations) and plain invariances (invariant_augmentations): "
            "choose one"
        )
    base = [name for name in invariant_augmentations if REGISTRY[name].base]
    if base:
        raise ValueError(
            f"{base} in invariant_augmentations: base augmentations ({[n for n, s in REGISTRY.items() if s.base]}) "
            "are resampled for every view already; list them in augmentations to leave them out, or not at all"
        )


def trained_augmentations(augmentations: Sequence[str], invariant_augmentations: Sequence[str]) -> tuple[str, ...]:
    """Every augmentation a model with these lists trains with: the base ones it does not leave out, then the
    invariant and the leave-one-out ones (each once)."""
    base = (name for name, spec in REGISTRY.items() if spec.base and name not in augmentations)
    return tuple(dict.fromkeys((*base, *invariant_augmentations, *augmentations)))


def _constructor_kwargs(spec: AugmentationSpec, options: Mapping[str, Any]) -> dict[str, Any]:
    return {spec.options[key]: value for key, value in options.items() if key in spec.options and value is not None}
