"""LooC pretraining with Accelerate (`looc-pretrain`): one command for one CPU, many GPUs and many nodes.

    looc-pretrain --config looc_r10t_openmoji32 --epochs 2
    accelerate launch --multi_gpu --num_processes 8 training/pretrain.py --config looc_r50_in100

`--config` takes a shipped recipe's name (`looc-recipes` lists them) or a YAML file; every `PretrainConfig` field
is a flag, and flags override the recipe. `accelerate launch` runs `training/pretrain.py` in a clone, or
`-m looc_hub.cli.pretrain` from an install. `pretrain` reads top to bottom: checks, Accelerator, model +
objective, data, optimiser, `prepare`, schedule, resume, the loop (`looc_hub.training.loop`: views -> objective ->
backward -> step -> momentum update, periodic checkpoints and kNN monitor), and at the end a Hub-format model
directory (`<output_dir>/model`) with a card stating the recipe and the kNN results, and a results table.
SIGTERM / SIGUSR1 (SLURM's warnings) write a checkpoint at the next step boundary and exit with code 75; rerun
with `--resume latest` to continue exactly. See docs/pretraining.md for multi-node launch configs and SLURM.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
from accelerate import Accelerator, DataLoaderConfiguration, DistributedDataParallelKwargs
from accelerate.logging import get_logger
from accelerate.utils import set_seed
from datasets import Dataset
from torch.utils.data import DataLoader

import looc_hub
from looc_hub import LooCConfig, LooCModel
from looc_hub.data import build_dataloader, check_enough_rows, load_image_dataset, screen_images
from looc_hub.hub.publish import PushTargetError, check_push_target, publish
from looc_hub.objective import LooCObjective, check_queue_fits_dataset
from looc_hub.training import CheckpointManager, JSONLTracker, PretrainConfig, TrainingProgress, cosine_with_warmup
from looc_hub.training.curves import plot_training_curves
from looc_hub.training.divergence import TrainingDivergedError
from looc_hub.training.loop import TrainingLoop
from looc_hub.training.preemption import EXIT_STOPPED, StopRequest, TrainingStopped
from looc_hub.training.progress import logs_through_bar
from looc_hub.training.run_dir import RESUME_MAY_CHANGE, check_resumed_step, dataset_identity, prepare_output_dir
from looc_hub.training.tracking import check_trackers_installed, scalar_config
from looc_hub.training.trained_model import write_trained_model
from looc_hub.training.trajectory import end_later_trajectory, finished_run_summary
from looc_hub.views import LooCViewGenerator

from ._args import HelpFormatter, add_log_level_flag
from .console import format_table, setup_logging

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
    try:
        pretrain(config)
    except (TrainingDivergedError, FileExistsError, NotADirectoryError, PushTargetError) as error:  # message, rc 1
        parser.exit(1, f"{parser.prog}: error: {error}\n")
    except TrainingStopped:  # SIGTERM / SIGUSR1: checkpoint written; a requeued job resumes with --resume latest
        raise SystemExit(EXIT_STOPPED) from None


def pretrain(config: PretrainConfig) -> dict[str, Any]:
    """Run one pretraining; returns what `summary.json` holds (steps, world size, final kNN per space)."""
    started = time.perf_counter()
    output_dir = Path(config.output_dir)
    check_before_training(config, output_dir)
    accelerator = build_accelerator(config, output_dir)
    set_seed(config.seed)  # identical initial weights and queues on every process

    model = looc_hub.create_model(config.model, **config.model_overrides)
    objective = build_objective(model, config)
    view_generator = LooCViewGenerator.from_config(model.config, crop_scale=tuple(config.crop_scale))
    train_loader = build_train_loader(config, model.config, accelerator.num_processes)
    optimizer = build_optimizer(objective, config, accelerator.num_processes)
    objective, optimizer, train_loader = accelerator.prepare(objective, optimizer, train_loader)
    total_steps, warmup_steps = count_steps(config, train_loader)
    # Not `prepare`d: Accelerate would step it once per process per step; it is registered for checkpoints.
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda step: cosine_with_warmup(step, total_steps, warmup_steps)
    )
    progress = TrainingProgress()
    accelerator.register_for_checkpointing(scheduler, progress)
    checkpoints = CheckpointManager(
        output_dir / "checkpoints", config.keep_checkpoints, run_config=run_record(config), must_match=must_match()
    )
    if config.resume:
        resume_from(accelerator, checkpoints, config.resume, progress, total_steps)
        finished = finished_run_summary(output_dir, progress.step) if progress.step == total_steps else None
        if finished is not None:
            if accelerator.is_main_process:
                print(
                    f"Nothing to do: the run finished at step {progress.step} and wrote {output_dir / 'model'}; "
                    "raise --max_steps (or --epochs) to train it longer"
                )
            return finished
    init_trackers(accelerator, config, resumed_step=progress.step if config.resume else None)

    loop = TrainingLoop(
        config=config,
        accelerator=accelerator,
        objective=objective,
        optimizer=optimizer,
        scheduler=scheduler,
        train_loader=train_loader,
        view_generator=view_generator,
        progress=progress,
        checkpoints=checkpoints,
        total_steps=total_steps,
        knn_data=load_knn_data(config),
        stop=StopRequest().install(),
    )
    try:
        with logs_through_bar():
            loop.run()
    except TrainingStopped as stopped:
        logger.warning(str(stopped), main_process_only=True)
        accelerator.wait_for_everyone()
        accelerator.end_training()
        raise
    finally:
        loop.stop.restore()

    agree = queues_agree(accelerator, loop.unwrapped.queue)
    summary = {"world_size": accelerator.num_processes, "steps": progress.step, "queues_agree": agree}
    if accelerator.is_main_process:
        write_outputs(config, output_dir, loop.unwrapped.query_encoder, summary, loop.knn_results)
        print(results_report(config, summary, loop.knn_results, time.perf_counter() - started))
    accelerator.wait_for_everyone()
    accelerator.end_training()
    return {**summary, "knn": loop.knn_results}


def run_record(config: PretrainConfig) -> dict[str, Any]:
    """The settings each checkpoint stores: the config, its dataset as an absolute path when it is a local one."""
    return {**config.to_dict(), "dataset": dataset_identity(config.dataset)}


def must_match() -> list[str]:
    """Every `PretrainConfig` field that changes the trajectory, i.e. all but `RESUME_MAY_CHANGE`."""
    return [f.name for f in dataclasses.fields(PretrainConfig) if f.name not in RESUME_MAY_CHANGE]


def resume_from(
    accelerator: Accelerator, checkpoints: CheckpointManager, resume: str, progress: TrainingProgress, total_steps: int
) -> None:
    """Load the checkpoint; a resume from before the run's last checkpoint ends the later trajectory."""
    checkpoints.load(accelerator, checkpoints.resolve(resume))
    logger.info(f"resumed at step {progress.step} (epoch {progress.epoch}, batch {progress.batch_in_epoch})")
    check_resumed_step(progress.step, total_steps)
    if accelerator.is_main_process:
        end_later_trajectory(checkpoints.directory.parent, progress.step, checkpoints.checkpoints())
    accelerator.wait_for_everyone()


def init_trackers(accelerator: Accelerator, config: PretrainConfig, resumed_step: int | None) -> None:
    """Start the trackers and store the run's settings in each, in the form each accepts."""
    init_kwargs = {}
    if resumed_step is not None and "tensorboard" in config.report_to:  # drop events of the abandoned steps
        init_kwargs["tensorboard"] = {"purge_step": resumed_step + 1}
    accelerator.init_trackers("logs", init_kwargs=init_kwargs)
    if accelerator.is_main_process:
        for tracker in accelerator.trackers:
            values = config.to_dict()
            tracker.store_init_configuration(values if isinstance(tracker, JSONLTracker) else scalar_config(values))


def check_before_training(config: PretrainConfig, output_dir: Path) -> None:
    """Everything that would fail after training, checked before it: trackers, the output folder, the push target."""
    check_trackers_installed(config.report_to)  # a tracker that cannot log is an error, not silence
    prepare_output_dir(output_dir, resume=config.resume, overwrite=config.overwrite)  # one run per folder
    if config.push_to_hub:
        check_push_target(config.push_to_hub)


def build_accelerator(config: PretrainConfig, output_dir: Path) -> Accelerator:
    trackers = [JSONLTracker("logs", output_dir) if name == "jsonl" else name for name in config.report_to]
    return Accelerator(
        mixed_precision=config.mixed_precision,
        log_with=trackers,
        project_dir=str(output_dir),
        # Streaming data: each process reads its own shards instead of process 0 reading and broadcasting all.
        dataloader_config=DataLoaderConfiguration(dispatch_batches=False),
        # Queues and the key encoder agree across ranks by construction: no per-step buffer broadcast.
        kwargs_handlers=[DistributedDataParallelKwargs(broadcast_buffers=False)],
    )


def build_objective(model: LooCModel, config: PretrainConfig) -> torch.nn.Module:
    """The LooC objective around `model` (the query encoder), with the run's BatchNorm, memory format and compile."""
    objective = LooCObjective(
        model,
        queue_size=config.queue_size,
        temperature=config.temperature,
        momentum=config.key_momentum,
        shuffle_bn=not config.sync_bn,
        bn_groups=config.bn_groups,
    )
    if config.sync_bn:
        objective = torch.nn.SyncBatchNorm.convert_sync_batchnorm(objective)
    if config.channels_last:
        objective = objective.to(memory_format=torch.channels_last)
    if config.compile:  # the hot path of both encoders (the key encoder is a separate copy)
        for encoder in (objective.query_encoder, objective.key_encoder):
            encoder.forward_projections = torch.compile(encoder.forward_projections)
    return objective


def build_train_loader(config: PretrainConfig, model_config: LooCConfig, num_processes: int) -> DataLoader:
    """The shuffled training images as uint8 canvases, checked (and screened, if asked) before training."""
    canvas_size = config.canvas_size or round(1.25 * model_config.image_size)
    train_set = load_image_dataset(
        config.dataset, split=config.train_split, image_column=config.image_column, streaming=config.streaming
    )
    if config.check_images or config.skip_unreadable:  # every image decoded once, before training
        train_set, unreadable = screen_images(train_set, canvas_size, skip=config.skip_unreadable)
        if unreadable:
            logger.warning(f"skipped {len(unreadable)} unreadable image(s)" + "".join(f"\n  {u}" for u in unreadable))
    check_enough_rows(train_set, config.batch_size, num_processes)
    if not config.streaming:  # a stream has no length; its user sizes the queue
        check_queue_fits_dataset(config.queue_size, len(train_set))
    return build_dataloader(
        train_set,
        batch_size=config.batch_size,
        canvas_size=canvas_size,
        num_workers=config.num_workers,
        seed=config.seed,
        shuffle=True,
        drop_last=True,
    )


def build_optimizer(objective: torch.nn.Module, config: PretrainConfig, num_processes: int) -> torch.optim.Optimizer:
    trainable = [p for p in objective.parameters() if p.requires_grad]  # the query encoder
    lr = config.base_lr * config.batch_size * num_processes / 256  # MoCo's linear scaling
    if config.optimizer == "sgd":
        return torch.optim.SGD(trainable, lr=lr, momentum=config.sgd_momentum, weight_decay=config.weight_decay)
    return torch.optim.AdamW(trainable, lr=lr, weight_decay=config.weight_decay)


def count_steps(config: PretrainConfig, train_loader: DataLoader) -> tuple[int, int]:
    """(total steps, warm-up steps) of the run, from `--max_steps` or the epochs of the prepared loader."""
    steps_per_epoch = len(train_loader) if not config.streaming else None
    total_steps = config.max_steps or config.epochs * (steps_per_epoch or 0)
    if not total_steps:
        raise ValueError("A streaming dataset has no length: set --max_steps")
    warmup_steps = round(config.warmup_epochs * (steps_per_epoch or total_steps / config.epochs))
    return total_steps, warmup_steps


def load_knn_data(config: PretrainConfig) -> tuple[Dataset, Dataset] | None:
    """(bank, held-out split) of the kNN monitor: labelled train images and the eval split; None without them."""
    if not (config.eval_split and config.label_column):
        return None
    labelled = {"image_column": config.image_column, "label_column": config.label_column}
    eval_set = load_image_dataset(config.dataset, split=config.eval_split, **labelled)
    knn_bank = load_image_dataset(config.dataset, split=config.train_split, **labelled)
    return knn_bank.select(range(min(len(knn_bank), config.knn_bank_size))), eval_set


def write_outputs(
    config: PretrainConfig,
    output_dir: Path,
    model: LooCModel,
    summary: dict[str, Any],
    knn: dict[str, dict[str, float]],
) -> None:
    """On the main process: summary.json, the Hub-format model with its card, curves.png, and the push if asked."""
    (output_dir / "summary.json").write_text(json.dumps({**summary, "knn": knn}, indent=2) + "\n")
    model_dir = write_trained_model(model, output_dir / "model", config, knn)
    logger.info(f"model written to {model_dir}")
    write_curves(output_dir)
    if config.push_to_hub:  # validated, then uploaded as one commit (looc_hub.hub.publish)
        try:
            pushed = publish(model_dir, config.push_to_hub, private=config.hub_private)
        except ValueError as error:  # e.g. files added to the repo during training: the model is kept
            raise PushTargetError(
                f"--push_to_hub {config.push_to_hub}: not pushed: {error}. The trained model is in {model_dir}; "
                f"publish it with `looc-publish {model_dir} {config.push_to_hub}`"
            ) from None
        logger.info(f"pushed {pushed.repo_id}@{pushed.revision}: commit {pushed.commit_oid}")


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


if __name__ == "__main__":
    main()
