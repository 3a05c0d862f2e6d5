"""The model zoo: named LooC configurations, their Hub repos and training recipes (timm-style registry).

One name per model, following timm's `architecture.tag`: `looc_resnet50.in100` (LooC on a ResNet-50 pretrained on
ImageNet-100) is the zoo name, the Hub repo `looc-hub/looc_resnet50.in100` (as timm's `timm/resnet50.a1_in1k`) and
the `tag` of the weights' `pretrained_cfg` (whose `architecture` stays the timm one, `resnet50`, so plain timm
builds it). `create_model("looc_resnet50")` takes the architecture's first (default) tag.

An entry is a recipe until its weights are published (`ZooEntry.published`): `list_models()` lists every entry,
`list_pretrained()` only the published ones, and loading an unpublished entry's weights fails at once with the
command that trains it.
"""

from __future__ import annotations

import difflib
import fnmatch
from collections.abc import Sequence
from dataclasses import dataclass

from .._checks import short_repr
from ..config import LooCConfig

__all__ = [
    "HUB_ORG",
    "NotPublishedError",
    "ZooEntry",
    "check_published",
    "get_zoo_entry",
    "list_models",
    "list_pretrained",
    "register_zoo_entry",
]

HUB_ORG = "looc-hub"


class NotPublishedError(ValueError):
    """A zoo entry's weights were asked for, but only its recipe exists."""


@dataclass(frozen=True)
class ZooEntry:
    """One named model of the zoo.

    Attributes:
        name: `architecture.tag`; also the Hub repo's name and the weights' `pretrained_cfg` tag.
        config: the model's `LooCConfig`.
        recipe: the pretraining recipe that produces it: a shipped recipe's name (`looc_hub/recipes/<name>.yaml`,
            `--config <name>`) or a YAML file.
        dataset: what it is (to be) pretrained on.
        published: whether weights exist at `hub_id` (False: recipe only).
        tags: searchable labels (e.g. "paper", "baseline", "demo").
        description: one line for cards and the zoo table.

    Measured numbers are no field: they live in results files (`model_cards/results/<name>.json`), which the
    cards and the zoo table are generated from.
    """

    name: str
    config: LooCConfig
    recipe: str
    dataset: str
    published: bool = False
    tags: tuple[str, ...] = ()
    description: str = ""

    @property
    def architecture(self) -> str:
        return self.name.split(".")[0]

    @property
    def hub_id(self) -> str:
        """The Hub repo of its weights: `looc-hub/<name>` (it exists only when `published`)."""
        return f"{HUB_ORG}/{self.name}"

    @property
    def train_command(self) -> str:
        """The command that trains this entry from its recipe."""
        return f"looc-pretrain --config {self.recipe}"


_ZOO: dict[str, ZooEntry] = {}


def register_zoo_entry(entry: ZooEntry) -> ZooEntry:
    if "." not in entry.name:
        raise ValueError(f"Zoo names are 'architecture.tag', got {entry.name!r}")
    if entry.name in _ZOO:
        raise ValueError(f"Zoo entry {entry.name!r} is already registered")
    _ZOO[entry.name] = entry
    return entry


def _patterns(value: str | Sequence[str]) -> list[str]:
    return [value] if isinstance(value, str) else list(value)


def _matches(entry: ZooEntry, patterns: list[str]) -> bool:
    return any(fnmatch.fnmatch(text, pattern) for pattern in patterns for text in (entry.name, entry.hub_id))


def list_models(
    filter: str | Sequence[str] = "",
    exclude_filters: str | Sequence[str] = "",
    pretrained: bool = False,
) -> list[str]:
    """Zoo names, like `timm.list_models`: wildcard `filter` pattern(s) on the name or hub id (any may match),
    minus those matching `exclude_filters`; `pretrained=True` keeps only entries with published weights."""
    include, exclude = [p for p in _patterns(filter) if p], [p for p in _patterns(exclude_filters) if p]
    entries = [e for e in _ZOO.values() if not pretrained or e.published]
    if include:
        entries = [e for e in entries if _matches(e, include)]
    if exclude:
        entries = [e for e in entries if not _matches(e, exclude)]
    return sorted(e.name for e in entries)


def list_pretrained(filter: str | Sequence[str] = "", exclude_filters: str | Sequence[str] = "") -> list[str]:
    """Zoo names whose weights are published (the rest are recipes only: `list_models`)."""
    return list_models(filter, exclude_filters, pretrained=True)


def get_zoo_entry(name: str) -> ZooEntry:
    """The entry for `architecture.tag`, its hub id, or `architecture` alone (its first registered tag)."""
    if name in _ZOO:
        return _ZOO[name]
    for entry in _ZOO.values():
        if name in (entry.architecture, entry.hub_id):
            return entry
    candidates = list(_ZOO) + sorted({e.architecture for e in _ZOO.values()})
    close = difflib.get_close_matches(str(name)[:200], candidates, n=5, cutoff=0.4)
    raise ValueError(
        f"Unknown zoo model {short_repr(name)}; close matches: {close}. All models: looc_hub.list_models()"
    )


def check_published(repo_id: str) -> None:
    """Refuse, before any Hub request, the repo of a zoo entry whose weights are not published yet.

    Without this, a missing repo costs a generic connection or 404 error after the Hub client's retries.
    """
    for entry in _ZOO.values():
        if repo_id == entry.hub_id and not entry.published:
            raise NotPublishedError(
                f"{entry.name} ({entry.hub_id}) is not published yet: only its recipe exists. Train it with "
                f"`{entry.train_command}`, or build it untrained with looc_hub.create_model({entry.name!r}). "
                f"Published models: {list_pretrained() or 'none yet'}"
            )


def _paper_entry(name: str, config: LooCConfig, recipe: str, description: str, *tags: str) -> None:
    register_zoo_entry(
        ZooEntry(
            name=name,
            config=config,
            recipe=recipe,
            dataset="ImageNet-100 (CMC class list)",
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
    "looc_r50_in100",
    "LooC, colour + rotation left out, ResNet-50, ImageNet-100 (paper Table 1/2).",
)
_paper_entry(
    "looc_resnet50.in100_r",
    _R50.replace(augmentations=("rotation",), invariant_augmentations=("color",)),
    "looc_r50_in100_r",
    "LooC, rotation left out (colour an invariance), ResNet-50, ImageNet-100 (paper Table 1).",
)
_paper_entry(
    "looc_resnet50.in100_crt",
    _R50.replace(augmentations=_COLOR_ROTATION_TEXTURE),
    "looc_r50_in100_crt",
    "LooC, colour + rotation + texture left out, ResNet-50, ImageNet-100.",
)
_paper_entry(
    "loocpp_resnet50.in100",
    _R50.replace(augmentations=_COLOR_ROTATION, variant="looc++"),
    "loocpp_r50_in100",
    "LooC++ (per-head last stage), colour + rotation left out, ResNet-50, ImageNet-100.",
)
_paper_entry(
    "loocpp_resnet50.in100_crt",
    _R50.replace(augmentations=_COLOR_ROTATION_TEXTURE, variant="looc++"),
    "loocpp_r50_in100_crt",
    "LooC++, colour + rotation + texture left out, ResNet-50, ImageNet-100.",
)
_paper_entry(
    "moco_resnet50.in100",
    _R50.replace(augmentations=(), invariant_augmentations=("color",)),
    "moco_r50_in100",
    "Baseline: MoCo v2 (colour as an invariance, one space), ResNet-50, ImageNet-100.",
    "baseline",
)
_paper_entry(
    "moco_rotation_resnet50.in100",
    _R50.replace(augmentations=(), invariant_augmentations=_COLOR_ROTATION),
    "moco_rotation_r50_in100",
    "Baseline: MoCo v2 + rotation as an invariance, ResNet-50, ImageNet-100.",
    "baseline",
)
_paper_entry(
    "moco_rotation_texture_resnet50.in100",
    _R50.replace(augmentations=(), invariant_augmentations=_COLOR_ROTATION_TEXTURE),
    "moco_rotation_texture_r50_in100",
    "Baseline: MoCo v2 + rotation + texture as invariances, ResNet-50, ImageNet-100.",
    "baseline",
)

# Small entries for the README's demo and for tests: ResNet-10t at 32 px on the embedded OpenMoji emoji (3,692
# training images), evaluated on the whole image (crop_pct 1.0). Ours, for small data and a few hundred steps, and
# said so in their cards; their training settings (a 128-key queue, key momentum 0.99) are in their recipes.
# ResNet-10t rather than ResNet-18: at 32 px a random-init ResNet-18 (zero-initialised residual branches, a 1x1
# last stage) gives a near-constant feature, and a trained one learned less in the same time.
_DEMO = LooCConfig(backbone="resnet10t", image_size=32, crop_pct=1.0)
_SMALL_METHODS = (  # (architecture prefix, tag suffix, config, what it is); the recipe file shares both
    ("looc", "", _DEMO.replace(augmentations=_COLOR_ROTATION), "LooC, colour + rotation left out"),
    (
        "looc",
        "_r",
        _DEMO.replace(augmentations=("rotation",), invariant_augmentations=("color",)),
        "LooC, rotation left out (colour an invariance)",
    ),
    (
        "loocpp",
        "",
        _DEMO.replace(augmentations=_COLOR_ROTATION, variant="looc++"),
        "LooC++, colour + rotation left out",
    ),
    ("moco", "", _DEMO.replace(augmentations=(), invariant_augmentations=("color",)), "Baseline: MoCo v2"),
    (
        "moco_rotation",
        "",
        _DEMO.replace(augmentations=(), invariant_augmentations=_COLOR_ROTATION),
        "Baseline: MoCo v2 + rotation as an invariance",
    ),
)
# The reproduction grid (docs/reproduction.md, scripts/reproduce.py) trains every method on both small datasets
# with one recipe per dataset; the OpenMoji LooC entry is also the README's demo.
_SMALL_DATASETS = (  # (tag, the data, its short name)
    ("openmoji32", "OpenMoji 17 (rendered, embedded)", "OpenMoji emoji"),
    ("fmnist32", "Fashion-MNIST (Debian dataset-fashion-mnist)", "Fashion-MNIST"),
)
for _tag, _dataset, _data_name in _SMALL_DATASETS:
    for _prefix, _suffix, _config, _description in _SMALL_METHODS:
        register_zoo_entry(
            ZooEntry(
                name=f"{_prefix}_resnet10t.{_tag}{_suffix}",
                config=_config,
                recipe=f"{_prefix}_r10t_{_tag}{_suffix}",
                dataset=_dataset,
                tags=("demo", "reproduction", *(("baseline",) if _prefix.startswith("moco") else ())),
                description=f"{_description}, ResNet-10t at 32 px on {_data_name}.",
            )
        )
