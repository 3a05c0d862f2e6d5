"""What training each ImageNet-100 zoo entry costs: images/s and GPU-hours for its recipe's epochs on a named GPU,
projected until measured (issue 19). Writes `benchmarks/results/cost.{json,md}`; `make_cards.py` puts the table in
docs/zoo.md.

    python scripts/cost_table.py                                            # projected (an assumed fraction of peak)
    python scripts/cost_table.py --measured benchmarks/results/step_r50_224_cuda.json   # after scripts/gpu_check.sh

FLOPs per image of one training step (views excluded) are counted with torch's FLOP counter on the entry's real
objective (its config and recipe, batch 2 on the CPU): query forward + backward, every key forward, heads and
LooC++'s extra last stages included. Projection: images/s = achieved fraction x the GPU's bf16 dense peak / FLOPs
per image, with the fraction ASSUMED (`--fraction`, default 0.07: our estimate of what a supervised ResNet-50
step reaches in bf16 + channels-last on an H100 in eager PyTorch, about 2,800 images/s; convolutions and BatchNorm
at batch 32-64 run far below a Hopper GPU's peak) until a measured step on that GPU gives it: with `--measured`,
a method measured there (LooC, LooC++, MoCo v2) is "measured" and its achieved fraction replaces the assumption
for the entries of the same method. GPU-hours = epochs x training images / images/s / 3600 (one GPU; 8 GPUs take
an eighth of the time, plus the gather and Shuffle-BN communication this does not count).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import torch
import yaml
from torch.utils.flop_counter import FlopCounterMode

from looc_hub import LooCModel, get_zoo_entry, list_models
from looc_hub.hub.card import model_statistics
from looc_hub.objective import LooCObjective
from looc_hub.recipes import recipe_path
from looc_hub.views import LooCViewGenerator

REPO = Path(__file__).resolve().parents[1]
# Training images of CMC's ImageNet-100 as commonly reported; looc-build-in100 prints your copy's exact count.
IN100_TRAIN_IMAGES = 126_689
GPUS = {"H100 SXM": 989e12, "H200 SXM": 989e12, "A100 SXM": 312e12}  # bf16 dense peak FLOP/s (NVIDIA's data sheets)


def method_of(name: str, variant: str) -> str:
    """The benchmark_step.py method whose step an entry's step matches in FLOPs and kind."""
    if variant == "looc++":
        return "LooC++"
    return "MoCo v2" if name.startswith("moco") else "LooC"


def step_flops_per_image(name: str, batch: int = 2) -> float:
    """FLOPs of one training step per image (views excluded), counted on the entry's objective."""
    torch.manual_seed(0)
    config = get_zoo_entry(name).config
    objective = LooCObjective(LooCModel(config), queue_size=64, bn_groups=1).train()  # the queue barely moves FLOPs
    side = round(1.25 * config.image_size)  # the training canvas
    canvas = torch.randint(0, 256, (batch, 3, side, side), dtype=torch.uint8)
    views = LooCViewGenerator.from_config(config)(canvas, generator=torch.Generator().manual_seed(0))
    with FlopCounterMode(display=False) as counter:
        objective(views).loss.backward()
    return counter.get_total_flops() / batch


def measured_rates(path: Path | None) -> tuple[dict[str, float], str]:
    """{method: images/s} of a benchmark_step.py results file (its largest batch per method) and its device."""
    if path is None:
        return {}, ""
    report = json.loads(path.read_text())
    measured_on = (report["meta"]["backbone"], report["meta"]["image_size"])
    if measured_on != ("resnet50", 224):
        raise ValueError(f"{path} measured {measured_on}; the ImageNet-100 entries train ('resnet50', 224)")
    rates: dict[str, tuple[int, float]] = {}
    for row in report["results"]:
        if row["batch_size"] >= rates.get(row["method"], (0, 0.0))[0]:
            rates[row["method"]] = (row["batch_size"], row["images_per_s"])
    return {method: rate for method, (_, rate) in rates.items()}, report["meta"]["device"]


def cost_rows(args: argparse.Namespace) -> list[dict]:
    measured, device = measured_rates(args.measured)
    peak = GPUS[args.gpu]
    names = [n for n in list_models() if n.endswith(tuple(args.suffixes))]
    flops_of = {name: step_flops_per_image(name) for name in names}
    rows = []
    for name in names:
        entry = get_zoo_entry(name)
        recipe = yaml.safe_load(recipe_path(entry.recipe).read_text())
        flops, method = flops_of[name], method_of(name, entry.config.variant)
        with torch.device("meta"):
            gmacs = float(model_statistics(LooCModel(entry.config))["GMACs"])
        if method in measured:  # the measured step's achieved fraction, scaled by this entry's FLOPs
            fraction = measured[method] * flops_of[_reference(method)] / peak
            images_per_s = fraction * peak / flops
            status = "measured" if name == _reference(method) else f"projected from the measured {method} step"
        else:
            fraction, status = args.fraction, f"projected (assumed {args.fraction:.0%} of peak)"
            images_per_s = fraction * peak / flops
        hours = recipe["epochs"] * IN100_TRAIN_IMAGES / images_per_s / 3600
        rows.append(
            {
                "name": name,
                "method": method,
                "step_gflops_per_image": round(flops / 1e9, 1),
                "step_over_supervised": round(flops / (3 * 2 * gmacs * 1e9), 2),
                "images_per_s": round(images_per_s),
                "epochs": recipe["epochs"],
                "gpu_hours": round(hours),
                "gpu": args.gpu + (f" ({device})" if measured else ""),
                "achieved_fraction_of_peak": round(fraction, 3),
                "status": status,
            }
        )
    return rows


def _reference(method: str) -> str:
    """The zoo entry whose step benchmark_step.py measures for `method` (colour + rotation, or MoCo v2)."""
    return {"LooC": "looc_resnet50.in100", "LooC++": "loocpp_resnet50.in100", "MoCo v2": "moco_resnet50.in100"}[method]


def markdown(report: dict) -> str:
    lines = [
        "| entry | method | step GFLOPs / image | x supervised step | images/s | GPU-hours "
        f"({report['rows'][0]['epochs']} epochs, 1 {report['gpu']}) | status |",
        "|---|---|---:|---:|---:|---:|---|",
    ]
    for row in report["rows"]:
        lines.append(
            f"| `{row['name']}` | {row['method']} | {row['step_gflops_per_image']} | {row['step_over_supervised']} "
            f"| {row['images_per_s']:,} | {row['gpu_hours']:,} | {row['status']} |"
        )
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--gpu", choices=list(GPUS), default="H100 SXM")
    parser.add_argument("--fraction", type=float, default=0.07, help="assumed achieved fraction of the bf16 peak")
    parser.add_argument("--measured", type=Path, help="a benchmark_step.py results file from that GPU")
    parser.add_argument("--suffixes", nargs="+", default=[".in100", ".in100_r", ".in100_crt"])
    parser.add_argument("--output-dir", type=Path, default=REPO / "benchmarks" / "results")
    args = parser.parse_args()
    report = {
        "gpu": args.gpu,
        "peak_bf16_flops": GPUS[args.gpu],
        "train_images": IN100_TRAIN_IMAGES,
        "assumptions": (
            f"FLOPs counted on each entry's objective (views excluded); {IN100_TRAIN_IMAGES:,} training images; "
            f"{args.gpu} bf16 dense peak {GPUS[args.gpu] / 1e12:.0f} TFLOP/s; achieved fraction "
            + ("measured (see status)" if args.measured else f"{args.fraction:.0%}, assumed, not measured")
        ),
        "rows": cost_rows(args),
    }
    args.output_dir.mkdir(parents=True, exist_ok=True)
    (args.output_dir / "cost.json").write_text(json.dumps(report, indent=2) + "\n")
    (args.output_dir / "cost.md").write_text(f"# Training cost\n\n{report['assumptions']}.\n\n{markdown(report)}")
    print(markdown(report))


if __name__ == "__main__":
    main()
