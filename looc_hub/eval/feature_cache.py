"""An on-disk cache of extracted features, keyed by model + dataset + split + space, shared by every protocol.

Protocols over the same model and data (kNN, linear probe, few-shot, space selection, ...) ask for the same
features; the cache extracts each space once (`extract_features`, only for the spaces it lacks) and stores it
as safetensors (never pickles) under

    <directory>/<model fingerprint>/<dataset>/<split>/<dataset fingerprint>/<space>.safetensors

The model fingerprint hashes the config (preprocessing included), every weight and `EXTRACTION_VERSION`, so a
fine-tuned or re-trained model never reads another's features and features extracted by an older
preprocessing are never reused; the dataset fingerprint is the HF `Dataset`'s own, so edited data is re-extracted.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import warnings
from collections.abc import Sequence
from pathlib import Path

import torch
from datasets import Dataset
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from .._atomic import atomic_file
from ..data import default_cache_dir
from ..model import LooCNetwork
from ..spaces import model_spaces
from .features import extract_features

__all__ = ["EXTRACTION_VERSION", "FeatureCache", "model_fingerprint"]

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")

EXTRACTION_VERSION = 2
"""Raised whenever `extract_features` changes its output for the same model and data (2: timm's eval transform)."""


def model_fingerprint(model: LooCNetwork) -> str:
    """A hex digest of `EXTRACTION_VERSION`, the config and every parameter and buffer, in state-dict order."""
    digest = hashlib.sha256(f"extraction-v{EXTRACTION_VERSION}".encode())
    digest.update(json.dumps(model.config.to_dict(), sort_keys=True).encode())
    for name, tensor in model.state_dict().items():
        digest.update(name.encode())
        digest.update(tensor.detach().cpu().contiguous().view(-1).view(torch.uint8).numpy().tobytes())
    return digest.hexdigest()[:20]


class FeatureCache:
    """Features per (model, dataset, split, space), extracted on first use and read from disk afterwards.

    Args:
        directory: where features are stored (default: `<looc-hub cache>/features`, see `default_cache_dir`).

    Example:
        >>> cache = FeatureCache()
        >>> features, labels = cache.features(model, test, dataset_name="looc-hub/digits", split="test",
        ...                                   spaces=["backbone", "color"])
    """

    def __init__(self, directory: str | os.PathLike | None = None) -> None:
        self.directory = Path(directory) if directory is not None else default_cache_dir() / "features"

    def features(
        self,
        model: LooCNetwork,
        dataset: Dataset,
        *,
        dataset_name: str,
        split: str,
        spaces: Sequence[str] | None = None,
        batch_size: int = 256,
        device: torch.device | str = "cpu",
    ) -> tuple[dict[str, torch.Tensor], torch.Tensor | None]:
        """Like `extract_features` ({space: (N, d)}, labels or None), computing only the spaces not cached yet."""
        if not isinstance(dataset, Dataset):
            raise TypeError(
                f"the feature cache needs a map-style datasets.Dataset (it keys on its fingerprint), got "
                f"{type(dataset).__name__}; call extract_features directly for streams"
            )
        spaces = list(spaces or model.spaces)
        model.embedding_dim(model_spaces(spaces))  # validates the names
        folder = self.folder(model, dataset, dataset_name=dataset_name, split=split)
        stored = {space: _read_cached(folder / f"{space}.safetensors") for space in spaces}
        missing = [space for space in spaces if stored[space] is None]
        if missing:
            extracted, labels = extract_features(model, dataset, spaces=missing, batch_size=batch_size, device=device)
            folder.mkdir(parents=True, exist_ok=True)
            for space in missing:
                tensors = {"features": extracted[space].contiguous()}
                if labels is not None:
                    tensors["labels"] = labels.contiguous()
                with atomic_file(folder / f"{space}.safetensors") as staging:
                    save_file(tensors, staging)
                stored[space] = tensors
        return {space: tensors["features"] for space, tensors in stored.items()}, stored[spaces[0]].get("labels")

    def folder(self, model: LooCNetwork, dataset: Dataset, *, dataset_name: str, split: str) -> Path:
        """Where the features of `model` on this split live."""
        return (
            self.directory
            / model_fingerprint(model)
            / _safe_name(dataset_name)
            / _safe_name(split)
            / _safe_name(dataset._fingerprint)
        )


def _read_cached(path: Path) -> dict[str, torch.Tensor] | None:
    """A cached feature file, or None when absent; a damaged one (the cache's own) is named and re-extracted."""
    if not path.is_file():
        return None
    try:
        tensors = load_file(path)
    except (SafetensorError, OSError) as error:
        warnings.warn(f"Feature cache file {path} is unreadable ({error}); extracting it again", stacklevel=3)
        return None
    if "features" not in tensors:
        warnings.warn(f"Feature cache file {path} holds no 'features' tensor; extracting it again", stacklevel=3)
        return None
    return tensors


def _safe_name(text: str) -> str:
    return _UNSAFE.sub("_", text).strip("_") or "_"
