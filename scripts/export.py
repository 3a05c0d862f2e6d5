"""Export a LooC model for use outside looc-hub; every export is checked against the eager model.

    python scripts/export.py MODEL timm out/timm-backbone           # plain timm directory
    python scripts/export.py MODEL torchvision out/resnet50.safetensors
    python scripts/export.py MODEL program out/rotation.pt2 --space rotation   # torch.export of embed

MODEL is a saved directory or a Hub repo id.
"""

from __future__ import annotations

import argparse

from looc_hub import LooCModel
from looc_hub.export import export_program, export_timm, export_torchvision_resnet


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("model", help="saved directory or Hub repo id")
    parser.add_argument("kind", choices=["timm", "torchvision", "program"])
    parser.add_argument("output", help="directory (timm) or file (torchvision, program)")
    parser.add_argument("--space", nargs="+", help="program only: space(s) to embed (default: the model's default)")
    parser.add_argument("--revision", help="Hub revision to load")
    args = parser.parse_args()

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
