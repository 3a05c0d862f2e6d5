"""Load a LooC model with `from_pretrained`, embed real images, and show what it learned.

    python scripts/embed_demo.py outputs/looc-r10t-openmoji32/model     # a saved directory or a Hub repo id
    python scripts/embed_demo.py looc_resnet10t.openmoji32 --random-init

1. Embeds four photos (scikit-image's astronaut, chelsea, coffee, rocket), a copy of each rotated by 90 degrees
   and a grayscale copy, and prints per space the cosine similarity between the original and each copy.
2. Unless `--dataset none`: the learning table on a held-out split (`looc_hub.eval.baselines`): kNN top-1 per
   space next to a random init of the same configuration (BatchNorm calibrated) and next to raw pixels, the gain
   in the best space with its paired 95% interval, and each space's rotation and colour sensitivity (0: invariant,
   1: moves as far as another image). A space sensitive to an augmentation (Z_rotation to rotation, Z_color to
   colour) should score higher than the invariant space, once the model is trained.
3. Unless `--dataset none`: embeds the held-out split with looc-embed's engine (`looc_hub.embeddings`, a few
   seconds; a rerun with the same weights reuses the folder) and shows one query's neighbours in the invariant
   space (same shape, any colour), in the colour space (same colours) and with a negative colour weight (same
   shape, other colours) as a table and a retrieval sheet (PNG). On OpenMoji the query is the emoji of the split
   with the most skin-tone variants, and `*` marks a variant of it: the same shape in another colour.
"""

from __future__ import annotations

import argparse
from collections import Counter
from pathlib import Path

import torch
from datasets import Dataset
from PIL import Image, ImageOps
from skimage import data

import looc_hub
from looc_hub.cli.console import format_table
from looc_hub.cli.embed import summary_report
from looc_hub.data import load_embedded_dataset, load_image_dataset
from looc_hub.data.openmoji import base_hexcode
from looc_hub.embeddings import DatasetInfo, EmbeddingIndex, embed_dataset, model_identity, save_search_sheet
from looc_hub.eval.baselines import BaselineComparison, compare_to_baselines
from looc_hub.eval.weighting import weighting_text

PHOTOS = ("astronaut", "chelsea", "coffee", "rocket")
WEIGHTINGS = {  # what each weighting asks for
    "same shape, any colour": {"invariant": 1.0},
    "same colours": {"color": 1.0},
    "same shape, other colours": {"invariant": 1.0, "color": -0.5},
}
NEIGHBOURS = 5


def load_model(source: str, random_init: bool) -> looc_hub.LooCModel:
    if random_init:
        return looc_hub.create_model(source).eval()
    return looc_hub.LooCModel.from_pretrained(source)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("model", help="model directory, Hub repo id, or (with --random-init) a zoo name")
    parser.add_argument("--random-init", action="store_true", help="build the zoo model untrained")
    parser.add_argument("--dataset", default="looc-hub/openmoji", help="labelled data of the learning table, or none")
    parser.add_argument("--train_split", default="train", help="the kNN bank (and the random init's calibration)")
    parser.add_argument("--test_split", default="validation", help="the held-out split the table is measured on")
    parser.add_argument("--label_column", default="group")
    parser.add_argument("--seed", type=int, default=0, help="the random init's seed (pretraining's default: 0)")
    parser.add_argument("--embeddings_dir", default="outputs/embed_demo", help="where the held-out split is embedded")
    args = parser.parse_args()

    model = load_model(args.model, args.random_init)
    transform = looc_hub.eval_transform(model)
    photos = [Image.fromarray(getattr(data, name)()).convert("RGB") for name in PHOTOS]
    variants = {
        "original": photos,
        "rotated 90": [photo.rotate(90, expand=True) for photo in photos],
        "grayscale": [ImageOps.grayscale(photo).convert("RGB") for photo in photos],
    }
    with torch.inference_mode():
        spaces = {key: model(torch.stack([transform(p) for p in images])) for key, images in variants.items()}

    print(f"{model.config.variant} / {model.config.backbone}, spaces and shapes for {len(photos)} photos:")
    for space, value in spaces["original"].items():
        print(f"  {space:>10}: {tuple(value.shape)}")
    print("\nmean cosine similarity of each photo to its transformed copy, per space:")
    print(f"  {'space':>10}  {'rotated 90':>10}  {'grayscale':>10}  {'other photos':>12}")
    for space in model.spaces:
        original = torch.nn.functional.normalize(spaces["original"][space], dim=1)
        same = {
            key: (original * torch.nn.functional.normalize(spaces[key][space], dim=1)).sum(1).mean().item()
            for key in ("rotated 90", "grayscale")
        }
        cross = original @ original.T
        others = cross[~torch.eye(len(photos), dtype=torch.bool)].mean().item()
        print(f"  {space:>10}  {same['rotated 90']:>10.3f}  {same['grayscale']:>10.3f}  {others:>12.3f}")

    if args.dataset != "none":
        labelled = {"label_column": args.label_column}
        train = load_image_dataset(args.dataset, split=args.train_split, **labelled)
        test = load_image_dataset(args.dataset, split=args.test_split, **labelled)
        print_learning_table(compare_to_baselines(model, train, test, seed=args.seed), args, len(test))
        show_neighbours(model, test, args)


def print_learning_table(report: BaselineComparison, args: argparse.Namespace, num_test: int) -> None:
    print(f"\nwhat the model learned: {args.dataset} {args.label_column!r}, {num_test} held-out images")
    print(f"  {'space':>10}  {'kNN top-1':>9}  {'random init':>11}  {'rotation sens.':>14}  {'colour sens.':>12}")
    for space, accuracy in report.knn.items():
        sensitivity = report.sensitivity[space]
        print(
            f"  {space:>10}  {accuracy:>9.1f}  {report.random_init_knn[space]:>11.1f}  "
            f"{sensitivity['rotation']:>14.2f}  {sensitivity['color']:>12.2f}"
        )
    print(f"  {'raw pixels':>10}  {report.raw_pixels_knn:>9.1f}")
    for name, gain in (("random init", report.gain_over_random_init), ("raw pixels", report.gain_over_raw_pixels)):
        verdict = "beyond the split's noise" if gain.significant else "within the split's noise"
        print(
            f"best space {report.best_space!r} vs {name}: {gain.difference:+.1f} points "
            f"(paired 95% interval {gain.low:+.1f} to {gain.high:+.1f}: {verdict})"
        )


def show_neighbours(model: looc_hub.LooCModel, test: Dataset, args: argparse.Namespace) -> None:
    """Embed the held-out split (looc-embed's engine) and show one query's neighbours under three weightings."""
    if not {"invariant", "color"} <= set(model.spaces):
        print(f"\nno neighbours table: the model has no colour space (spaces {list(model.spaces)})")
        return
    identity = model_identity(model, args.model)
    folder = Path(args.embeddings_dir) / f"{identity.weights_sha256[:12]}-{args.test_split}"
    info = DatasetInfo(args.dataset, args.test_split, label_column=args.label_column)
    print(f"\nlooc-embed --model {args.model} --dataset {args.dataset} --split {args.test_split} --output_dir {folder}")
    summary = embed_dataset(model, test, folder, model_info=identity, dataset_info=info, spaces=["invariant", "color"])
    print(summary_report(summary))
    index = EmbeddingIndex.load(folder, model=model)
    names = emoji_names(args.dataset, args.test_split)
    query = choose_query(names)
    columns = {name: index.search(query, weights, NEIGHBOURS).ids[0].tolist() for name, weights in WEIGHTINGS.items()}

    def describe(row: int) -> str:
        if names is None:
            return f"{row} (label {index.labels[row]})" if index.labels is not None else str(row)
        return names[row] + (" *" if same_shape(names, row, query) else "")

    print(f"\nneighbours of held-out row {query} ({describe(query)}), best first:")
    header = ["rank", *(f"{name} ({weighting_text(WEIGHTINGS[name])})" for name in WEIGHTINGS)]
    rows = [[rank + 1, *(describe(found[rank]) for found in columns.values())] for rank in range(NEIGHBOURS)]
    print(format_table(header, rows))
    if names:
        shares = {name: sum(same_shape(names, row, query) for row in found) for name, found in columns.items()}
        print(
            "* the query's emoji in another skin tone; per column: "
            + ", ".join(f"{n} {c}/{NEIGHBOURS}" for n, c in shares.items())
        )
    print(f"retrieval sheet: {save_search_sheet(index, [query], WEIGHTINGS, folder / 'neighbours.png', dataset=test)}")


def emoji_names(dataset: str, split: str) -> list[str] | None:
    """Each row's emoji and hexcode on the embedded OpenMoji set (None on other datasets: rows show as ids)."""
    if dataset != "looc-hub/openmoji":
        return None
    hexcodes = load_embedded_dataset(dataset)[split]["hexcode"]
    return [f"{''.join(chr(int(code, 16)) for code in hexcode.split('-'))} {hexcode}" for hexcode in hexcodes]


def same_shape(names: list[str], row: int, query: int) -> bool:
    """Row is the query's emoji in another skin tone (same base hexcode, another full one)."""
    return row != query and base_hexcode(names[row].split()[-1]) == base_hexcode(names[query].split()[-1])


def choose_query(names: list[str] | None) -> int:
    """On OpenMoji the default-tone emoji with the most skin-tone variants in the split (first in the split among
    equals); else row 0."""
    if not names:
        return 0
    hexcodes = [name.split()[-1] for name in names]
    present = set(hexcodes)
    counts = Counter(base for base in map(base_hexcode, hexcodes) if base in present)
    return hexcodes.index(max(counts, key=lambda base: (counts[base], -hexcodes.index(base))))


if __name__ == "__main__":
    main()
