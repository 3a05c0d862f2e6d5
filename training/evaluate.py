"""Evaluate a LooC model: any subset of protocols, per space and per concatenation, into one results JSON.

    python training/evaluate.py --model looc-hub/looc-r50-in100 --dataset looc-hub/digits --label_column label \
        --protocols knn linear_probe few_shot rotation_probe corruption sensitivity head_contribution \
        space_selection retrieval --spaces backbone invariant color --concat invariant+color

Reads top to bottom: load the model and the labelled train / test splits, extract (and cache) the features once,
run each protocol per space key, then write `<output_dir>/results.json` (schema: `looc_hub.eval.results`,
docs/evaluation.md) and the PNGs next to it (listed under "artifacts"). Every number is one `EvalRecord`;
"retrieval" makes only a PNG.
"""

from __future__ import annotations

import argparse
import re
from collections.abc import Sequence
from pathlib import Path

import torch

from looc_hub import LooCModel
from looc_hub.data import load_image_dataset
from looc_hub.eval.cache import FeatureCache
from looc_hub.eval.corruptions import CORRUPTIONS, SEVERITIES, corruption_accuracy
from looc_hub.eval.few_shot import few_shot_accuracy
from looc_hub.eval.head_contribution import head_contributions, plot_head_contributions
from looc_hub.eval.knn import knn_accuracy
from looc_hub.eval.linear_probe import PROBE_METHODS, fit_linear_probe
from looc_hub.eval.results import EvalRecord, EvalResults, ModelInfo, save_results
from looc_hub.eval.retrieval import plot_retrieval
from looc_hub.eval.rotation_probe import rotation_features
from looc_hub.eval.sensitivity import SENSITIVITY_AUGMENTATIONS, augmentation_sensitivity, plot_sensitivity
from looc_hub.eval.space_selection import select_space
from looc_hub.eval.spaces import concat_features, parse_space_key

FEATURE_PROTOCOLS = ("knn", "linear_probe", "few_shot", "rotation_probe")
PROTOCOL_CHOICES = (
    *FEATURE_PROTOCOLS,
    "corruption",
    "sensitivity",
    "head_contribution",
    "space_selection",
    "retrieval",
)


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Evaluate a LooC model; writes a results JSON.")
    parser.add_argument("--model", required=True, help="a save_pretrained directory or a Hub repo id")
    parser.add_argument("--revision", default=None)
    parser.add_argument("--dataset", nargs="+", required=True, help="HF dataset sources (load_image_dataset)")
    parser.add_argument("--train_split", default="train")
    parser.add_argument("--test_split", default="test")
    parser.add_argument("--image_column", default="image")
    parser.add_argument("--label_column", default="label")
    parser.add_argument("--protocols", nargs="+", default=list(FEATURE_PROTOCOLS), choices=PROTOCOL_CHOICES)
    parser.add_argument("--spaces", nargs="+", default=None, help="single spaces (default: all of the model's)")
    parser.add_argument("--concat", nargs="*", default=[], help="concatenations to evaluate too, e.g. invariant+color")
    parser.add_argument("--output_dir", required=True)
    parser.add_argument("--cache_dir", default=None, help="feature cache (default: <looc-hub cache>/features)")
    parser.add_argument("--batch_size", type=int, default=256)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--knn_k", type=int, default=200)
    parser.add_argument("--knn_temperature", type=float, default=0.07)
    parser.add_argument("--probe_method", default="lbfgs", choices=PROBE_METHODS)
    parser.add_argument("--probe_epochs", type=int, default=30)
    parser.add_argument("--shots", type=int, nargs="+", default=[5, 10])
    parser.add_argument("--ways", type=int, default=5)
    parser.add_argument("--episodes", type=int, default=600)
    parser.add_argument("--corruptions", nargs="+", default=list(CORRUPTIONS), choices=CORRUPTIONS)
    parser.add_argument("--severities", type=int, nargs="+", default=list(SEVERITIES), choices=SEVERITIES)
    parser.add_argument(
        "--augmentations", nargs="+", default=list(SENSITIVITY_AUGMENTATIONS), choices=SENSITIVITY_AUGMENTATIONS
    )
    parser.add_argument("--head_spaces", nargs="+", default=None, help="head contribution (default: the model's heads)")
    parser.add_argument("--retrieval_queries", type=int, default=4)
    parser.add_argument("--retrieval_k", type=int, default=8)
    parser.add_argument("--seed", type=int, default=0)
    return parser.parse_args(argv)


def main(args: argparse.Namespace) -> EvalResults:
    model = LooCModel.from_pretrained(args.model, revision=args.revision).eval()
    spaces = args.spaces or list(model.spaces)
    keys = [*spaces, *args.concat]
    head_spaces = args.head_spaces or list(model.head_names)
    extra = head_spaces if "head_contribution" in args.protocols else []
    needed = list(dict.fromkeys(name for key in [*keys, *extra] for name in parse_space_key(key)))
    model.embedding_dim(needed)  # unknown space names fail here, before any extraction
    cache = FeatureCache(args.cache_dir)
    output_dir = Path(args.output_dir)
    results = EvalResults(ModelInfo.from_model(model, args.model, args.revision))

    def artifact(path: Path) -> None:
        results.artifacts[path.stem] = path.relative_to(output_dir).as_posix()

    for source in args.dataset:
        columns = {"image_column": args.image_column, "label_column": args.label_column}
        train = load_image_dataset(source, split=args.train_split, **columns)
        test = load_image_dataset(source, split=args.test_split, **columns)
        extract = {"spaces": needed, "batch_size": args.batch_size, "device": args.device}
        train_features, train_labels = cache.features(
            model, train, dataset_name=source, split=args.train_split, **extract
        )
        test_features, test_labels = cache.features(model, test, dataset_name=source, split=args.test_split, **extract)

        def record(protocol: str, key: str, metric: str, value: float, source: str = source, **extra: object) -> None:
            ci95 = extra.pop("ci95", None)
            results.results.append(EvalRecord(protocol, source, args.test_split, key, metric, value, extra, ci95))

        for key in keys:
            if "knn" in args.protocols:
                train_x, test_x = (
                    concat_features(f, key, normalize_parts=True) for f in (train_features, test_features)
                )
                knn = knn_accuracy(
                    train_x, train_labels, test_x, test_labels, k=args.knn_k, temperature=args.knn_temperature
                )
                for metric, value in knn.items():
                    record("knn", key, metric, value, k=args.knn_k, temperature=args.knn_temperature)
            train_x, test_x = concat_features(train_features, key), concat_features(test_features, key)
            if "linear_probe" in args.protocols:
                probe = fit_linear_probe(train_x, train_labels, method=args.probe_method, epochs=args.probe_epochs)
                for metric, value in probe.accuracy(test_x, test_labels).items():
                    record("linear_probe", key, metric, value, method=args.probe_method)
            if "few_shot" in args.protocols:
                for shots in args.shots:
                    few = few_shot_accuracy(test_x, test_labels, ways=args.ways, shots=shots, episodes=args.episodes)
                    record(
                        "few_shot",
                        key,
                        "accuracy",
                        few.accuracy,
                        ci95=few.ci95,
                        ways=args.ways,
                        shots=shots,
                        episodes=args.episodes,
                    )

        if "rotation_probe" in args.protocols:
            rotated = {"spaces": needed, "batch_size": args.batch_size, "device": args.device}
            train_rot, train_turns = rotation_features(model, train, **rotated)
            test_rot, test_turns = rotation_features(model, test, **rotated)
            for key in keys:
                probe = fit_linear_probe(concat_features(train_rot, key), train_turns, method=args.probe_method)
                accuracy = probe.accuracy(concat_features(test_rot, key), test_turns)["top1"]
                record("rotation_probe", key, "top1", accuracy, method=args.probe_method, ways=4)

        if "corruption" in args.protocols:
            probes = {
                key: fit_linear_probe(
                    concat_features(train_features, key),
                    train_labels,
                    method=args.probe_method,
                    epochs=args.probe_epochs,
                )
                for key in keys
            }
            corrupted = corruption_accuracy(
                model,
                test,
                probes,
                corruptions=args.corruptions,
                severities=args.severities,
                seed=args.seed,
                batch_size=args.batch_size,
                device=args.device,
            )
            for key, outcome in corrupted.items():
                results.results += outcome.records(key, source, args.test_split, {"method": args.probe_method})

        prefix = _file_prefix(source, len(args.dataset))
        if "sensitivity" in args.protocols:
            matrix = augmentation_sensitivity(
                model,
                test,
                keys=keys,
                augmentations=args.augmentations,
                seed=args.seed,
                batch_size=args.batch_size,
                device=args.device,
            )
            results.results += matrix.records(source, args.test_split, args.seed)
            artifact(plot_sensitivity(matrix, output_dir / f"{prefix}sensitivity.png"))

        if "head_contribution" in args.protocols:
            heads = head_contributions(
                train_features, train_labels, test_features, test_labels, spaces=head_spaces, method=args.probe_method
            )
            results.results += heads.records(source, args.test_split, {"method": args.probe_method})
            artifact(plot_head_contributions(heads, output_dir / f"{prefix}head_contribution.png"))

        if "space_selection" in args.protocols:
            ranking = select_space(train_features, train_labels, keys=keys, seed=args.seed)
            results.results += ranking.records(source, args.train_split, {"method": "lbfgs", "seed": args.seed})
            print(f"{source}: recommended feature {ranking.recommended!r}")

        if "retrieval" in args.protocols:
            grid = plot_retrieval(
                train,
                train_features,
                test,
                test_features,
                output_dir / f"{prefix}retrieval.png",
                keys=keys,
                num_queries=min(args.retrieval_queries, len(test)),
                k=min(args.retrieval_k, len(train)),
            )
            artifact(grid)

    save_results(results, output_dir / "results.json")
    print(f"{len(results.results)} results written to {output_dir / 'results.json'}")
    return results


def _file_prefix(source: str, num_datasets: int) -> str:
    """ "" for one dataset; otherwise a file-name-safe form of the source, so PNGs of several datasets coexist."""
    return "" if num_datasets == 1 else re.sub(r"[^A-Za-z0-9._-]+", "_", source).strip("_") + "_"


if __name__ == "__main__":
    main(parse_args())
