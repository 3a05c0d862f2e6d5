"""`LooCModel`: a timm backbone with LooC's n+1 projection heads, serving every embedding space.

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
import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from huggingface_hub import ModelCard, PyTorchModelHubMixin
from huggingface_hub.errors import LocalEntryNotFoundError, RepositoryNotFoundError
from torch import nn

from . import _hub
from ._atomic import atomic_directory
from .backbone import create_backbone, stage_split_for
from .card import build_model_card
from .config import LooCConfig
from .heads import ProjectionHead
from .preprocessing import pretrained_cfg_for

__all__ = ["LooCModel"]

_FLOAT_DTYPES = (torch.float16, torch.bfloat16, torch.float32, torch.float64)
_DOWNLOAD_KWARGS = ("revision", "cache_dir", "force_download", "local_files_only", "token")


class LooCModel(
    nn.Module,
    PyTorchModelHubMixin,
    library_name="looc-hub",
    tags=["looc", "self-supervised", "timm", "image-feature-extraction"],
    pipeline_tag="image-feature-extraction",
    paper_url="https://arxiv.org/abs/2008.05659",
):
    """A LooC / LooC++ model: one backbone pass gives every space.

    Args:
        config: the architecture, objective and preprocessing (`LooCConfig`).

    Attributes:
        backbone: the timm model (`num_classes=0`); its weights are `model.safetensors`.
        heads: one MoCo v2 projection MLP per contrastive space (`head_names`).
        last_stages: LooC++ only: a copy of the backbone's last stage per leave-one-out head.
        pretrained_cfg: timm's preprocessing description (so `timm.data.resolve_data_config(model=m)` works).

    Example:
        >>> model = LooCModel(LooCConfig(backbone="resnet18", augmentations=("color", "rotation")))
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
        if not isinstance(space, str | Sequence):  # a set has no order: its columns would follow the hash seed
            raise TypeError(
                f"space must be a space name or an ordered list of them, got {type(space).__name__} {space!r}; "
                f"valid spaces: {list(self.spaces)}"
            )
        names = [space] if isinstance(space, str) else list(space)
        bad = [name for name in names if not isinstance(name, str)]
        if bad:
            raise TypeError(f"Space names must be strings, got {bad}; valid spaces: {list(self.spaces)}")
        if not names:
            raise ValueError(f"No space requested; valid spaces: {list(self.spaces)}")
        unknown = [name for name in names if name not in self.spaces]
        if unknown:
            raise ValueError(f"Unknown space(s) {unknown}; valid spaces of this model: {list(self.spaces)}")
        if len(set(names)) != len(names):
            raise ValueError(f"A space is listed twice: {names}")
        return names

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

    # Hub I/O ----------------------------------------------------------------------------------------------

    def save_pretrained(
        self,
        save_directory: str | Path,
        *,
        config: dict | None = None,
        repo_id: str | None = None,
        push_to_hub: bool = False,
        model_card_kwargs: dict[str, Any] | None = None,
        overwrite: bool = False,
        **push_to_hub_kwargs: Any,
    ) -> str | None:
        """Write config.json, model.safetensors, looc_heads.safetensors and README.md, atomically.

        The directory appears complete or not at all: files go to a temporary sibling first, which then
        replaces `save_directory`. Because the whole folder is replaced, an existing one must be empty or hold
        only a previous looc-hub save; anything else (a `.git/`, notes) is an error naming the files, unless
        `overwrite=True`. `config` is accepted for the mixin's signature; the LooC config is always written
        from `self.config`.
        """
        if config is not None:
            raise ValueError("LooCModel writes its own config.json from model.config; do not pass config=")
        with atomic_directory(save_directory, foreign=_hub.foreign_files, overwrite=overwrite) as staging:
            super().save_pretrained(staging, model_card_kwargs=model_card_kwargs)
        if push_to_hub:
            return self.push_to_hub(
                repo_id or Path(save_directory).name,
                model_card_kwargs=model_card_kwargs,
                **push_to_hub_kwargs,
            )
        return None

    def push_to_hub(
        self,
        repo_id: str,
        *,
        model_card_kwargs: dict[str, Any] | None = None,
        token: str | None = None,
        private: bool | None = None,
        **kwargs: Any,
    ) -> str:
        """The mixin's upload, with the card's snippets and title naming the real repo ("org/name")."""
        from huggingface_hub import HfApi

        full_id = HfApi(token=token).create_repo(repo_id, private=private, exist_ok=True).repo_id
        card = {"repo_id": full_id, **(model_card_kwargs or {})}
        return super().push_to_hub(full_id, model_card_kwargs=card, token=token, private=private, **kwargs)

    def _save_pretrained(self, save_directory: Path) -> None:
        hub_config = _hub.hub_config_dict(self.config, self.backbone, self.pretrained_cfg)
        (save_directory / _hub.CONFIG_NAME).write_text(json.dumps(hub_config, indent=2) + "\n")
        _hub.write_safetensors(self.backbone.state_dict(), save_directory / _hub.BACKBONE_WEIGHTS)
        _hub.write_safetensors(self._heads_state_dict(), save_directory / _hub.HEADS_WEIGHTS)

    def generate_model_card(self, *args: Any, **kwargs: Any) -> ModelCard:
        return build_model_card(self, **kwargs)

    def _heads_state_dict(self) -> dict[str, torch.Tensor]:
        return {k: v for k, v in self.state_dict().items() if not k.startswith("backbone.")}

    @classmethod
    def from_pretrained(cls, pretrained_model_name_or_path: str | Path, **kwargs: Any) -> LooCModel:
        """Load a directory or a Hub repo id (`revision=`, `cache_dir=`, `map_location=`, offline mode apply).

        Loading is strict: config, timm keys and both weight files must agree exactly. A folder that does not
        exist, a config.json that is not a JSON object, or the repo of a zoo entry that is not published yet
        (`looc_hub.zoo.NotPublishedError`) is an error naming it before the Hub client reads it.
        """
        _hub.check_model_source(pretrained_model_name_or_path)
        source = os.fspath(pretrained_model_name_or_path)
        if not os.path.isdir(source):
            from .zoo import check_published  # the zoo imports this module

            check_published(source)  # a zoo repo that holds no weights yet: say so now, not after retries
        download = {k: kwargs[k] for k in _DOWNLOAD_KWARGS if k in kwargs}
        try:  # validated here: the mixin reads config.json first, leniently
            _hub.read_config(_hub.resolve_file(source, _hub.CONFIG_NAME, **download), source)
        except (LocalEntryNotFoundError, RepositoryNotFoundError) as error:
            error.add_note(f"looc-hub: no local folder {source!r} exists either")
            raise
        return super().from_pretrained(pretrained_model_name_or_path, **kwargs)

    @classmethod
    def _from_pretrained(
        cls,
        *,
        model_id: str,
        revision: str | None,
        cache_dir: str | Path | None,
        force_download: bool,
        local_files_only: bool,
        token: str | bool | None,
        map_location: str | torch.device = "cpu",
        config: LooCConfig | None = None,
    ) -> LooCModel:
        download = {
            "revision": revision,
            "cache_dir": cache_dir,
            "force_download": force_download,
            "local_files_only": local_files_only,
            "token": token,
        }
        # The mixin decodes config.json leniently; re-read it to validate every key, timm's included.
        raw = _hub.read_config(_hub.resolve_file(model_id, _hub.CONFIG_NAME, **download), model_id)
        config = _hub.config_from_hub_dict(raw, source=model_id)
        backbone_path = _hub.resolve_file(model_id, _hub.BACKBONE_WEIGHTS, **download)
        heads_path = _hub.resolve_file(model_id, _hub.HEADS_WEIGHTS, **download)
        # A skeleton on the meta device (no memory) is checked against the files' headers before the real model
        # is built, so a config.json asking for absurd sizes cannot exhaust memory.
        with torch.device("meta"):
            skeleton = cls(config)
        if raw.get("num_features") != skeleton.num_features:
            raise ValueError(
                f"{model_id}: config.json says num_features={raw.get('num_features')}, but {config.backbone} "
                f"with model_args {dict(config.backbone_kwargs)} has {skeleton.num_features}"
            )
        _hub.check_weight_headers(skeleton.backbone, backbone_path, f"{model_id}/{_hub.BACKBONE_WEIGHTS}")
        _hub.check_weight_headers(_HeadsView(skeleton), heads_path, f"{model_id}/{_hub.HEADS_WEIGHTS}")
        del skeleton
        model = cls(config)
        backbone_state = _hub.read_safetensors(backbone_path)
        heads_state = _hub.read_safetensors(heads_path)
        _hub.load_state_strict(model.backbone, backbone_state, f"{model_id}/{_hub.BACKBONE_WEIGHTS}")
        _hub.load_state_strict(_HeadsView(model), heads_state, f"{model_id}/{_hub.HEADS_WEIGHTS}")
        tag = raw.get("pretrained_cfg", {}).get("tag")
        if isinstance(tag, str) and tag:  # the model's name (a zoo name), kept through save / load
            model.pretrained_cfg["tag"] = tag
        return model.to(map_location).eval()


class _HeadsView(nn.Module):
    """The model's non-backbone modules under their own names, for strict loading of the heads file."""

    def __init__(self, model: LooCModel) -> None:
        super().__init__()
        self.heads = model.heads
        if model.last_stages is not None:
            self.last_stages = model.last_stages
