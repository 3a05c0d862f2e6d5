"""`LooCHubMixin`: how a LooC network meets huggingface_hub's `PyTorchModelHubMixin` (save, load, push).

`looc_hub.hub.pretrained` assembles the public `LooCModel` from the network and this mixin, so the network itself
knows nothing of the Hub.

The mixin's own hooks are `_save_pretrained` and `_from_pretrained`, which write and read the format of
`looc_hub.hub.model_files`, and `generate_model_card`, which renders looc-hub's card. Three public methods are wrapped,
each for a reason the mixin cannot cover:
- `save_pretrained`: the folder appears complete or not at all, and a folder holding anything but an earlier
  looc-hub save is refused (the mixin's own method deletes an existing config.json first, whoever wrote it);
- `from_pretrained`: a mistyped folder, an unpublished zoo repo or an invalid config.json is an error that names it
  before the Hub client reads anything (the mixin reads config.json leniently, after retries);
- `push_to_hub`: goes through publishing's one upload path (`looc_hub.hub.upload`): the folder is checked as
  `looc-publish` checks it before it leaves the machine, its card names the repo it goes to, and it lands in
  one commit with publishing's stale-file policy.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import torch
from huggingface_hub import ModelCard, PyTorchModelHubMixin
from huggingface_hub.errors import LocalEntryNotFoundError, RepositoryNotFoundError
from torch import nn

from .._atomic import atomic_directory
from . import model_files
from .card import build_model_card
from .upload import push_saved
from .zoo import check_published

__all__ = ["LooCHubMixin"]

_DOWNLOAD_KWARGS = ("revision", "cache_dir", "force_download", "local_files_only", "token")


class LooCHubMixin(
    PyTorchModelHubMixin,
    library_name="looc-hub",
    tags=["looc", "self-supervised", "timm", "image-feature-extraction"],
    pipeline_tag="image-feature-extraction",
    paper_url="https://arxiv.org/abs/2008.05659",
):
    """Hub I/O for a `LooCNetwork` subclass (`LooCModel`): its `config`, `backbone`, heads and `pretrained_cfg`."""

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
        with atomic_directory(save_directory, foreign=model_files.foreign_files, overwrite=overwrite) as staging:
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
        commit_message: str | None = None,
        private: bool | None = None,
        token: str | None = None,
        branch: str | None = None,
        create_pr: bool | None = None,
        stale: str = "error",
        **upload_kwargs: Any,
    ) -> str:
        """Save to a temporary folder and publish it through looc-hub's one upload path (`looc_hub.hub.upload`).

        As `looc-publish` does: the card is rendered for the real repo ("org/name"), the folder is validated
        before the first write to the Hub (a repo id without a namespace first asks the Hub whose token it is),
        and every file goes up in one commit naming its parent; `stale` is publishing's policy for repo files
        the model does not have. Returns the commit's URL.

        Raises:
            ValueError: listing every problem validation found (nothing was uploaded), or naming an
                `upload_folder` option (`create_pr`, `allow_patterns`, ...) this upload path does not take.
        """
        unsupported = sorted([*upload_kwargs, *(["create_pr"] if create_pr else [])])
        if unsupported:
            raise ValueError(
                f"push_to_hub uploads exactly the validated model folder in one commit; {unsupported} are not "
                "supported (use branch= for a branch and stale= for repo files the model lacks)"
            )
        return push_saved(
            lambda folder: self.save_pretrained(folder, model_card_kwargs=model_card_kwargs),
            type(self),
            repo_id,
            private=bool(private),
            token=token,
            branch=branch,
            commit_message=commit_message,
            stale=stale,
        )

    def _save_pretrained(self, save_directory: Path) -> None:
        hub_config = model_files.hub_config_dict(self.config, self.backbone, self.pretrained_cfg)
        (save_directory / model_files.CONFIG_NAME).write_text(json.dumps(hub_config, indent=2) + "\n")
        model_files.write_safetensors(self.backbone.state_dict(), save_directory / model_files.BACKBONE_WEIGHTS)
        model_files.write_safetensors(_HeadsView(self).state_dict(), save_directory / model_files.HEADS_WEIGHTS)

    def generate_model_card(self, *args: Any, **kwargs: Any) -> ModelCard:
        return build_model_card(self, **kwargs)

    @classmethod
    def from_pretrained(cls, pretrained_model_name_or_path: str | Path, **kwargs: Any) -> LooCHubMixin:
        """Load a directory or a Hub repo id (`revision=`, `cache_dir=`, `map_location=`, offline mode apply).

        Loading is strict: config, timm keys and both weight files must agree exactly. A folder that does not
        exist, a config.json that is not a JSON object, or the repo of a zoo entry that is not published yet
        (`looc_hub.hub.zoo.NotPublishedError`) is an error naming it before the Hub client reads it.
        """
        model_files.check_model_source(pretrained_model_name_or_path)
        source = os.fspath(pretrained_model_name_or_path)
        if not os.path.isdir(source):
            check_published(source)  # a zoo repo that holds no weights yet: say so now, not after retries
        download = {k: kwargs[k] for k in _DOWNLOAD_KWARGS if k in kwargs}
        try:  # validated here: the mixin reads config.json first, leniently
            model_files.read_config(model_files.resolve_file(source, model_files.CONFIG_NAME, **download), source)
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
        config: Any = None,
    ) -> LooCHubMixin:
        download = {
            "revision": revision,
            "cache_dir": cache_dir,
            "force_download": force_download,
            "local_files_only": local_files_only,
            "token": token,
        }
        # The mixin decodes config.json leniently; re-read it to validate every key, timm's included.
        raw = model_files.read_config(model_files.resolve_file(model_id, model_files.CONFIG_NAME, **download), model_id)
        config = model_files.config_from_hub_dict(raw, source=model_id)
        backbone_path = model_files.resolve_file(model_id, model_files.BACKBONE_WEIGHTS, **download)
        heads_path = model_files.resolve_file(model_id, model_files.HEADS_WEIGHTS, **download)
        # A skeleton on the meta device (no memory) is checked against the files' headers before the real model
        # is built, so a config.json asking for absurd sizes cannot exhaust memory.
        try:
            with torch.device("meta"):
                skeleton = cls(config)
        except ValueError as error:  # timm refused backbone_kwargs: config.json's field, not the caller's
            raise ValueError(f"{model_id}: {model_files.CONFIG_NAME}: {error}") from None
        if raw.get("num_features") != skeleton.num_features:
            raise ValueError(
                f"{model_id}: config.json says num_features={raw.get('num_features')}, but {config.backbone} "
                f"with model_args {dict(config.backbone_kwargs)} has {skeleton.num_features}"
            )
        model_files.check_weight_headers(skeleton.backbone, backbone_path, f"{model_id}/{model_files.BACKBONE_WEIGHTS}")
        model_files.check_weight_headers(_HeadsView(skeleton), heads_path, f"{model_id}/{model_files.HEADS_WEIGHTS}")
        del skeleton
        model = cls(config)
        for module, path, name in (
            (model.backbone, backbone_path, model_files.BACKBONE_WEIGHTS),
            (_HeadsView(model), heads_path, model_files.HEADS_WEIGHTS),
        ):
            model_files.load_state_strict(module, model_files.read_safetensors(path), f"{model_id}/{name}")
        tag = raw.get("pretrained_cfg", {}).get("tag")
        if isinstance(tag, str) and tag:  # the model's name (a zoo name), kept through save / load
            model.pretrained_cfg["tag"] = tag
        return model.to(map_location).eval()


class _HeadsView(nn.Module):
    """The model's non-backbone modules under their own names: what looc_heads.safetensors holds."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.heads = model.heads
        if model.last_stages is not None:
            self.last_stages = model.last_stages
