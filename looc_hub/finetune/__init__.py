"""Fine-tuning a LooC model for image classification on a chosen feature (`training/finetune.py`)."""

from .classifier import FINETUNE_MODES, LooCClassifier
from .data import classification_loader, num_classes_of

__all__ = ["FINETUNE_MODES", "LooCClassifier", "classification_loader", "num_classes_of"]
