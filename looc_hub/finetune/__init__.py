"""Fine-tuning a LooC model for image classification on a chosen feature (`looc-finetune`)."""

from ..preprocessing import default_color_jitter, default_crop_scale
from .classifier import FINETUNE_MODES, LooCClassifier
from .data import classification_loader, num_classes_of
from .head_init import HEAD_INITS, init_head_from_linear_probe
from .record import finetune_results

__all__ = [
    "FINETUNE_MODES",
    "HEAD_INITS",
    "LooCClassifier",
    "classification_loader",
    "default_color_jitter",
    "default_crop_scale",
    "finetune_results",
    "init_head_from_linear_probe",
    "num_classes_of",
]
