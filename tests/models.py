"""Small models shared by the tests."""

from __future__ import annotations

import torch

from looc_hub import LooCConfig, LooCModel


def trained_like(config: LooCConfig, seed: int = 0) -> LooCModel:
    """A seeded model in eval mode whose BatchNorm statistics moved away from their init, so a lost buffer shows."""
    torch.manual_seed(seed)
    model = LooCModel(config)
    with torch.no_grad():
        model.train()(torch.randn(4, 3, 32, 32))
    return model.eval()
