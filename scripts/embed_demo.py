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
"""

from __future__ import annotations

import argparse

import torch
from PIL import Image, ImageOps
from skimage import data

import looc_hub
from looc_hub.data import load_image_dataset
from looc_hub.eval.baselines import BaselineComparison, compare_to_baselines

PHOTOS = ("astronaut", "chelsea", "coffee", "rocket")


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


if __name__ == "__main__":
    main()
