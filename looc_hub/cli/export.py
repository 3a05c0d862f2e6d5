"""Export a LooC model for use outside looc-hub (`looc-export`); every export is checked against the eager model.

    looc-export MODEL timm out/timm-backbone           # plain timm directory
    looc-export MODEL torchvision out/resnet50.safetensors
    looc-export MODEL program out/rotation.pt2 --space rotation   # torch.export of embed

MODEL is a saved directory or a Hub repo id.
"""

from __future__ import annotations

from collections.abc import Sequence

from looc_hub import LooCModel
from looc_hub._flags import CommandParser, add_flag, command_parser
from looc_hub.hub.export import export_program, export_timm, export_torchvision_resnet

KINDS = ("timm", "torchvision", "program")


def build_parser() -> CommandParser:
    parser = command_parser("looc-export", __doc__)
    parser.add_argument("model", help="saved directory or Hub repo id")
    parser.add_argument(
        "kind",
        choices=KINDS,
        help="timm: a plain timm model directory; torchvision: a torchvision ResNet state dict (ResNet-18/50); "
        "program: torch.export of embed",
    )
    parser.add_argument("output", help="directory (timm) or file (torchvision, program)")
    add_flag(
        parser,
        "space",
        list[str] | None,
        "program only: space(s) to embed (default: the model's default)",
        default=None,
    )
    parser.add_argument("--revision", help="Hub revision to load (default: main)")
    return parser


def main(argv: Sequence[str] | None = None) -> None:
    args = build_parser().parse_args(argv)

    model = LooCModel.from_pretrained(args.model, revision=args.revision)
    if args.kind == "timm":
        export_timm(model, args.output)
    elif args.kind == "torchvision":
        export_torchvision_resnet(model, args.output)
    else:
        export_program(model, args.output, space=args.space)
    print(f"Wrote {args.output} ({args.kind}); verified against the eager model")


if __name__ == "__main__":
    main()
