"""Evaluate a LooC model (`looc-evaluate`): any subset of protocols, per space and concatenation, into one JSON.

    looc-evaluate --model looc-hub/looc_resnet50.in100 --dataset looc-hub/digits --label_column label \
        --protocols knn linear_probe few_shot kshot_linear_probe rotation_probe corruption sensitivity \
        head_contribution space_selection retrieval --spaces backbone invariant color --concat invariant+color

Reads top to bottom: load the model and the labelled train / test splits, check every requested protocol
against the labels (class counts, shots, ways) before any feature is extracted, extract (and cache) the features
once, run each protocol per space key, then write `<output_dir>/results.json` (schema: `looc_hub.eval.results`,
docs/evaluation.md) and the PNGs next to it (listed under "artifacts"), and print a table of what was measured.
Every number is one `EvalRecord`; "retrieval" makes only a PNG. A protocol that fails does not stop the others,
and never loses their results: the file is written with whatever finished, then the failures are raised.
"""

from __future__ import annotations

import argparse
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import torch
from accelerate import PartialState
from accelerate.logging import get_logger
from datasets import Dataset

from looc_hub import LooCModel
from looc_hub.data import load_image_dataset, random_subset
from looc_hub.eval.corruptions import CORRUPTIONS, SEVERITIES, corruption_accuracy
from looc_hub.eval.feature_cache import FeatureCache
from looc_hub.eval.few_shot import few_shot_accuracy, kshot_linear_probe, kshot_problem
from looc_hub.eval.head_contribution import head_contributions, plot_head_contributions
from looc_hub.eval.intervals import accuracy_ci95
from looc_hub.eval.knn import knn_accuracy
from looc_hub.eval.linear_probe import PROBE_METHODS, LinearProbe, fit_linear_probe
from looc_hub.eval.results import EvalRecord, EvalResults, ModelInfo, results_table, save_results
from looc_hub.eval.retrieval import plot_retrieval
from looc_hub.eval.rotation_probe import rotation_features
from looc_hub.eval.sensitivity import SENSITIVITY_AUGMENTATIONS, augmentation_sensitivity, plot_sensitivity
from looc_hub.eval.space_selection import select_space
from looc_hub.spaces import PIXELS, concat_features, model_spaces, parse_space_key

from ._args import HelpFormatter, add_log_level_flag
from ._console import setup_logging

logger = get_logger(__name__)

FEATURE_PROTOCOLS = ("knn", "linear_probe", "few_shot", "kshot_linear_probe", "rotation_probe")
PROTOCOL_CHOICES = (
    *FEATURE_PROTOCOLS,
    "corruption",
    "sensitivity",
    "head_contribution",
    "space_selection",
    "retrieval",
)
LABELLED_PROTOCOLS = ("knn", "linear_probe", "kshot_linear_probe", "corruption", "head_contribution", "space_selection")
"""Protocols that learn from the train split's labels: they need 2+ classes there."""


class ProtocolFailure(RuntimeError):
    """One or more protocols failed at run time; the results of the others were written first."""


def build_parser() -> argparse.ArgumentParser:
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
        default=list(FEATURE_PROTOCOLS),
        choices=PROTOCOL_CHOICES,
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
    parser.add_argument("--knn_k", type=int, default=200, help="knn: neighbours")
    parser.add_argument("--knn_temperature", type=float, default=0.07, help="knn: temperature of the weighted vote")
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
    parser.add_argument("--shots", type=int, nargs="+", default=[5, 10], help="few_shot (episodic) shots")
    parser.add_argument("--ways", type=int, default=5, help="few_shot (episodic) ways")
    parser.add_argument("--queries", type=int, default=15, help="few_shot (episodic) queries per class")
    parser.add_argument("--episodes", type=int, default=600, help="few_shot (episodic) episodes")
    parser.add_argument("--kshot", type=int, nargs="+", default=[5, 10], help="kshot_linear_probe: K per class")
    parser.add_argument("--kshot_draws", type=int, default=5, help="kshot_linear_probe: seeded draws of the K shots")
    parser.add_argument(
        "--corruptions", nargs="+", default=list(CORRUPTIONS), choices=CORRUPTIONS, help="corruption: which ones"
    )
    parser.add_argument(
        "--severities",
        type=int,
        nargs="+",
        default=list(SEVERITIES),
        choices=SEVERITIES,
        help="corruption: severity levels",
    )
    parser.add_argument(
        "--augmentations",
        nargs="+",
        default=list(SENSITIVITY_AUGMENTATIONS),
        choices=SENSITIVITY_AUGMENTATIONS,
        help="sensitivity: augmentations each space is measured against",
    )
    parser.add_argument("--head_spaces", nargs="+", default=None, help="head contribution (default: the model's heads)")
    parser.add_argument("--retrieval_queries", type=int, default=4, help="retrieval: query images in the grid")
    parser.add_argument("--retrieval_k", type=int, default=8, help="retrieval: neighbours shown per query")
    parser.add_argument("--seed", type=int, default=0, help="seed of every sampled protocol (episodes, draws, probes)")
    add_log_level_flag(parser)
    return parser


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    return build_parser().parse_args(argv)


@dataclass
class Run:
    """What the protocols of one dataset share: the splits, their features and where records go."""

    args: argparse.Namespace
    model: LooCModel
    source: str
    keys: list[str]
    needed: list[str]
    head_spaces: list[str]
    train: Dataset
    test: Dataset
    results: EvalResults
    output_dir: Path
    train_features: dict[str, torch.Tensor] = field(default_factory=dict)
    train_labels: torch.Tensor | None = None
    test_features: dict[str, torch.Tensor] = field(default_factory=dict)
    test_labels: torch.Tensor | None = None

    def record(self, protocol: str, key: str, metric: str, value: float, ci95: float | None = None, **params) -> None:
        self.results.results.append(
            EvalRecord(protocol, self.source, self.args.test_split, key, metric, value, params, ci95)
        )

    def artifact(self, path: Path) -> None:
        self.results.artifacts[path.stem] = path.relative_to(self.output_dir).as_posix()

    def file_prefix(self) -> str:
        """ "" for one dataset; else a file-name-safe form of the source, so PNGs of several datasets coexist."""
        if len(self.args.dataset) == 1:
            return ""
        return re.sub(r"[^A-Za-z0-9._-]+", "_", self.source).strip("_") + "_"

    def probe(self, features: torch.Tensor, labels: torch.Tensor) -> LinearProbe:
        return fit_linear_probe(
            features,
            labels,
            method=self.args.probe_method,
            epochs=self.args.probe_epochs,
            weight_decay=self.args.probe_weight_decay,
            seed=self.args.seed,
        )

    def probe_params(self, probe: LinearProbe) -> dict[str, object]:
        """The probe's settings for a record: method, the penalty it used and how it was chosen."""
        chosen = "fixed" if self.args.probe_weight_decay is not None else "validation split"
        return {"method": self.args.probe_method, "weight_decay": probe.weight_decay, "weight_decay_from": chosen}


def run_knn(run: Run) -> None:
    args = run.args
    for key in run.keys:
        train_x, test_x = (
            concat_features(f, key, normalize_parts=True) for f in (run.train_features, run.test_features)
        )
        knn = knn_accuracy(
            train_x, run.train_labels, test_x, run.test_labels, k=args.knn_k, temperature=args.knn_temperature
        )
        for metric, value in knn.items():
            ci95 = accuracy_ci95(value, len(run.test_labels))
            run.record("knn", key, metric, value, ci95, k=args.knn_k, temperature=args.knn_temperature)


def run_linear_probe(run: Run) -> None:
    for key in run.keys:
        probe = run.probe(concat_features(run.train_features, key), run.train_labels)
        for metric, value in probe.accuracy(concat_features(run.test_features, key), run.test_labels).items():
            ci95 = accuracy_ci95(value, len(run.test_labels))
            run.record("linear_probe", key, metric, value, ci95, **run.probe_params(probe))


def run_few_shot(run: Run) -> None:
    args = run.args
    for key in run.keys:
        for shots in args.shots:
            few = few_shot_accuracy(
                concat_features(run.test_features, key),
                run.test_labels,
                ways=args.ways,
                shots=shots,
                queries=args.queries,
                episodes=args.episodes,
                seed=args.seed,
            )
            setting = {"ways": args.ways, "shots": shots, "queries": args.queries, "episodes": args.episodes}
            run.record("few_shot", key, "accuracy", few.accuracy, few.ci95, **setting, method="episodic prototypes")


def run_kshot_linear_probe(run: Run) -> None:
    args = run.args
    for key in run.keys:
        for shots in args.kshot:
            result = kshot_linear_probe(
                concat_features(run.train_features, key),
                run.train_labels,
                concat_features(run.test_features, key),
                run.test_labels,
                shots=shots,
                draws=args.kshot_draws,
                seed=args.seed,
                weight_decay=args.probe_weight_decay,
            )
            chosen = "fixed" if args.probe_weight_decay is not None else "leave-one-shot-out"
            setting = {"shots": shots, "draws": args.kshot_draws, "method": "lbfgs", "weight_decay_from": chosen}
            run.record(
                "kshot_linear_probe",
                key,
                "top1",
                result.accuracy,
                result.ci95,
                **setting,
                weight_decays=list(result.weight_decays),
            )


def run_rotation_probe(run: Run) -> None:
    extract = {"spaces": run.needed, "batch_size": run.args.batch_size, "device": run.args.device}
    train_rot, train_turns = rotation_features(run.model, run.train, **extract)
    test_rot, test_turns = rotation_features(run.model, run.test, **extract)
    for key in run.keys:
        probe = run.probe(concat_features(train_rot, key), train_turns)
        accuracy = probe.accuracy(concat_features(test_rot, key), test_turns)["top1"]
        ci95 = accuracy_ci95(accuracy, len(run.test))  # per image: its four turns are not independent
        run.record("rotation_probe", key, "top1", accuracy, ci95, **run.probe_params(probe), ways=4)


def run_corruption(run: Run) -> None:
    args = run.args
    probes = {key: run.probe(concat_features(run.train_features, key), run.train_labels) for key in run.keys}
    corrupted = corruption_accuracy(
        run.model,
        run.test,
        probes,
        corruptions=args.corruptions,
        severities=args.severities,
        seed=args.seed,
        batch_size=args.batch_size,
        device=args.device,
    )
    for key, outcome in corrupted.items():
        params = run.probe_params(probes[key])
        run.results.results += outcome.records(key, run.source, args.test_split, params)


def run_sensitivity(run: Run) -> None:
    args = run.args
    matrix = augmentation_sensitivity(
        run.model,
        run.test,
        keys=run.keys,
        augmentations=args.augmentations,
        seed=args.seed,
        batch_size=args.batch_size,
        device=args.device,
    )
    run.results.results += matrix.records(run.source, args.test_split, args.seed)
    run.artifact(plot_sensitivity(matrix, run.output_dir / f"{run.file_prefix()}sensitivity.png"))


def run_head_contribution(run: Run) -> None:
    args = run.args
    heads = head_contributions(
        run.train_features,
        run.train_labels,
        run.test_features,
        run.test_labels,
        spaces=run.head_spaces,
        method=args.probe_method,
    )
    run.results.results += heads.records(run.source, args.test_split, {"method": args.probe_method})
    run.artifact(plot_head_contributions(heads, run.output_dir / f"{run.file_prefix()}head_contribution.png"))


def run_space_selection(run: Run) -> None:
    ranking = select_space(run.train_features, run.train_labels, keys=run.keys, seed=run.args.seed)
    run.results.results += ranking.records(run.source, run.args.train_split, {"method": "lbfgs", "seed": run.args.seed})
    logger.info(f"{run.source}: recommended feature {ranking.recommended!r}")


def run_retrieval(run: Run) -> None:
    grid = plot_retrieval(
        run.train,
        run.train_features,
        run.test,
        run.test_features,
        run.output_dir / f"{run.file_prefix()}retrieval.png",
        keys=run.keys,
        num_queries=min(run.args.retrieval_queries, len(run.test)),
        k=min(run.args.retrieval_k, len(run.train)),
    )
    run.artifact(grid)


RUNNERS: dict[str, Callable[[Run], None]] = {
    "knn": run_knn,
    "linear_probe": run_linear_probe,
    "few_shot": run_few_shot,
    "kshot_linear_probe": run_kshot_linear_probe,
    "rotation_probe": run_rotation_probe,
    "corruption": run_corruption,
    "sensitivity": run_sensitivity,
    "head_contribution": run_head_contribution,
    "space_selection": run_space_selection,
    "retrieval": run_retrieval,
}


def protocol_problems(
    args: argparse.Namespace, source: str, train_labels: torch.Tensor, test_labels: torch.Tensor, head_spaces: list[str]
) -> list[str]:
    """Every reason a requested protocol cannot run on these labels, as sentences naming protocol, value and fix."""
    protocols = list(dict.fromkeys(args.protocols))
    unlabelled = _unlabelled_problem(args, protocols, train_labels, test_labels)
    if unlabelled:
        return [f"{source}: {unlabelled}"]
    found = [
        *_class_count_problems(args, protocols, torch.bincount(train_labels)),
        *(
            (protocol, text)
            for protocol, check in _SETTING_CHECKS.items()
            if protocol in protocols
            for text in check(args, train_labels, test_labels, head_spaces)
        ),
    ]
    return [f"{source}: protocol {protocol!r}: {text}" for protocol, text in found]


def _unlabelled_problem(
    args: argparse.Namespace, protocols: list[str], train_labels: torch.Tensor, test_labels: torch.Tensor
) -> str | None:
    """Rows without a label (label < 0) in a split that a requested protocol reads the labels of."""
    users = [protocol for protocol in protocols if protocol not in ("sensitivity", "retrieval")]
    for name, labels in ((args.train_split, train_labels), (args.test_split, test_labels)):
        unlabelled = int((labels < 0).sum())
        if unlabelled and users:
            return (
                f"protocol(s) {users}: the {name!r} split has {unlabelled} unlabelled row(s) (label < 0); "
                "they need a label on every row (filter them out or pick another split)"
            )
    return None


def _class_count_problems(
    args: argparse.Namespace, protocols: list[str], train_counts: torch.Tensor
) -> list[tuple[str, str]]:
    """Protocols that learn from the train labels need 2+ classes, and probes that choose a penalty 2+ per class."""
    train_classes = int((train_counts > 0).sum())
    found = [
        (protocol, f"the {args.train_split!r} split has {train_classes} class(es); it needs at least 2")
        for protocol in protocols
        if protocol in LABELLED_PROTOCOLS and train_classes < 2
    ]
    sweeps = args.probe_weight_decay is None
    smallest = int(train_counts[train_counts > 0].min()) if train_classes else 0
    minimum_per_class = {  # the probe's validation split holds out 1+ image of every class; space selection nests two
        "linear_probe": 2 if sweeps else 1,
        "corruption": 2 if sweeps else 1,
        "head_contribution": 2,
        "space_selection": 3,
    }
    for protocol, need in minimum_per_class.items():
        if protocol in protocols and train_classes >= 2 and smallest < need:
            fix = " (or pass --probe_weight_decay)" if protocol in ("linear_probe", "corruption") else ""
            found.append(
                (
                    protocol,
                    f"the smallest class of the {args.train_split!r} split has {smallest} image(s); choosing a "
                    f"probe's penalty holds out a validation part of every class, so each class needs {need}+{fix}",
                )
            )
    return found


def _rotation_probe_problems(
    args: argparse.Namespace, train_labels: torch.Tensor, test_labels: torch.Tensor, head_spaces: list[str]
) -> list[str]:
    if len(train_labels) < 2 or len(test_labels) < 1:
        return [f"it needs 2+ train and 1+ test images, got {len(train_labels)} and {len(test_labels)}"]
    return []


def _knn_problems(
    args: argparse.Namespace, train_labels: torch.Tensor, test_labels: torch.Tensor, head_spaces: list[str]
) -> list[str]:
    found = []
    if args.knn_k < 1:
        found.append(f"--knn_k must be >= 1, got {args.knn_k}")
    if not args.knn_temperature > 0:
        found.append(f"--knn_temperature must be > 0, got {args.knn_temperature}")
    return found


def _few_shot_problems(
    args: argparse.Namespace, train_labels: torch.Tensor, test_labels: torch.Tensor, head_spaces: list[str]
) -> list[str]:
    found = []
    if args.ways < 2:
        found.append(f"--ways must be >= 2, got {args.ways}")
    for name in ("queries", "episodes"):
        if getattr(args, name) < 1:
            found.append(f"--{name} must be >= 1, got {getattr(args, name)}")
    test_counts = torch.bincount(test_labels)
    ranked = test_counts.sort(descending=True).values  # images per class, largest first
    for shots in args.shots:
        eligible = int((test_counts >= shots + args.queries).sum())
        if shots < 1:
            found.append(f"--shots must be >= 1, got {shots}")
        elif eligible < args.ways:
            largest = int(ranked[args.ways - 1]) - args.queries if len(ranked) >= args.ways else 0
            fix = f"--shots <= {largest} fit" if largest >= 1 else "use fewer --ways or --queries"
            found.append(
                f"--ways {args.ways} --shots {shots} --queries {args.queries} needs {args.ways} classes with "
                f"{shots + args.queries}+ images in the {args.test_split!r} split; {eligible} have that ({fix})"
            )
    return found


def _kshot_problems(
    args: argparse.Namespace, train_labels: torch.Tensor, test_labels: torch.Tensor, head_spaces: list[str]
) -> list[str]:
    found = []
    if args.kshot_draws < 1:
        found.append(f"--kshot_draws must be >= 1, got {args.kshot_draws}")
    num_classes = max(len(torch.bincount(train_labels)), len(torch.bincount(test_labels)))
    for shots in args.kshot:
        reason = kshot_problem(
            train_labels, shots, num_classes=num_classes, choose_penalty=args.probe_weight_decay is None
        )
        if reason is not None:
            found.append(f"--kshot {shots}: {reason}")
    return found


def _head_contribution_problems(
    args: argparse.Namespace, train_labels: torch.Tensor, test_labels: torch.Tensor, head_spaces: list[str]
) -> list[str]:
    if len(head_spaces) < 2:
        return [f"it compares 2+ spaces, got --head_spaces {head_spaces}"]
    return []


SettingCheck = Callable[[argparse.Namespace, torch.Tensor, torch.Tensor, list[str]], list[str]]
_SETTING_CHECKS: dict[str, SettingCheck] = {  # (args, train labels, test labels, head spaces) -> problems
    "rotation_probe": _rotation_probe_problems,
    "knn": _knn_problems,
    "few_shot": _few_shot_problems,
    "kshot_linear_probe": _kshot_problems,
    "head_contribution": _head_contribution_problems,
}
"""Per protocol: its flags and split sizes against what it needs, in the order problems are listed."""


def subset(split: Dataset, rows: int | None, seed: int) -> Dataset:
    """`random_subset` for `--max_train_rows` / `--max_test_rows` (None: the whole split)."""
    if rows is None:
        return split
    if rows < 1:
        raise ValueError(f"--max_train_rows / --max_test_rows must be >= 1, got {rows}")
    return random_subset(split, rows, seed)


def main(argv: Sequence[str] | None = None) -> None:
    """`looc-evaluate`: parse the flags, then evaluate."""
    args = parse_args(argv)
    setup_logging(args.log_level)
    evaluate(args)


def evaluate(args: argparse.Namespace) -> EvalResults:
    """Run the requested protocols; write results.json (and PNGs) and print the table of what was measured."""
    PartialState()  # Accelerate's logger needs its process state (one process here)
    model = LooCModel.from_pretrained(args.model, revision=args.revision).eval()
    keys, needed, head_spaces = resolve_spaces(args, model)
    splits = load_checked_splits(args, head_spaces)
    output_dir = Path(args.output_dir)
    results = EvalResults(ModelInfo.from_model(model, args.model, args.revision))
    cache = FeatureCache(args.cache_dir)
    failures: list[tuple[str, str, Exception]] = []
    try:
        for source, (train, test) in splits.items():
            run = Run(args, model, source, keys, needed, head_spaces, train, test, results, output_dir)
            failures += run_protocols(run, cache)
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


def resolve_spaces(args: argparse.Namespace, model: LooCModel) -> tuple[list[str], list[str], list[str]]:
    """(space keys to report, spaces to extract, heads to compare); unknown names fail here, before any extraction."""
    spaces = args.spaces or list(model.spaces)
    keys = [*spaces, *args.concat]
    head_spaces = args.head_spaces or list(model.head_names)
    extra = head_spaces if "head_contribution" in args.protocols else []
    needed = list(dict.fromkeys(name for key in [*keys, *extra] for name in parse_space_key(key)))
    model.embedding_dim(model_spaces(needed))
    return keys, needed, head_spaces


def load_checked_splits(args: argparse.Namespace, head_spaces: list[str]) -> dict[str, tuple[Dataset, Dataset]]:
    """{source: (train, test)}, loaded (cheap) and checked against every protocol before any feature is extracted."""
    splits = {}
    problems: list[str] = []
    columns = {"image_column": args.image_column, "label_column": args.label_column}
    for source in args.dataset:
        train = subset(load_image_dataset(source, split=args.train_split, **columns), args.max_train_rows, args.seed)
        test = subset(load_image_dataset(source, split=args.test_split, **columns), args.max_test_rows, args.seed)
        labels = [torch.tensor(split["label"], dtype=torch.long) for split in (train, test)]
        problems += protocol_problems(args, source, *labels, head_spaces)
        splits[source] = (train, test)
    if problems:
        raise ValueError("cannot run the requested protocols:\n  " + "\n  ".join(problems))
    return splits


def run_protocols(run: Run, cache: FeatureCache) -> list[tuple[str, str, Exception]]:
    """Extract (or read) one dataset's features, then run each protocol; returns the failures instead of raising.

    A failure does not stop the other protocols or datasets; `evaluate` raises them once the results are written.
    """
    args = run.args
    extract = {"spaces": run.needed, "batch_size": args.batch_size, "device": args.device}
    try:
        run.train_features, run.train_labels = cache.features(
            run.model, run.train, dataset_name=run.source, split=args.train_split, **extract
        )
        run.test_features, run.test_labels = cache.features(
            run.model, run.test, dataset_name=run.source, split=args.test_split, **extract
        )
    except Exception as error:
        logger.error(f"{run.source}: feature extraction failed", exc_info=True)
        return [(run.source, "feature extraction", error)]
    failures = []
    for protocol in dict.fromkeys(args.protocols):
        try:
            RUNNERS[protocol](run)
        except Exception as error:
            failures.append((run.source, protocol, error))
            logger.error(f"{run.source}: protocol {protocol!r} failed", exc_info=True)
    return failures


if __name__ == "__main__":
    main()
