"""Fine-tuning as a results protocol: `looc-finetune` measures it, so `looc-evaluate` has no runner for it."""

from __future__ import annotations

from ..eval.protocol import Protocol

__all__ = ["PROTOCOL"]

PROTOCOL = Protocol("finetune", "fine-tuning", "image-classification")
