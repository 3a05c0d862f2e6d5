"""The on-disk / on-Hub format shared by looc-hub and plain timm.

One directory (or Hub repo) holds:
- `config.json`: timm's top-level keys (`architecture`, `num_classes` 0, `num_features`, `global_pool`,
  `model_args`, `pretrained_cfg`) so `timm.create_model("hf-hub:org/name", pretrained=True)` works, and beside
  them every `LooCConfig` field (architecture and preprocessing) plus `looc_format_version`; folders saved
  before training settings left the config (`looc_hub.config.TRAINING_FIELDS`: queue_size, temperature, momentum)
  still load, those keys ignored;
- `model.safetensors`: the backbone's state dict with no prefix (what timm loads);
- `looc_heads.safetensors`: the projection heads and, for LooC++, the per-head last-stage copies;
- `README.md`: the model card, and the records it is rendered from (`looc_hub.hub.records`: `recipe.yaml`,
  `training_results.json`, `results.json` with its artifacts, a fine-tuned classifier's `classifier.json`);
- a fine-tuned classifier's head: over the "backbone" feature, timm's own head keys in `model.safetensors` (under
  the architecture's classifier name, e.g. `fc.weight`) with `num_classes` and `label_names` in config.json, so
  plain timm loads the classifier; over any other feature (which timm cannot compute), `classifier.safetensors`.
Loading is strict: every mismatch between config, files and architecture is an error that names it.
"""

from __future__ import annotations

import difflib
import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
from huggingface_hub import hf_hub_download
from huggingface_hub.errors import HFValidationError
from huggingface_hub.utils import validate_repo_id
from safetensors import SafetensorError, safe_open
from safetensors.torch import _TYPES as _SAFETENSORS_DTYPES
from safetensors.torch import load_file, save_file
from torch import nn

from .._atomic import interrupted_save_copy
from .._checks import is_int, short_repr, short_text
from .._json_file import read_json
from ..config import LooCConfig
from ..preprocessing import pretrained_cfg_for

__all__ = [
    "BACKBONE_WEIGHTS",
    "CLASSIFIER_FILES",
    "CLASSIFIER_WEIGHTS",
    "CONFIG_NAME",
    "FORMAT_VERSION",
    "HEADS_WEIGHTS",
    "add_timm_classifier",
    "check_model_source",
    "check_weight_headers",
    "config_from_hub_dict",
    "foreign_files",
    "hub_config_dict",
    "load_state_strict",
    "read_config",
    "read_safetensors",
    "resolve_file",
    "safetensors_metadata",
    "timm_classifier_state",
    "write_safetensors",
]

CONFIG_NAME = "config.json"
BACKBONE_WEIGHTS = "model.safetensors"
HEADS_WEIGHTS = "looc_heads.safetensors"
CLASSIFIER_WEIGHTS = "classifier.safetensors"
CLASSIFIER_FILES = (CLASSIFIER_WEIGHTS,)
"""A fine-tuned classifier's files beside its records (`classifier.json`)."""
FORMAT_VERSION = 1
# The pretrained_cfg keys timm's `resolve_data_config` / `create_transform` read to preprocess images.
_PREPROCESSING_KEYS = (
    "input_size",
    "test_input_size",
    "interpolation",
    "crop_pct",
    "test_crop_pct",
    "crop_mode",
    "mean",
    "std",
)


def hub_config_dict(config: LooCConfig, backbone: nn.Module, pretrained_cfg: Mapping[str, Any]) -> dict[str, Any]:
    """config.json's content: timm's keys first, LooC's beside them."""
    timm_keys: dict[str, Any] = {
        "architecture": config.backbone,
        "num_classes": 0,
        "num_features": int(backbone.num_features),
    }
    pool_type = getattr(getattr(backbone, "global_pool", None), "pool_type", None)
    if isinstance(pool_type, str) and pool_type:
        timm_keys["global_pool"] = pool_type
    timm_keys["model_args"] = dict(config.backbone_kwargs)
    timm_keys["pretrained_cfg"] = json.loads(json.dumps(dict(pretrained_cfg)))
    return {**timm_keys, "looc_format_version": FORMAT_VERSION, **config.to_dict()}


def config_from_hub_dict(raw: Mapping[str, Any], source: str) -> LooCConfig:
    """Rebuild the LooCConfig from config.json and check that timm's keys agree with it.

    Keys that are no `LooCConfig` field (timm's, and the training settings older saves hold) are not read.
    """
    if "looc_format_version" not in raw:
        raise ValueError(
            f"{source} is not a looc-hub model (its config.json has no 'looc_format_version'); "
            "a plain timm repo loads with timm.create_model('hf-hub:...')"
        )
    if raw["looc_format_version"] != FORMAT_VERSION:
        raise ValueError(
            f"{source} uses looc format version {short_repr(raw['looc_format_version'])}; "
            f"this looc-hub reads {FORMAT_VERSION}"
        )
    try:
        config = LooCConfig.from_dict({k: raw[k] for k in LooCConfig.field_names() if k in raw})
    except (TypeError, ValueError) as error:
        raise ValueError(f"{source}: {CONFIG_NAME}: {error}") from None
    pretrained_cfg = raw.get("pretrained_cfg", {})
    if not isinstance(pretrained_cfg, dict):
        raise ValueError(f"{source}: config.json's pretrained_cfg must be a mapping, got {short_repr(pretrained_cfg)}")
    # timm users preprocess with what pretrained_cfg says: it must be exactly the LooC config's preprocessing.
    ours = json.loads(json.dumps(pretrained_cfg_for(config)))
    num_classes = raw.get("num_classes")  # 0, or a fine-tuned classifier's (`add_timm_classifier`)
    checks = {
        "architecture": (raw.get("architecture"), config.backbone),
        "num_classes": (num_classes, num_classes if is_int(num_classes) and num_classes >= 0 else 0),
        "pretrained_cfg.num_classes": (pretrained_cfg.get("num_classes"), num_classes),
        "model_args": (raw.get("model_args", {}), dict(config.backbone_kwargs)),
        **{f"pretrained_cfg.{key}": (pretrained_cfg.get(key), ours.get(key)) for key in _PREPROCESSING_KEYS},
    }
    disagreements = [
        f"{key}: {short_repr(found)} != {short_repr(expected)}"
        for key, (found, expected) in checks.items()
        if found != expected
    ]
    if disagreements:
        raise ValueError(f"{source}: timm's keys disagree with the LooC config: " + "; ".join(disagreements))
    return config


# Files a looc-hub save may leave in a model folder: the model, its card and records, a fine-tuned classifier.
_OWN_FILES = (
    CONFIG_NAME,
    BACKBONE_WEIGHTS,
    HEADS_WEIGHTS,
    *CLASSIFIER_FILES,
    "README.md",
    "recipe.yaml",
    "classifier.json",
)
_RESULTS_FILES = ("training_results.json", "results.json")


def foreign_files(directory: Path) -> list[str]:
    """Files in `directory` that are not part of a previous looc-hub model (empty: safe to replace).

    A previous model is recognised by its config.json (`looc_format_version`); its folder may also hold the
    records (recipe, results files with the artifacts they list) and a fine-tuned classifier. Anything else (a
    `.git/`, sources, notes) is foreign, and so is every file of a folder whose config.json is not looc-hub's.
    """
    present = sorted(p.relative_to(directory).as_posix() for p in directory.rglob("*") if not p.is_dir())
    present += sorted(
        p.relative_to(directory).as_posix() + "/" for p in directory.rglob("*") if p.is_dir() and not any(p.iterdir())
    )
    if not present:
        return []
    own = {*_OWN_FILES, *_RESULTS_FILES}
    try:
        config = read_json(directory / CONFIG_NAME)
        for name in _RESULTS_FILES:
            results = read_json(directory / name) if name in present else {}
            own |= {str(v) for v in (results.get("artifacts") or {}).values()}
    except (OSError, ValueError, AttributeError):
        return present
    if not isinstance(config, dict) or "looc_format_version" not in config:
        return present
    return [name for name in present if name not in own]


def resolve_file(model_id: str, filename: str, **download_kwargs: Any) -> str:
    """A local path to `filename` from a directory or a Hub repo (through the HF cache, offline mode included)."""
    if os.path.isdir(model_id):
        path = Path(model_id) / filename
        if not path.is_file():
            raise FileNotFoundError(
                f"{model_id} has no {filename}; a looc-hub model directory holds "
                f"{CONFIG_NAME}, {BACKBONE_WEIGHTS} and {HEADS_WEIGHTS}"
            )
        return str(path)
    return hf_hub_download(repo_id=model_id, filename=filename, **download_kwargs)


def write_safetensors(state: Mapping[str, torch.Tensor], path: Path, metadata: Mapping[str, str] | None = None) -> None:
    """Tensors only; `metadata` adds string entries to the file's header (beside timm's `format: pt`)."""
    header = {"format": "pt", **(metadata or {})}
    save_file({k: v.detach().contiguous().cpu() for k, v in state.items()}, str(path), metadata=header)


def safetensors_metadata(path: Path) -> dict[str, str]:
    """A safetensors file's header metadata ({} for a file that is not readable safetensors)."""
    try:
        with safe_open(str(path), framework="pt") as handle:
            return dict(handle.metadata() or {})
    except (SafetensorError, OSError):
        return {}


def read_safetensors(path: str | os.PathLike) -> dict[str, torch.Tensor]:
    """Tensors only (safetensors never unpickles); a corrupt or truncated file is a ValueError naming it."""
    try:
        return load_file(str(path), device="cpu")
    except (SafetensorError, OSError) as error:
        raise ValueError(f"{path} is not a readable safetensors file (corrupt or truncated?): {error}") from None


Layout = dict[str, tuple[tuple[int, ...], torch.dtype | None]]
"""Key -> (shape, dtype) of a state dict or a safetensors header (dtype None: one torch does not know)."""


def load_state_strict(module: nn.Module, state: Mapping[str, torch.Tensor], source: str) -> None:
    """`load_state_dict(strict=True)` with an error that lists what is missing, unexpected or misshaped.

    A timm backbone without a classifier ignores a fine-tuned classifier's head keys (`add_timm_classifier`):
    they are the classifier's, which `LooCClassifier` loads as strictly.
    """
    state = _without_foreign_head(module, state)
    _raise_on_mismatch(_layout_of(module), {k: (tuple(v.shape), v.dtype) for k, v in state.items()}, source)
    module.load_state_dict(state, strict=True)


def timm_classifier_state(module: nn.Module, state: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """The head keys of a timm backbone's classifier in `state`, named as the head's own (`weight`, `bias`)."""
    prefix = _classifier_prefix(module)
    return {key[len(prefix) :]: value for key, value in state.items() if prefix and key.startswith(prefix)}


def add_timm_classifier(
    directory: Path, head: Mapping[str, torch.Tensor], num_classes: int, label_names: list[str] | None
) -> None:
    """Turn a saved encoder folder into plain timm's classifier: head keys in model.safetensors under the
    architecture's classifier name, `num_classes` and `label_names` in config.json (timm's `pretrained_cfg`)."""
    config = read_config(directory / CONFIG_NAME, str(directory))
    prefix = f"{config['pretrained_cfg']['classifier']}."
    state = read_safetensors(directory / BACKBONE_WEIGHTS)
    write_safetensors({**state, **{prefix + key: value for key, value in head.items()}}, directory / BACKBONE_WEIGHTS)
    config["num_classes"] = config["pretrained_cfg"]["num_classes"] = num_classes
    if label_names is not None:
        config["pretrained_cfg"]["label_names"] = list(label_names)
    (directory / CONFIG_NAME).write_text(json.dumps(config, indent=2) + "\n")


def _classifier_prefix(module: nn.Module) -> str:
    name = (getattr(module, "pretrained_cfg", None) or {}).get("classifier")
    return f"{name}." if isinstance(name, str) and name else ""


def _without_foreign_head(module: nn.Module, found: Mapping[str, Any]) -> dict[str, Any]:
    """`found` without the classifier keys the module (a backbone built with num_classes 0) does not have."""
    prefix, own = _classifier_prefix(module), module.state_dict()
    return {key: value for key, value in found.items() if not (prefix and key.startswith(prefix) and key not in own)}


def check_weight_headers(module: nn.Module, path: str | os.PathLike, source: str) -> None:
    """Compare a safetensors file's header (keys, shapes, dtypes) with `module`, reading no tensor.

    `module` may live on the meta device: a config.json asking for a 10^9-wide head is refused from its few
    header bytes, before any memory is allocated for the model or the weights.
    """
    try:
        with safe_open(str(path), framework="pt") as handle:
            found = {
                key: (
                    tuple(handle.get_slice(key).get_shape()),
                    _SAFETENSORS_DTYPES.get(handle.get_slice(key).get_dtype()),
                )
                for key in handle.keys()  # noqa: SIM118 (safe_open is not a dict)
            }
    except (SafetensorError, OSError) as error:
        raise ValueError(f"{path} is not a readable safetensors file (corrupt or truncated?): {error}") from None
    found = _without_foreign_head(module, found)
    _raise_on_mismatch(_layout_of(module), found, source)


def _layout_of(module: nn.Module) -> Layout:
    return {key: (tuple(value.shape), value.dtype) for key, value in module.state_dict().items()}


def _raise_on_mismatch(expected: Layout, found: Layout, source: str) -> None:
    problems = []
    missing = sorted(set(expected) - set(found))
    unexpected = sorted(set(found) - set(expected))
    if missing:
        problems.append(f"{len(missing)} missing key(s), e.g. {missing[:5]}")
    if unexpected:
        problems.append(f"{len(unexpected)} unexpected key(s), e.g. {unexpected[:5]}")
    common = [key for key in expected if key in found]
    misshaped = [
        f"{key}: file {found[key][0]} vs model {expected[key][0]}"
        for key in common
        if found[key][0] != expected[key][0]
    ]
    if misshaped:
        problems.append(f"{len(misshaped)} shape mismatch(es), e.g. {misshaped[:3]}")
    # A float model loads float weights of any width (fp16 / bf16 files are common); an int8 file or a float
    # counter would be silently cast by load_state_dict, so those are errors.
    mistyped = [
        f"{key}: file {found[key][1]} vs model {expected[key][1]}"
        for key in common
        if found[key][1] != expected[key][1]
        and not (found[key][1] is not None and found[key][1].is_floating_point and expected[key][1].is_floating_point)
    ]
    if mistyped:
        problems.append(f"{len(mistyped)} dtype mismatch(es), e.g. {mistyped[:3]}")
    if problems:
        raise ValueError(f"Weights in {source} do not match the configured model: " + "; ".join(problems))


def read_config(path: str | os.PathLike, source: str) -> dict[str, Any]:
    """config.json as a dict; not UTF-8, not readable JSON or not an object is a ValueError naming the file."""
    raw = read_json(path, f"{source}: {CONFIG_NAME}")
    if not isinstance(raw, dict):
        raise ValueError(
            f"{source}: {CONFIG_NAME} must hold a JSON object of config fields, "
            f"got {type(raw).__name__} {short_repr(raw)}"
        )
    return raw


def check_model_source(source: str | os.PathLike) -> None:
    """Refuse, before any Hub request, a path that does not exist and a string that is no Hub repo id either.

    Without this, a mistyped local folder reached the Hub client and failed with "check your connection" or
    "Repo id must be in the form ...". A `Path`, or a string that starts like a path ("/", ".", "~") or has more
    than one "/", is a local path; anything else that does not exist locally must be a valid repo id.
    """
    text = os.fspath(source)
    if os.path.exists(text):
        if not os.path.isdir(text):
            raise NotADirectoryError(f"{text} is a file; a looc-hub model is a folder (or a Hub repo id 'org/name')")
        return
    hidden = interrupted_save_copy(text)
    if hidden is not None:
        raise FileNotFoundError(
            f"No model folder {text}: a save into it was killed between its two renames, and its previous copy "
            f"is at {hidden}. The next save_pretrained into {text} puts it back first; or move it back yourself"
        )
    if isinstance(source, os.PathLike) or text.startswith(("/", ".", "~")) or text.count("/") > 1 or "\\" in text:
        raise FileNotFoundError(f"No such model folder: {text} (a Hub repo id looks like 'org/name')")
    parent, _, name = text.partition("/")
    if name and os.path.isdir(parent):  # `outputs/typo-dir`: a local folder's child, not a Hub repo
        close = difflib.get_close_matches(name, os.listdir(parent), n=3)
        raise FileNotFoundError(
            f"No such model folder: {text} (the folder {parent}/ exists here but holds no {name!r}"
            + (f"; close: {close}" if close else "")
            + "). It is not looked up as a Hub repo id because a local folder of its first part exists"
        )
    try:
        validate_repo_id(text)
    except HFValidationError as error:
        raise FileNotFoundError(
            f"{short_repr(text)} is neither an existing local folder nor a Hub repo id ('org/name'): "
            f"{short_text(str(error))}"
        ) from None
