"""Small real models shared by the tests: no pretraining, yet weights, buffers and features whose loss would show.

`trained_like` moves BatchNorm statistics away from their init, so a save or load that drops a buffer fails a test.
`calibrated_model` is a random-init ResNet-10t at 32 px whose BatchNorm statistics are those of the digits it will
embed (a forward pass in train mode, cumulative averages): a training-free but meaningful image feature for the
evaluation tests. ResNet-10t rather than ResNet-18: timm's ResNet-18 zero-initialises each block's last BatchNorm,
so untrained it is little more than strided 1x1 shortcuts, which at 32 px drop most pixels.
"""

from __future__ import annotations

import torch
from datasets import Dataset

from looc_hub import LooCConfig, LooCModel
from looc_hub.eval.baselines import calibrate_batchnorm

IMAGE_SIZE = 32


def trained_like(config: LooCConfig, seed: int = 0) -> LooCModel:
    """A seeded model in eval mode whose BatchNorm statistics moved away from their init, so a lost buffer shows."""
    torch.manual_seed(seed)
    model = LooCModel(config)
    with torch.no_grad():
        model.train()(torch.randn(4, 3, 32, 32))
    return model.eval()


def calibrated_model(
    dataset: Dataset,
    model_class: type[LooCModel] = LooCModel,
    seed: int = 0,
    *,
    crop_pct: float = 1.0,
    interpolation: str = "bilinear",
) -> LooCModel:
    """`crop_pct` 1.0 by default: the whole 32 px digit, as small-image recipes evaluate."""
    torch.manual_seed(seed)
    config = LooCConfig(
        backbone="resnet10t",
        image_size=IMAGE_SIZE,
        augmentations=("color", "rotation"),
        crop_pct=crop_pct,
        interpolation=interpolation,
    )
    return calibrate_batchnorm(model_class(config), dataset, max_images=400, batch_size=200)


class RotationAveragedModel(LooCModel):
    """Every space averaged over the four quarter turns of the input: exactly invariant to them."""

    def forward(self, x: torch.Tensor, spaces: list[str] | None = None) -> dict[str, torch.Tensor]:
        turns = [super(RotationAveragedModel, self).forward(torch.rot90(x, k, dims=(-2, -1)), spaces) for k in range(4)]
        return {space: torch.stack([out[space] for out in turns]).mean(0) for space in turns[0]}
