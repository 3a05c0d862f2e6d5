"""The evaluation protocols, in order: the one table the results schema, the model card and `looc-evaluate` read.

A new protocol is declared in its own module (its `PROTOCOLS`) and that module is added to `MODULES`
(CONTRIBUTING.md). Everything is derived when asked, never copied at import, so the table is the single source
(tests register a protocol in it): the valid record protocols, `looc-evaluate`'s choices, the metrics that are
percentages, the card's Hub metric types and `looc_hub.eval`'s exports.
"""

from __future__ import annotations

from . import (
    corruptions,
    few_shot,
    finetuned,
    head_contribution,
    knn,
    linear_probe,
    retrieval,
    retrieval_recall,
    rotation_probe,
    sensitivity,
    space_selection,
)
from .protocol import Protocol

__all__ = [
    "MODULES",
    "REGISTRY",
    "default_protocols",
    "evaluate_protocols",
    "hub_metric_type",
    "percent_metrics",
    "record_protocols",
]

MODULES = (
    knn,
    linear_probe,
    few_shot,
    rotation_probe,
    corruptions,
    head_contribution,
    sensitivity,
    space_selection,
    retrieval,
    retrieval_recall,
    finetuned,
)
"""The modules that declare protocols, each in its `PROTOCOLS`, in the table's order."""

REGISTRY: dict[str, Protocol] = {protocol.name: protocol for module in MODULES for protocol in module.PROTOCOLS}
"""name -> Protocol; the order is the results schema's and `looc-evaluate`'s (choices, flag groups)."""


def record_protocols() -> tuple[str, ...]:
    """The valid `protocol` of a results record (what `looc_hub.eval.results` accepts)."""
    return tuple(name for name, protocol in REGISTRY.items() if protocol.writes_records)


def evaluate_protocols() -> list[Protocol]:
    """What `looc-evaluate --protocols` can run."""
    return [protocol for protocol in REGISTRY.values() if protocol.run is not None]


def default_protocols() -> list[str]:
    """`looc-evaluate`'s default `--protocols`."""
    return [protocol.name for protocol in evaluate_protocols() if protocol.default]


def percent_metrics() -> tuple[str, ...]:
    """Metrics that are percentages in [0, 100] (results files check them and show one decimal; cards add "%")."""
    declared = (name for protocol in REGISTRY.values() for name, metric in protocol.metrics.items() if metric.percent)
    return tuple(dict.fromkeys(declared))


def hub_metric_type(metric: str) -> str:
    """A metric's Hub model-index type: the standard one its protocols declare (top1: "accuracy"), else its name."""
    for protocol in REGISTRY.values():
        declared = protocol.metrics.get(metric)
        if declared is not None and declared.hub_type:
            return declared.hub_type
    return metric
