"""`EvalConfig`: one `looc-evaluate` run, typed as `PretrainConfig` and `FinetuneConfig` are (its flags build it).

The settings every protocol shares live here; a protocol's own settings are a small dataclass declared beside it
(`Protocol.options`, its fields built with `option`), kept in `EvalConfig.protocol_options` and read back typed
with `EvalConfig.options(KnnOptions)`. Library code takes this object, never the parser's namespace, so the flags
can be parsed by any front end (the command, a test, a script) and mean the same.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

import torch

from ..spaces import PIXELS

__all__ = ["PROBE_METHODS", "EvalConfig", "check_choices", "option"]

Options = TypeVar("Options")

PROBE_METHODS = ("lbfgs", "sgd")
"""How linear probes are fitted: full-batch L-BFGS on the standardised features (ours) or SGD epochs."""


def option(default: Any = dataclasses.MISSING, *, help: str, choices: Sequence[Any] | None = None) -> Any:
    """A dataclass field that is also a flag: its default (none: required), its `--help` text and (if fixed) its
    valid values. A list default is copied for every instance (a dataclass field may not share a mutable one)."""
    metadata = {"help": help, "choices": tuple(choices) if choices is not None else None}
    if isinstance(default, list):
        return field(default_factory=lambda: list(default), metadata=metadata)
    return field(default=default, metadata=metadata)


@dataclass
class EvalConfig:
    """An evaluation: the model, the labelled datasets, which protocols, and how features are extracted.

    `protocols` None means the registry's default ones (`looc_hub.eval.protocols.default_protocols`); `spaces`
    None all of the model's. Probes: `probe_method`, `probe_epochs`, and a fixed `probe_weight_decay` (None: chosen
    on a validation split of the train split). `seed` seeds every sampled protocol.
    """

    model: str = option(help="a save_pretrained directory or a Hub repo id")
    dataset: list[str] = option(help="dataset source(s), each evaluated in turn (load_image_dataset)")
    output_dir: str = option(help="where results.json and the PNGs are written")
    revision: str | None = option(None, help="Hub revision of --model (default: main)")
    train_split: str = option("train", help="split the probes and the kNN bank learn from")
    test_split: str = option("test", help="split the results are measured on")
    max_train_rows: int | None = option(None, help="a seeded random subset of the train split (default: all)")
    max_test_rows: int | None = option(None, help="a seeded random subset of the test split (default: all)")
    image_column: str = option("image", help="column holding the images")
    label_column: str = option("label", help="column holding the class labels")
    protocols: list[str] | None = option(None, help="what to measure (docs/evaluation.md)")
    spaces: list[str] | None = option(
        None, help=f"single spaces (default: all of the model's); {PIXELS!r} adds the raw-pixel reference row"
    )
    concat: list[str] = option([], help="concatenations to evaluate too, e.g. invariant+color (default: none)")
    cache_dir: str | None = option(None, help="feature cache (default: <looc-hub cache>/features)")
    batch_size: int = option(256, help="images per forward pass")
    device: str | None = option(None, help="torch device of the model (default: cuda when available, else cpu)")
    probe_method: str = option("lbfgs", help="how the linear probes are fitted", choices=PROBE_METHODS)
    probe_epochs: int = option(30, help="sgd probe epochs")
    probe_weight_decay: float | None = option(
        None, help="fixed L2 penalty of every linear probe (default: chosen on a validation split of the train split)"
    )
    seed: int = option(0, help="seed of every sampled protocol (episodes, draws, probes)")
    protocol_options: dict[str, Any] = field(default_factory=dict)
    """Each protocol's own settings by protocol name: an instance of its `Protocol.options` dataclass."""

    def __post_init__(self) -> None:
        if not self.dataset:
            raise ValueError("--dataset needs at least one dataset source")
        for rows in (self.max_train_rows, self.max_test_rows):
            if rows is not None and rows < 1:
                raise ValueError(f"--max_train_rows / --max_test_rows must be >= 1, got {rows}")
        if self.batch_size < 1:
            raise ValueError(f"--batch_size must be >= 1, got {self.batch_size}")

        for settings in (self, *self.protocol_options.values()):
            check_choices(settings)
        if self.device is None:
            self.device = "cuda" if torch.cuda.is_available() else "cpu"

    def options(self, kind: type[Options]) -> Options:
        """A protocol's settings, typed: the given ones, else its defaults."""
        found = [value for value in self.protocol_options.values() if isinstance(value, kind)]
        return found[0] if found else kind()

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def check_choices(settings: Any) -> None:
    """Every value (or list element) of a field declared with `choices` is one of them."""
    for item in dataclasses.fields(settings):
        choices = item.metadata.get("choices")
        value = getattr(settings, item.name)
        for element in value if isinstance(value, list) else [value]:
            if choices is not None and element not in choices:
                raise ValueError(f"Unknown {item.name} {element!r}; valid choices: {list(choices)}")
