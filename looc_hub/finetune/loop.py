"""The fine-tuning loop: per epoch, train (the running loss on the bar), measure top-1 on the eval split, checkpoint.

`FinetuneLoop.epochs()` yields each finished epoch's metrics, so the command saves `last/` and `best/` between
epochs; the checkpoint of an epoch is written after its models, so a run killed in between retrains that epoch.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from typing import Any

import torch
import torch.nn.functional as F
from accelerate import Accelerator
from accelerate.logging import get_logger
from torch import nn
from torch.utils.data import DataLoader
from tqdm.auto import tqdm

from ..training import CheckpointManager, TrainingProgress
from .config import FinetuneConfig
from .data import normalise

__all__ = ["BestEpoch", "FinetuneLoop", "top1_accuracy"]

logger = get_logger(__name__)


@dataclass
class BestEpoch:
    """The best eval top-1 so far and its epoch; saved in every checkpoint (`register_for_checkpointing`)."""

    top1: float = -1.0
    epoch: int = -1

    def state_dict(self) -> dict[str, Any]:
        return asdict(self)

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.top1, self.epoch = float(state["top1"]), int(state["epoch"])


@dataclass
class FinetuneLoop:
    """Cross-entropy on the training split, top-1 on the eval split after every epoch, a checkpoint per epoch."""

    config: FinetuneConfig
    accelerator: Accelerator
    classifier: nn.Module  # prepared
    optimizer: torch.optim.Optimizer
    scheduler: torch.optim.lr_scheduler.LRScheduler
    train_loader: DataLoader
    eval_loader: DataLoader
    progress: TrainingProgress
    best: BestEpoch
    checkpoints: CheckpointManager
    history: list[dict[str, Any]] = field(default_factory=list)  # epoch 0: the starting head, when not resumed

    def __post_init__(self) -> None:
        self.unwrapped = self.accelerator.unwrap_model(self.classifier)
        self.trainable = [p for p in self.classifier.parameters() if p.requires_grad]

    def epochs(self) -> Iterator[dict[str, Any]]:
        """Train to `config.epochs`; yield {"epoch", "top1", "loss", "best"} after each epoch, then checkpoint it."""
        if self.progress.epoch == 0:  # the linear probe's accuracy with head_init linear_probe
            self.history.append({"epoch": 0, "top1": self.measure(), "loss": None})
            logger.info(f"epoch 0 ({self.config.head_init} head): eval top-1 {self.history[0]['top1']:.2f}")
        while self.progress.epoch < self.config.epochs:
            loss = self.train_epoch()
            top1 = self.measure()
            improved = top1 > self.best.top1
            if improved:
                self.best.top1, self.best.epoch = top1, self.progress.epoch
            self.history.append({"epoch": self.progress.epoch, "top1": top1, "loss": loss})
            logger.info(f"epoch {self.progress.epoch}: train loss {loss:.4f}, eval top-1 {top1:.2f}")
            yield {**self.history[-1], "best": improved}
            self.checkpoints.save(self.accelerator, self.progress.step)
            self.accelerator.wait_for_everyone()

    def train_epoch(self) -> float:
        """One pass over the training split; returns the mean loss over it (and processes)."""
        self.classifier.train()
        if hasattr(self.train_loader, "set_epoch"):
            self.train_loader.set_epoch(self.progress.epoch)
        total = torch.zeros((), device=self.accelerator.device)
        batches = tqdm(
            self.train_loader,
            desc=f"epoch {self.progress.epoch + 1}/{self.config.epochs}",
            disable=not self.accelerator.is_main_process,
        )
        for count, batch in enumerate(batches, start=1):
            total += self.step(batch)
            batches.set_postfix(loss=f"{total.item() / count:.4f}")
        self.progress.epoch += 1
        return self.accelerator.reduce(total / max(len(self.train_loader), 1), reduction="mean").item()

    def step(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        """One optimiser step; returns the batch's loss (detached). A non-finite loss stops the run."""
        with self.accelerator.autocast():
            logits = self.classifier(normalise(self.unwrapped.model, batch["images"]))
            loss = F.cross_entropy(logits, batch["labels"])
        if not math.isfinite(loss.item()):
            last = self.checkpoints.latest()
            raise FloatingPointError(
                f"The loss is {loss.item()} at step {self.progress.step} (epoch {self.progress.epoch + 1}): "
                f"lower --lr or --encoder_lr_scale. Last good checkpoint: {last or 'none yet'}"
            )
        self.accelerator.backward(loss)
        if self.config.clip_grad > 0:
            self.accelerator.clip_grad_norm_(self.trainable, self.config.clip_grad)
        self.optimizer.step()
        self.scheduler.step()
        self.optimizer.zero_grad(set_to_none=True)
        self.progress.step += 1
        return loss.detach()

    def measure(self) -> float:
        return top1_accuracy(self.accelerator, self.classifier, self.eval_loader)


@torch.no_grad()
def top1_accuracy(accelerator: Accelerator, classifier: nn.Module, loader: DataLoader) -> float:
    """Top-1 (%) over the whole split, gathered across processes."""
    classifier.eval()
    model = accelerator.unwrap_model(classifier).model
    correct = total = 0
    for batch in loader:
        with accelerator.autocast():
            predicted = classifier(normalise(model, batch["images"])).argmax(1)
        predicted, labels = accelerator.gather_for_metrics((predicted, batch["labels"]))
        correct += int((predicted == labels).sum())
        total += len(labels)
    return 100.0 * correct / total
