"""The model zoo: named LooC configurations, their Hub repos and training recipes (timm-style registry).

Names follow timm's `architecture.tag`: `looc_resnet50.in100` is LooC on a ResNet-50 pretrained on
ImageNet-100. `create_model("looc_resnet50")` takes the architecture's first (default) tag.
"""

from __future__ import annotations

import difflib
import fnmatch
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .config import LooCConfig
from .model import LooCModel

__all__ = [
    "ZooEntry",
    "create_model",
    "get_zoo_entry",
    "list_models",
    "list_pretrained",
    "register_zoo_entry",
]

HUB_ORG = "looc-hub"


@dataclass(frozen=True)
class ZooEntry:
    """One named model of the zoo.

    Attributes:
        name: `architecture.tag`.
        config: the model's `LooCConfig`.
        recipe: the training config under `training/configs/` that produces it.
        dataset: what it is (to be) pretrained on.
        hub_id: the Hub repo its weights are published to (None for demo and test entries).
        tags: searchable labels (e.g. "paper", "baseline", "demo").
        description: one line for cards and the zoo table.
        results: measured results (filled from evaluation results files once they exist).
    """

    name: str
    config: LooCConfig
    recipe: str
    dataset: str
    hub_id: str | None = None
    tags: tuple[str, ...] = ()
    description: str = ""
    results: Mapping[str, Any] = field(default_factory=dict)

    @property
    def architecture(self) -> str:
        return self.name.split(".")[0]


_ZOO: dict[str, ZooEntry] = {}


def register_zoo_entry(entry: ZooEntry) -> ZooEntry:
    if "." not in entry.name:
        raise ValueError(f"Zoo names are 'architecture.tag', got {entry.name!r}")
    if entry.name in _ZOO:
        raise ValueError(f"Zoo entry {entry.name!r} is already registered")
    _ZOO[entry.name] = entry
    return entry


def list_models(filter: str = "", pretrained: bool = False) -> list[str]:
    """Zoo names matching a wildcard `filter` (on the name or the hub id), like `timm.list_models`."""
    entries = [e for e in _ZOO.values() if not pretrained or e.hub_id]
    if filter:
        entries = [e for e in entries if any(fnmatch.fnmatch(text, filter) for text in (e.name, e.hub_id or ""))]
    return sorted(e.name for e in entries)


def list_pretrained(filter: str = "") -> list[str]:
    """Zoo names that have a Hub repo for their weights."""
    return list_models(filter, pretrained=True)


def get_zoo_entry(name: str) -> ZooEntry:
    """The entry for `architecture.tag`, or `architecture` alone (its first registered tag)."""
    if name in _ZOO:
        return _ZOO[name]
    for entry in _ZOO.values():
        if entry.architecture == name:
            return entry
    candidates = list(_ZOO) + sorted({e.architecture for e in _ZOO.values()})
    close = difflib.get_close_matches(name, candidates, n=5, cutoff=0.4)
    raise ValueError(f"Unknown zoo model {name!r}; close matches: {close}. All models: looc_hub.list_models()")


def create_model(name: str, pretrained: bool = False, **overrides: Any) -> LooCModel:
    """Build a zoo model: random init with optional `LooCConfig` overrides, or its published weights.

    `pretrained=True` loads `entry.hub_id` through huggingface_hub (HF cache and offline mode apply); the
    weights fix the configuration, so overrides are refused then.
    """
    entry = get_zoo_entry(name)
    if pretrained:
        if overrides:
            raise ValueError(f"Config overrides {sorted(overrides)} cannot be applied to pretrained weights")
        if entry.hub_id is None:
            raise ValueError(f"{entry.name} has no published weights; available: {list_pretrained()}")
        return LooCModel.from_pretrained(entry.hub_id)
    return LooCModel(entry.config.replace(**overrides))


def _paper_entry(name: str, config: LooCConfig, hub_name: str, recipe: str, description: str, *tags: str) -> None:
    register_zoo_entry(
        ZooEntry(
            name=name,
            config=config,
            recipe=f"training/configs/{recipe}.yaml",
            dataset="ImageNet-100 (CMC class list)",
            hub_id=f"{HUB_ORG}/{hub_name}",
            tags=("paper", *tags),
            description=description,
        )
    )


_R50 = LooCConfig(backbone="resnet50", image_size=224)
_COLOR_ROTATION = ("color", "rotation")
_COLOR_ROTATION_TEXTURE = ("color", "rotation", "texture")

_paper_entry(
    "looc_resnet50.in100",
    _R50.replace(augmentations=_COLOR_ROTATION),
    "looc-r50-in100",
    "looc_r50_in100",
    "LooC, colour + rotation left out, ResNet-50, ImageNet-100 (paper Table 1/2).",
)
_paper_entry(
    "looc_resnet50.in100_crt",
    _R50.replace(augmentations=_COLOR_ROTATION_TEXTURE),
    "looc-r50-in100-crt",
    "looc_r50_in100_crt",
    "LooC, colour + rotation + texture left out, ResNet-50, ImageNet-100.",
)
_paper_entry(
    "loocpp_resnet50.in100",
    _R50.replace(augmentations=_COLOR_ROTATION, variant="looc++"),
    "loocpp-r50-in100",
    "loocpp_r50_in100",
    "LooC++ (per-head last stage), colour + rotation left out, ResNet-50, ImageNet-100.",
)
_paper_entry(
    "loocpp_resnet50.in100_crt",
    _R50.replace(augmentations=_COLOR_ROTATION_TEXTURE, variant="looc++"),
    "loocpp-r50-in100-crt",
    "loocpp_r50_in100_crt",
    "LooC++, colour + rotation + texture left out, ResNet-50, ImageNet-100.",
)
_paper_entry(
    "moco_resnet50.in100",
    _R50.replace(augmentations=(), invariant_augmentations=("color",)),
    "moco-r50-in100",
    "moco_r50_in100",
    "Baseline: MoCo v2 (colour as an invariance, one space), ResNet-50, ImageNet-100.",
    "baseline",
)
_paper_entry(
    "moco_rotation_resnet50.in100",
    _R50.replace(augmentations=(), invariant_augmentations=_COLOR_ROTATION),
    "moco-rotation-r50-in100",
    "moco_rotation_r50_in100",
    "Baseline: MoCo v2 + rotation as an invariance, ResNet-50, ImageNet-100.",
    "baseline",
)
_paper_entry(
    "moco_rotation_texture_resnet50.in100",
    _R50.replace(augmentations=(), invariant_augmentations=_COLOR_ROTATION_TEXTURE),
    "moco-rotation-texture-r50-in100",
    "moco_rotation_texture_r50_in100",
    "Baseline: MoCo v2 + rotation + texture as invariances, ResNet-50, ImageNet-100.",
    "baseline",
)

# Small entries for the README's demo and for tests: ResNet-10t at 32 px on the embedded OpenMoji emoji (3,692
# training images). Ours, for small data and a few hundred steps, and said so in their cards:
# - a queue of 128 keys, one batch. Z_i's only signal for augmentation i is its two same-image negatives; early in
#   training the queue's negatives dominate InfoNCE's denominator, and with 1,024 of them those two weighed under
#   1% of it: in 560 steps the rotation space stayed as rotation-invariant as Z_0 (sensitivity 0.03 vs 0.04);
#   with 128 it kept orientation (0.22 vs 0.04) and the kNN accuracy was no lower (docs/pretraining.md);
# - a key momentum that moves within the run (0.99) and the whole image at evaluation (crop_pct 1.0);
# - ResNet-10t rather than ResNet-18: at 32 px a random-init ResNet-18 (zero-initialised residual branches, a 1x1
#   last stage) gives a near-constant feature, and a trained one learned less in the same time.
_DEMO = LooCConfig(backbone="resnet10t", image_size=32, queue_size=128, momentum=0.99, crop_pct=1.0)
for _name, _config, _recipe, _description in (
    (
        "looc_resnet10t.openmoji32",
        _DEMO.replace(augmentations=_COLOR_ROTATION),
        "looc_r10t_openmoji32",
        "Demo: LooC, colour + rotation left out, ResNet-10t at 32 px on OpenMoji emoji.",
    ),
    (
        "loocpp_resnet10t.openmoji32",
        _DEMO.replace(augmentations=_COLOR_ROTATION, variant="looc++"),
        "loocpp_r10t_openmoji32",
        "Demo: LooC++, colour + rotation left out, ResNet-10t at 32 px on OpenMoji emoji.",
    ),
    (
        "moco_resnet10t.openmoji32",
        _DEMO.replace(augmentations=(), invariant_augmentations=("color",)),
        "moco_r10t_openmoji32",
        "Demo baseline: MoCo v2, ResNet-10t at 32 px on OpenMoji emoji.",
    ),
):
    register_zoo_entry(
        ZooEntry(
            name=_name,
            config=_config,
            recipe=f"training/configs/{_recipe}.yaml",
            dataset="OpenMoji 17 (rendered, embedded)",
            tags=("demo",),
            description=_description,
        )
    )
