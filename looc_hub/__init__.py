"""looc-hub: Leave-one-out Contrastive Learning (Xiao et al., ICLR 2021) with timm backbones and the Hub.

The top-level names load on first use (PEP 562), so that commands which need no network, such as `looc-recipes`
listing file names, start without importing torch and timm (8-9 s here, issue 18).
"""

from __future__ import annotations

import importlib
from typing import Any

from ._version import __version__

_EXPORTS = {
    "AUGMENTATIONS": "config",
    "VARIANTS": "config",
    "LooCClassifier": "finetune",
    "LooCConfig": "config",
    "LooCModel": "hub.pretrained",
    "LooCViewGenerator": "views",
    "LooCViews": "views",
    "EmbeddingIndex": "embeddings",
    "ZooEntry": "hub.zoo",
    "build_dataloader": "data",
    "create_model": "hub.factory",
    "eval_transform": "preprocessing",
    "get_zoo_entry": "hub.zoo",
    "list_models": "hub.zoo",
    "list_pretrained": "hub.zoo",
    "load_image_dataset": "data",
    "publish": "hub.publish",
    "validate_model_dir": "hub.publish",
}

__all__ = [
    "AUGMENTATIONS",
    "VARIANTS",
    "EmbeddingIndex",
    "LooCClassifier",
    "LooCConfig",
    "LooCModel",
    "LooCViewGenerator",
    "LooCViews",
    "ZooEntry",
    "__version__",
    "build_dataloader",
    "create_model",
    "eval_transform",
    "get_zoo_entry",
    "list_models",
    "list_pretrained",
    "load_image_dataset",
    "publish",
    "validate_model_dir",
]


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'looc_hub' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{_EXPORTS[name]}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_EXPORTS])
