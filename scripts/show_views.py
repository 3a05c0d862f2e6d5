"""Save a grid of LooC views of real photos: does k_rotation share the query's rotation and nothing else?

Rows are skimage's astronaut, chelsea, coffee and rocket photos; columns the input canvas, then q, k_0 and one
k_i per leave-one-out augmentation.

Each panel's caption lists its rotation, flip, colour, texture and blur parameters (as docs/views.md says), so a
reader can check that k_i copies exactly the query's augmentation i.

    python scripts/show_views.py                    # writes docs/images/views_grid.png
"""

from __future__ import annotations

import argparse
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import torch
from skimage import data
from torchvision.transforms.v2 import functional as TF

from looc_hub.views import AUGMENTATIONS, LooCViewGenerator

PHOTOS = ("astronaut", "chelsea", "coffee", "rocket")
OUTPUT = Path(__file__).resolve().parents[1] / "docs" / "images" / "views_grid.png"


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--augmentations", nargs="+", default=list(AUGMENTATIONS))
    parser.add_argument("--canvas-size", type=int, default=256)
    parser.add_argument("--output-size", type=int, default=160)
    parser.add_argument("--seed", type=int, default=3)
    parser.add_argument("--output", type=Path, default=OUTPUT)
    return parser.parse_args()


def canvas(name: str, size: int) -> torch.Tensor:
    """What the data loader hands the engine: shorter side resized to ``size``, centre square, uint8 (3, s, s)."""
    image = torch.from_numpy(getattr(data, name)()).permute(2, 0, 1)
    return TF.center_crop(TF.resize(image, size, antialias=True), [size, size])


def caption(params: dict, row: int) -> str:
    parts = [f"rot {90 * int(params['rotation'].quarter_turns[row])}°"] if "rotation" in params else []
    parts.append("flip" if params["flip"].flipped[row] else "no flip")
    if "color" in params:
        color = params["color"]
        jitter = f"hue {float(color.hue[row]):+.2f}" if color.jittered[row] else "no jitter"
        parts.append(jitter + (", gray" if color.grayscale[row] else ""))
    if "texture" in params:
        texture = params["texture"]
        parts.append(f"tex {float(texture.frequency[row, 0]):.1f}c" if texture.textured[row] else "no tex")
    blur = params["blur"]
    parts.append(f"blur {float(blur.sigma[row]):.2f}px" if blur.blurred[row] else "no blur")
    return "\n".join([", ".join(parts[:2]), ", ".join(parts[2:])])


def main() -> None:
    args = parse_args()
    canvases = torch.stack([canvas(name, args.canvas_size) for name in PHOTOS])  # (P, 3, C, C) uint8
    generator = LooCViewGenerator(
        tuple(args.augmentations), output_size=args.output_size, mean=(0.0, 0.0, 0.0), std=(1.0, 1.0, 1.0)
    )  # identity normalisation: views stay displayable in [0, 1]
    views = generator(canvases, generator=torch.Generator().manual_seed(args.seed), return_params=True)
    stack = torch.cat((views.query[None], views.keys))  # (n + 2, P, 3, S, S)
    columns = ("canvas", *generator.view_names)
    figure, axes = plt.subplots(len(PHOTOS), len(columns), figsize=(2.1 * len(columns), 2.5 * len(PHOTOS)))
    for row, name in enumerate(PHOTOS):
        axes[row, 0].imshow(canvases[row].permute(1, 2, 0).numpy())
        axes[row, 0].set_xlabel(name, fontsize=8)
        for view in range(generator.num_views):
            axes[row, view + 1].imshow(stack[view, row].permute(1, 2, 0).clamp(0, 1).numpy())
            axes[row, view + 1].set_xlabel(caption(views.params, view * len(PHOTOS) + row), fontsize=7)
    for column, title in enumerate(columns):
        axes[0, column].set_title(title, fontsize=10)
    for axis in axes.flat:
        axis.set_xticks([])
        axis.set_yticks([])
    figure.suptitle("LooC views: k_i copies the query's parameters of augmentation i, resamples the rest", fontsize=10)
    figure.tight_layout()
    args.output.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(args.output, dpi=90)
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
