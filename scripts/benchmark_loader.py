"""Data loading at the paper's resolution: JPEG decode + canvas, images/s per loader worker, and how many workers
one GPU needs to be fed at a measured step rate (issue 19).

    python scripts/benchmark_loader.py                                # generated 500 x 375 JPEGs, 224 px
    python scripts/benchmark_loader.py --images data/imagenet-100      # a real imagefolder (e.g. looc-build-in100's)
    python scripts/benchmark_loader.py --step-results benchmarks/results/step_r50_224_cuda.json

The decode rate is what `build_dataloader` does per image (decode the JPEG at the largest draft reduction that
covers the canvas, resize and centre it on the 280 px canvas that 224 px training crops from), measured in the
main process (`num_workers=0`) with process CPU time, so a shared machine disturbs it little: one worker process
on one core delivers about that many images/s. Then the same loader with `--workers` worker processes, wall-clock.
Workers per GPU = the step's images/s (from a `benchmark_step.py` results file, the fastest method there, or
`--step-images-per-s`) / images/s per worker. The views run on the GPU in the step, so they are not counted here.
Writes `<output-dir>/<output-name>.{json,md}`.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

import torch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # the generated ImageNet-shaped tree lives with the tests, in a checkout
from looc_hub.data import build_dataloader, load_image_dataset  # noqa: E402
from looc_hub.data.imagenet_sample import write_imagenet_tree  # noqa: E402


def images_per_s(dataset, canvas_size: int, batch_size: int, batches: int, workers: int) -> float:
    """Images/s through `build_dataloader`: process CPU time with no worker, wall-clock with workers."""
    loader = build_dataloader(dataset, batch_size=batch_size, canvas_size=canvas_size, num_workers=workers, seed=0)
    clock = time.process_time if workers == 0 else time.perf_counter
    iterator = iter(loader)
    next(iterator)  # workers start, first batch: not timed
    start, images = clock(), 0
    for _ in range(batches):
        images += len(next(iterator)["images"])
    return images / (clock() - start)


def step_rate(args: argparse.Namespace) -> tuple[float | None, str]:
    """The images/s one GPU's training step consumes, and where the number came from."""
    if args.step_images_per_s:
        return args.step_images_per_s, "--step-images-per-s"
    if args.step_results and args.step_results.is_file():
        report = json.loads(args.step_results.read_text())
        best = max(report["results"], key=lambda row: row["images_per_s"])
        return best["images_per_s"], f"{args.step_results} ({best['method']}, batch {best['batch_size']}, on " + (
            f"{report['meta']['device']})"
        )
    return None, "no step results"


def markdown(report: dict) -> str:
    meta, result = report["meta"], report["result"]
    lines = [
        "# Data loading at 224 px (`scripts/benchmark_loader.py`)",
        "",
        f"{meta['images']}; canvas {meta['canvas_size']} px (224 px training), batch {meta['batch_size']}, "
        f"{meta['batches']} batches; {meta['cpu']}, torch {meta['torch']}; load average "
        f"{meta['load_average_before']} before, {meta['load_average_after']} after.",
        "",
        "| measurement | images/s |",
        "|---|---:|",
        f"| decode + canvas, main process, per CPU second (= one worker's rate) | **{result['per_worker']:.1f}** |",
        f"| loader with {meta['workers']} worker(s), wall-clock | {result['with_workers']:.1f} |",
        "",
    ]
    if result["step_images_per_s"] is not None:
        lines += [
            f"A step consuming {result['step_images_per_s']:.1f} images/s ({result['step_source']}) needs "
            f"**{result['workers_per_gpu']} loader workers** (CPU cores) per GPU at this decode rate.",
            "",
        ]
    else:
        lines += ["No step rate given: run benchmark_step.py on the GPU, then pass --step-results.", ""]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--images", type=Path, help="an imagefolder (default: generated 500 x 375 JPEGs)")
    parser.add_argument("--generated", type=int, default=256, help="images to generate without --images")
    parser.add_argument("--image-size", type=int, default=224, help="training resolution; canvas = 1.25x")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--batches", type=int, default=6)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--step-results", type=Path, help="a benchmark_step.py JSON (images/s of one device)")
    parser.add_argument("--step-images-per-s", type=float, help="the step's images/s, instead of --step-results")
    parser.add_argument("--output-dir", type=Path, default=Path("benchmarks/results"))
    parser.add_argument("--output-name", default="loader")
    args = parser.parse_args()

    torch.set_num_threads(1)
    canvas_size = round(1.25 * args.image_size)
    load_before = [round(x, 2) for x in os.getloadavg()]
    with tempfile.TemporaryDirectory(prefix="looc-loader-") as scratch:
        if args.images is None:
            classes = [f"n{index:08d}" for index in range(8)]
            write_imagenet_tree(Path(scratch), classes, train=math.ceil(args.generated / 8), val=0)
            source, described = Path(scratch), f"{args.generated} generated 500 x 375 JPEGs (scikit-image photos)"
        else:
            source, described = args.images, str(args.images)
        dataset = load_image_dataset(source, split="train")
        per_worker = images_per_s(dataset, canvas_size, args.batch_size, args.batches, workers=0)
        with_workers = images_per_s(dataset, canvas_size, args.batch_size, args.batches, workers=args.workers)
    rate, source_of_rate = step_rate(args)
    report = {
        "meta": {
            "images": described,
            "canvas_size": canvas_size,
            "batch_size": args.batch_size,
            "batches": args.batches,
            "workers": args.workers,
            "cpu": f"CPU ({platform.machine()}, {os.cpu_count()} cores)",
            "torch": torch.__version__,
            "load_average_before": load_before,
            "load_average_after": [round(x, 2) for x in os.getloadavg()],
        },
        "result": {
            "per_worker": round(per_worker, 2),
            "with_workers": round(with_workers, 2),
            "step_images_per_s": rate,
            "step_source": source_of_rate,
            "workers_per_gpu": math.ceil(rate / per_worker) if rate else None,
        },
    }
    args.output_dir.mkdir(parents=True, exist_ok=True)
    (args.output_dir / f"{args.output_name}.json").write_text(json.dumps(report, indent=2) + "\n")
    (args.output_dir / f"{args.output_name}.md").write_text(markdown(report))
    print(markdown(report))


if __name__ == "__main__":
    main()
