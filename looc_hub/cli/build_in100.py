"""Build the paper's ImageNet-100 (CMC's 100 classes) from an ImageNet-1k copy (`looc-build-in100`).

    looc-build-in100 --imagenet /data/imagenet --output /data/imagenet-100            # links (no extra space)
    looc-build-in100 --imagenet /data/imagenet --output /data/imagenet-100 --mode copy
    looc-pretrain --config looc_r50_in100 --dataset /data/imagenet-100

--imagenet holds `train/<wnid>/*.JPEG` and `val/` (class folders, or flat with LOC_val_solution.csv or the devkit's
ground truth + meta.mat). The output is an imagefolder with splits `train` and `validation`. Every class must be
there and every image readable, else nothing is written; counts unlike ImageNet-1k's are warnings (--strict:
errors). An existing --output is replaced only if this command wrote it.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path

from looc_hub._atomic import FileExistsNotOursError
from looc_hub._flags import CommandParser, add_flag, command_parser
from looc_hub.data.imagenet100 import IMAGENET100_CLASSES, IMAGENET100_SOURCE, is_wnid
from looc_hub.data.imagenet100_build import build_imagenet100
from looc_hub.data.imagenet_layout import ImageNetLayoutError

from ._args import add_log_level_flag
from .console import setup_logging


def build_parser() -> CommandParser:
    parser = command_parser("looc-build-in100", __doc__)
    parser.add_argument("--imagenet", required=True, help="the ImageNet-1k folder (train/, val/)")
    parser.add_argument("--output", required=True, help="the ImageNet-100 folder to write")
    parser.add_argument("--mode", default="link", choices=("link", "copy"), help="symbolic links or copies")
    parser.add_argument("--val_labels", help="label file of a flat val/ (default: found under --imagenet)")
    parser.add_argument(
        "--classes", help=f"a file of WordNet ids, one a line (default: the shipped list, {IMAGENET100_SOURCE})"
    )
    add_flag(parser, "decode", bool, "decode every image in the check (slower)", default=False)
    add_flag(parser, "strict", bool, "refuse counts unlike ImageNet-1k's", default=False)
    add_flag(parser, "overwrite", bool, "replace --output whatever it holds", default=False)
    parser.add_argument("--workers", type=int, default=8, help="threads reading images in the check")
    add_log_level_flag(parser)
    return parser


def read_classes(path: str | None) -> tuple[str, ...]:
    if path is None:
        return IMAGENET100_CLASSES
    lines = [line.strip() for line in Path(path).read_text().splitlines()]
    classes = tuple(line for line in lines if line and not line.startswith("#"))
    bad = [name for name in classes if not is_wnid(name)]
    if bad or not classes or len(set(classes)) != len(classes):
        raise ValueError(f"--classes {path}: needs distinct WordNet ids (n + 8 digits), one a line; bad: {bad[:10]}")
    return classes


def main(argv: Sequence[str] | None = None) -> None:
    parser = build_parser()
    args = parser.parse_args(argv)
    setup_logging(args.log_level)
    try:
        built = build_imagenet100(
            args.imagenet,
            args.output,
            mode=args.mode,
            classes=read_classes(args.classes),
            val_labels=args.val_labels,
            decode=args.decode,
            strict=args.strict,
            overwrite=args.overwrite,
            workers=args.workers,
        )
    except (ImageNetLayoutError, FileExistsNotOursError, ValueError, OSError) as error:
        print(f"looc-build-in100: error: {error}", file=sys.stderr)
        raise SystemExit(2) from None
    images = {split: sum(per_class.values()) for split, per_class in built.counts.items()}
    print(
        f"wrote {built.output} ({args.mode}s): {len(built.counts['train'])} classes, "
        f"{images['train']:,} train and {images['validation']:,} validation images"
        + (f"; {len(built.warnings)} count warning(s) above" if built.warnings else "")
    )


if __name__ == "__main__":
    main()
