"""Step time of LooC pretraining against the network compute no implementation can avoid (issue 4, req. 8).

    python scripts/benchmark_step.py                      # resnet18, 64 px, CPU (1 thread), batch 32 and 64
    python scripts/benchmark_step.py --device cuda --image-size 224 --batch-sizes 64 128 --output-name step_cuda

For each method (LooC with colour + rotation: 3 spaces and 3 keys; MoCo v2: 1 space and 1 key) and batch size,
three measurements are interleaved step by step, so that changing machine load hits them alike:
- network compute: the query encoder's forward + backward on B images plus the key encoder's forward on the
  (n+1)·B key images, with a trivial loss: the floor any implementation of the method pays;
- step: what training runs, `objective(views)`, backward, optimiser step, momentum update (views excluded);
- the same step re-enacted phase by phase with the objective's own parts, for the breakdown: key forward,
  query forward + backward, loss, queue + momentum update, optimiser; and, once per step, the views.
The three run in a rotating order. The overhead ratio is median step time / median network compute (target
<= 1.10; lightly 1.6's MoCo v2 step costs 1.03-1.06x its network compute). Writes
`<output-dir>/<output-name>.{json,md}`.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import torch

from looc_hub import LooCConfig, LooCModel
from looc_hub.objective import LooCObjective
from looc_hub.views import LooCViewGenerator, LooCViews

METHODS = {
    "LooC": {"augmentations": ("color", "rotation"), "invariant_augmentations": ()},
    "MoCo v2": {"augmentations": (), "invariant_augmentations": ("color",)},
}
PHASES = ("views", "key_forward", "query_forward_backward", "loss", "queue_momentum", "optimizer")
EXTRAS = ("loss", "queue_momentum", "optimizer")  # the phases that are not network compute


class Stopwatch:
    """Seconds per named block: this process's CPU time on CPU, wall-clock (device synchronised) on CUDA.

    CPU time counts the work this process did, not the time it waited while other processes held the cores,
    so a shared machine disturbs it far less than wall-clock time.
    """

    def __init__(self, device: torch.device) -> None:
        self.device = device
        self.clock = time.perf_counter if device.type == "cuda" else time.process_time
        self.seconds: dict[str, list[float]] = defaultdict(list)

    @contextmanager
    def __call__(self, name: str) -> Iterator[None]:
        self._synchronize()
        start = self.clock()
        yield
        self._synchronize()
        self.seconds[name].append(self.clock() - start)

    def _synchronize(self) -> None:
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)


def network_compute(
    objective: LooCObjective, optimizer: torch.optim.Optimizer, views: LooCViews, watch: Stopwatch
) -> None:
    with watch("network_compute"):
        objective.query_encoder.forward_projections(views.query).sum().backward()
        with torch.no_grad():
            objective.key_encoder.forward_projections(views.keys.flatten(0, 1))
    optimizer.zero_grad(set_to_none=True)


def training_step(
    objective: LooCObjective, optimizer: torch.optim.Optimizer, views: LooCViews, watch: Stopwatch
) -> None:
    with watch("step"):
        objective(views).loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        objective.momentum_update()


def phased_step(objective: LooCObjective, optimizer: torch.optim.Optimizer, views: LooCViews, watch: Stopwatch) -> None:
    with watch("key_forward"):
        keys = objective.encode_keys(views.keys)  # (V, S, B, D)
    with watch("query_forward"):
        query = objective.query_encoder.forward_projections(views.query)  # (S, B, D)
    with watch("loss"):
        loss = objective.loss(query, keys, objective.queue.keys.clone()).loss
    with watch("backward"):
        loss.backward()
    with watch("optimizer"):
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
    with watch("queue_momentum"):
        spaces = torch.arange(len(objective.space_names), device=keys.device)
        objective.queue.enqueue(keys[spaces, spaces])
        objective.momentum_update()


def benchmark(method: str, batch_size: int, args: argparse.Namespace, device: torch.device) -> dict:
    torch.manual_seed(0)
    config = LooCConfig(backbone=args.backbone, image_size=args.image_size, **METHODS[method])
    objective = LooCObjective(LooCModel(config), queue_size=args.queue_size, bn_groups=args.bn_groups)
    objective = objective.to(device).train()
    optimizer = torch.optim.SGD(objective.query_encoder.parameters(), lr=0.03, momentum=0.9, weight_decay=1e-4)
    generator = LooCViewGenerator.from_config(config)
    canvas_size = round(1.25 * args.image_size)  # the training script's default canvas
    canvas = torch.randint(0, 256, (batch_size, 3, canvas_size, canvas_size), dtype=torch.uint8, device=device)

    watch = Stopwatch(device)
    measurements = [network_compute, training_step, phased_step]
    for step in range(args.warmup + args.steps):
        if step == args.warmup:
            watch.seconds.clear()
        with watch("views"):
            views = generator(canvas)
        for measure in measurements[step % 3 :] + measurements[: step % 3]:  # rotated: no order favoured
            measure(objective, optimizer, views, watch)

    seconds = dict(watch.seconds)
    seconds["query_forward_backward"] = [
        f + b for f, b in zip(seconds["query_forward"], seconds["backward"], strict=True)
    ]
    median_ms = {name: 1000 * statistics.median(values) for name, values in seconds.items()}
    network = median_ms["network_compute"]
    return {
        "method": method,
        "spaces": len(config.head_names),  # = key views
        "batch_size": batch_size,
        "median_ms": {name: round(median_ms[name], 2) for name in (*PHASES, "step", "network_compute")},
        "phases_sum_ms": round(sum(median_ms[name] for name in PHASES if name != "views"), 2),
        "step_over_network": round(median_ms["step"] / network, 3),
        "extras_over_network": round(sum(median_ms[name] for name in EXTRAS) / network, 3),
        "step_with_views_over_network": round((median_ms["step"] + median_ms["views"]) / network, 3),
    }


def markdown(report: dict) -> str:
    meta = report["meta"]
    lines = [
        "# Step-time breakdown (`scripts/benchmark_step.py`)",
        "",
        f"{meta['backbone']}, {meta['image_size']} px, queue {meta['queue_size']} per space, "
        f"{meta['bn_groups']} BatchNorm group(s) (one-process Shuffle-BN), {meta['device']} "
        f"({meta['threads']} torch threads), torch {meta['torch']}; median of {meta['steps']} steps after "
        f"{meta['warmup']} warm-up steps; clock: {meta['clock']}; load average {meta['load_average_before']} "
        f"before, {meta['load_average_after']} after. Times in ms.",
        "",
        "Network compute = query forward + backward (B images) + key forward ((n+1)·B images), each one batch. The"
        " step (BatchNorm groups included) excludes",
        "views (the phase columns re-enact it one part at a time; their sum, without views, should be close).",
        "Extras = loss + queue and momentum update + optimiser, the phases that are not network compute.",
        "",
        "| method | batch | views | key fwd | query fwd+bwd | loss | queue+momentum | optimiser | phases sum "
        "| step | network | **step / network** | extras / network | (step + views) / network |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for row in report["results"]:
        ms = row["median_ms"]
        spaces = f"{row['spaces']} space" + ("s" if row["spaces"] > 1 else "")
        lines.append(
            f"| {row['method']} ({spaces}) | {row['batch_size']} | {ms['views']} | {ms['key_forward']} "
            f"| {ms['query_forward_backward']} | {ms['loss']} | {ms['queue_momentum']} | {ms['optimizer']} "
            f"| {row['phases_sum_ms']} | {ms['step']} | {ms['network_compute']} | **{row['step_over_network']}** "
            f"| {row['extras_over_network']} | {row['step_with_views_over_network']} |"
        )
    peer = "Peer: lightly 1.6's MoCo v2 step, 1.03-1.06x its network compute."
    lines += ["", f"Target: step / network <= 1.10. {peer}", ""]
    steps = {(row["method"], row["batch_size"]): row["median_ms"]["step"] for row in report["results"]}
    for batch_size in sorted({row["batch_size"] for row in report["results"]}):
        if ("LooC", batch_size) in steps and ("MoCo v2", batch_size) in steps:
            ratio = steps["LooC", batch_size] / steps["MoCo v2", batch_size]
            lines.append(f"- LooC / MoCo v2 step at batch {batch_size}: {ratio:.2f}x (two more key forwards).")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--backbone", default="resnet18")
    parser.add_argument("--image-size", type=int, default=64)
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=[32, 64])
    parser.add_argument("--queue-size", type=int, default=16384, help="per space (the paper's 16,384)")
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--steps", type=int, default=8)
    parser.add_argument("--device", default="cpu")
    parser.add_argument(
        "--bn-groups", type=int, default=4, help="one-process Shuffle-BN groups, as pretraining runs it (1: off)"
    )
    parser.add_argument("--threads", type=int, default=1, help="torch threads (CPU time adds up over threads)")
    parser.add_argument("--output-dir", type=Path, default=Path("benchmarks/results"))
    parser.add_argument("--output-name", default="step")
    args = parser.parse_args()

    torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    load_before = [round(x, 2) for x in os.getloadavg()]
    results = []
    for batch_size in args.batch_sizes:
        for method in METHODS:
            results.append(benchmark(method, batch_size, args, device))
            print(json.dumps(results[-1]), flush=True)
    report = {
        "meta": {
            "backbone": args.backbone,
            "image_size": args.image_size,
            "queue_size": args.queue_size,
            "device": torch.cuda.get_device_name(device) if device.type == "cuda" else f"CPU ({platform.machine()})",
            "threads": torch.get_num_threads(),
            "bn_groups": args.bn_groups,
            "clock": "wall-clock" if device.type == "cuda" else "process CPU time",
            "torch": torch.__version__,
            "warmup": args.warmup,
            "steps": args.steps,
            "load_average_before": load_before,
            "load_average_after": [round(x, 2) for x in os.getloadavg()],
        },
        "results": results,
    }
    args.output_dir.mkdir(parents=True, exist_ok=True)
    (args.output_dir / f"{args.output_name}.json").write_text(json.dumps(report, indent=2) + "\n")
    (args.output_dir / f"{args.output_name}.md").write_text(markdown(report))
    print(markdown(report))


if __name__ == "__main__":
    main()
