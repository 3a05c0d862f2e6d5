"""Linear probe vs full fine-tuning, from a pretrained model and from a random init: docs/evaluation.md's table.

    looc-pretrain --config looc_r10t_openmoji32 --epochs 8 --output_dir outputs/openmoji-8ep
    python scripts/finetune_table.py outputs/openmoji-8ep/model --output_dir outputs/finetune-table

For each dataset (Fashion-MNIST: 2,000 training and 2,000 test images drawn with seed 123; digits: its whole
train and test splits) and each starting model (the given one, and `random_init_like` of it: the same
configuration, BatchNorm calibrated on the training images), `looc-finetune --mode full` runs with its defaults;
the linear probe is its epoch 0 (the head fitted on the frozen features, fitted again here). Both are measured
on the test split, which picks nothing: the fine-tuned number is the last epoch's (`last/`), never the best; how
far the encoder moved is `last/` against the starting weights. Each accuracy has a 95%
bootstrap interval over the test images, and the gain of fine-tuning over the probe its paired interval
(`looc_hub.eval.baselines.paired_bootstrap`). Writes `finetune_table.json` and `.md` to `benchmarks/results/`.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import torch
from datasets import Dataset, DatasetDict

from looc_hub import LooCModel
from looc_hub.cli import finetune
from looc_hub.data import load_image_dataset
from looc_hub.eval.baselines import paired_bootstrap, random_init_like
from looc_hub.finetune import (
    LooCClassifier,
    classification_loader,
    init_head_from_linear_probe,
    normalise,
    snapshot,
    weight_movement,
)

RESULTS = Path(__file__).resolve().parent.parent / "benchmarks" / "results"


def fashion_mnist() -> DatasetDict:
    train = load_image_dataset("looc-hub/fashion-mnist", split="train", label_column="label").shuffle(seed=123)
    test = load_image_dataset("looc-hub/fashion-mnist", split="test", label_column="label").shuffle(seed=123)
    return DatasetDict({"train": train.select(range(2000)), "test": test.select(range(2000))}).flatten_indices()


def digits() -> DatasetDict:
    return DatasetDict(
        {split: load_image_dataset("looc-hub/digits", split=split, label_column="label") for split in ("train", "test")}
    )


@torch.no_grad()
def test_hits(classifier: LooCClassifier, test: Dataset) -> torch.Tensor:
    """(N,) bool: which test images the classifier gets right."""
    classifier.eval()
    loader = classification_loader(
        test, classifier.model, num_classes=classifier.num_classes, training=False, batch_size=256
    )
    return torch.cat([classifier(normalise(classifier.model, b["images"])).argmax(1) == b["labels"] for b in loader])


def fitted_probe(model_dir: Path, train: Dataset) -> LooCClassifier:
    """The linear probe `looc-finetune` starts from (the same fit on the frozen features, seed 0)."""
    model = LooCModel.from_pretrained(model_dir)
    classifier = LooCClassifier(model, [model.default_space], 10)
    init_head_from_linear_probe(classifier, train, seed=0)
    return classifier


def accuracy_interval(hits: torch.Tensor) -> list[float]:
    """Accuracy (%) with its 95% bootstrap interval over the test images."""
    result = paired_bootstrap(hits, torch.zeros_like(hits))  # the difference to a classifier that is always wrong
    return [result.difference, result.low, result.high]


def finished(output_dir: Path, epochs: int) -> bool:
    """Whether `output_dir/last` holds a run's final epoch (a rerun of the script measures it again)."""
    config = output_dir / "last" / "classifier.json"
    return config.is_file() and json.loads(config.read_text())["metrics"].get("epoch") == epochs


def one_row(model_dir: Path, data_dir: Path, splits: DatasetDict, output_dir: Path) -> dict:
    """Fine-tune with the defaults (unless done), then measure the probe and `last/` on the test images."""
    run = ["--model", str(model_dir), "--dataset", str(data_dir), "--output_dir", str(output_dir)]
    config = finetune.parse_args([*run, "--mode", "full", "--overwrite"])
    if not finished(output_dir, config.epochs):
        finetune.finetune(config)
    probe = fitted_probe(model_dir, splits["train"])
    tuned = LooCClassifier.from_pretrained(output_dir / "last")
    probe_hits, tuned_hits = test_hits(probe, splits["test"]), test_hits(tuned, splits["test"])
    gain = paired_bootstrap(tuned_hits, probe_hits)
    return {
        "probe": accuracy_interval(probe_hits),
        "finetuned": accuracy_interval(tuned_hits),
        "gain": [gain.difference, gain.low, gain.high],
        "movement": {group: change for group, (_, change) in weight_movement(snapshot(probe), tuned).items()},
    }


def markdown(rows: dict) -> str:
    def show(values: list[float]) -> str:
        return f"{values[0]:.1f} ({values[1]:.1f} to {values[2]:.1f})"

    lines = [
        "| dataset | start | linear probe | full fine-tuning | gain | encoder moved (layer4) |",
        "|---|---|---|---|---|---|",
    ]
    for (dataset, start), row in rows.items():
        lines.append(
            f"| {dataset} | {start} | {show(row['probe'])} | {show(row['finetuned'])} | {row['gain'][0]:+.1f} "
            f"({row['gain'][1]:+.1f} to {row['gain'][2]:+.1f}) | {row['movement']['backbone.layer4']:.3f} |"
        )
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("model", help="the pretrained model folder (or Hub repo id)")
    parser.add_argument("--output_dir", required=True, help="where the datasets, random init and runs go")
    parser.add_argument(
        "--datasets", nargs="+", default=["fashion-mnist", "digits"], choices=["fashion-mnist", "digits"]
    )
    args = parser.parse_args()
    output = Path(args.output_dir)
    rows = {}
    for name in args.datasets:
        splits = fashion_mnist() if name == "fashion-mnist" else digits()
        data_dir = output / "data" / name
        if not data_dir.is_dir():
            splits.save_to_disk(data_dir)
        random_dir = output / "random-init" / name
        if not random_dir.is_dir():
            random_init_like(LooCModel.from_pretrained(args.model), splits["train"]).save_pretrained(random_dir)
        for start, model_dir in (("pretrained", Path(args.model)), ("random init", random_dir)):
            rows[(name, start)] = one_row(model_dir, data_dir, splits, output / "runs" / f"{name}-{start.split()[0]}")
            print(markdown(rows), flush=True)
    stem = "finetune_table" if len(args.datasets) == 2 else f"finetune_table_{args.datasets[0]}"
    (RESULTS / f"{stem}.json").write_text(json.dumps({f"{d} / {s}": r for (d, s), r in rows.items()}, indent=2) + "\n")
    (RESULTS / f"{stem}.md").write_text(
        f"# Linear probe vs full fine-tuning (`scripts/finetune_table.py`)\n\n{markdown(rows)}"
    )


if __name__ == "__main__":
    main()
