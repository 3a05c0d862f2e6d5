"""Exports of a LooC model for users outside looc-hub, each verified against the eager model before it is kept.

- `export_timm`: the backbone alone as a plain timm directory (config.json with timm's keys only +
  model.safetensors), loadable with `timm.create_model("local-dir:...")` or from the Hub with "hf-hub:".
- `export_torchvision_resnet`: the backbone as a `torchvision.models.resnet*` state dict (safetensors), for the
  ResNets whose timm and torchvision definitions coincide.
- `export_program`: `embed(x, space)` for one chosen space as a `torch.export` program (.pt2), with a dynamic
  batch dimension. Ours: torch.export rather than ONNX (the `onnx` package is not a dependency) or TorchScript
  (deprecated in torch 2.x).
The weights exported are the query encoder's (the trained one; the momentum encoder is never saved).
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path

import timm
import torch
import torchvision
from torch import nn

from .._atomic import atomic_directory, atomic_file
from ..model import LooCNetwork
from . import model_files

__all__ = ["TORCHVISION_RESNETS", "export_program", "export_timm", "export_torchvision_resnet"]

TORCHVISION_RESNETS = ("resnet18", "resnet34", "resnet50", "resnet101", "resnet152")
"""timm architectures with the same modules, names and shapes as torchvision's ResNets (v1.5 strides)."""

_EXPORT_MARK = {"looc_hub_export": "timm"}
"""Written into the exported weights' header: how a re-export recognises its own folder."""
_EXPORT_FILES = {model_files.CONFIG_NAME, model_files.BACKBONE_WEIGHTS}
_TIMM_KEYS = ("architecture", "num_classes", "num_features", "global_pool", "model_args", "pretrained_cfg")


def export_timm(model: LooCNetwork, directory: str | os.PathLike) -> Path:
    """Write the backbone as a plain timm model directory (atomically) and check timm reproduces "backbone"."""
    directory = Path(directory)
    hub_config = model_files.hub_config_dict(model.config, model.backbone, model.pretrained_cfg)
    with atomic_directory(directory, foreign=_not_a_timm_export) as staging:
        timm_config = {key: hub_config[key] for key in _TIMM_KEYS if key in hub_config}
        (staging / model_files.CONFIG_NAME).write_text(json.dumps(timm_config, indent=2) + "\n")
        weights = staging / model_files.BACKBONE_WEIGHTS
        model_files.write_safetensors(model.backbone.state_dict(), weights, metadata=_EXPORT_MARK)
        loaded = timm.create_model(f"local-dir:{staging}", pretrained=True).eval()
        _check_same(loaded, lambda x: model.embed(x, space="backbone"), model, "the timm export")
    return directory


def _not_a_timm_export(directory: Path) -> list[str]:
    """Entries that are not a previous timm export's: a re-export replaces only its own folder.

    A folder holding exactly config.json and model.safetensors is someone's timm or transformers model unless
    its weights carry the export's mark (`_EXPORT_MARK` in the safetensors header, which timm ignores).
    """
    entries = sorted(p.name for p in directory.iterdir())
    if not entries:
        return []
    weights = directory / model_files.BACKBONE_WEIGHTS
    ours = set(entries) <= _EXPORT_FILES and weights.is_file() and not weights.is_symlink()
    if ours and model_files.safetensors_metadata(weights).items() >= _EXPORT_MARK.items():
        return []
    return entries


def export_torchvision_resnet(model: LooCNetwork, path: str | os.PathLike) -> Path:
    """Write the backbone as a torchvision ResNet state dict (no `fc`: load with `strict=False` or replace fc).

    Raises:
        ValueError: when the backbone is not one of `TORCHVISION_RESNETS` with default arguments.
    """
    config = model.config
    if config.backbone not in TORCHVISION_RESNETS or config.backbone_kwargs:
        raise ValueError(
            f"A torchvision state dict needs one of {list(TORCHVISION_RESNETS)} with no backbone_kwargs; this "
            f"model is {config.backbone} {dict(config.backbone_kwargs)}. Use export_timm instead."
        )
    resnet = torchvision_resnet(model)
    _check_same(resnet, lambda x: model.embed(x, space="backbone"), model, "the torchvision export")
    path = Path(path)
    with atomic_file(path) as staging:
        model_files.write_safetensors(model.backbone.state_dict(), staging)
    return path


def torchvision_resnet(model: LooCNetwork) -> nn.Module:
    """A torchvision ResNet with the model's backbone weights and `fc = Identity` (strict load: names agree)."""
    resnet = getattr(torchvision.models, model.config.backbone)(weights=None)
    resnet.fc = nn.Identity()
    resnet.load_state_dict(model.backbone.state_dict(), strict=True)
    return resnet.eval()


def export_program(
    model: LooCNetwork, path: str | os.PathLike, space: str | Sequence[str] | None = None
) -> torch.export.ExportedProgram:
    """Export `embed(x, space)` with torch.export and save it; the reloaded program must match eager outputs.

    Load it with `torch.export.load(path).module()`; inputs are (B, C, H, W) at the model's image size.
    The model is put in eval mode (BatchNorm uses its running statistics, as at inference).
    """
    names = [model.default_space] if space is None else [space] if isinstance(space, str) else list(space)
    module = _Embed(model, names).eval()
    size = model.config.image_size
    example = torch.randn(2, model.config.in_chans, size, size)
    batch = torch.export.Dim("batch", min=1)
    program = torch.export.export(module, (example,), dynamic_shapes={"x": {0: batch}})
    path = Path(path)
    with atomic_file(path) as staging:  # the reloaded program is checked before it replaces `path`
        torch.export.save(program, staging)
        _check_same(torch.export.load(staging).module(), module, model, f"the exported program {path.name}")
    return program


class _Embed(nn.Module):
    """`model.embed` with the space fixed, so that the exported graph takes only the images."""

    def __init__(self, model: LooCNetwork, spaces: list[str]) -> None:
        super().__init__()
        model.embedding_dim(spaces)  # validates the names now, with the model's own error message
        self.model = model
        self.spaces = spaces

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model.embed(x, space=self.spaces)  # (B, embedding_dim(spaces))


def _check_same(exported, reference, model: LooCNetwork, what: str) -> None:
    """Compare on a batch size other than any example's, so a baked-in batch dimension would show.

    Both run as at inference (BatchNorm on its running statistics): a model still in training mode is put in
    eval mode for the comparison and given back in the mode it came in.
    """
    size = model.config.image_size
    x = torch.randn(3, model.config.in_chans, size, size, generator=torch.Generator().manual_seed(0))
    training = model.training
    model.eval()
    try:
        with torch.inference_mode():
            found, expected = exported(x), reference(x)
    finally:
        model.train(training)
    if found.shape != expected.shape or not torch.allclose(found, expected, rtol=1e-4, atol=1e-5):
        raise RuntimeError(f"{what} does not reproduce the eager model's outputs; nothing usable was written")
