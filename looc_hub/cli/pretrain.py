"""LooC pretraining with Accelerate (`looc-pretrain`): one command for one CPU, many GPUs and many nodes.

    looc-pretrain --config looc_r10t_openmoji32 --epochs 2
    accelerate launch --multi_gpu --num_processes 8 training/pretrain.py --config looc_r50_in100

`--config` takes a shipped recipe's name (`looc-recipes` lists them) or a YAML file; every `PretrainConfig` field
is a flag, and flags override the recipe. `accelerate launch` runs `training/pretrain.py` in a clone, or
`-m looc_hub.cli.pretrain` from an install. Reads top to bottom: config, Accelerator, model + objective, data,
optimiser, `prepare`, resume, the loop (views -> objective -> backward -> step -> momentum update), periodic
checkpoints and kNN monitor, and at the end a Hub-format model directory (`<output_dir>/model`) with a card stating
the recipe and the kNN results, and a results table. See docs/pretraining.md for multi-node launch configs.
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
from accelerate import Accelerator, DataLoaderConfiguration, DistributedDataParallelKwargs
from accelerate.logging import get_logger
from accelerate.utils import set_seed
from tqdm.auto import tqdm

import looc_hub
from looc_hub.data import build_dataloader, check_enough_rows, load_image_dataset, screen_images
from looc_hub.objective import LooCObjective, check_queue_fits_dataset, cosine_momentum
from looc_hub.publish import check_push_target, publish
from looc_hub.training import CheckpointManager, JSONLTracker, PretrainConfig, TrainingProgress, cosine_with_warmup
from looc_hub.training.curves import plot_training_curves
from looc_hub.training.knn_monitor import knn_monitor
from looc_hub.training.run_dir import RESUME_FIELDS, check_resumed_step, prepare_output_dir
from looc_hub.training.tracking import check_trackers_installed
from looc_hub.training.trained_model import write_trained_model
from looc_hub.views import LooCViewGenerator

from ._args import HelpFormatter, add_log_level_flag
from ._console import format_table, setup_logging

logger = get_logger(__name__)


def build_parser() -> argparse.ArgumentParser:
    """`--config`, one flag per `PretrainConfig` field, and `--log_level`."""
    parser = PretrainConfig.argument_parser(prog="looc-pretrain", description=__doc__, formatter_class=HelpFormatter)
    add_log_level_flag(parser)
    return parser


def main(argv: Sequence[str] | None = None) -> None:
    """`looc-pretrain`: parse the recipe and flags, then pretrain."""
    parser = build_parser()
    values = vars(parser.parse_args(argv))
    setup_logging(values.pop("log_level"))
    try:
        config = PretrainConfig.from_parsed(values)
    except (TypeError, ValueError) as error:  # a bad recipe or flag value: the usage line and the reason
        parser.error(str(error))
    pretrain(config)


def pretrain(config: PretrainConfig) -> dict[str, Any]:
    """Run one pretraining; returns what `summary.json` holds (steps, world size, final kNN per space)."""
    started = time.perf_counter()
    output_dir = Path(config.output_dir)
    check_trackers_installed(config.report_to)  # a tracker that cannot log is an error, not silence
    prepare_output_dir(output_dir, resume=config.resume, overwrite=config.overwrite)  # one run per folder
    if config.push_to_hub:
        check_push_target(config.push_to_hub)  # before training, not after it
    trackers = [JSONLTracker("logs", output_dir) if name == "jsonl" else name for name in config.report_to]
    accelerator = Accelerator(
        mixed_precision=config.mixed_precision,
        log_with=trackers,
        project_dir=str(output_dir),
        # Streaming data: each process reads its own shards instead of process 0 reading and broadcasting all.
        dataloader_config=DataLoaderConfiguration(dispatch_batches=False),
        # Queues and the key encoder agree across ranks by construction: no per-step buffer broadcast.
        kwargs_handlers=[DistributedDataParallelKwargs(broadcast_buffers=False)],
    )
    set_seed(config.seed)  # identical initial weights and queues on every process

    model = looc_hub.create_model(config.model, **config.model_overrides)
    model_config = model.config
    objective = LooCObjective(model, shuffle_bn=not config.sync_bn, bn_groups=config.bn_groups)
    if config.sync_bn:
        objective = torch.nn.SyncBatchNorm.convert_sync_batchnorm(objective)
    if config.channels_last:
        objective = objective.to(memory_format=torch.channels_last)
    if config.compile:  # the hot path of both encoders (the key encoder is a separate copy)
        for encoder in (objective.query_encoder, objective.key_encoder):
            encoder.forward_projections = torch.compile(encoder.forward_projections)
    view_generator = LooCViewGenerator.from_config(model_config, crop_scale=tuple(config.crop_scale))

    canvas_size = config.canvas_size or round(1.25 * model_config.image_size)
    train_set = load_image_dataset(
        config.dataset, split=config.train_split, image_column=config.image_column, streaming=config.streaming
    )
    if config.check_images or config.skip_unreadable:  # every image decoded once, before training
        train_set, unreadable = screen_images(train_set, canvas_size, skip=config.skip_unreadable)
        if unreadable:
            logger.warning(f"skipped {len(unreadable)} unreadable image(s)" + "".join(f"\n  {u}" for u in unreadable))
    check_enough_rows(train_set, config.batch_size, accelerator.num_processes)
    if not config.streaming:  # a stream has no length; its user sizes the queue
        check_queue_fits_dataset(model_config.queue_size, len(train_set))
    train_loader = build_dataloader(
        train_set,
        batch_size=config.batch_size,
        canvas_size=canvas_size,
        num_workers=config.num_workers,
        seed=config.seed,
        shuffle=True,
        drop_last=True,
    )

    trainable = [p for p in objective.parameters() if p.requires_grad]  # the query encoder
    lr = config.base_lr * config.batch_size * accelerator.num_processes / 256  # MoCo's linear scaling
    if config.optimizer == "sgd":
        optimizer = torch.optim.SGD(trainable, lr=lr, momentum=config.sgd_momentum, weight_decay=config.weight_decay)
    else:
        optimizer = torch.optim.AdamW(trainable, lr=lr, weight_decay=config.weight_decay)

    objective, optimizer, train_loader = accelerator.prepare(objective, optimizer, train_loader)
    steps_per_epoch = len(train_loader) if not config.streaming else None
    total_steps = config.max_steps or config.epochs * (steps_per_epoch or 0)
    if not total_steps:
        raise ValueError("A streaming dataset has no length: set --max_steps")
    warmup_steps = round(config.warmup_epochs * (steps_per_epoch or total_steps / config.epochs))
    # Not `prepare`d: Accelerate would step it once per process per step; it is registered for checkpoints.
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda step: cosine_with_warmup(step, total_steps, warmup_steps)
    )
    progress = TrainingProgress()
    accelerator.register_for_checkpointing(scheduler, progress)
    checkpoints = CheckpointManager(
        output_dir / "checkpoints", config.keep_checkpoints, run_config=config.to_dict(), must_match=RESUME_FIELDS
    )
    if config.resume:
        accelerator.load_state(str(checkpoints.resolve(config.resume)))
        logger.info(f"resumed at step {progress.step} (epoch {progress.epoch}, batch {progress.batch_in_epoch})")
        check_resumed_step(progress.step, total_steps)
    accelerator.init_trackers("logs", config=config.to_dict())

    unwrapped = accelerator.unwrap_model(objective)
    eval_set = knn_bank = None
    if config.eval_split and config.label_column:  # the kNN monitor: labelled train images vs the held-out split
        labelled = {"image_column": config.image_column, "label_column": config.label_column}
        eval_set = load_image_dataset(config.dataset, split=config.eval_split, **labelled)
        knn_bank = load_image_dataset(config.dataset, split=config.train_split, **labelled)
        knn_bank = knn_bank.select(range(min(len(knn_bank), config.knn_bank_size)))
    knn_results: dict[str, dict[str, float]] = {}
    knn_step = -1  # the step knn_results were measured at: the card reports the final model's
    bar = tqdm(total=total_steps, initial=progress.step, disable=not accelerator.is_main_process, desc="pretrain")
    while progress.step < total_steps:
        objective.train()
        if hasattr(train_loader, "set_epoch"):
            train_loader.set_epoch(progress.epoch)
        batches = accelerator.skip_first_batches(train_loader, progress.batch_in_epoch)
        tick = time.perf_counter()
        for batch in batches:
            # Views and Shuffle-BN's draw depend on (seed, process, step) only: a resumed run draws the same (ours).
            generator = torch.Generator(accelerator.device).manual_seed(
                config.seed * 1_000_003 + accelerator.process_index * 10_007 + progress.step
            )
            views = view_generator(batch["images"], generator=generator)
            with accelerator.autocast():
                output = objective(views, generator=generator)
            accelerator.backward(output.loss)
            optimizer.step()
            scheduler.step()
            optimizer.zero_grad(set_to_none=True)
            momentum = model_config.momentum
            if config.key_momentum_schedule == "cosine":
                momentum = cosine_momentum(progress.step, total_steps, model_config.momentum)
            unwrapped.momentum_update(momentum)
            progress.step += 1
            progress.batch_in_epoch += 1
            bar.update(1)

            if progress.step % config.log_every_steps == 0 or progress.step == total_steps:
                losses = accelerator.reduce(
                    torch.stack([output.loss.detach(), *output.space_losses.values()]), reduction="mean"
                )
                elapsed = time.perf_counter() - tick
                metrics = {
                    "loss": losses[0].item(),
                    **{
                        f"loss/{name}": value.item()
                        for name, value in zip(output.space_losses, losses[1:], strict=True)
                    },
                    "lr": scheduler.get_last_lr()[0],
                    "key_momentum": momentum,
                    "images_per_s": config.batch_size * accelerator.num_processes * config.log_every_steps / elapsed,
                    "epoch": progress.epoch,
                }
                accelerator.log(metrics, step=progress.step)
                bar.set_postfix(loss=f"{metrics['loss']:.3f}")
                tick = time.perf_counter()
            if config.checkpoint_every_steps and progress.step % config.checkpoint_every_steps == 0:
                checkpoints.save(accelerator, progress.step)
            if progress.step >= total_steps:
                break
        else:
            if progress.batch_in_epoch == 0:  # a stream whose shard holds less than one batch: never loop forever
                raise RuntimeError(f"Epoch {progress.epoch} gave no full batch of {config.batch_size} on this process")
            progress.epoch += 1
            progress.batch_in_epoch = 0
            if eval_set is not None and progress.epoch % config.knn_every_epochs == 0:
                knn_results = run_knn_monitor(accelerator, unwrapped, knn_bank, eval_set, config, progress.step)
                knn_step = progress.step
            if not config.checkpoint_every_steps:
                checkpoints.save(accelerator, progress.step)
    bar.close()

    if eval_set is not None and knn_step != progress.step:
        knn_results = run_knn_monitor(accelerator, unwrapped, knn_bank, eval_set, config, progress.step)
    checkpoints.save(accelerator, progress.step)
    agree = queues_agree(accelerator, unwrapped.queue)
    summary = {"world_size": accelerator.num_processes, "steps": progress.step, "queues_agree": agree}
    if accelerator.is_main_process:
        (output_dir / "summary.json").write_text(json.dumps({**summary, "knn": knn_results}, indent=2) + "\n")
        model_dir = write_trained_model(unwrapped.query_encoder, output_dir / "model", config, knn_results)
        logger.info(f"model written to {model_dir}")
        write_curves(output_dir)
        if config.push_to_hub:  # validated, then uploaded as one commit (looc_hub.publish)
            pushed = publish(model_dir, config.push_to_hub, private=config.hub_private)
            logger.info(f"pushed {pushed.repo_id}@{pushed.revision}: commit {pushed.commit_oid}")
        print(results_report(config, summary, knn_results, time.perf_counter() - started))
    accelerator.wait_for_everyone()
    accelerator.end_training()
    return {**summary, "knn": knn_results}


def results_report(
    config: PretrainConfig, summary: dict[str, Any], knn: dict[str, dict[str, float]], seconds: float
) -> str:
    """The end-of-run table: the final kNN accuracy per space, with the steps, time and where the model is."""
    minutes, rest = divmod(round(seconds), 60)
    lines = [
        f"pretraining finished: {config.model} on {config.dataset}, {summary['steps']} steps on "
        f"{summary['world_size']} process(es), {minutes} min {rest} s (this run)"
    ]
    if knn:
        rows = [[space, f"{row['top1']:.1f}", f"{row['top5']:.1f}"] for space, row in knn.items()]
        lines += [
            f"kNN on split {config.eval_split!r} (k={config.knn_k}) at step {summary['steps']}:",
            format_table(["space", "top-1", "top-5"], rows),
        ]
    lines.append(f"model: {Path(config.output_dir) / 'model'}")
    if config.push_to_hub:
        lines.append(f"pushed to: {config.push_to_hub}")
    return "\n".join(lines)


def write_curves(output_dir: Path) -> None:
    """`curves.png` (loss and kNN per space) from the JSON-lines log, when it and matplotlib are there."""
    metrics = output_dir / "logs" / "metrics.jsonl"
    if not metrics.is_file():
        return
    try:
        logger.info(f"curves written to {plot_training_curves(metrics, output_dir / 'curves.png')}")
    except ImportError:
        logger.warning('curves.png not written: matplotlib is not installed (pip install "looc-hub[eval]")')


def queues_agree(accelerator: Accelerator, queue: torch.nn.Module) -> bool:
    """Whether every process holds the same queues (they must: keys are gathered before enqueue)."""
    keys = queue.keys.double()
    weights = torch.linspace(0.5, 1.5, keys.numel(), dtype=torch.float64, device=keys.device).view_as(keys)
    fingerprint = torch.stack([keys.sum(), (keys * weights).sum(), queue.pointer.double()]).unsqueeze(0)
    gathered = accelerator.gather(fingerprint)  # (world_size, 3)
    return bool((gathered == gathered[0]).all())


def run_knn_monitor(accelerator, objective, knn_bank, eval_set, config, step) -> dict[str, dict[str, float]]:
    """kNN accuracy per space on the held-out split, on the main process (the others wait)."""
    results: dict[str, dict[str, float]] = {}
    if accelerator.is_main_process:
        results = knn_monitor(
            objective.query_encoder,
            knn_bank,
            eval_set,
            k=config.knn_k,
            temperature=config.knn_temperature,
            device=accelerator.device,
        )
        accelerator.log(
            {f"knn/{space}/{metric}": value for space, row in results.items() for metric, value in row.items()},
            step=step,
        )
        logger.info(
            f"step {step}: kNN top-1 " + ", ".join(f"{space}: {row['top1']:.1f}" for space, row in results.items())
        )
    accelerator.wait_for_everyone()
    return results


if __name__ == "__main__":
    main()
