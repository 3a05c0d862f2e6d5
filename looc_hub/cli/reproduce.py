"""Check a zoo entry against its card in one command (`looc-reproduce`): every recorded number, pass or outside.

    looc-reproduce looc_resnet10t.openmoji32                       # train it from its recipe, evaluate, compare
    looc-reproduce looc_resnet10t.openmoji32 --model path/to/model # a download or your own run: evaluate, compare
    looc-reproduce looc_resnet10t.openmoji32 --measured results.json   # compare an evaluation already run

The card's numbers are the entry's results file (`model_cards/results/<name>.json` in a checkout, the numbers its
card shows; a downloaded model folder holds them as `results.json`: pass `--results`). Without `--model` the entry
is pretrained from its shipped recipe into `--output_dir` with the reproduction grid's layout (resumable, and a
run that `scripts/reproduce.py` finished there is reused), then evaluated with the protocols that made the
recorded numbers (`looc_hub.reproduction.grid`), each command in its own process. Every recorded number is then
compared with the measured one: pass when it lies within the recorded 95% interval (numbers recorded without
one: within `--tolerance`). A model trained again (without `--model`, or `--retrained` for your own run) carries
training noise as well: where the card holds its recipe's number for 3 seeds or more (`<name>.seed<k>.json`
beside the results file), it passes within the 95% prediction interval of another seed around their mean
(`looc_hub.reproduction.check`). Prints a table; exits 1 when any number is outside or missing.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from looc_hub import LooCModel, get_zoo_entry
from looc_hub._flags import CommandParser, add_flag, command_parser
from looc_hub.eval.results import EvalResults, load_results, load_seed_results, save_results
from looc_hub.hub.zoo import ZooEntry
from looc_hub.reproduction.check import MIN_SEEDS, SENSITIVITY_TOLERANCE, compare_records, comparison_table
from looc_hub.reproduction.grid import GridDataset, grid_model
from looc_hub.reproduction.runs import Run, execute, merged_results

_MODEL_FIELDS = ("variant", "backbone", "image_size", "augmentations", "invariant_augmentations")
"""What makes a model folder the entry's model (training settings such as the queue may differ in your run)."""


def build_parser() -> CommandParser:
    parser = command_parser("looc-reproduce", __doc__)
    parser.add_argument("name", help="a zoo entry of the CPU reproduction grid, e.g. looc_resnet10t.openmoji32")
    given = parser.add_mutually_exclusive_group()
    given.add_argument("--model", type=Path, help="evaluate this saved model folder instead of training the entry")
    given.add_argument("--measured", type=Path, help="compare this results file instead of evaluating")
    parser.add_argument(
        "--results", type=Path, help="the card's numbers (default: model_cards/results/<name>.json under the cwd)"
    )
    add_flag(
        parser,
        "retrained",
        bool,
        "--model / --measured is a model trained again (your own run), not the card's weights: judged with the "
        "recipe's training noise where the card has its seeds (always so without --model)",
        default=False,
    )
    parser.add_argument("--output_dir", type=Path, default=Path("outputs/reproduction"), help="where training runs")
    parser.add_argument("--seed", type=int, default=0, help="pretraining and evaluation seed (the zoo's: 0)")
    parser.add_argument("--tolerance", type=float, default=SENSITIVITY_TOLERANCE, help="for numbers without interval")
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1, help="threads of each command")
    parser.add_argument("--save_results", type=Path, help="also write the measured numbers to this results file")
    parser.add_argument("--max_steps", type=int, help="a smoke run of the pipeline: not the recipe's training")
    parser.add_argument("--max_train_rows", type=int, help="a smoke run: evaluate on a subset (not the card's)")
    parser.add_argument("--max_test_rows", type=int, help="a smoke run: test on a subset (not the card's)")
    return parser


def check_model_folder(entry: ZooEntry, folder: Path) -> None:
    """Refuse a folder that is not a LooC model, or one whose model differs from the entry's (field by field)."""
    if not (folder / "config.json").is_file():
        raise ValueError(f"--model {folder}: no config.json there; pass a saved LooC model folder")
    config = LooCModel.from_pretrained(folder).config
    differ = [
        f"{name}: {getattr(config, name)!r}, the entry's {getattr(entry.config, name)!r}"
        for name in _MODEL_FIELDS
        if getattr(config, name) != getattr(entry.config, name)
    ]
    if differ:
        raise ValueError(f"--model {folder} is not a {entry.name} model: " + "; ".join(differ))


def measure(entry: ZooEntry, args: argparse.Namespace) -> EvalResults:
    """Train (unless `--model`) and evaluate the entry with its grid's protocols; the merged results."""
    dataset, method = grid_model(entry.name)
    rows = {"max_train_rows": args.max_train_rows, "max_test_rows": args.max_test_rows}
    if any(value is not None for value in rows.values()):
        subset = {name: value for name, value in rows.items() if value is not None}
        dataset = GridDataset(dataset.tag, dataset.label, tuple(replace(e, **subset) for e in dataset.evaluations))
    if args.model is None:
        run = Run(dataset, method, args.seed, args.output_dir, args.max_steps)
        print(execute(run, args.threads), file=sys.stderr)
        return merged_results(run, entry.name)
    with tempfile.TemporaryDirectory(prefix="looc-reproduce-") as scratch:  # a given folder: evaluated afresh
        run = Run(dataset, method, args.seed, Path(scratch), model=args.model.resolve())
        print(execute(run, args.threads), file=sys.stderr)
        return merged_results(run, str(args.model))


def main(argv: Sequence[str] | None = None) -> None:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        entry = get_zoo_entry(args.name)
        grid_model(entry.name)
        recorded_path = args.results or Path("model_cards") / "results" / f"{entry.name}.json"
        if not recorded_path.is_file():
            raise ValueError(
                f"no recorded results at {recorded_path}: run from a looc-hub checkout, or pass --results (a "
                "downloaded model folder holds its card's numbers in results.json)"
            )
        recorded = load_results(recorded_path)
        if args.model is not None:
            check_model_folder(entry, args.model)
        measured = load_results(args.measured) if args.measured is not None else measure(entry, args)
    except ValueError as error:
        parser.error(str(error))
    if args.save_results is not None:
        save_results(measured, args.save_results)
    retrained = args.retrained or (args.model is None and args.measured is None)
    seeds = [other.results for other in load_seed_results(recorded_path)] if retrained else []
    comparisons = compare_records(recorded.results, measured.results, tolerance=args.tolerance, seeds=seeds)
    print(f"{entry.name}: measured {measured.model.source} against {recorded_path}")
    if retrained:
        print(
            f"a retrained model: the card holds {1 + len(seeds)} seed(s) of its recipe ({MIN_SEEDS} or more: "
            "judged by their spread)"
        )
    print(comparison_table(comparisons))
    failed = [comparison for comparison in comparisons if not comparison.passed]
    print(f"{len(comparisons) - len(failed)} of {len(comparisons)} recorded numbers reproduced within their range")
    if failed:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
