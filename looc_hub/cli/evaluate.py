"""Evaluate a LooC model (`looc-evaluate`): any subset of protocols, per space and concatenation, into one JSON.

    looc-evaluate --model looc-hub/looc_resnet50.in100 --dataset looc-hub/digits --label_column label \
        --protocols knn linear_probe few_shot kshot_linear_probe rotation_probe corruption sensitivity \
        head_contribution space_selection retrieval --spaces backbone invariant color --concat invariant+color

Each protocol is declared in its own module (`looc_hub.eval.protocol.Protocol`: its flags, checks and runner) and
listed in `looc_hub.eval.protocols`. Reads top to bottom: the shared flags and each protocol's own; load the model
and the labelled train / test splits, check every requested protocol against the labels (class counts, shots,
ways) before any feature is extracted, extract (and cache) the features once, run each protocol, then write
`<output_dir>/results.json` (schema: `looc_hub.eval.results`, docs/evaluation.md) and the PNGs next to it
(listed under "artifacts"), and print a table of what was measured.
Every number is one `EvalRecord`; "retrieval" makes only a PNG. A protocol that fails does not stop the others,
and never loses their results: the file is written with whatever finished, then the failures are raised.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
from accelerate import PartialState
from accelerate.logging import get_logger
from datasets import Dataset

from looc_hub import LooCModel
from looc_hub._flags import CommandParser, add_dataclass_flags, command_parser, show_value
from looc_hub.data import load_image_dataset, random_subset
from looc_hub.eval.config import EvalConfig
from looc_hub.eval.feature_cache import FeatureCache
from looc_hub.eval.protocol import EvalContext, Protocol, protocol_problems
from looc_hub.eval.protocols import default_protocols, evaluate_protocols
from looc_hub.eval.results import EvalResults, ModelInfo, load_results, results_table, save_results
from looc_hub.spaces import model_spaces, parse_space_key

from ._args import add_log_level_flag
from .console import setup_logging

logger = get_logger(__name__)


class ProtocolFailure(RuntimeError):
    """One or more protocols failed at run time; the results of the others were written first."""


def build_parser() -> CommandParser:
    """The shared flags (`EvalConfig`'s fields), then each protocol's own (`Protocol.options`) in a group named
    after it."""
    parser = command_parser("looc-evaluate", __doc__)
    runnable = [protocol.name for protocol in evaluate_protocols()]
    protocols_help = f"what to measure (docs/evaluation.md) (default: {show_value(default_protocols())})"
    add_dataclass_flags(
        parser, EvalConfig, {"protocols": protocols_help}, {"protocols": runnable}, skip=("protocol_options",)
    )
    for protocol in evaluate_protocols():
        if protocol.options is not None:
            add_dataclass_flags(parser.add_argument_group(protocol.name), protocol.options)
    add_log_level_flag(parser)
    return parser


def parse_args(argv: Sequence[str] | None = None) -> EvalConfig:
    """The run's `EvalConfig` from the command line (`--log_level` aside)."""
    values = vars(build_parser().parse_args(argv))
    values.pop("log_level")
    return eval_config_from(values)


def eval_config_from(values: dict[str, Any]) -> EvalConfig:
    """The parsed flags as an `EvalConfig`: each protocol's own flags go to its options."""
    options = {}
    for protocol in evaluate_protocols():
        if protocol.options is not None:
            names = [item.name for item in dataclasses.fields(protocol.options) if item.name in values]
            options[protocol.name] = protocol.options(**{name: values.pop(name) for name in names})
    config = EvalConfig(**values, protocol_options=options)
    requested_protocols(config)
    return config


def requested_protocols(config: EvalConfig) -> list[Protocol]:
    """The protocols to run, each once, in the order asked (none asked: the default ones); an unknown name is
    refused naming the valid ones."""
    runnable = {protocol.name: protocol for protocol in evaluate_protocols()}
    names = list(dict.fromkeys(config.protocols or default_protocols()))
    unknown = [name for name in names if name not in runnable]
    if unknown:
        raise ValueError(f"Unknown protocols {unknown}; valid choices: {list(runnable)}")
    return [runnable[name] for name in names]


def main(argv: Sequence[str] | None = None) -> None:
    """`looc-evaluate`: parse the flags, then evaluate."""
    parser = build_parser()
    values = vars(parser.parse_args(argv))
    setup_logging(values.pop("log_level"))
    try:
        config = eval_config_from(values)
    except ValueError as error:  # a value the config refuses: the usage line and the reason
        parser.error(str(error))
    evaluate(config)


def evaluate(config: EvalConfig) -> EvalResults:
    """Run the requested protocols; write results.json (and PNGs) and print the table of what was measured."""
    PartialState()  # Accelerate's logger needs its process state (one process here)
    output_dir = Path(config.output_dir)
    check_results_target(output_dir / "results.json")
    model = LooCModel.from_pretrained(config.model, revision=config.revision).eval()
    protocols = requested_protocols(config)
    results = EvalResults(ModelInfo.from_model(model, config.model, config.revision))
    contexts = load_checked_contexts(config, model, protocols, results.artifacts)
    cache = FeatureCache(config.cache_dir)
    failures: list[tuple[str, str, Exception]] = []
    try:
        for context in contexts:
            failures += run_protocols(context, protocols, cache, results)
            context.train_features, context.test_features = {}, {}  # one dataset's features in memory at a time
    finally:  # whatever finished is written, even on an interrupt
        path = save_results(results, output_dir / "results.json")
        print(results_table(results.results))
        print(f"{len(results.results)} results written to {path}")
    if failures:
        listed = "; ".join(
            f"{source}: {protocol}: {type(error).__name__}: {error}" for source, protocol, error in failures
        )
        raise ProtocolFailure(
            f"{len(failures)} protocol run(s) failed (the others' results are in {path}): {listed}"
        ) from failures[0][2]
    return results


def check_results_target(path: Path) -> None:
    """Refuse, before any work, to replace a `results.json` that is not a looc-hub results file (issue 21): it is
    someone else's file, never overwritten silently. A previous looc-evaluate run's results are replaced."""
    if not (path.exists() or path.is_symlink()):
        return
    try:
        if path.is_symlink() or not path.is_file():
            raise ValueError("it is not a plain file")
        load_results(path)
    except (OSError, ValueError) as error:
        raise FileExistsError(
            f"{path} exists and is not a looc-hub results file ({str(error)[:300]}); looc-evaluate does not "
            "overwrite a file it did not write. Choose another --output_dir, or move the file"
        ) from None


def resolve_spaces(config: EvalConfig, model: LooCModel, protocols: Sequence[Protocol]) -> tuple[list[str], list[str]]:
    """(space keys to report, spaces to extract); unknown names fail here, before any extraction."""
    keys = [*(config.spaces or list(model.spaces)), *config.concat]
    extra = [space for protocol in protocols if protocol.extra_spaces for space in protocol.extra_spaces(config, model)]
    needed = list(dict.fromkeys(name for key in [*keys, *extra] for name in parse_space_key(key)))
    model.embedding_dim(model_spaces(needed))
    return keys, needed


def load_checked_contexts(
    config: EvalConfig, model: LooCModel, protocols: Sequence[Protocol], artifacts: dict[str, str]
) -> list[EvalContext]:
    """One context per dataset, loaded (cheap) and checked against every protocol before any feature is extracted."""
    keys, needed = resolve_spaces(config, model, protocols)
    contexts = []
    problems: list[str] = []
    columns = {"image_column": config.image_column, "label_column": config.label_column}
    output_dir = Path(config.output_dir)
    for source in config.dataset:
        train = subset(
            load_image_dataset(source, split=config.train_split, **columns), config.max_train_rows, config.seed
        )
        test = subset(load_image_dataset(source, split=config.test_split, **columns), config.max_test_rows, config.seed)
        labels = [torch.tensor(split["label"], dtype=torch.long) for split in (train, test)]
        context = EvalContext(config, model, source, keys, needed, train, test, *labels, output_dir, artifacts)
        problems += protocol_problems(protocols, context)
        contexts.append(context)
    if problems:
        raise ValueError("cannot run the requested protocols:\n  " + "\n  ".join(problems))
    return contexts


def subset(split: Dataset, rows: int | None, seed: int) -> Dataset:
    """`random_subset` for `--max_train_rows` / `--max_test_rows` (None: the whole split)."""
    return split if rows is None else random_subset(split, rows, seed)


def run_protocols(
    context: EvalContext, protocols: Sequence[Protocol], cache: FeatureCache, results: EvalResults
) -> list[tuple[str, str, Exception]]:
    """Extract (or read) one dataset's features, then run each protocol; returns the failures instead of raising.

    A failure does not stop the other protocols or datasets, nor loses the records it yielded before it;
    `evaluate` raises the failures once the results are written.
    """
    config = context.config
    extract = {"spaces": context.needed, "batch_size": config.batch_size, "device": config.device}
    try:
        context.train_features, context.train_labels = cache.features(
            context.model, context.train, dataset_name=context.source, split=config.train_split, **extract
        )
        context.test_features, context.test_labels = cache.features(
            context.model, context.test, dataset_name=context.source, split=config.test_split, **extract
        )
    except Exception as error:
        logger.error(f"{context.source}: feature extraction failed", exc_info=True)
        return [(context.source, "feature extraction", error)]
    failures = []
    for protocol in protocols:
        try:
            for record in protocol.run(context):
                results.results.append(record)
        except Exception as error:
            failures.append((context.source, protocol.name, error))
            logger.error(f"{context.source}: protocol {protocol.name!r} failed", exc_info=True)
    return failures


if __name__ == "__main__":
    main()
