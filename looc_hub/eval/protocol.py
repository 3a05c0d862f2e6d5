"""What an evaluation protocol declares, and what `looc-evaluate` hands it.

A protocol owns its settings (a small dataclass whose fields are its flags), its checks and its runner, declared
beside its functions (as solo-learn's methods own their arguments), so that adding one touches its module and one
line of `looc_hub.eval.protocols`. It reads them, and the shared settings, from a typed `EvalConfig`. The results
schema, the model card and `looc-evaluate` all read that table.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Literal

import torch
from datasets import Dataset

from ..model import LooCNetwork
from .config import EvalConfig
from .record import EvalRecord

TaskType = Literal["image-classification", "image-feature-extraction"]


@dataclass
class EvalContext:
    """One dataset's share of an evaluation: settings, model, splits, their labels and (once extracted) features."""

    config: EvalConfig
    model: LooCNetwork
    source: str
    keys: list[str]
    """The space keys reported: single spaces, then concatenations."""
    needed: list[str]
    """The single spaces extracted (the keys' parts and what protocols add, `Protocol.extra_spaces`)."""
    train: Dataset
    test: Dataset
    train_labels: torch.Tensor
    test_labels: torch.Tensor
    output_dir: Path
    artifacts: dict[str, str]
    """The results file's artifacts, shared by every dataset's context."""
    train_features: dict[str, torch.Tensor] = field(default_factory=dict)
    test_features: dict[str, torch.Tensor] = field(default_factory=dict)

    def record(
        self, protocol: str, key: str, metric: str, value: float, ci95: float | None = None, **params
    ) -> EvalRecord:
        """A record measured on this dataset's test split."""
        return EvalRecord(protocol, self.source, self.config.test_split, key, metric, value, params, ci95)

    def artifact(self, path: Path) -> None:
        """List a file written under the output folder in the results' artifacts, named by its stem."""
        self.artifacts[path.stem] = path.relative_to(self.output_dir).as_posix()

    def file_prefix(self) -> str:
        """ "" for one dataset; else a file-name-safe form of the source, so PNGs of several datasets coexist."""
        if len(self.config.dataset) == 1:
            return ""
        return re.sub(r"[^A-Za-z0-9._-]+", "_", self.source).strip("_") + "_"


@dataclass(frozen=True)
class Metric:
    """What a protocol's metric is: how results files check and show it, and how the card files it on the Hub."""

    percent: bool = True
    """A percentage: a results file keeps it in [0, 100] and shows one decimal (any other number: two)."""
    hub_type: str | None = None
    """The standard Hub model-index metric type (e.g. "accuracy"); None: the metric's own name."""


TOP_K: Mapping[str, Metric] = MappingProxyType(
    {"top1": Metric(hub_type="accuracy"), "top5": Metric(hub_type="top_5_accuracy")}
)
"""Top-1 and top-5 accuracy (%), what most protocols record."""

Runner = Callable[[EvalContext], Iterator[EvalRecord]]
Check = Callable[[EvalContext], list[str]]


@dataclass(frozen=True)
class Protocol:
    """One evaluation protocol: its records' name, how cards show it, and how `looc-evaluate` runs it."""

    name: str
    """The `protocol` of its records, and its `--protocols` choice."""
    display_name: str
    """The card's name for it (model-index task name, results table)."""
    task_type: TaskType
    """The model-index task its records are filed under."""
    run: Runner | None = None
    """Yields its records, kept as they come, so a failure late in a run loses none; None: `looc-evaluate` does
    not run it (fine-tuning records come from `looc-finetune`)."""
    options: type | None = None
    """A dataclass of its own settings, each field a `looc-evaluate` flag (built with `eval.config.option`), shown
    in a help group named after it; read with `context.config.options(ThatClass)`."""
    check: Check | None = None
    """Problems with its flags against the splits' labels, found before any feature is extracted."""
    labelled: bool = False
    """Learns from the train split's labels, so it needs 2+ classes there."""
    reads_labels: bool = True
    """Reads the labels of the splits, so it refuses unlabelled rows."""
    default: bool = False
    """In `looc-evaluate`'s default `--protocols` (the feature-quality protocols)."""
    writes_records: bool = True
    """False for a protocol that only writes artifacts: its name is then no valid record protocol."""
    extra_spaces: Callable[[EvalConfig, LooCNetwork], list[str]] | None = None
    """Spaces it reads beyond the reported keys, extracted with them."""
    metrics: Mapping[str, Metric] = field(default_factory=lambda: TOP_K)
    """Its records' metrics that are percentages or have a standard Hub type; any other metric it records is a
    finite number filed under its own name (sensitivity's augmentation names, head contribution's shares)."""


def protocol_problems(protocols: Sequence[Protocol], context: EvalContext) -> list[str]:
    """Every reason a requested protocol cannot run on these labels, as sentences naming protocol, value and fix."""
    source, split = context.source, context.config.train_split
    unlabelled = _unlabelled_problem(protocols, context)
    if unlabelled:
        return [f"{source}: {unlabelled}"]
    classes = int((torch.bincount(context.train_labels) > 0).sum())
    found = []
    for protocol in protocols:
        if protocol.labelled and classes < 2:
            found.append((protocol.name, f"the {split!r} split has {classes} class(es); it needs at least 2"))
        found += [(protocol.name, text) for text in (protocol.check(context) if protocol.check else [])]
    return [f"{source}: protocol {name!r}: {text}" for name, text in found]


def _unlabelled_problem(protocols: Sequence[Protocol], context: EvalContext) -> str | None:
    """Rows without a label (label < 0) in a split that a requested protocol reads the labels of."""
    users = [protocol.name for protocol in protocols if protocol.reads_labels]
    config = context.config
    for name, labels in ((config.train_split, context.train_labels), (config.test_split, context.test_labels)):
        unlabelled = int((labels < 0).sum())
        if unlabelled and users:
            return (
                f"protocol(s) {users}: the {name!r} split has {unlabelled} unlabelled row(s) (label < 0); "
                "they need a label on every row (filter them out or pick another split)"
            )
    return None


def per_class_problems(context: EvalContext, need: int, fix: str = "") -> list[str]:
    """A probe that chooses its penalty holds out part of every train class, so each class needs `need`+ images."""
    counts = torch.bincount(context.train_labels)
    present = counts[counts > 0]
    if len(present) < 2 or int(present.min()) >= need:  # under 2 classes is `Protocol.labelled`'s problem
        return []
    return [
        f"the smallest class of the {context.config.train_split!r} split has {int(present.min())} image(s); choosing "
        f"a probe's penalty holds out a validation part of every class, so each class needs {need}+{fix}"
    ]
