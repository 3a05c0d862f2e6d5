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

import argparse
from collections.abc import Sequence
from pathlib import Path

import torch
from accelerate import PartialState
from accelerate.logging import get_logger
from datasets import Dataset

from looc_hub import LooCModel
from looc_hub.data import load_image_dataset, random_subset
from looc_hub.eval.feature_cache import FeatureCache
from looc_hub.eval.linear_probe import PROBE_METHODS
from looc_hub.eval.protocol import EvalContext, Protocol, protocol_problems
from looc_hub.eval.protocols import REGISTRY, default_protocols, evaluate_protocols
from looc_hub.eval.results import EvalResults, ModelInfo, load_results, results_table, save_results
from looc_hub.spaces import PIXELS, model_spaces, parse_space_key

from ._args import HelpFormatter, add_log_level_flag
from .console import setup_logging

logger = get_logger(__name__)


class ProtocolFailure(RuntimeError):
    """One or more protocols failed at run time; the results of the others were written first."""


def build_parser() -> argparse.ArgumentParser:
    """The shared flags, then each protocol's own in a group named after it (`Protocol.add_arguments`)."""
    parser = argparse.ArgumentParser(prog="looc-evaluate", description=__doc__, formatter_class=HelpFormatter)
    parser.add_argument("--model", required=True, help="a save_pretrained directory or a Hub repo id")
    parser.add_argument("--revision", default=None, help="Hub revision of --model (default: main)")
    parser.add_argument(
        "--dataset", nargs="+", required=True, help="dataset source(s), each evaluated in turn (load_image_dataset)"
    )
    parser.add_argument("--train_split", default="train", help="split the probes and the kNN bank learn from")
    parser.add_argument("--test_split", default="test", help="split the results are measured on")
    parser.add_argument(
        "--max_train_rows", type=int, default=None, help="a seeded random subset of the train split (default: all)"
    )
    parser.add_argument(
        "--max_test_rows", type=int, default=None, help="a seeded random subset of the test split (default: all)"
    )
    parser.add_argument("--image_column", default="image", help="column holding the images")
    parser.add_argument("--label_column", default="label", help="column holding the class labels")
    parser.add_argument(
        "--protocols",
        nargs="+",
        default=default_protocols(),
        choices=[protocol.name for protocol in evaluate_protocols()],
        help="what to measure (docs/evaluation.md)",
    )
    parser.add_argument(
        "--spaces",
        nargs="+",
        default=None,
        help=f"single spaces (default: all of the model's); {PIXELS!r} adds the raw-pixel reference row",
    )
    parser.add_argument(
        "--concat", nargs="*", default=[], help="concatenations to evaluate too, e.g. invariant+color (default: none)"
    )
    parser.add_argument("--output_dir", required=True, help="where results.json and the PNGs are written")
    parser.add_argument("--cache_dir", default=None, help="feature cache (default: <looc-hub cache>/features)")
    parser.add_argument("--batch_size", type=int, default=256, help="images per forward pass")
    parser.add_argument(
        "--device", default="cuda" if torch.cuda.is_available() else "cpu", help="torch device of the model"
    )
    parser.add_argument(
        "--probe_method", default="lbfgs", choices=PROBE_METHODS, help="how the linear probes are fitted"
    )
    parser.add_argument("--probe_epochs", type=int, default=30, help="sgd probe epochs")
    parser.add_argument(
        "--probe_weight_decay",
        type=float,
        default=None,
        help="fixed L2 penalty of every linear probe (default: chosen on a validation split of the train split)",
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of every sampled protocol (episodes, draws, probes)")
    for protocol in evaluate_protocols():
        if protocol.add_arguments is not None:
            protocol.add_arguments(parser.add_argument_group(protocol.name))
    add_log_level_flag(parser)
    return parser


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    return build_parser().parse_args(argv)


def main(argv: Sequence[str] | None = None) -> None:
    """`looc-evaluate`: parse the flags, then evaluate."""
    args = parse_args(argv)
    setup_logging(args.log_level)
    evaluate(args)


def evaluate(args: argparse.Namespace) -> EvalResults:
    """Run the requested protocols; write results.json (and PNGs) and print the table of what was measured."""
    PartialState()  # Accelerate's logger needs its process state (one process here)
    check_results_target(Path(args.output_dir) / "results.json")
    model = LooCModel.from_pretrained(args.model, revision=args.revision).eval()
    protocols = [REGISTRY[name] for name in dict.fromkeys(args.protocols)]
    results = EvalResults(ModelInfo.from_model(model, args.model, args.revision))
    contexts = load_checked_contexts(args, model, protocols, results.artifacts)
    output_dir = Path(args.output_dir)
    cache = FeatureCache(args.cache_dir)
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


def resolve_spaces(
    args: argparse.Namespace, model: LooCModel, protocols: Sequence[Protocol]
) -> tuple[list[str], list[str]]:
    """(space keys to report, spaces to extract); unknown names fail here, before any extraction."""
    keys = [*(args.spaces or list(model.spaces)), *args.concat]
    extra = [space for protocol in protocols if protocol.extra_spaces for space in protocol.extra_spaces(args, model)]
    needed = list(dict.fromkeys(name for key in [*keys, *extra] for name in parse_space_key(key)))
    model.embedding_dim(model_spaces(needed))
    return keys, needed


def load_checked_contexts(
    args: argparse.Namespace, model: LooCModel, protocols: Sequence[Protocol], artifacts: dict[str, str]
) -> list[EvalContext]:
    """One context per dataset, loaded (cheap) and checked against every protocol before any feature is extracted."""
    keys, needed = resolve_spaces(args, model, protocols)
    contexts = []
    problems: list[str] = []
    columns = {"image_column": args.image_column, "label_column": args.label_column}
    for source in args.dataset:
        train = subset(load_image_dataset(source, split=args.train_split, **columns), args.max_train_rows, args.seed)
        test = subset(load_image_dataset(source, split=args.test_split, **columns), args.max_test_rows, args.seed)
        labels = [torch.tensor(split["label"], dtype=torch.long) for split in (train, test)]
        context = EvalContext(args, model, source, keys, needed, train, test, *labels, Path(args.output_dir), artifacts)
        problems += protocol_problems(protocols, context)
        contexts.append(context)
    if problems:
        raise ValueError("cannot run the requested protocols:\n  " + "\n  ".join(problems))
    return contexts


def subset(split: Dataset, rows: int | None, seed: int) -> Dataset:
    """`random_subset` for `--max_train_rows` / `--max_test_rows` (None: the whole split)."""
    if rows is None:
        return split
    if rows < 1:
        raise ValueError(f"--max_train_rows / --max_test_rows must be >= 1, got {rows}")
    return random_subset(split, rows, seed)


def run_protocols(
    context: EvalContext, protocols: Sequence[Protocol], cache: FeatureCache, results: EvalResults
) -> list[tuple[str, str, Exception]]:
    """Extract (or read) one dataset's features, then run each protocol; returns the failures instead of raising.

    A failure does not stop the other protocols or datasets, nor loses the records it yielded before it;
    `evaluate` raises the failures once the results are written.
    """
    args = context.args
    extract = {"spaces": context.needed, "batch_size": args.batch_size, "device": args.device}
    try:
        context.train_features, context.train_labels = cache.features(
            context.model, context.train, dataset_name=context.source, split=args.train_split, **extract
        )
        context.test_features, context.test_labels = cache.features(
            context.model, context.test, dataset_name=context.source, split=args.test_split, **extract
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
