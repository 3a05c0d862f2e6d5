"""Fine-tune a LooC model for image classification with Accelerate, on a chosen feature (`looc-finetune`).

    looc-finetune --model looc-hub/looc_resnet50.in100 --dataset imagefolder/dir --feature backbone \
        --mode full --epochs 30 --output_dir outputs/finetune

Reads top to bottom: arguments, Accelerator, model + classifier over `--feature` (the backbone, one space, or
spaces concatenated in order), the head fitted as a linear probe on the frozen features (`--head_init`, LP-FT,
ours), data with timm's transforms from the model's data config (crop scale for the image size, ours), optimiser,
`prepare`,
resume, then per epoch: train, evaluate, checkpoint (`save_state`), and keep `best/` and `last/` in Hub format
(`LooCClassifier.from_pretrained`),
with their accuracy as a results record and the run's settings as their recipe; at the end, a results table.
Resuming continues
from the last finished epoch. Several GPUs: `accelerate launch training/finetune.py ...` (installed:
`accelerate launch -m looc_hub.cli.finetune ...`).
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from accelerate import Accelerator
from accelerate.logging import get_logger
from accelerate.utils import set_seed
from tqdm.auto import tqdm

from looc_hub import LooCModel
from looc_hub.data import load_image_dataset
from looc_hub.finetune import (
    FINETUNE_MODES,
    HEAD_INITS,
    LooCClassifier,
    classification_loader,
    finetune_results,
    init_head_from_linear_probe,
    num_classes_of,
)
from looc_hub.spaces import parse_space_key
from looc_hub.training import CheckpointManager, TrainingProgress, cosine_with_warmup

from ._args import HelpFormatter, add_log_level_flag
from ._console import format_table, setup_logging

logger = get_logger(__name__)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="looc-finetune", description=__doc__, formatter_class=HelpFormatter)
    parser.add_argument("--model", required=True, help="a save_pretrained directory or a Hub repo id")
    parser.add_argument("--dataset", required=True, help="any load_image_dataset source")
    parser.add_argument("--train_split", default="train", help="split to train on")
    parser.add_argument("--eval_split", default="test", help="split measured after every epoch (picks best/)")
    parser.add_argument("--image_column", default="image", help="column holding the images")
    parser.add_argument("--label_column", default="label", help="column holding the class labels")
    parser.add_argument("--feature", default=None, help="a space or spaces joined by '+' (default: the model's)")
    parser.add_argument(
        "--mode", default="linear", choices=FINETUNE_MODES, help="train the head only (linear) or the whole model"
    )
    parser.add_argument("--epochs", type=int, default=30, help="passes over the training split")
    parser.add_argument("--batch_size", type=int, default=64, help="images per process per step")
    parser.add_argument("--lr", type=float, default=0.01, help="SGD learning rate per 256 images (ours)")
    parser.add_argument("--weight_decay", type=float, default=1e-4, help="SGD weight decay")
    parser.add_argument("--hflip", type=float, default=0.5, help="timm's train-time flip probability")
    parser.add_argument(
        "--crop_scale",
        type=float,
        nargs=2,
        default=None,
        metavar=("MIN", "MAX"),
        help="random resized crop area range (default: timm's 0.08 1 from 128 px up, 1 1 below: ours)",
    )
    parser.add_argument(
        "--color_jitter",
        type=float,
        default=None,
        help="timm's train-time colour jitter strength (default: timm's 0.4 from 128 px up, 0 below: ours)",
    )
    parser.add_argument(
        "--head_init",
        default="linear_probe",
        choices=HEAD_INITS,
        help="start the classifier as a linear probe on the frozen features (LP-FT, ours) or at random",
    )
    parser.add_argument(
        "--encoder_lr_scale",
        type=float,
        default=0.1,
        help="full mode: the encoder's learning rate as a fraction of the head's (ours)",
    )
    parser.add_argument("--clip_grad", type=float, default=1.0, help="max gradient norm (ours; 0: no clipping)")
    parser.add_argument(
        "--bn",
        default="frozen",
        choices=["frozen", "train"],
        help="full mode: keep BatchNorm statistics frozen (ours, small data) or update them from each batch",
    )
    parser.add_argument(
        "--mixed_precision", default="no", choices=["no", "fp16", "bf16"], help="Accelerate's mixed precision"
    )
    parser.add_argument("--num_workers", type=int, default=0, help="data-loading worker processes per process")
    parser.add_argument("--seed", type=int, default=0, help="seed of the head's start, the data order and the crops")
    parser.add_argument("--output_dir", required=True, help="where checkpoints/, best/ and last/ are written")
    parser.add_argument(
        "--resume", default=None, help="'latest' or a checkpoint folder (trusted input: it holds pickles)"
    )
    add_log_level_flag(parser)
    return parser


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.epochs < 1 or args.batch_size < 1:
        parser.error("--epochs and --batch_size must be at least 1")
    return args


def main(argv: Sequence[str] | None = None) -> None:
    """`looc-finetune`: parse the flags, then fine-tune."""
    args = parse_args(argv)
    setup_logging(args.log_level)
    finetune(args)


def finetune(args: argparse.Namespace) -> dict[str, Any]:
    """Fine-tune; returns the best top-1 and its epoch and the per-epoch history (epoch 0: before training)."""
    output_dir = Path(args.output_dir)
    accelerator = Accelerator(mixed_precision=args.mixed_precision, project_dir=str(output_dir))
    set_seed(args.seed)

    model = LooCModel.from_pretrained(args.model)
    feature = parse_space_key(args.feature) if args.feature else [model.default_space]
    columns = {"image_column": args.image_column, "label_column": args.label_column}
    train_set = load_image_dataset(args.dataset, split=args.train_split, **columns)
    eval_set = load_image_dataset(args.dataset, split=args.eval_split, **columns)
    num_classes = num_classes_of(train_set)
    class_names = getattr(train_set.features["label"], "names", None)
    classifier = LooCClassifier(
        model, feature, num_classes, mode=args.mode, class_names=class_names, freeze_bn=args.bn == "frozen"
    )
    if args.head_init == "linear_probe" and not args.resume:
        init_head_from_linear_probe(classifier, train_set, seed=args.seed)
    loaders = {"batch_size": args.batch_size, "num_classes": num_classes, "num_workers": args.num_workers}
    crop_scale = tuple(args.crop_scale) if args.crop_scale else None
    train_loader = classification_loader(
        train_set,
        model,
        training=True,
        hflip=args.hflip,
        crop_scale=crop_scale,
        color_jitter=args.color_jitter,
        seed=args.seed,
        **loaders,
    )
    eval_loader = classification_loader(eval_set, model, training=False, **loaders)

    trainable = [p for p in classifier.parameters() if p.requires_grad]
    lr = args.lr * args.batch_size * accelerator.num_processes / 256
    encoder = [p for p in classifier.model.parameters() if p.requires_grad]  # empty in linear mode
    groups = [{"params": list(classifier.head.parameters())}]
    if encoder:
        groups.append({"params": encoder, "lr": lr * args.encoder_lr_scale})
    optimizer = torch.optim.SGD(groups, lr=lr, momentum=0.9, weight_decay=args.weight_decay)
    classifier, optimizer, train_loader, eval_loader = accelerator.prepare(
        classifier, optimizer, train_loader, eval_loader
    )
    total_steps = args.epochs * len(train_loader)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: cosine_with_warmup(step, total_steps, 0))
    progress = TrainingProgress()
    best = {"top1": -1.0, "epoch": -1}
    accelerator.register_for_checkpointing(scheduler, progress)
    checkpoints = CheckpointManager(output_dir / "checkpoints", keep=1)
    if args.resume:
        accelerator.load_state(str(checkpoints.resolve(args.resume)))
        best_file = output_dir / "best" / "classifier.json"
        if best_file.is_file():
            best = json.loads(best_file.read_text())["metrics"]

    history = []
    if progress.epoch == 0:  # where training starts: the linear probe's accuracy with head_init linear_probe
        history.append({"epoch": 0, "top1": evaluate(accelerator, classifier, eval_loader), "loss": None})
        logger.info(f"epoch 0 ({args.head_init} head): eval top-1 {history[0]['top1']:.2f}")
    while progress.epoch < args.epochs:
        classifier.train()
        for batch in tqdm(train_loader, desc=f"epoch {progress.epoch}", disable=not accelerator.is_main_process):
            with accelerator.autocast():
                loss = F.cross_entropy(classifier(batch["images"]), batch["labels"])
            accelerator.backward(loss)
            if args.clip_grad > 0:
                accelerator.clip_grad_norm_(trainable, args.clip_grad)
            optimizer.step()
            scheduler.step()
            optimizer.zero_grad(set_to_none=True)
            progress.step += 1
        progress.epoch += 1
        top1 = evaluate(accelerator, classifier, eval_loader)
        history.append({"epoch": progress.epoch, "top1": top1, "loss": loss.item()})
        logger.info(f"epoch {progress.epoch}: eval top-1 {top1:.2f}")
        checkpoints.save(accelerator, progress.step)
        if accelerator.is_main_process:
            metrics = {"top1": top1, "epoch": progress.epoch}
            unwrapped = accelerator.unwrap_model(classifier)
            measured = finetune_results(
                unwrapped, base_model=args.model, dataset=args.dataset, split=args.eval_split, **metrics
            )
            saved = {"metrics": metrics, "base_model": args.model, "training": measured, "recipe": vars(args)}
            unwrapped.save_pretrained(output_dir / "last", **saved)
            if top1 > best["top1"]:
                best = metrics
                unwrapped.save_pretrained(output_dir / "best", **saved)
        accelerator.wait_for_everyone()
    accelerator.end_training()
    if accelerator.is_main_process:
        print(results_report(args, best, history))
    return {"best_top1": best["top1"], "best_epoch": best["epoch"], "history": history}


def results_report(args: argparse.Namespace, best: dict[str, float], history: list[dict[str, Any]]) -> str:
    """The end-of-run table: top-1 on the eval split of the best and the last epoch (and the start), and where."""
    output_dir = Path(args.output_dir)
    rows = [["best", f"{best['top1']:.2f}", best["epoch"], output_dir / "best"]]
    if history:  # empty when a resumed run had no epoch left to train
        rows.append(["last", f"{history[-1]['top1']:.2f}", history[-1]["epoch"], output_dir / "last"])
        if history[0]["epoch"] == 0:
            rows.append(["start", f"{history[0]['top1']:.2f}", 0, f"({args.head_init} head, not saved)"])
    title = f"fine-tuning finished: {args.model} on {args.dataset} ({args.mode}, {args.epochs} epochs)"
    return title + "\n" + format_table(["", f"top-1 ({args.eval_split})", "epoch", "saved in"], rows)


@torch.no_grad()
def evaluate(accelerator: Accelerator, classifier: torch.nn.Module, loader: torch.utils.data.DataLoader) -> float:
    """Top-1 (%) over the whole split, gathered across processes."""
    classifier.eval()
    correct = total = 0
    for batch in loader:
        with accelerator.autocast():
            predicted = classifier(batch["images"]).argmax(1)
        predicted, labels = accelerator.gather_for_metrics((predicted, batch["labels"]))
        correct += int((predicted == labels).sum())
        total += len(labels)
    return 100.0 * correct / total


if __name__ == "__main__":
    main()
