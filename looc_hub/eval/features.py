"""Embeddings of a whole dataset, every requested space from one backbone pass per batch."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from datasets import Dataset

from ..data import build_dataloader
from ..model import LooCModel

__all__ = ["extract_features"]


@torch.no_grad()
def extract_features(
    model: LooCModel,
    dataset: Dataset,
    *,
    spaces: Sequence[str] | None = None,
    batch_size: int = 256,
    num_workers: int = 0,
    device: torch.device | str = "cpu",
) -> tuple[dict[str, torch.Tensor], torch.Tensor | None]:
    """({space: (N, d)}, labels (N,) or None) for a `load_image_dataset` split, in dataset order, on the CPU.

    Preprocessing (ours, matching the loader/engine split used in training): decode, resize the shorter side
    to the model's image size and centre-crop (the loader), then normalise with the model's mean/std.
    """
    spaces = list(spaces or model.spaces)
    loader = build_dataloader(
        dataset,
        batch_size=batch_size,
        canvas_size=model.config.image_size,
        num_workers=num_workers,
        shuffle=False,
        drop_last=False,
    )
    was_training = model.training
    model.eval().to(device)
    mean = torch.tensor(model.config.mean, device=device).view(1, -1, 1, 1)
    std = torch.tensor(model.config.std, device=device).view(1, -1, 1, 1)
    features: dict[str, list[torch.Tensor]] = {space: [] for space in spaces}
    labels: list[torch.Tensor] = []
    for batch in loader:
        images = (batch["images"].to(device).float() / 255 - mean) / std
        out = model(images, spaces=spaces)
        for space in spaces:
            features[space].append(out[space].float().cpu())
        if "labels" in batch:
            labels.append(batch["labels"].cpu())
    model.train(was_training)
    return {space: torch.cat(chunks) for space, chunks in features.items()}, (torch.cat(labels) if labels else None)
