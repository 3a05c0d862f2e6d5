"""Pretraining infrastructure used by `looc-pretrain`: its config, checkpoints, schedules and logging."""

from .checkpoints import CheckpointManager
from .pretrain_config import PretrainConfig
from .progress import TrainingProgress
from .schedules import cosine_with_warmup
from .tracking import JSONLTracker

__all__ = ["CheckpointManager", "JSONLTracker", "PretrainConfig", "TrainingProgress", "cosine_with_warmup"]
