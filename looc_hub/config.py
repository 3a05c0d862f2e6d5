"""`LooCConfig`: everything needed to rebuild a LooC model (architecture and preprocessing), validated at construction.

How the model is trained (queue length, temperature, key momentum, optimiser) is the pretraining run's, not the
model's: `looc_hub.training.pretrain_config.PretrainConfig` and the recipes hold it.

Which values are the paper's (Xiao et al., ICLR 2021, arXiv 2008.05659) and which are ours is said per field;
`docs/method.md` explains the method.
"""

from __future__ import annotations

import dataclasses
import difflib
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import timm
from timm.data import IMAGENET_DEFAULT_MEAN, IMAGENET_DEFAULT_STD

from ._checks import check_int, is_number, short_repr
from .views.registry import LEAVE_ONE_OUT_AUGMENTATIONS, check_listed

__all__ = ["AUGMENTATIONS", "INTERPOLATIONS", "TRAINING_FIELDS", "VARIANTS", "LooCConfig"]

AUGMENTATIONS: tuple[str, ...] = LEAVE_ONE_OUT_AUGMENTATIONS
"""Augmentations that can be left out (get a space of their own) or be plain invariances (`views/registry.py`)."""

VARIANTS: tuple[str, ...] = ("looc", "looc++")
INTERPOLATIONS: tuple[str, ...] = ("bilinear", "bicubic", "nearest")

TRAINING_FIELDS: dict[str, str] = {"queue_size": "queue_size", "temperature": "temperature", "momentum": "key_momentum"}
"""Fields a `LooCConfig` once held that are training settings (-> their `PretrainConfig` field and recipe key).
config.json files saved before still carry them: loading accepts and ignores them (`hub.model_files`)."""

# Keys the model sets itself (a LooC backbone is always a pooled feature extractor whose weights come from its own
# files), and timm kwargs that would read other files or change the model's outputs (`global_pool`: the heads and
# embeddings expect the backbone's own pooled features; "" or "catavgmax" change their size).
_RESERVED_BACKBONE_KWARGS = (
    "num_classes",
    "global_pool",
    "pretrained",
    "pretrained_cfg",
    "pretrained_cfg_overlay",
    "checkpoint_path",
    "cache_dir",
    "pretrained_strict",
    "features_only",
    "out_indices",
    "feature_cls",
    "feature_cfg",
)


@dataclass(frozen=True)
class LooCConfig:
    """Architecture and preprocessing of a LooC model; every field is JSON-serialisable (`config.json`).

    Attributes:
        backbone: a built-in timm architecture name (e.g. "resnet50", the paper's).
        backbone_kwargs: extra keyword arguments for `timm.create_model` (e.g. {"drop_path_rate": 0.1}).
        augmentations: the leave-one-out augmentations, in head order; each gets a space Z_i that stays
            sensitive to it. Empty for the MoCo baselines.
        invariant_augmentations: augmentations trained as plain invariances with no space of their own
            (MoCo: ("color",); MoCo + Rotation: ("color", "rotation")). Random resized crop, flip and blur are
            always applied (MoCo v2's base augmentations) and need not be listed; blur may be left out (ours).
        variant: "looc" (heads share the whole backbone) or "looc++" (each head owns a copy of the last stage).
        head_hidden_dim: hidden width of the MoCo v2 projection MLP; None means the backbone's feature dim.
        head_out_dim: dimension of each space Z_i (MoCo v2: 128).
        image_size: training and evaluation resolution (paper: 224).
        mean, std: input normalisation (ImageNet statistics, as MoCo).
        interpolation, crop_pct: evaluation resize (ours: bilinear and 0.875, the MoCo/ImageNet convention).

    Raises:
        ValueError / TypeError at construction for any invalid field, naming the valid choices.
    """

    backbone: str = "resnet50"
    backbone_kwargs: Mapping[str, Any] = field(default_factory=dict)
    augmentations: tuple[str, ...] = ("color", "rotation")
    invariant_augmentations: tuple[str, ...] = ()
    variant: str = "looc"
    head_hidden_dim: int | None = None
    head_out_dim: int = 128
    image_size: int = 224
    mean: tuple[float, ...] = IMAGENET_DEFAULT_MEAN
    std: tuple[float, ...] = IMAGENET_DEFAULT_STD
    interpolation: str = "bilinear"
    crop_pct: float = 0.875

    def __post_init__(self) -> None:
        # JSON gives lists; the config stores tuples so that it compares equal after a round trip.
        for name in ("augmentations", "invariant_augmentations", "mean", "std"):
            _check_sequence(name, getattr(self, name))
            object.__setattr__(self, name, tuple(getattr(self, name)))
        object.__setattr__(self, "backbone_kwargs", dict(self.backbone_kwargs))
        self._validate()

    @property
    def head_names(self) -> tuple[str, ...]:
        """The contrastive spaces in head order: Z_0 ("invariant") then one per leave-one-out augmentation."""
        return ("invariant", *self.augmentations)

    @property
    def in_chans(self) -> int:
        return int(self.backbone_kwargs.get("in_chans", 3))

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (tuples become lists)."""
        return json.loads(json.dumps(dataclasses.asdict(self)))

    @classmethod
    def from_dict(cls, values: Mapping[str, Any]) -> LooCConfig:
        """Strict inverse of `to_dict`: unknown keys are an error, missing keys take their defaults."""
        _check_known(values)
        return cls(**values)

    @classmethod
    def field_names(cls) -> tuple[str, ...]:
        return tuple(f.name for f in dataclasses.fields(cls))

    def replace(self, **changes: Any) -> LooCConfig:
        """A validated copy with some fields changed; unknown field names are an error."""
        _check_known(changes)
        return dataclasses.replace(self, **changes)

    def _validate(self) -> None:
        self._validate_backbone()
        self._validate_augmentations()
        self._validate_sizes()
        self._validate_preprocessing()

    def _validate_backbone(self) -> None:
        if not isinstance(self.backbone, str) or not timm.is_model(self.backbone):
            close = difflib.get_close_matches(str(self.backbone)[:200], timm.list_models(), n=5)
            raise ValueError(f"Unknown timm architecture {short_repr(self.backbone)}; close matches: {close}")
        reserved = sorted(set(self.backbone_kwargs) & set(_RESERVED_BACKBONE_KWARGS))
        if reserved:
            raise ValueError(
                f"backbone_kwargs may not set {reserved}: a LooC backbone is a pooled extractor whose weights come "
                f"from its own files (reserved: {list(_RESERVED_BACKBONE_KWARGS)})"
            )
        try:
            json.dumps(self.backbone_kwargs)
        except TypeError as error:
            raise TypeError(f"backbone_kwargs must be JSON-serialisable: {error}") from None

    def _validate_augmentations(self) -> None:
        check_listed(self.augmentations, self.invariant_augmentations)
        if self.variant not in VARIANTS:
            raise ValueError(f"Unknown variant {short_repr(self.variant)}; valid variants: {list(VARIANTS)}")

    def _validate_sizes(self) -> None:
        if self.head_hidden_dim is not None:
            check_int("head_hidden_dim", self.head_hidden_dim)
        for name in ("head_out_dim", "image_size"):
            check_int(name, getattr(self, name))

    def _validate_preprocessing(self) -> None:
        for name in ("mean", "std"):
            values = getattr(self, name)
            if len(values) != self.in_chans or not all(_is_number(v) for v in values):
                raise ValueError(
                    f"{name} must hold {self.in_chans} numbers (one per channel), got {short_repr(values)}"
                )
        if any(s <= 0 for s in self.std):
            raise ValueError(f"std must be positive, got {short_repr(self.std)}")
        if self.interpolation not in INTERPOLATIONS:
            raise ValueError(
                f"Unknown interpolation {short_repr(self.interpolation)}; valid choices: {list(INTERPOLATIONS)}"
            )
        if not _is_number(self.crop_pct) or not 0 < self.crop_pct <= 1:
            raise ValueError(f"crop_pct must be in (0, 1], got {short_repr(self.crop_pct)}")


def _check_known(values: Mapping[str, Any]) -> None:
    """Unknown field names are an error listing the valid ones, and pointing training settings to the recipe."""
    unknown = sorted(set(values) - set(LooCConfig.field_names()))
    if not unknown:
        return
    moved = [f"{name} (the pretraining run's {TRAINING_FIELDS[name]})" for name in unknown if name in TRAINING_FIELDS]
    hint = f"; training settings belong to the recipe / PretrainConfig: {', '.join(moved)}" if moved else ""
    raise ValueError(
        f"Unknown LooCConfig field(s) {short_repr(unknown)}; valid fields: {list(LooCConfig.field_names())}{hint}"
    )


def _check_sequence(name: str, value: Any) -> None:
    """A list or tuple: a string would be read as its letters, a set has no order (the head order matters)."""
    if isinstance(value, str) or not isinstance(value, Sequence):
        hint = f"; did you mean [{short_repr(value)}]?" if isinstance(value, str) else ""
        raise TypeError(
            f"{name} must be a list or tuple (ordered), got {type(value).__name__} {short_repr(value)}{hint}"
        )


def _is_number(value: Any) -> bool:
    """A finite int or float: NaN and infinity pass every `<` / `<=` check silently, so they are refused here."""
    return is_number(value) and math.isfinite(value)
