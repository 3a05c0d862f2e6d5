"""Embed a few real photos with a LooC model and show what each space keeps.

    python scripts/embed_demo.py outputs/looc-r18-openmoji64     # a saved directory or a Hub repo id
    python scripts/embed_demo.py looc_resnet18.openmoji64 --random-init

For each photo (scikit-image's astronaut, chelsea, coffee, rocket) it also embeds a copy rotated by 90 degrees
and a grayscale copy, and prints per space the cosine similarity between the original and each copy. A space
that is sensitive to an augmentation (Z_rotation to rotation, Z_color to colour) should score that copy lower
than the invariant space does, once the model is trained.
"""

from __future__ import annotations

import argparse

import torch
from PIL import Image, ImageOps
from skimage import data

import looc_hub

PHOTOS = ("astronaut", "chelsea", "coffee", "rocket")


def load_model(source: str, random_init: bool) -> looc_hub.LooCModel:
    if random_init:
        return looc_hub.create_model(source).eval()
    return looc_hub.LooCModel.from_pretrained(source)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("model", help="model directory, Hub repo id, or (with --random-init) a zoo name")
    parser.add_argument("--random-init", action="store_true", help="build the zoo model untrained")
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


if __name__ == "__main__":
    main()
