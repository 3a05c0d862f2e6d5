"""`FinetuneConfig`: one fine-tuning run, checked on construction (`looc-finetune`'s flags build it).

The defaults are ours (the paper reports linear probes only), chosen on a validation part of the Fashion-MNIST
training split, never on a test split (docs/evaluation.md, "Fine-tuning"): AdamW, the head at 4e-3 per 256 images
(1e-3 at the default batch of 64) and the encoder at a tenth of it, weight decay 0.05, BatchNorm statistics
frozen, 10 epochs: one of linear warm-up, then a cosine decay. With the earlier SGD defaults (0.01 per 256 images,
the encoder at a tenth, gradients clipped to norm 1) full fine-tuning stayed at its linear-probe start: the
probe's head has standardisation folded into its weights, so the gradient reaching the encoder is large, clipping
scaled the whole step down, and the encoder moved by about 2e-4 of its norm in a run. AdamW's step does not grow
or shrink with the gradient's scale.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass
from typing import Any

from .._checks import check_int, is_number
from .classifier import FINETUNE_MODES
from .head_init import HEAD_INITS

__all__ = ["BN_MODES", "FINETUNE_OPTIMIZERS", "MIXED_PRECISIONS", "RESUME_MAY_CHANGE", "FinetuneConfig"]

FINETUNE_OPTIMIZERS = ("adamw", "sgd")
BN_MODES = ("frozen", "train")
MIXED_PRECISIONS = ("no", "fp16", "bf16")

RESUME_MAY_CHANGE = ("output_dir", "resume", "overwrite", "num_workers", "epochs")
"""Fields a resumed run may change: where it writes, how it loads data, and how long it trains (the schedule is
recomputed for the new length). Every other field changes the trajectory or the model, so a checkpoint is resumed
only with its own (`run_config`, compared by `CheckpointManager.resolve`)."""


@dataclass
class FinetuneConfig:
    """A fine-tuning run: model, data, feature, optimisation and output folder.

    Model and data: `model` (a saved folder or Hub repo id), `dataset` (any `load_image_dataset` source) with its
    splits and columns; `feature` the space (or spaces joined by '+') the classifier reads, None: the model's
    default. `mode` "linear" trains the head only, "full" the encoder too.
    Optimisation (ours): `optimizer` with `lr` (the head's, per 256 images, scaled linearly with the global batch)
    and `encoder_lr_scale` (the encoder's learning rate as a fraction of the head's), `weight_decay`,
    `warmup_epochs` then a cosine decay over `epochs`, gradients clipped to `clip_grad` (0: none), BatchNorm
    statistics `bn` "frozen" (the pretrained ones) or "train" (batch statistics, running averages updated).
    The head starts as a linear probe on the frozen features (`head_init`, LP-FT) or at random.
    Augmentation: timm's train transform with `hflip`, `crop_scale` and `color_jitter` (None: follow the image
    size, `looc_hub.preprocessing`).
    Output: a non-empty `output_dir` is refused unless `resume` ("latest" or a checkpoint folder: trusted input,
    it holds pickles) or `overwrite` (removes the previous run's outputs first).
    """

    model: str
    dataset: str
    output_dir: str
    train_split: str = "train"
    eval_split: str = "test"
    image_column: str = "image"
    label_column: str = "label"
    feature: str | None = None
    mode: str = "linear"
    epochs: int = 10
    batch_size: int = 64
    optimizer: str = "adamw"
    lr: float = 4e-3
    encoder_lr_scale: float = 0.1
    weight_decay: float = 0.05
    warmup_epochs: float = 1.0
    clip_grad: float = 1.0
    bn: str = "frozen"
    head_init: str = "linear_probe"
    hflip: float = 0.5
    crop_scale: tuple[float, float] | None = None
    color_jitter: float | None = None
    mixed_precision: str = "no"
    num_workers: int = 0
    seed: int = 0
    resume: str | None = None
    overwrite: bool = False

    def __post_init__(self) -> None:
        for name, choices in (
            ("mode", FINETUNE_MODES),
            ("optimizer", FINETUNE_OPTIMIZERS),
            ("bn", BN_MODES),
            ("head_init", HEAD_INITS),
            ("mixed_precision", MIXED_PRECISIONS),
        ):
            if getattr(self, name) not in choices:
                raise ValueError(f"Unknown {name} {getattr(self, name)!r}; valid choices: {list(choices)}")
        check_int("epochs", self.epochs)
        check_int("batch_size", self.batch_size)
        check_int("num_workers", self.num_workers, minimum=0)
        for name in ("lr", "encoder_lr_scale", "weight_decay", "warmup_epochs", "clip_grad", "hflip"):
            value = getattr(self, name)
            if not is_number(value) or not value >= 0:
                raise ValueError(f"{name} must be a number >= 0, got {value!r}")
        if self.lr == 0:
            raise ValueError("lr must be above 0")
        if self.hflip > 1:
            raise ValueError(f"hflip is a probability in [0, 1], got {self.hflip}")
        if self.crop_scale is not None:
            self.crop_scale = tuple(self.crop_scale)
            low, high = self.crop_scale if len(self.crop_scale) == 2 else (0, 0)
            if not 0 < low <= high <= 1:
                raise ValueError(f"crop_scale must be (min, max) with 0 < min <= max <= 1, got {self.crop_scale}")
        if self.resume and self.overwrite:
            raise ValueError("resume and overwrite contradict each other: resume a run, or start it over")

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def run_config(self) -> dict[str, Any]:
        """The settings stored in every checkpoint; a local dataset path is absolute, so `./data` and its absolute
        spelling resume the same run."""
        values = self.to_dict()
        if os.path.exists(self.dataset):
            values["dataset"] = os.path.abspath(self.dataset)
        return values

    def resume_fields(self) -> list[str]:
        """The fields a resumed checkpoint must share with this run (all but `RESUME_MAY_CHANGE`)."""
        return [f.name for f in dataclasses.fields(self) if f.name not in RESUME_MAY_CHANGE]
