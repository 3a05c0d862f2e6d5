"""Fine-tune a LooC model for image classification with Accelerate, on a chosen feature (`looc-finetune`).

    looc-finetune --model looc-hub/looc_resnet50.in100 --dataset imagefolder/dir --feature backbone \
        --mode full --epochs 30 --output_dir outputs/finetune

`finetune` reads top to bottom: the output folder's guard (one run per folder), Accelerator, data, the model and
a classifier over `--feature` (the backbone, one space, or spaces concatenated in order) whose head starts as a
linear probe on the frozen features (`--head_init`, LP-FT, ours), loaders with timm's transforms from the model's
data config, optimiser, `prepare`, schedule, resume, then the loop (`looc_hub.finetune.loop`: per epoch train,
measure, checkpoint) while `best/` and `last/` are kept in Hub format (`LooCClassifier.from_pretrained`), with
their accuracy as a results record and the run's settings as their recipe; at the end, a table of top-1 and of how
far each parameter group moved. The flags build a `FinetuneConfig`, whose docstring says which defaults are ours.
Resuming continues from the last finished epoch. Several GPUs: `accelerate launch -m looc_hub.cli.finetune ...`.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
from accelerate import Accelerator
from accelerate.logging import get_logger
from accelerate.utils import set_seed
from datasets import Dataset
from torch.utils.data import DataLoader

from looc_hub import LooCModel
from looc_hub._flags import CommandParser, add_dataclass_flags, command_parser
from looc_hub.data import load_image_dataset
from looc_hub.finetune import (
    BN_MODES,
    FINETUNE_MODES,
    FINETUNE_OPTIMIZERS,
    HEAD_INITS,
    MIXED_PRECISIONS,
    BestEpoch,
    FinetuneConfig,
    FinetuneLoop,
    LooCClassifier,
    classification_loader,
    finetune_results,
    init_head_from_linear_probe,
    num_classes_of,
    snapshot,
    weight_movement,
)
from looc_hub.spaces import parse_space_key
from looc_hub.training import CheckpointManager, TrainingProgress, cosine_with_warmup
from looc_hub.training.run_dir import mark_trained, prepare_output_dir

from ._args import add_log_level_flag
from .console import format_table, setup_logging

logger = get_logger(__name__)

FINETUNE_OUTPUTS = ("checkpoints", "best", "last")
"""What `looc-finetune` writes in its output directory; `--overwrite` removes these and nothing else."""

FINETUNE_FIELD_HELP = {
    "model": "a save_pretrained directory or a Hub repo id",
    "dataset": "any load_image_dataset source",
    "output_dir": "where checkpoints/, best/ and last/ are written",
    "train_split": "split to train on",
    "eval_split": "split measured after every epoch (picks best/)",
    "image_column": "column holding the images",
    "label_column": "column holding the class labels",
    "feature": "a space or spaces joined by '+' (default: the model's)",
    "mode": "train the head only (linear) or the whole model",
    "epochs": "passes over the training split",
    "batch_size": "images per process per step",
    "optimizer": "the optimiser (ours: adamw)",
    "lr": "the head's learning rate per 256 images, scaled linearly (ours)",
    "encoder_lr_scale": "full mode: the encoder's learning rate as a fraction of the head's",
    "weight_decay": "weight decay (decoupled with adamw)",
    "warmup_epochs": "linear warm-up before the cosine decay, in epochs",
    "clip_grad": "max gradient norm (ours; 0: no clipping)",
    "bn": "full mode: keep BatchNorm statistics frozen (ours: the features the head starts from stay the "
    "pretrained ones) or use and update batch statistics",
    "head_init": "start the classifier as a linear probe on the frozen features (LP-FT, ours) or at random",
    "hflip": "timm's train-time flip probability",
    "crop_scale": "random resized crop area range [min, max] (default: timm's [0.08, 1] from 128 px up, [1, 1] "
    "below: ours)",
    "color_jitter": "timm's train-time colour jitter strength (default: timm's 0.4 from 128 px up, 0 below: ours)",
    "mixed_precision": "Accelerate's mixed precision",
    "num_workers": "data-loading worker processes per process",
    "seed": "seed of the head's start, the data order and the crops",
    "resume": "'latest' or a checkpoint folder of this --output_dir's run (trusted input: it holds pickles)",
    "overwrite": f"start over in a non-empty --output_dir: removes its {list(FINETUNE_OUTPUTS)}, nothing else",
}
"""`--help` text of every `FinetuneConfig` field; defaults and choices are added from the dataclass."""

FINETUNE_FIELD_CHOICES = {
    "mode": FINETUNE_MODES,
    "optimizer": FINETUNE_OPTIMIZERS,
    "bn": BN_MODES,
    "head_init": HEAD_INITS,
    "mixed_precision": MIXED_PRECISIONS,
}


def build_parser() -> CommandParser:
    """One flag per `FinetuneConfig` field (its defaults), and `--log_level`."""
    parser = command_parser("looc-finetune", __doc__)
    add_dataclass_flags(parser, FinetuneConfig, FINETUNE_FIELD_HELP, FINETUNE_FIELD_CHOICES)
    add_log_level_flag(parser)
    return parser


def parse_args(argv: Sequence[str] | None = None) -> FinetuneConfig:
    """The run's `FinetuneConfig` from the command line (`--log_level` aside)."""
    parser = build_parser()
    values = vars(parser.parse_args(argv))
    values.pop("log_level")
    return config_from(parser, values)


def config_from(parser: argparse.ArgumentParser, values: dict[str, Any]) -> FinetuneConfig:
    """The parsed flags as a `FinetuneConfig`; a value it refuses is a usage error naming it."""
    try:
        return FinetuneConfig(**values)
    except ValueError as error:
        parser.error(str(error))


def main(argv: Sequence[str] | None = None) -> None:
    """`looc-finetune`: parse the flags, then fine-tune."""
    parser = build_parser()
    values = vars(parser.parse_args(argv))
    setup_logging(values.pop("log_level"))
    finetune(config_from(parser, values))


def finetune(config: FinetuneConfig) -> dict[str, Any]:
    """Fine-tune; returns the best top-1, its epoch, the per-epoch history (epoch 0: before training) and how far
    each parameter group moved."""
    output_dir = Path(config.output_dir)
    prepare_output_dir(output_dir, resume=config.resume, overwrite=config.overwrite, outputs=FINETUNE_OUTPUTS)
    accelerator = Accelerator(mixed_precision=config.mixed_precision, project_dir=str(output_dir))
    set_seed(config.seed)

    train_set, eval_set = load_splits(config)
    classifier = build_classifier(config, train_set)
    train_loader, eval_loader = build_loaders(config, classifier, train_set, eval_set)
    optimizer = build_optimizer(classifier, config, accelerator.num_processes)
    classifier, optimizer, train_loader, eval_loader = accelerator.prepare(
        classifier, optimizer, train_loader, eval_loader
    )
    scheduler = build_scheduler(optimizer, config, len(train_loader))
    progress, best = TrainingProgress(), BestEpoch()
    accelerator.register_for_checkpointing(scheduler, progress, best)
    checkpoints = CheckpointManager(
        output_dir / "checkpoints", keep=1, run_config=config.run_config(), must_match=config.resume_fields()
    )
    if config.resume:
        resume_from(accelerator, checkpoints, config)
        logger.info(f"resumed at epoch {progress.epoch}")
    start = snapshot(accelerator.unwrap_model(classifier))
    start_epoch = progress.epoch

    loop = FinetuneLoop(
        config, accelerator, classifier, optimizer, scheduler, train_loader, eval_loader, progress, best, checkpoints
    )
    if accelerator.is_main_process:  # set up without error: from now on the folder holds a run
        mark_trained(output_dir, FINETUNE_OUTPUTS)
    for metrics in loop.epochs():
        if accelerator.is_main_process:
            save_epoch(config, accelerator.unwrap_model(classifier), metrics)
        accelerator.wait_for_everyone()
    accelerator.end_training()
    movement = weight_movement(start, accelerator.unwrap_model(classifier))
    if accelerator.is_main_process:
        print(finetune_report(config, best, loop.history, movement, start_epoch))
    return {"best_top1": best.top1, "best_epoch": best.epoch, "history": loop.history, "movement": movement}


def load_splits(config: FinetuneConfig) -> tuple[Dataset, Dataset]:
    columns = {"image_column": config.image_column, "label_column": config.label_column}
    train_set = load_image_dataset(config.dataset, split=config.train_split, **columns)
    return train_set, load_image_dataset(config.dataset, split=config.eval_split, **columns)


def build_classifier(config: FinetuneConfig, train_set: Dataset) -> LooCClassifier:
    """The model with a linear head over `--feature`; the head fitted as a linear probe unless resuming."""
    model = LooCModel.from_pretrained(config.model)
    feature = parse_space_key(config.feature) if config.feature else [model.default_space]
    classifier = LooCClassifier(
        model,
        feature,
        num_classes_of(train_set),
        mode=config.mode,
        class_names=getattr(train_set.features["label"], "names", None),
        freeze_bn=config.bn == "frozen",
    )
    if config.head_init == "linear_probe" and not config.resume:
        init_head_from_linear_probe(classifier, train_set, seed=config.seed)
    return classifier


def build_loaders(
    config: FinetuneConfig, classifier: LooCClassifier, train_set: Dataset, eval_set: Dataset
) -> tuple[DataLoader, DataLoader]:
    shared = {"batch_size": config.batch_size, "num_classes": classifier.num_classes, "num_workers": config.num_workers}
    augmentation = {"hflip": config.hflip, "crop_scale": config.crop_scale, "color_jitter": config.color_jitter}
    train_loader = classification_loader(
        train_set, classifier.model, training=True, seed=config.seed, **augmentation, **shared
    )
    return train_loader, classification_loader(eval_set, classifier.model, training=False, **shared)


def build_optimizer(classifier: LooCClassifier, config: FinetuneConfig, num_processes: int) -> torch.optim.Optimizer:
    """Two groups: the head at `lr`, the encoder (full mode) at `lr x encoder_lr_scale`; scaled by the global batch."""
    lr = config.lr * config.batch_size * num_processes / 256
    groups = [{"params": list(classifier.head.parameters()), "lr": lr}]
    encoder = [p for p in classifier.model.parameters() if p.requires_grad]  # empty in linear mode
    if encoder:
        groups.append({"params": encoder, "lr": lr * config.encoder_lr_scale})
    if config.optimizer == "sgd":
        return torch.optim.SGD(groups, lr=lr, momentum=0.9, weight_decay=config.weight_decay)
    return torch.optim.AdamW(groups, lr=lr, weight_decay=config.weight_decay)


def build_scheduler(
    optimizer: torch.optim.Optimizer, config: FinetuneConfig, steps_per_epoch: int
) -> torch.optim.lr_scheduler.LRScheduler:
    """Linear warm-up for `warmup_epochs`, then cosine to 0 at the last step (not `prepare`d: registered)."""
    total, warmup = config.epochs * steps_per_epoch, round(config.warmup_epochs * steps_per_epoch)
    return torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: cosine_with_warmup(step, total, warmup))


def resume_from(accelerator: Accelerator, checkpoints: CheckpointManager, config: FinetuneConfig) -> None:
    """Load the checkpoint `--resume` names; one of another run, or for another model, is refused by name."""
    path = checkpoints.resolve(config.resume)  # refuses other settings and folders that are no checkpoint
    try:
        accelerator.load_state(str(path))
    except checkpoints.LOAD_ERRORS as error:
        checkpoints.raise_if_damaged(path, error)  # a truncated file is named first
        raise ValueError(
            f"--resume {config.resume}: {path} does not fit the classifier built from --model {config.model} "
            f"(feature {config.feature or 'default'}, mode {config.mode}): was that model folder replaced since "
            f"the checkpoint was written? Start a new run (another --output_dir, or --overwrite). "
            f"({type(error).__name__}: {str(error)[:300]})"
        ) from None


def save_epoch(config: FinetuneConfig, classifier: LooCClassifier, metrics: dict[str, Any]) -> None:
    """`last/` after every epoch, and `best/` when the epoch is the best so far, in Hub format: their accuracy a
    results record, the run's settings their recipe (cards are rendered from both)."""
    output_dir = Path(config.output_dir)
    kept = {"top1": metrics["top1"], "epoch": metrics["epoch"]}
    measured = finetune_results(
        classifier, base_model=config.model, dataset=config.dataset, split=config.eval_split, **kept
    )
    saved = {"metrics": kept, "base_model": config.model, "training": measured, "recipe": config.to_dict()}
    classifier.save_pretrained(output_dir / "last", **saved)
    if metrics["best"]:
        classifier.save_pretrained(output_dir / "best", **saved)


def finetune_report(
    config: FinetuneConfig,
    best: BestEpoch,
    history: list[dict[str, Any]],
    movement: dict[str, tuple[int, float]],
    start_epoch: int,
) -> str:
    """The end-of-run tables: top-1 of the best, the last epoch and the start, and how far the weights moved."""
    output_dir = Path(config.output_dir)
    rows = [["best", f"{best.top1:.2f}", best.epoch, output_dir / "best"]]
    if history and history[-1]["epoch"] > 0:  # a resumed run with no epoch left trained none
        rows.append(["last", f"{history[-1]['top1']:.2f}", history[-1]["epoch"], output_dir / "last"])
    if history and history[0]["epoch"] == 0:
        rows.append(["start", f"{history[0]['top1']:.2f}", 0, f"({config.head_init} head, not saved)"])
    title = f"fine-tuning finished: {config.model} on {config.dataset} ({config.mode}, {config.epochs} epochs)"
    moved = [[group, f"{count:,}", f"{change:.2e}"] for group, (count, change) in movement.items()]
    return "\n".join(
        [
            title,
            format_table(["", f"top-1 ({config.eval_split})", "epoch", "saved in"], rows),
            f"weights moved since epoch {start_epoch} (relative change ||w - w0|| / ||w0|| per group):",
            format_table(["group", "parameters", "moved"], moved),
        ]
    )


if __name__ == "__main__":
    main()
