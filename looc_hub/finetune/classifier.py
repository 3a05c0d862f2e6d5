"""`LooCClassifier`: a linear classifier over one LooC feature (the backbone, one space or a concatenation).

Saved in Hub format: the fine-tuned `LooCModel` files (`save_pretrained`, atomic) plus `classifier.safetensors`
and `classifier.json` (the feature, the class names), so `LooCClassifier.from_pretrained(dir)` restores both and
`LooCModel.from_pretrained(dir)` still gives the fine-tuned embedding model.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from huggingface_hub import snapshot_download
from safetensors.torch import save_file
from torch import Tensor, nn

from .._atomic import atomic_directory
from .._checks import check_int
from ..hub import model_files
from ..hub.pretrained import LooCModel

__all__ = ["FINETUNE_MODES", "LooCClassifier"]

FINETUNE_MODES = ("linear", "full")
CLASSIFIER_WEIGHTS = "classifier.safetensors"
CLASSIFIER_CONFIG = "classifier.json"


class LooCClassifier(nn.Module):
    """Logits (B, num_classes) from `model.embed(x, feature)`.

    Args:
        model: the LooC model to fine-tune.
        feature: a space name or a list of spaces, concatenated in order (e.g. ["invariant", "color"]).
        num_classes: output classes.
        mode: "linear" (the encoder is frozen and kept in eval mode, BatchNorm statistics included) or "full".
        class_names: optional names, saved with the classifier.
        freeze_bn: "full" mode keeps BatchNorm in eval mode (its statistics and the features the head was fitted
            on stay the pretrained ones; the weights still train). Ours, for small data and batches: with batch
            statistics one epoch moved a linear-probe head from 91% to 78% on digits.
    """

    def __init__(
        self,
        model: LooCModel,
        feature: str | Sequence[str],
        num_classes: int,
        *,
        mode: str = "linear",
        class_names: Sequence[str] | None = None,
        freeze_bn: bool = True,
    ) -> None:
        super().__init__()
        if mode not in FINETUNE_MODES:
            raise ValueError(f"Unknown fine-tuning mode {mode!r}; valid choices: {list(FINETUNE_MODES)}")
        check_int("num_classes", num_classes, minimum=2)
        if class_names is not None and len(class_names) != num_classes:
            raise ValueError(f"{len(class_names)} class_names given for num_classes={num_classes}")
        self.feature = [feature] if isinstance(feature, str) else list(feature)
        self.model = model
        self.head = nn.Linear(model.embedding_dim(self.feature), num_classes)  # validates the feature names
        self.mode = mode
        self.freeze_bn = freeze_bn
        self.class_names = list(class_names) if class_names is not None else None
        if mode == "linear":
            self.model.requires_grad_(False)

    @property
    def num_classes(self) -> int:
        return self.head.out_features

    def train(self, mode: bool = True) -> LooCClassifier:
        super().train(mode)
        if self.mode == "linear":
            self.model.eval()  # a frozen encoder keeps its BatchNorm statistics
        elif mode and self.freeze_bn:
            for module in self.model.modules():
                if isinstance(module, nn.modules.batchnorm._BatchNorm):
                    module.eval()
        return self

    def forward(self, images: Tensor) -> Tensor:
        return self.head(self.model.embed(images, self.feature))  # (B, d) -> (B, num_classes)

    def save_pretrained(
        self,
        directory: str | os.PathLike,
        *,
        metrics: dict[str, float] | None = None,
        overwrite: bool = False,
        **model_card_kwargs: Any,
    ) -> Path:
        """Write the model (card: `model_card_kwargs`), the classifier and its `metrics`, all or nothing.

        Like `LooCModel.save_pretrained`, an existing folder must be empty or a previous save (or `overwrite`).
        """
        card = {"classifier": {"feature": self.feature, "num_classes": self.num_classes}, **model_card_kwargs}
        with atomic_directory(directory, foreign=model_files.foreign_files, overwrite=overwrite) as staging:
            self.model.save_pretrained(staging, model_card_kwargs=card)
            head = {name: value.detach().cpu().contiguous() for name, value in self.head.state_dict().items()}
            save_file(head, staging / CLASSIFIER_WEIGHTS)
            config = {
                "feature": self.feature,
                "num_classes": self.num_classes,
                "mode": self.mode,
                "class_names": self.class_names,
                "metrics": metrics or {},
            }
            (staging / CLASSIFIER_CONFIG).write_text(json.dumps(config, indent=2) + "\n")
        return Path(directory)

    @classmethod
    def from_pretrained(cls, directory: str | os.PathLike, map_location: str = "cpu") -> LooCClassifier:
        """Load a folder written by `save_pretrained`, or a Hub repo id holding one (through the HF cache)."""
        model_files.check_model_source(directory)
        if not os.path.isdir(directory):
            directory = snapshot_download(os.fspath(directory))
        directory = Path(directory)
        if not (directory / CLASSIFIER_CONFIG).is_file():
            raise FileNotFoundError(f"{directory} holds no {CLASSIFIER_CONFIG}: not a fine-tuned LooCClassifier")
        path = directory / CLASSIFIER_CONFIG
        try:
            config = json.loads(path.read_bytes().decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as error:
            raise ValueError(f"{path} is not valid UTF-8 JSON: {error}") from None
        required = ("feature", "num_classes", "mode", "class_names")
        if not isinstance(config, dict) or any(key not in config for key in required):
            raise ValueError(f"{path} must be a JSON object with keys {list(required)}, got {config!r:.120}")
        model = LooCModel.from_pretrained(directory, map_location=map_location)
        classifier = cls(
            model, config["feature"], config["num_classes"], mode=config["mode"], class_names=config["class_names"]
        )
        weights = directory / CLASSIFIER_WEIGHTS
        model_files.load_state_strict(classifier.head, model_files.read_safetensors(weights), str(weights))
        return classifier.to(map_location).eval()
