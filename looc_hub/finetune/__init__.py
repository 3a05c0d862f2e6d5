"""Fine-tuning a LooC model for image classification on a chosen feature (`looc-finetune`)."""

from ..preprocessing import default_color_jitter, default_crop_scale
from .classifier import FINETUNE_MODES, LooCClassifier
from .config import BN_MODES, FINETUNE_OPTIMIZERS, MIXED_PRECISIONS, RESUME_MAY_CHANGE, FinetuneConfig
from .data import classification_loader, normalise, num_classes_of
from .head_init import HEAD_INITS, init_head_from_linear_probe
from .loop import BestEpoch, FinetuneLoop, top1_accuracy
from .movement import snapshot, weight_movement
from .record import finetune_results

__all__ = [
    "BN_MODES",
    "FINETUNE_MODES",
    "FINETUNE_OPTIMIZERS",
    "HEAD_INITS",
    "MIXED_PRECISIONS",
    "RESUME_MAY_CHANGE",
    "BestEpoch",
    "FinetuneConfig",
    "FinetuneLoop",
    "LooCClassifier",
    "classification_loader",
    "default_color_jitter",
    "default_crop_scale",
    "finetune_results",
    "init_head_from_linear_probe",
    "normalise",
    "num_classes_of",
    "snapshot",
    "top1_accuracy",
    "weight_movement",
]
