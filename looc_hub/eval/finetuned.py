"""The fine-tuning protocol: a fine-tuned classifier's accuracy on the test split.

Its records come from `looc-finetune` (`looc_hub.finetune`, which builds on evaluation), so `looc-evaluate` has no
runner for it; it is declared among the protocols, as every protocol is, so that the results schema and the model
card know its records.
"""

from __future__ import annotations

from .protocol import Protocol

__all__ = ["PROTOCOL"]

PROTOCOL = Protocol("finetune", "fine-tuning", "image-classification")
