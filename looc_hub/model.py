"""`LooCNetwork`: a timm backbone with LooC's n+1 projection heads, serving every embedding space.

The ground floor, as timm's `ResNet` and open_clip's `CLIP` are: a plain `nn.Module` that imports nothing of the
Hub, evaluation, training or the commands. The public `looc_hub.LooCModel` (`looc_hub.hub.pretrained`) is this
network with Hub I/O (`save_pretrained`, `from_pretrained`, `push_to_hub`).

Paper: Xiao, Wang, Efros, Darrell, "What Should Not Be Contrastive in Contrastive Learning", ICLR 2021
(arXiv 2008.05659). No official code was released; where the paper is silent the choice is ours and is marked so.

Spaces (`model.spaces`):
- "backbone": V, the pooled backbone feature (the paper's LooC representation). For LooC++ (the paper does not
  define V there) ours: the pooled output of the backbone's own last stage, which is the invariant head's
  branch; it is exactly what plain timm computes from `model.safetensors`.
- "invariant": Z_0, invariant to every augmentation (the MoCo space), L2-normalised.
- one space per leave-one-out augmentation ("color", "rotation", "texture"): Z_i, L2-normalised.
- "concat": LooC++: the paper's representation, the concatenated pooled last-stage features of all heads
  ((n+1) x num_features). LooC (ours, following the paper's Fig. 2 "concatenation of embedding sub-spaces"):
  the concatenation of the L2-normalised Z_0 ... Z_n ((n+1) x head_out_dim).
"""

from __future__ import annotations

import copy
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from .backbone import create_backbone, stage_split_for
from .config import LooCConfig
from .heads import ProjectionHead
from .preprocessing import pretrained_cfg_for
from .spaces import check_spaces

__all__ = ["LooCNetwork"]

_FLOAT_DTYPES = (torch.float16, torch.bfloat16, torch.float32, torch.float64)


class LooCNetwork(nn.Module):
    """A LooC / LooC++ network: one backbone pass gives every space.

    Args:
        config: the architecture, objective and preprocessing (`LooCConfig`).

    Attributes:
        backbone: the timm model (`num_classes=0`); its weights are `model.safetensors`.
        heads: one MoCo v2 projection MLP per contrastive space (`head_names`).
        last_stages: LooC++ only: a copy of the backbone's last stage per leave-one-out head.
        pretrained_cfg: timm's preprocessing description (so `timm.data.resolve_data_config(model=m)` works).

    Example:
        >>> model = LooCNetwork(LooCConfig(backbone="resnet18", augmentations=("color", "rotation")))
        >>> z = model.embed(torch.randn(2, 3, 64, 64), space="rotation")  # (2, 128), unit norm
    """

    def __init__(self, config: LooCConfig) -> None:
        super().__init__()
        if not isinstance(config, LooCConfig):
            raise TypeError(f"config must be a LooCConfig, got {type(config).__name__}")
        self.config = config
        self.backbone = create_backbone(config)
        self.pretrained_cfg = pretrained_cfg_for(config, self.backbone)
        self.backbone.pretrained_cfg = self.backbone.default_cfg = self.pretrained_cfg
        num_features = int(self.backbone.num_features)
        hidden = config.head_hidden_dim or num_features
        self.heads = nn.ModuleDict(
            {name: ProjectionHead(num_features, hidden, config.head_out_dim) for name in config.head_names}
        )
        self.last_stages: nn.ModuleDict | None = None
        if config.variant == "looc++":
            self._split = stage_split_for(self.backbone, config.backbone)
            own_stage = self._split.last_stage(self.backbone)
            self.last_stages = nn.ModuleDict(
                {name: nn.ModuleDict(copy.deepcopy(own_stage)) for name in config.augmentations}
            )

    @property
    def head_names(self) -> tuple[str, ...]:
        """The contrastive spaces in head order: ("invariant", *config.augmentations)."""
        return self.config.head_names

    @property
    def spaces(self) -> tuple[str, ...]:
        return ("backbone", *self.head_names, "concat")

    @property
    def name(self) -> str:
        """The model's name: its zoo name (`pretrained_cfg`'s tag) or, for a model built from a config, "looc"."""
        return str(self.pretrained_cfg.get("tag") or "looc")

    @property
    def num_features(self) -> int:
        return int(self.backbone.num_features)

    @property
    def default_space(self) -> str:
        """The paper's downstream representation: V for LooC, the concatenation for LooC++."""
        return "concat" if self.config.variant == "looc++" else "backbone"

    def embedding_dim(self, space: str | Sequence[str]) -> int:
        """The width of `embed(x, space)` (a list of spaces: the sum)."""
        names = self._check_spaces(space)
        per_head = self.num_features if self.config.variant == "looc++" else self.config.head_out_dim
        dims = {"backbone": self.num_features, "concat": per_head * len(self.head_names)}
        return sum(dims.get(name, self.config.head_out_dim) for name in names)

    def forward(self, x: torch.Tensor, spaces: Sequence[str] | None = None) -> dict[str, torch.Tensor]:
        """Every space (or the `spaces` asked for) from one backbone pass: {space: (B, embedding_dim(space))}."""
        return self._compute_spaces(x, self.spaces if spaces is None else self._check_spaces(spaces))

    def embed(self, x: torch.Tensor, space: str | Sequence[str] | None = None) -> torch.Tensor:
        """One space (B, d), or several concatenated in the given order; None means `default_space`.

        Head spaces are L2-normalised (what the contrastive loss compares); "backbone" and LooC++'s "concat"
        are raw pooled features (what the paper's linear probes use).
        """
        names = self._check_spaces(self.default_space if space is None else space)
        spaces = self._compute_spaces(x, names)
        return torch.cat([spaces[name] for name in names], dim=1)

    def forward_projections(self, x: torch.Tensor) -> torch.Tensor:
        """The L2-normalised projection of every head, stacked: (S = n+1, B, head_out_dim), for the loss."""
        self._check_input(x)
        pooled = self._pooled_features(x, self.head_names)
        return torch.stack([F.normalize(self.heads[name](pooled[name]), dim=1) for name in self.head_names])

    def _compute_spaces(self, x: torch.Tensor, names: Sequence[str]) -> dict[str, torch.Tensor]:
        self._check_input(x)
        wanted_heads = self.head_names if "concat" in names else [n for n in self.head_names if n in names]
        branches = list(wanted_heads)
        if "backbone" in names and "invariant" not in branches:
            branches.append("invariant")
        pooled = self._pooled_features(x, branches)
        out = {name: F.normalize(self.heads[name](pooled[name]), dim=1) for name in wanted_heads}
        if "backbone" in names:
            out["backbone"] = pooled["invariant"]
        if "concat" in names:
            parts = pooled if self.config.variant == "looc++" else out
            out["concat"] = torch.cat([parts[name] for name in self.head_names], dim=1)
        return {name: out[name] for name in names}

    def _pooled_features(self, x: torch.Tensor, branches: Sequence[str]) -> dict[str, torch.Tensor]:
        """Pooled features each head projects from: shared V for LooC, per-branch last stages for LooC++."""
        if self.last_stages is None:
            features = self.backbone(x)
            return dict.fromkeys(branches, features)
        trunk = self._split.forward_trunk(self.backbone, x)
        own_stage = self._split.last_stage(self.backbone)
        return {
            name: self._split.forward_last_stage(
                self.backbone, own_stage if name == "invariant" else self.last_stages[name], trunk
            )
            for name in branches
        }

    def _check_spaces(self, space: str | Sequence[str]) -> list[str]:
        return check_spaces(space, self.spaces)

    def _check_input(self, x: torch.Tensor) -> None:
        if not isinstance(x, torch.Tensor):
            raise TypeError(f"Expected an image tensor (B, C, H, W), got {type(x).__name__}")
        if x.dtype not in _FLOAT_DTYPES:
            raise TypeError(
                f"Expected a float image tensor normalised with mean={self.config.mean}, std={self.config.std}; "
                f"got dtype {x.dtype}. Convert images with looc_hub.eval_transform(model)."
            )
        if x.ndim != 4:
            hint = " (a single image: x.unsqueeze(0))" if x.ndim == 3 else ""
            raise ValueError(f"Expected a 4-d batch (B, C, H, W), got shape {tuple(x.shape)}{hint}")
        if x.shape[1] != self.config.in_chans:
            raise ValueError(
                f"Expected {self.config.in_chans} channels (B, {self.config.in_chans}, H, W), got shape "
                f"{tuple(x.shape)}; channels-last arrays need x.permute(0, 3, 1, 2)"
            )
        weights = next(self.parameters()).dtype
        if x.dtype != weights and not torch.is_autocast_enabled(x.device.type):
            raise TypeError(
                f"Input dtype {x.dtype} differs from the model's weights ({weights}): convert the input with "
                f"x.to({weights}), the model with model.to({x.dtype}), or run under torch.autocast"
            )
        if (
            self.training
            and x.shape[0] == 1
            and any(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in self.modules())
        ):
            raise ValueError(
                "A batch of one image in train mode: BatchNorm needs at least 2 images per batch. Call model.eval() "
                "to embed single images, or train with larger batches"
            )
