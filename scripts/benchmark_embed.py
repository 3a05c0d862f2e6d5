"""Images per second of `looc-embed` against a bare `model.embed` loop over pre-decoded tensors, in one process.

- looc-embed: `looc_hub.embeddings.embed_dataset` on the split, wall time of the whole call (decoding with the
  model's evaluation preprocessing in `--num_workers` loader processes overlapping the model, every requested
  space from one backbone pass, float32 Parquet shards written atomically, the manifest);
- bare loop: the same images decoded and normalised beforehand (not timed), then `model(x, spaces=...)` over
  batches of the same size: the model's own cost, what the issue asks looc-embed to reach 80% of.

Same model, spaces, batch size and torch threads; runs alternate so that load from other processes hits both
alike; the ratio is the median of the per-pair ratios. The embedded OpenMoji set is rendered at 32 px (the model's
input, as the main job's pretraining renders it) and at 128 px (its default, which the evaluation transform then
resizes): at 128 px decoding costs more than this small model, so it bounds the pipeline. The model is a random
init of the main job's architecture (ResNet-10t at 32 px, LooC colour + rotation; throughput does not depend on the
weights). Results:
benchmarks/results/embed.{json,md}.

    python scripts/benchmark_embed.py                    # OpenMoji validation (803 images) x 3, 3 pairs, images
                                                         # rendered at 32 px (as pretraining renders them) and 128
    python scripts/benchmark_embed.py --quick            # smoke run
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

import torch
from datasets import Dataset, concatenate_datasets

import looc_hub
from looc_hub.data import load_image_dataset
from looc_hub.embeddings import DatasetInfo, embed_dataset, model_identity
from looc_hub.eval.extraction_steps import embed_images, image_batches
from looc_hub.preprocessing import eval_data_config

REPO = Path(__file__).resolve().parents[1]
SPACES = ["invariant", "color", "rotation"]


def bare_loop(model: looc_hub.LooCModel, batches: list[torch.Tensor]) -> float:
    """Seconds of `model(x, spaces)` over pre-decoded, pre-normalised batches."""
    started = time.perf_counter()
    with torch.no_grad():
        for batch in batches:
            model(batch, spaces=SPACES)
    return time.perf_counter() - started


def looc_embed(model: looc_hub.LooCModel, dataset: Dataset, batch_size: int, num_workers: int) -> float:
    """Seconds of one whole `embed_dataset` call into a fresh folder."""
    folder = Path(tempfile.mkdtemp(prefix="bench-embed-"))
    try:
        started = time.perf_counter()
        embed_dataset(
            model,
            dataset,
            folder / "out",
            model_info=model_identity(model, "looc_resnet10t.openmoji32"),
            dataset_info=DatasetInfo("looc-hub/openmoji", "validation"),
            spaces=SPACES,
            batch_size=batch_size,
            num_workers=num_workers,
            device="cpu",
        )
        return time.perf_counter() - started
    finally:
        shutil.rmtree(folder)


def pre_decoded(model: looc_hub.LooCModel, dataset: Dataset, batch_size: int) -> list[torch.Tensor]:
    """The split's batches decoded and normalised exactly as looc-embed feeds them to the model."""
    config = eval_data_config(model)
    mean = torch.tensor(config["mean"]).view(1, -1, 1, 1)
    std = torch.tensor(config["std"]).view(1, -1, 1, 1)
    return [(images - mean) / std for images, _ in image_batches(dataset, model, batch_size=batch_size)]


def measure(model: looc_hub.LooCModel, render_size: int, args: argparse.Namespace) -> dict:
    """Alternating (looc-embed, bare loop) pairs on the split rendered at `render_size` px, repeated."""
    split = load_image_dataset("looc-hub/openmoji", split="validation", image_size=render_size)
    dataset = concatenate_datasets([split] * args.repeat)
    batches = pre_decoded(model, dataset, args.batch_size)
    embed_images(model, batches[0][:8], SPACES)  # warm-up
    runs = []
    for _ in range(args.pairs):
        embed_rate = len(dataset) / looc_embed(model, dataset, args.batch_size, args.num_workers)
        bare_rate = len(dataset) / bare_loop(model, batches)
        runs.append({"looc_embed_images_per_s": embed_rate, "bare_images_per_s": bare_rate})
        print(json.dumps({"render_size": render_size, **runs[-1]}), flush=True)
    return {
        "render_size": render_size,
        "images": len(dataset),
        "runs": runs,
        "looc_embed_images_per_s": statistics.median(r["looc_embed_images_per_s"] for r in runs),
        "bare_images_per_s": statistics.median(r["bare_images_per_s"] for r in runs),
        "ratio": statistics.median(r["looc_embed_images_per_s"] / r["bare_images_per_s"] for r in runs),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=3, help="copies of the split embedded per run")
    parser.add_argument("--pairs", type=int, default=3, help="alternating (looc-embed, bare loop) pairs")
    parser.add_argument("--batch_size", type=int, default=256)
    parser.add_argument("--num_workers", type=int, default=1)
    parser.add_argument("--threads", type=int, default=1, help="torch threads of the model")
    parser.add_argument("--render_sizes", type=int, nargs="+", default=[32, 128], help="OpenMoji render sizes (px)")
    parser.add_argument("--quick", action="store_true", help="one copy, one pair")
    parser.add_argument("--output_dir", type=Path, default=REPO / "benchmarks" / "results")
    args = parser.parse_args()
    if args.quick:
        args.repeat, args.pairs = 1, 1
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    model = looc_hub.create_model("looc_resnet10t.openmoji32").eval()
    report = {
        "date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs, torch {torch.__version__}",
        "model": "looc_resnet10t.openmoji32 (ResNet-10t, 32 px, random init)",
        "spaces": SPACES,
        "batch_size": args.batch_size,
        "num_workers": args.num_workers,
        "threads": args.threads,
        "configurations": [measure(model, size, args) for size in args.render_sizes],
        "load_average_after": os.getloadavg()[0],
    }
    args.output_dir.mkdir(parents=True, exist_ok=True)
    (args.output_dir / "embed.json").write_text(json.dumps(report, indent=2) + "\n")
    (args.output_dir / "embed.md").write_text(markdown(report))
    print(markdown(report))


def table_row(configuration: dict) -> str:
    c = configuration
    pairs = ", ".join(f"{r['looc_embed_images_per_s'] / r['bare_images_per_s']:.2f}" for r in c["runs"])
    rates = f"{c['looc_embed_images_per_s']:.1f} | {c['bare_images_per_s']:.1f}"
    return f"| {c['render_size']} px | {c['images']} | {rates} | **{c['ratio']:.2f}** | {pairs} |"


def markdown(report: dict) -> str:
    rows = "\n".join(table_row(configuration) for configuration in report["configurations"])
    return f"""# looc-embed throughput against a bare `model.embed` loop

{report["date"]}, {report["machine"]}. OpenMoji validation images (repeated), model {report["model"]}, spaces
{", ".join(report["spaces"])}, batch {report["batch_size"]}, {report["threads"]} torch thread(s), looc-embed decoding
in {report["num_workers"]} loader process(es). The bare loop runs on tensors decoded and normalised beforehand
(untimed). Medians of alternating pairs; load average after the runs: {report["load_average_after"]:.1f} (above the
core count: other processes shared the CPU, so the decoding process and the model could not run side by side).

| images rendered at | images | looc-embed images/s | bare loop images/s | ratio (median) | per pair |
|---|---|---|---|---|---|
{rows}

Target: ratio >= 0.80.
"""


if __name__ == "__main__":
    main()
