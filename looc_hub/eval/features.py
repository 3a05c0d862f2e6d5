"""Embeddings of a whole dataset, every requested space from one backbone pass per batch."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from datasets import Dataset
from tqdm.auto import tqdm

from ..model import LooCNetwork
from .extraction_steps import ImageTransform, embed_images, image_batches

__all__ = ["extract_features"]


@torch.no_grad()
def extract_features(
    model: LooCNetwork,
    dataset: Dataset,
    *,
    spaces: Sequence[str] | None = None,
    transform: ImageTransform | None = None,
    batch_size: int = 256,
    num_workers: int = 0,
    device: torch.device | str = "cpu",
) -> tuple[dict[str, torch.Tensor], torch.Tensor | None]:
    """({space: (N, d)}, labels (N,) or None) for a `load_image_dataset` split, in dataset order, on the CPU.

    Each batch is decoded with the model's evaluation preprocessing (`image_batches`: timm's eval transform of
    its `pretrained_cfg`, crop_pct and interpolation included), moved to `device`, passed through `transform` if
    given (float images in [0, 1] in and out: a rotation, a corruption, an augmentation), then normalised with
    the cfg's mean/std and embedded (`embed_images`, AMP on CUDA). Without `transform`, the features are those
    of `model(torch.stack([eval_transform(model)(image) for image in images]))` for the RGB images. The
    progress bar shows only on a terminal.
    """
    spaces = list(spaces or model.spaces)
    was_training = model.training
    model.eval().to(device)
    features: dict[str, list[torch.Tensor]] = {space: [] for space in spaces}
    labels: list[torch.Tensor] = []
    batches = image_batches(dataset, model, batch_size=batch_size, num_workers=num_workers)
    total = -(-len(dataset) // batch_size) if isinstance(dataset, Dataset) else None
    for images, batch_labels in tqdm(batches, total=total, desc="features", disable=None, leave=False):
        images = images.to(device)
        out = embed_images(model, transform(images) if transform is not None else images, spaces)
        for space in spaces:
            features[space].append(out[space].float().cpu())
        if batch_labels is not None:
            labels.append(batch_labels)
    model.train(was_training)
    return {space: torch.cat(chunks) for space, chunks in features.items()}, (torch.cat(labels) if labels else None)
