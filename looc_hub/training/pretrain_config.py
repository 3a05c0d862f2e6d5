"""`PretrainConfig`: one pretraining run, from a recipe (a shipped name or a YAML file) plus command-line overrides.

A recipe holds the whole run: a zoo model (its `LooCConfig`, architecture and preprocessing, optionally
overridden) and every training setting, the objective's included (queue length, temperature, key momentum). Every
field is also a flag of `looc-pretrain` / `training/pretrain.py` (`--epochs 2 --queue_size 256`), spelled in the
flag grammar every command shares (`looc_hub._flags`): values are YAML checked against the field's type, a list is
a YAML list or separate values (`--crop_scale '[0.5, 1.0]'` or `--crop_scale 0.5 1.0`), and a boolean flag alone
means true (`--sync_bn`).
"""

from __future__ import annotations

import dataclasses
import math
import types
import typing
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from .._checks import is_int, is_number
from .._flags import CommandParser, add_dataclass_flags, command_parser
from ..config import TRAINING_FIELDS
from ..recipes import list_recipes, recipe_path
from .pretrain_config_help import FIELD_HELP
from .tracking import TRACKERS, JSONLTracker, installed_trackers

__all__ = ["FIELD_CHOICES", "PretrainConfig"]

OPTIMIZERS = ("sgd", "adamw")
MOMENTUM_SCHEDULES = ("constant", "cosine")
MIXED_PRECISIONS = (None, "no", "fp16", "bf16", "fp8")
FIELD_CHOICES: dict[str, tuple[Any, ...]] = {
    "optimizer": OPTIMIZERS,
    "key_momentum_schedule": MOMENTUM_SCHEDULES,
    "mixed_precision": MIXED_PRECISIONS,
    "report_to": TRACKERS,  # each element of the list
}
"""Fields with a fixed set of values: checked on construction and listed by `--help`."""


@dataclass
class PretrainConfig:
    """A pretraining run. Defaults are MoCo v2's recipe (which the paper builds on) where it has one.

    Model: `model` (a zoo name) and `model_overrides` (LooCConfig fields, e.g. {"image_size": 32}).
    Objective (MoCo v2's, which the paper builds on): `queue_size` negatives per space (the paper's 16,384),
    InfoNCE `temperature` 0.2, `key_momentum` 0.999.
    Data: `dataset` (a Hub name, imagefolder dir, parquet file(s), `save_to_disk` dir or an embedded
    "looc-hub/..." set), `train_split`, `image_column`, `streaming`, `canvas_size` (the loader's square
    decode size; None: 1.25 x image_size, ours) and, for the kNN monitor, `eval_split` / `label_column`.
    Optimisation (MoCo v2's): SGD, `base_lr` 0.03 per 256 images (scaled linearly with the global
    batch), momentum 0.9, weight decay 1e-4, cosine schedule; `warmup_epochs` and AdamW are our options.
    Key encoder: `key_momentum_schedule` "constant" (MoCo v2's) or "cosine" (BYOL's, ours: from `key_momentum`
    to 1). BatchNorm: Shuffle-BN (MoCo) unless `sync_bn`; on one process it splits each batch into
    `bn_groups` BatchNorm groups (MoCo's single-GPU recipe; 4 is ours, 1 turns it off).
    Output: a non-empty `output_dir` is refused unless `resume` ("latest" or a checkpoint folder: trusted input,
    it holds pickles) or `overwrite` (removes the previous run's outputs first).
    """

    model: str = "looc_resnet10t.openmoji32"
    model_overrides: dict[str, Any] = field(default_factory=dict)
    dataset: str = "looc-hub/openmoji"
    train_split: str = "train"
    eval_split: str | None = "validation"
    image_column: str = "image"
    label_column: str | None = "group"
    streaming: bool = False
    canvas_size: int | None = None
    check_images: bool = False
    skip_unreadable: bool = False
    epochs: int = 200
    max_steps: int | None = None
    batch_size: int = 64
    base_lr: float = 0.03
    optimizer: str = "sgd"
    sgd_momentum: float = 0.9
    weight_decay: float = 1e-4
    warmup_epochs: float = 0.0
    queue_size: int = 16384
    temperature: float = 0.2
    key_momentum: float = 0.999
    key_momentum_schedule: str = "constant"
    crop_scale: list[float] = field(default_factory=lambda: [0.2, 1.0])
    sync_bn: bool = False
    bn_groups: int = 4
    mixed_precision: str | None = None
    channels_last: bool = False
    compile: bool = False
    seed: int = 0
    num_workers: int = 2
    output_dir: str = "outputs/looc-r10t-openmoji32"
    checkpoint_every_steps: int = 0
    keep_checkpoints: int = 2
    resume: str | None = None
    overwrite: bool = False
    log_every_steps: int = 10
    knn_every_epochs: int = 1
    knn_k: int = 20
    knn_temperature: float = 0.07
    knn_bank_size: int = 20000
    report_to: list[str] = field(default_factory=lambda: ["jsonl"])
    push_to_hub: str | None = None
    hub_private: bool = False

    def __post_init__(self) -> None:
        self._accept_accelerate_and_hf_spellings()
        hints = typing.get_type_hints(type(self))
        for f in dataclasses.fields(self):
            _check_type(f.name, getattr(self, f.name), hints[f.name])
        for name, choices in FIELD_CHOICES.items():
            value = getattr(self, name)
            for item in value if isinstance(value, list) else [value]:
                if item not in choices:
                    raise ValueError(f"Unknown {name} {item!r}; valid choices: {list(choices)}")
        for name in (
            "epochs",
            "batch_size",
            "bn_groups",
            "keep_checkpoints",
            "log_every_steps",
            "knn_every_epochs",
            "knn_k",
            "knn_bank_size",
            "queue_size",
        ):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1, got {getattr(self, name)}")
        if self.max_steps is not None and self.max_steps < 1:
            raise ValueError(f"max_steps must be at least 1 (or None), got {self.max_steps}")
        self._check_objective()

    def _check_objective(self) -> None:
        """The objective's settings, and none of them smuggled into the model's overrides."""
        if self.temperature <= 0:
            raise ValueError(f"temperature must be a positive number (MoCo v2: 0.2), got {self.temperature!r}")
        if not 0 <= self.key_momentum < 1:
            raise ValueError(f"key_momentum must be in [0, 1) (MoCo v2: 0.999), got {self.key_momentum!r}")
        moved = [name for name in self.model_overrides if name in TRAINING_FIELDS]
        if moved:
            flags = ", ".join(f"--{TRAINING_FIELDS[name]}" for name in moved)
            raise ValueError(
                f"model_overrides {moved}: these are training settings, not the model's; set them as the recipe "
                f"keys / flags {flags}"
            )

    def _accept_accelerate_and_hf_spellings(self) -> None:
        """Values as Accelerate's and Hugging Face's docs write them: `--mixed_precision no` (which YAML reads as
        false), `--report_to tensorboard` (one name, not a list), `none` (no tracker) and `all` (every installed)."""
        if self.mixed_precision is False:
            self.mixed_precision = "no"
        names = [self.report_to] if isinstance(self.report_to, str) else self.report_to
        if names in (["none"], ["all"]):
            names = [] if names == ["none"] else [JSONLTracker.name, *installed_trackers()]
        self.report_to = names

    @classmethod
    def from_file(cls, path: str | Path, **overrides: Any) -> PretrainConfig:
        """A recipe (a YAML file, or a shipped recipe's name), then `overrides`; unknown keys are errors."""
        path = recipe_path(path)
        values = yaml.safe_load(path.read_text()) or {}
        if not isinstance(values, dict):
            raise ValueError(f"{path} must hold a mapping of PretrainConfig fields, got {type(values).__name__}")
        return cls.from_dict({**values, **overrides}, source=str(path))

    @classmethod
    def from_dict(cls, values: dict[str, Any], source: str = "config") -> PretrainConfig:
        names = [f.name for f in dataclasses.fields(cls)]
        unknown = sorted(set(values) - set(names))
        if unknown:
            raise ValueError(f"{source}: unknown field(s) {unknown}; valid fields: {names}")
        return cls(**values)

    @classmethod
    def argument_parser(cls, prog: str = "looc-pretrain", description: str | None = None) -> CommandParser:
        """`--config` plus one `--<field>` flag per field, each with its help, default and choices, in the one
        flag grammar of every command (`looc_hub._flags`)."""
        parser = command_parser(prog, description)
        parser.add_argument(
            "--config",
            help=f"recipe: a shipped recipe's name ({', '.join(list_recipes())}) or a YAML file; flags override "
            "it, and fields neither sets keep the defaults shown (default: none)",
        )
        add_dataclass_flags(parser, cls, FIELD_HELP, FIELD_CHOICES)
        return parser

    @classmethod
    def from_parsed(cls, values: dict[str, Any]) -> PretrainConfig:
        """The config from `argument_parser()`'s parsed flags (a dict; `config` names the recipe)."""
        values = dict(values)
        recipe = values.pop("config", None)
        return cls.from_file(recipe, **values) if recipe else cls.from_dict(values, source="command line")

    @classmethod
    def from_args(cls, argv: Sequence[str] | None = None) -> PretrainConfig:
        """`--config RECIPE` plus one `--<field> value` flag per field."""
        return cls.from_parsed(vars(cls.argument_parser().parse_args(argv)))

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def _check_type(name: str, value: Any, hint: Any) -> None:
    """A readable TypeError for a wrong-typed field (e.g. `--epochs two`)."""
    options = typing.get_args(hint) if isinstance(hint, types.UnionType) else (hint,)
    for option in options:
        origin = typing.get_origin(option) or option
        if option is type(None) and value is None:
            return
        if origin is float and is_number(value):
            if not math.isfinite(value):
                raise ValueError(f"{name} must be a finite number, got {value!r}")
            return
        if origin is int and not is_int(value):
            continue
        if origin is not type(None) and isinstance(value, origin):
            return
    raise TypeError(f"{name} must be {hint}, got {value!r} ({type(value).__name__})")
