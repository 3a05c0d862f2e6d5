"""The evaluation protocols, in order: the one table the results schema, the model card and `looc-evaluate` read.

A new protocol declares a `Protocol` in its own module and adds one line here (CONTRIBUTING.md). Everything is
derived when asked, never copied at import, so the table is the single source (tests register a protocol in it).
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
    rotation_probe,
    sensitivity,
    space_selection,
)
from .protocol import Protocol

__all__ = ["REGISTRY", "default_protocols", "evaluate_protocols", "record_protocols"]

REGISTRY: dict[str, Protocol] = {
    protocol.name: protocol
    for protocol in (
        knn.PROTOCOL,
        linear_probe.PROTOCOL,
        few_shot.FEW_SHOT,
        few_shot.KSHOT_LINEAR_PROBE,
        rotation_probe.PROTOCOL,
        corruptions.PROTOCOL,
        head_contribution.PROTOCOL,
        sensitivity.PROTOCOL,
        space_selection.PROTOCOL,
        retrieval.PROTOCOL,
        finetuned.PROTOCOL,
    )
}
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
