"""The two steps every feature extraction shares: decode a dataset into image batches, embed a batch.

`extract_features` composes them, with an optional tensor transform in between (rotation, corruption,
augmentation): the rotation probe, the corruption benchmark, the sensitivity matrix and the pretraining kNN
monitor all go through it, so every number is measured on the model's one evaluation preprocessing
(`looc_hub.preprocessing`): timm's eval transform of its `pretrained_cfg`, exactly what the card's snippet
`looc_hub.eval_transform(model)` computes, decoded in batches of uint8 by the data loader.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence

import torch
from datasets import Dataset, IterableDataset
from torch import Tensor, nn

from .._checks import is_int
from ..data import build_dataloader
from ..model import LooCNetwork
from ..preprocessing import eval_data_config, eval_pixel_transform
from ..spaces import PIXELS, model_spaces

__all__ = ["ImageTransform", "embed_images", "image_batches"]

ImageTransform = Callable[[Tensor], Tensor]
"""(B, 3, H, W) float images in [0, 1] -> the same shape, also in [0, 1]."""


def image_batches(
    dataset: Dataset | IterableDataset,
    preprocessing: nn.Module | int,
    *,
    batch_size: int = 256,
    num_workers: int = 0,
    batch_sampler: Iterable[list[int]] | None = None,
) -> Iterator[tuple[Tensor, Tensor | None]]:
    """(images (B, 3, S, S) float in [0, 1], labels (B,) or None), in dataset order.

    `preprocessing` is a model (a `LooCNetwork` or a timm backbone): its evaluation preprocessing, timm's eval
    transform of its `pretrained_cfg` (resize the shorter side to floor(S / crop_pct), centre-crop S) up to the
    pixels; what every feature is computed from. An int S instead gives the training loader's canvas (shorter
    side resized to S, centre crop): for pictures only, never for features. `batch_sampler`: batches of row
    positions instead of consecutive runs of `batch_size` (`build_dataloader`).
    """
    if isinstance(preprocessing, nn.Module):
        size = eval_data_config(preprocessing)["input_size"][-1]
        decode = {"canvas_size": size, "transform": eval_pixel_transform(preprocessing)}
    elif is_int(preprocessing):
        decode = {"canvas_size": preprocessing}
    else:
        raise TypeError(f"preprocessing must be a model or a canvas size (int), got {type(preprocessing).__name__}")
    loader = build_dataloader(
        dataset,
        batch_size=batch_size,
        num_workers=num_workers,
        shuffle=False,
        drop_last=False,
        batch_sampler=batch_sampler,
        **decode,
    )
    for batch in loader:
        yield batch["images"].float() / 255, batch.get("labels")


@torch.no_grad()
def embed_images(model: LooCNetwork, images: Tensor, spaces: Sequence[str]) -> dict[str, Tensor]:
    """{space: (B, d)} of float images in [0, 1], normalised with the mean / std of the model's `pretrained_cfg`.

    AMP (bfloat16) on CUDA. With `image_batches(dataset, model)` this equals `model(eval_transform(model)(image))`.
    The `PIXELS` reference key is the normalised input itself, flattened (B, C*S*S).
    """
    data_config = eval_data_config(model)
    mean = torch.tensor(data_config["mean"], device=images.device).view(1, -1, 1, 1)
    std = torch.tensor(data_config["std"], device=images.device).view(1, -1, 1, 1)
    # bfloat16, not float16: an untrained network's activations can overflow float16's range (seen: a random-init
    # ResNet-18's features became non-finite), and bfloat16 keeps float32's.
    inputs = (images - mean) / std
    computed = model_spaces(spaces)
    with torch.autocast(images.device.type, dtype=torch.bfloat16, enabled=images.device.type == "cuda"):
        out = model(inputs, spaces=computed) if computed else {}
    if PIXELS in spaces:
        out[PIXELS] = inputs.flatten(1)
    return out
