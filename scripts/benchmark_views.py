"""Views per second of the batched LooC view engine against torchvision.transforms.v2, measured in one run.

For each (output, canvas) size and thread count the script times, on the same uint8 canvas batch:
- engine: ``LooCViewGenerator.__call__`` on the whole batch (validation, uint8 -> float, sampling, rendering,
  normalisation);
- same views, torchvision per sample: the engine's sampled parameters rendered one image and one view at a time
  with torchvision.transforms.v2.functional (``looc_hub/views/reference.py``): the pipeline the issue asks to beat;
- MoCo v2 Compose, torchvision per sample: an ordinary random ``transforms.v2.Compose`` (crop, flip, colour
  jitter, grayscale, blur, normalise) called once per view: the usual way to make views, for context.

Per-sample pipelines cost the same per view at any batch size, so they are timed on the first
``--reference-images`` images. Runs alternate between pipelines so that load from other processes hits them
alike. Besides wall-clock views/s the script reports views per CPU-second (process time, all threads), which
other processes disturb far less. Results: benchmarks/results/views.{json,md}.

    python scripts/benchmark_views.py                 # batch 256, outputs 64 (canvas 96) and 224 (canvas 256)
    python scripts/benchmark_views.py --quick         # smoke run: small batch, one thread count
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path

import torch
from torchvision.transforms import v2

from looc_hub.views import LooCViewGenerator
from looc_hub.views.blur import gaussian_kernel_size
from looc_hub.views.reference import render_reference

REPO = Path(__file__).resolve().parents[1]

RESULTS = REPO / "benchmarks" / "results"
PIPELINES = ("engine", "same_views", "compose")


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--sizes", nargs="+", default=["64:96", "224:256"], help="output:canvas pairs")
    parser.add_argument("--augmentations", nargs="*", default=["color", "rotation"])
    parser.add_argument("--threads", nargs="+", type=int, default=[torch.get_num_threads(), 1])
    parser.add_argument("--runs", type=int, default=3, help="timed runs of each pipeline")
    parser.add_argument("--reference-images", type=int, default=64, help="images timed in per-sample pipelines")
    parser.add_argument("--quick", action="store_true", help="batch 16, one run, one thread count")
    parser.add_argument("--output-dir", type=Path, default=RESULTS)
    return parser.parse_args()


def moco_v2_compose(generator: LooCViewGenerator) -> v2.Compose:
    """torchvision's usual random MoCo v2 view pipeline with the generator's settings (no shared parameters)."""
    size = generator.output_size
    return v2.Compose(
        [
            v2.RandomResizedCrop(size, scale=generator.augmentation("crop").scale, antialias=False),
            v2.RandomHorizontalFlip(),
            v2.RandomApply([v2.ColorJitter(0.4, 0.4, 0.4, 0.1)], p=0.8),
            v2.RandomGrayscale(p=0.2),
            v2.RandomApply([v2.GaussianBlur(gaussian_kernel_size(size), sigma=(0.1, 2.0))], p=0.5),
            v2.Normalize(list(generator.mean), list(generator.std)),
        ]
    )


def _unit_float(images: torch.Tensor) -> torch.Tensor:
    """uint8 canvases as float32 in [0, 1], as the engine reads them."""
    return v2.functional.to_dtype(images, torch.float32, scale=True)


def timed(function: Callable[[], object]) -> tuple[float, float]:
    """(wall seconds, process CPU seconds over all threads)."""
    wall, cpu = time.perf_counter(), time.process_time()
    function()
    return time.perf_counter() - wall, time.process_time() - cpu


def benchmark_size(args: argparse.Namespace, output_size: int, canvas_size: int) -> list[dict]:
    generator = LooCViewGenerator(tuple(args.augmentations), output_size=output_size)
    canvas = torch.randint(0, 256, (args.batch_size, 3, canvas_size, canvas_size), dtype=torch.uint8)
    few = canvas[: args.reference_images]
    seed = torch.Generator().manual_seed(0)
    compose = moco_v2_compose(generator)

    def same_views() -> torch.Tensor:
        params = generator.sample(len(few), (canvas_size, canvas_size), generator=seed)
        return render_reference(generator, _unit_float(few), params)

    def compose_views() -> list[torch.Tensor]:  # as many views per image as LooC makes, one Compose call each
        images = _unit_float(few)
        return [compose(image) for image in images for _ in range(generator.num_views)]

    pipelines = {
        "engine": (lambda: generator(canvas, generator=seed), args.batch_size),
        "same_views": (same_views, len(few)),
        "compose": (compose_views, len(few)),
    }
    views = generator(few, generator=torch.Generator().manual_seed(1), return_params=True)
    ours = torch.cat((views.query[None], views.keys)).flatten(0, 1)
    max_abs_diff = float((ours - render_reference(generator, _unit_float(few), views.params)).abs().max())

    results = []
    for threads in args.threads:
        torch.set_num_threads(threads)
        for pipeline, _ in pipelines.values():  # warm-up: allocator, kernel selection, first-call caches
            pipeline()
        times: dict[str, list[tuple[float, float]]] = {name: [] for name in PIPELINES}
        load_before = os.getloadavg()[0]
        for _ in range(args.runs):
            for name, (pipeline, _) in pipelines.items():
                times[name].append(timed(pipeline))
        load_after = os.getloadavg()[0]
        result = {"output_size": output_size, "canvas_size": canvas_size, "threads": threads}
        for name, (_, images) in pipelines.items():
            num_views = images * generator.num_views
            result[f"{name}_views_per_s"] = round(num_views / statistics.median(t[0] for t in times[name]))
            result[f"{name}_views_per_cpu_s"] = round(num_views / statistics.median(t[1] for t in times[name]))
        for clock in ("s", "cpu_s"):
            engine = result[f"engine_views_per_{clock}"]
            result[f"speedup_vs_same_views_per_{clock}"] = round(engine / result[f"same_views_views_per_{clock}"], 2)
            result[f"speedup_vs_compose_per_{clock}"] = round(engine / result[f"compose_views_per_{clock}"], 2)
        result["max_abs_diff_vs_torchvision"] = max_abs_diff
        result["load_average_1min"] = [round(load_before, 2), round(load_after, 2)]
        result["seconds"] = {name: [round(t[0], 4) for t in values] for name, values in times.items()}
        print(json.dumps({k: v for k, v in result.items() if k != "seconds"}), flush=True)
        results.append(result)
    return results


def markdown(report: dict) -> str:
    views = ", ".join(report["views"])
    lines = [
        "# View engine throughput",
        "",
        f"{report['date']}, {report['machine']}, torch {report['torch']}. Batch {report['batch_size']}, "
        f"views per image: {views}. Medians of {report['runs']} alternating runs; views/s counts every view. "
        "Per CPU-second: views per second of process time summed over threads.",
        "",
        "| output (canvas) | threads | engine views/s | torchvision same views | speed-up | MoCo v2 Compose | "
        "speed-up | engine views/CPU-s | speed-up per CPU-s (same views) | load avg |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in report["results"]:
        load = "-".join(f"{value:.1f}" for value in r["load_average_1min"])
        lines.append(
            f"| {r['output_size']} ({r['canvas_size']}) | {r['threads']} | {r['engine_views_per_s']:,} | "
            f"{r['same_views_views_per_s']:,} | {r['speedup_vs_same_views_per_s']}x | "
            f"{r['compose_views_per_s']:,} | {r['speedup_vs_compose_per_s']}x | {r['engine_views_per_cpu_s']:,} | "
            f"{r['speedup_vs_same_views_per_cpu_s']}x | {load} |"
        )
    diffs = ", ".join(f"{r['max_abs_diff_vs_torchvision']:.1e}" for r in report["results"][:: len(report["threads"])])
    lines += [
        "",
        f"Engine vs per-sample torchvision on the same parameters, max abs diff (normalised units): {diffs}.",
        "A load average above the core count means other processes shared the CPU during the run.",
        "",
    ]
    return "\n".join(lines)


def main() -> None:
    args = parse_args()
    if args.quick:
        args.batch_size, args.reference_images, args.runs, args.threads = 16, 4, 1, args.threads[:1]
    results = [result for pair in args.sizes for result in benchmark_size(args, *map(int, pair.split(":")))]
    report = {
        "date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs",
        "torch": torch.__version__,
        "batch_size": args.batch_size,
        "reference_images": args.reference_images,
        "runs": args.runs,
        "threads": args.threads,
        "augmentations": args.augmentations,
        "views": ["q", "k_0", *(f"k_{name}" for name in args.augmentations)],
        "results": results,
    }
    args.output_dir.mkdir(parents=True, exist_ok=True)
    (args.output_dir / "views.json").write_text(json.dumps(report, indent=2) + "\n")
    (args.output_dir / "views.md").write_text(markdown(report))
    print(markdown(report))


if __name__ == "__main__":
    main()
