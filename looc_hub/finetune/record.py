"""Fine-tuning's accuracy as a results record: what `looc-finetune` stores beside a saved classifier.

Written like every evaluation protocol's records (protocol "finetune", `looc_hub.eval.results`), so the card
shows it from a results file (`training_results.json`) and its model-index holds the same number.
"""

from __future__ import annotations

from ..eval.record import EvalRecord
from ..eval.results import EvalResults, ModelInfo
from ..hub.card import public_name
from ..spaces import space_key
from .classifier import LooCClassifier

__all__ = ["finetune_results"]


def finetune_results(
    classifier: LooCClassifier, *, base_model: str, dataset: str, split: str, top1: float, epoch: int
) -> EvalResults:
    """Top-1 (%) of `classifier` on `dataset`/`split` after `epoch` epochs, fine-tuned from `base_model`."""
    record = EvalRecord(
        "finetune",
        dataset,
        split,
        space_key(classifier.feature),
        "top1",
        float(top1),
        {"mode": classifier.mode, "epoch": epoch},
    )
    return EvalResults(ModelInfo.from_model(classifier.model, public_name(base_model)), [record])
