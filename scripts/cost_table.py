"""What training each ImageNet-100 zoo entry costs: images/s and GPU-hours for its recipe's epochs on a named GPU,
projected until measured (issue 19). Writes each entry's cost record (`looc_hub.hub.training_cost`), which its
card and docs/zoo.md show (`scripts/make_cards.py`), and the summary `benchmarks/results/cost.{json,md}`.

    python scripts/cost_table.py                          # projected on an A100 from NVIDIA's measured ResNet-50 run
    python scripts/cost_table.py --gpu "H100 SXM" --fraction 0.07                       # projected, fraction assumed
    python scripts/cost_table.py --gpu "H100 SXM" --measured benchmarks/results/step_r50_224_cuda.json  # gpu_check.sh

FLOPs per image of one training step (views excluded) are counted with torch's FLOP counter on the entry's real
objective (its config and recipe, batch 2 on the CPU): query forward + backward, every key forward, heads and
LooC++'s extra last stages included; a supervised step of the same backbone is 3 x its forward FLOPs, 2 x the GMACs
of the model statistics on its card. Projection: images/s = achieved fraction of the GPU's bf16 dense peak / FLOPs
per image. The fraction comes from a measured run: by default NVIDIA's published supervised ResNet-50 v1.5
training throughput on one A100 (`REFERENCE_RUN`); with `--measured`, this project's own step measured on that GPU
by `scripts/benchmark_step.py` (a method measured there, LooC, LooC++ or MoCo v2, is "measured" for the entry
it benchmarks, and its fraction projects the entries of the same method); `--fraction` states an assumed one
instead. GPU-hours = epochs x training images / images/s / 3600 on one GPU. A record keeps one estimate per GPU
and kind, so a measurement is added beside the projections, and the card shows it in their place.
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
from looc_hub.hub.training_cost import CostEstimate, TrainingCost, load_training_cost, save_training_cost
from looc_hub.objective import LooCObjective
from looc_hub.recipes import recipe_path
from looc_hub.views import LooCViewGenerator

REPO = Path(__file__).resolve().parents[1]
RECORDS = REPO / "model_cards" / "results"
"""Where the zoo's cost records live: `<zoo name>.training_cost.json`, beside its results file."""
# Training images of CMC's ImageNet-100 as commonly reported; looc-build-in100 prints your copy's exact count.
IN100_TRAIN_IMAGES = 126_689
GPUS = {"A100 SXM": 312e12, "H100 SXM": 989e12, "H200 SXM": 989e12}  # bf16 dense peak FLOP/s (NVIDIA's data sheets)
REFERENCE_RUN = {
    "gpu": "A100 SXM",
    "images_per_s": 2470,
    "what": (
        "NVIDIA's published supervised ResNet-50 v1.5 training throughput on one A100 80GB, mixed precision, "
        "2,470 images/s (DeepLearningExamples, PyTorch/Classification/ConvNets/resnet50v1.5, NGC pytorch-21.03, "
        "batch 256, DALI loader)"
    ),
}
"""The measured run the default projection takes its achieved fraction of peak from (timm's resnet50 is v1.5)."""


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


def supervised_flops_per_image(name: str) -> tuple[float, str]:
    """A supervised step's FLOPs per image (3 x the forward's, 2 FLOPs per MAC) from the card's model statistics."""
    with torch.device("meta"):
        gmacs = float(model_statistics(LooCModel(get_zoo_entry(name).config))["GMACs"])
    return 3 * 2 * gmacs * 1e9, f"{gmacs} GMACs"


def measured_rates(path: Path | None) -> tuple[dict[str, float], str]:
    """{method: images/s} of a benchmark_step.py results file (its largest batch per method), and how it ran."""
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
    batches = sorted({batch for batch, _ in rates.values()})
    meta = report["meta"]
    how = f"{meta['device']} ({meta['precision']}, batch {'/'.join(map(str, batches))}, one process)"
    return {method: rate for method, (_, rate) in rates.items()}, how


def fraction_basis(args: argparse.Namespace, supervised: float, backbone: str) -> tuple[float, str]:
    """The achieved fraction of peak a projection without a measured step of its own uses, and where it is from."""
    peak = GPUS[args.gpu]
    if args.fraction is not None:
        return args.fraction, f"achieved fraction of the {args.gpu} bf16 peak: {args.fraction:.1%}, ASSUMED"
    if args.gpu != REFERENCE_RUN["gpu"]:
        raise SystemExit(
            f"no measured run on {args.gpu} to take the achieved fraction of peak from: give --measured "
            f"(a benchmark_step.py file from that GPU) or --fraction, or use --gpu {REFERENCE_RUN['gpu']!r}"
        )
    fraction = REFERENCE_RUN["images_per_s"] * supervised / peak
    return fraction, (
        f"achieved fraction of the {args.gpu} bf16 dense peak ({peak / 1e12:.0f} TFLOP/s): {fraction:.1%}, from "
        f"{REFERENCE_RUN['what']} x a supervised step's {supervised / 1e9:.1f} GFLOPs per image (3 x the forward of "
        f"{backbone}); assumed to hold for this step, although it runs 32 images per GPU, not 256"
    )


def cost_estimates(args: argparse.Namespace) -> dict[str, CostEstimate]:
    """{zoo name: its estimate on `args.gpu`} for every ImageNet-100 entry."""
    measured, device = measured_rates(args.measured)
    peak = GPUS[args.gpu]
    names = [n for n in list_models() if n.endswith(tuple(args.suffixes))]
    flops_of = {name: step_flops_per_image(name) for name in names}
    estimates = {}
    for name in names:
        entry = get_zoo_entry(name)
        recipe = yaml.safe_load(recipe_path(entry.recipe).read_text())
        flops, method = flops_of[name], method_of(name, entry.config.variant)
        supervised, backbone = supervised_flops_per_image(name)
        basis = [
            f"one step's FLOPs per image, views excluded: {flops / 1e9:.1f} GFLOPs, counted on this model's objective "
            f"(query forward + backward, every key forward, heads), {flops / supervised:.2f} x a supervised step of "
            f"its backbone ({backbone} per image in the model statistics)",
            f"{IN100_TRAIN_IMAGES:,} training images (CMC's ImageNet-100 as commonly reported; looc-build-in100 "
            "prints your copy's count)",
        ]
        kind = "projected"
        if method in measured:  # the measured step's achieved fraction, scaled by this entry's FLOPs
            reference = _reference(method)
            if reference not in flops_of:  # the measured entry itself was not asked for
                flops_of[reference] = step_flops_per_image(reference)
            fraction = measured[method] * flops_of[reference] / peak
            kind = "measured" if name == reference else kind
            basis.append(
                f"{method} step measured by scripts/benchmark_step.py on {device}: {measured[method]:,.0f} "
                "images/s, views included"
                + ("" if kind == "measured" else f", scaled by this step's FLOPs over {reference}'s")
            )
            basis.append("not counted: the gather and Shuffle-BN communication across GPUs")
        else:
            fraction, sentence = fraction_basis(args, supervised, backbone)
            not_counted = "not counted: the views' augmentations, the gather and Shuffle-BN communication across GPUs"
            basis += [sentence, not_counted]
        estimates[name] = CostEstimate(
            gpu=args.gpu,
            kind=kind,
            images_per_s=round(fraction * peak / flops, 1),
            epochs=recipe["epochs"],
            train_images=IN100_TRAIN_IMAGES,
            basis=tuple(basis),
            step_gflops_per_image=round(flops / 1e9, 1),
            achieved_fraction_of_peak=round(fraction, 4),
            source="scripts/cost_table.py" + (f" --measured {args.measured.name}" if kind == "measured" else ""),
        )
    return estimates


def _reference(method: str) -> str:
    """The zoo entry whose step benchmark_step.py measures for `method` (colour + rotation, or MoCo v2)."""
    return {"LooC": "looc_resnet50.in100", "LooC++": "loocpp_resnet50.in100", "MoCo v2": "moco_resnet50.in100"}[method]


def markdown(estimates: dict[str, CostEstimate]) -> str:
    """The summary table, and the basis sentences every estimate shares (each card lists its own in full)."""
    first = next(iter(estimates.values()))
    lines = [
        f"| entry | step GFLOPs / image | images/s | GPU-hours ({first.epochs} epochs, 1 {first.gpu}) | status |",
        "|---|---:|---:|---:|---|",
    ]
    for name, estimate in estimates.items():
        lines.append(
            f"| `{name}` | {estimate.step_gflops_per_image} | {estimate.images_per_s:,.0f} "
            f"| {estimate.gpu_hours:,.1f} | {estimate.kind} |"
        )
    shared = [s for s in first.basis if all(s in e.basis for e in estimates.values())]
    return "\n".join(lines + [""] + [f"- {sentence}" for sentence in shared]) + "\n"


def record_estimates(estimates: dict[str, CostEstimate], directory: Path) -> None:
    """Add each estimate to its entry's cost record, replacing only an earlier one of the same GPU and kind."""
    for name, estimate in estimates.items():
        path = directory / f"{name}.training_cost.json"
        cost = load_training_cost(path) if path.is_file() else TrainingCost()
        save_training_cost(cost.with_estimate(estimate), path)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--gpu", choices=list(GPUS), default=REFERENCE_RUN["gpu"])
    parser.add_argument("--fraction", type=float, help="an ASSUMED achieved fraction of the bf16 peak")
    parser.add_argument("--measured", type=Path, help="a benchmark_step.py results file from that GPU")
    parser.add_argument("--suffixes", nargs="+", default=[".in100", ".in100_r", ".in100_crt"])
    parser.add_argument("--output-dir", type=Path, default=REPO / "benchmarks" / "results")
    parser.add_argument("--records-dir", type=Path, default=RECORDS, help="where the entries' cost records live")
    args = parser.parse_args()
    if args.fraction is not None and not 0 < args.fraction <= 1:
        parser.error(f"--fraction is a fraction of the peak in (0, 1], got {args.fraction}")
    estimates = cost_estimates(args)
    record_estimates(estimates, args.records_dir)
    report = {name: {**estimate.to_dict(), "gpu_hours": estimate.gpu_hours} for name, estimate in estimates.items()}
    args.output_dir.mkdir(parents=True, exist_ok=True)
    (args.output_dir / "cost.json").write_text(json.dumps(report, indent=2) + "\n")
    (args.output_dir / "cost.md").write_text(f"# Training cost\n\n{markdown(estimates)}")
    print(markdown(estimates))


if __name__ == "__main__":
    main()
