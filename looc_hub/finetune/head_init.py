"""Start fine-tuning from a linear probe (LP-FT): the classifier begins where the frozen features already are.

A randomly initialised head sends large, random gradients through the pretrained backbone in the first steps and
distorts the features it was meant to use (Kumar et al., "Fine-Tuning can Distort Pretrained Features and
Underperform Out-of-Distribution", ICLR 2022). Fitting the head as a linear probe first (the project's own
`fit_linear_probe`, its penalty chosen on a validation part of the training split, standardisation folded into
the weights) makes epoch 0 of fine-tuning exactly the linear probe. Using it for LooC is ours; the paper reports
linear probes only.
"""

from __future__ import annotations

import torch
from datasets import Dataset

from ..eval.features import extract_features
from ..eval.linear_probe import fit_linear_probe
from .classifier import LooCClassifier

__all__ = ["HEAD_INITS", "init_head_from_linear_probe"]

HEAD_INITS = ("linear_probe", "random")


def init_head_from_linear_probe(
    classifier: LooCClassifier, train: Dataset, *, batch_size: int = 256, seed: int = 0
) -> float:
    """Set `classifier.head` to a linear probe on the frozen features of `train`; returns the chosen penalty.

    The features are the evaluation transform's (no augmentation), in the classifier's feature order.
    """
    model = classifier.model
    features, labels = extract_features(model, train, spaces=classifier.feature, batch_size=batch_size)
    if labels is None:
        raise ValueError("init_head_from_linear_probe needs a labelled training split")
    stacked = torch.cat([features[name] for name in classifier.feature], dim=1)  # (N, d)
    probe = fit_linear_probe(stacked, labels, num_classes=classifier.num_classes, seed=seed)
    with torch.no_grad():  # the probe itself needs autograd (L-BFGS); only the copy must not be recorded
        classifier.head.weight.copy_(probe.classifier.weight.to(classifier.head.weight))
        classifier.head.bias.copy_(probe.classifier.bias.to(classifier.head.bias))
    return probe.weight_decay
