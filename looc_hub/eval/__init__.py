"""Evaluation of LooC embeddings: feature extraction over a dataset and the protocols built on it.

Besides the pieces every protocol shares (features, their cache, records, the results file), this package exports
each protocol module's public names, read from the protocol table (`protocols.MODULES`), so that a new protocol
needs no line here. The protocol declarations themselves stay in the table (`protocols.REGISTRY`).
"""

from typing import Any

from ..spaces import concat_features, space_key
from .feature_cache import FeatureCache
from .features import extract_features
from .protocol import Protocol
from .protocols import MODULES
from .record import EvalRecord
from .results import EvalResults, ModelInfo, load_results, results_table, save_results, validate_results


def _protocol_exports() -> dict[str, Any]:
    """Every protocol module's `__all__`, but its declarations (`PROTOCOLS` and the `Protocol`s in it)."""
    exports = {}
    for module in MODULES:
        for name in module.__all__:
            value = getattr(module, name)
            if name != "PROTOCOLS" and not isinstance(value, Protocol):
                exports[name] = value
    return exports


__all__ = [
    "EvalRecord",
    "EvalResults",
    "FeatureCache",
    "ModelInfo",
    "concat_features",
    "extract_features",
    "load_results",
    "results_table",
    "save_results",
    "space_key",
    "validate_results",
]
_PROTOCOL_EXPORTS = _protocol_exports()
globals().update(_PROTOCOL_EXPORTS)
__all__ += sorted(_PROTOCOL_EXPORTS)
