"""The pretraining loop: views -> objective -> backward -> step -> momentum update, with what runs between steps.

Logs every `log_every_steps`, checkpoints (every `checkpoint_every_steps`, else every epoch), the kNN monitor every
`knn_every_epochs` and on the final model. Views and Shuffle-BN's draw depend on (seed, process, step) only, so a
resumed run draws exactly what the uninterrupted one would have.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import torch
from accelerate import Accelerator
from accelerate.logging import get_logger
from datasets import Dataset
from torch.utils.data import DataLoader
from tqdm.auto import tqdm

from ..objective import LooCObjective, LooCObjectiveOutput, cosine_momentum
from ..views import LooCViewGenerator
from .checkpoints import CheckpointManager
from .knn_monitor import knn_monitor
from .pretrain_config import PretrainConfig
from .progress import TrainingProgress

__all__ = ["TrainingLoop", "run_knn_monitor"]

logger = get_logger(__name__)


@dataclass
class TrainingLoop:
    """The loop: views -> objective -> backward -> step -> momentum update, with logs, checkpoints and kNN between."""

    config: PretrainConfig
    accelerator: Accelerator
    objective: torch.nn.Module
    optimizer: torch.optim.Optimizer
    scheduler: torch.optim.lr_scheduler.LRScheduler
    train_loader: DataLoader
    view_generator: LooCViewGenerator
    progress: TrainingProgress
    checkpoints: CheckpointManager
    total_steps: int
    knn_data: tuple[Dataset, Dataset] | None
    knn_results: dict[str, dict[str, float]] = field(default_factory=dict)
    knn_step: int = -1  # the step knn_results were measured at: the card reports the final model's

    def __post_init__(self) -> None:
        self.unwrapped = self.accelerator.unwrap_model(self.objective)

    def run(self) -> None:
        """Train to `total_steps`, then measure the final model's kNN and save the last checkpoint."""
        bar = tqdm(
            total=self.total_steps,
            initial=self.progress.step,
            disable=not self.accelerator.is_main_process,
            desc="pretrain",
        )
        while self.progress.step < self.total_steps:
            if not self.run_epoch(bar):
                self.end_epoch()
        bar.close()
        if self.knn_data is not None and self.knn_step != self.progress.step:
            self.measure_knn()
        self.checkpoints.save(self.accelerator, self.progress.step)

    def run_epoch(self, bar: tqdm) -> bool:
        """The epoch's remaining batches; True when the run's last step was taken in it (the epoch is cut short)."""
        self.objective.train()
        if hasattr(self.train_loader, "set_epoch"):
            self.train_loader.set_epoch(self.progress.epoch)
        batches = self.accelerator.skip_first_batches(self.train_loader, self.progress.batch_in_epoch)
        tick = time.perf_counter()
        for batch in batches:
            output, momentum = self.step(batch)
            bar.update(1)
            step = self.progress.step
            if step % self.config.log_every_steps == 0 or step == self.total_steps:
                loss = self.log(output, momentum, time.perf_counter() - tick)
                bar.set_postfix(loss=f"{loss:.3f}")
                tick = time.perf_counter()
            if self.config.checkpoint_every_steps and step % self.config.checkpoint_every_steps == 0:
                self.checkpoints.save(self.accelerator, step)
            if step >= self.total_steps:
                return True
        return False

    def step(self, batch: dict[str, torch.Tensor]) -> tuple[LooCObjectiveOutput, float]:
        """One optimiser step and key-encoder update; returns the objective's output and the momentum used."""
        # Views and Shuffle-BN's draw depend on (seed, process, step) only: a resumed run draws the same (ours).
        generator = torch.Generator(self.accelerator.device).manual_seed(
            self.config.seed * 1_000_003 + self.accelerator.process_index * 10_007 + self.progress.step
        )
        views = self.view_generator(batch["images"], generator=generator)
        with self.accelerator.autocast():
            output = self.objective(views, generator=generator)
        self.accelerator.backward(output.loss)
        self.optimizer.step()
        self.scheduler.step()
        self.optimizer.zero_grad(set_to_none=True)
        momentum = self.key_momentum()
        self.unwrapped.momentum_update(momentum)
        self.progress.step += 1
        self.progress.batch_in_epoch += 1
        return output, momentum

    def key_momentum(self) -> float:
        momentum = self.unwrapped.momentum  # the recipe's key_momentum, given to the objective
        if self.config.key_momentum_schedule == "cosine":
            return cosine_momentum(self.progress.step, self.total_steps, momentum)
        return momentum

    def log(self, output: LooCObjectiveOutput, momentum: float, elapsed: float) -> float:
        """Log the step's metrics (losses averaged over processes); returns the loss."""
        losses = self.accelerator.reduce(
            torch.stack([output.loss.detach(), *output.space_losses.values()]), reduction="mean"
        )
        config = self.config
        metrics = {
            "loss": losses[0].item(),
            **{f"loss/{name}": value.item() for name, value in zip(output.space_losses, losses[1:], strict=True)},
            "lr": self.scheduler.get_last_lr()[0],
            "key_momentum": momentum,
            "images_per_s": config.batch_size * self.accelerator.num_processes * config.log_every_steps / elapsed,
            "epoch": self.progress.epoch,
        }
        self.accelerator.log(metrics, step=self.progress.step)
        return metrics["loss"]

    def end_epoch(self) -> None:
        """Move to the next epoch; the kNN monitor and (without step checkpoints) a checkpoint run here."""
        if self.progress.batch_in_epoch == 0:  # a stream whose shard holds less than one batch: never loop forever
            raise RuntimeError(
                f"Epoch {self.progress.epoch} gave no full batch of {self.config.batch_size} on this process"
            )
        self.progress.epoch += 1
        self.progress.batch_in_epoch = 0
        if self.knn_data is not None and self.progress.epoch % self.config.knn_every_epochs == 0:
            self.measure_knn()
        if not self.config.checkpoint_every_steps:
            self.checkpoints.save(self.accelerator, self.progress.step)

    def measure_knn(self) -> None:
        bank, eval_set = self.knn_data
        step = self.progress.step
        self.knn_results = run_knn_monitor(self.accelerator, self.unwrapped, bank, eval_set, self.config, step)
        self.knn_step = step


def run_knn_monitor(
    accelerator: Accelerator,
    objective: LooCObjective,
    knn_bank: Dataset,
    eval_set: Dataset,
    config: PretrainConfig,
    step: int,
) -> dict[str, dict[str, float]]:
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
