"""Time of the linear probe against scikit-learn's LogisticRegression (lbfgs) doing the same job, in one run.

Features: digits (looc-hub/digits, 1,347 train / 450 test images at 32 px) through a random-init ResNet-10t with
calibrated BatchNorm (512-d, the evaluation tests' features) and raw pixels (3,072-d). Three jobs, each on the
same objective (mean cross-entropy + weight_decay / 2 ||W||^2 on standardised features, i.e. scikit-learn's
C = 1 / (N weight_decay)), the same gradient tolerance and the same `max_iter`:
- single: one fit at weight_decay 1e-3 on the whole training split;
- sweep: `fit_linear_probe`'s default: the penalty grid on a stratified 80/20 split, then the refit;
- kshot: `kshot_linear_probe` (K shots of every class, penalty by leave-one-shot-out cross-validation, refit),
  `--draws` draws per K.
scikit-learn does each job with the same splits, grid, selection rule (pooled held-out accuracy, ties to the
stronger penalty) and refit, once fitting every penalty from zero ("cold": its default) and once warm-started
along the path like ours ("warm": `warm_start=True`). Runs alternate between the three so that load from other
processes hits them alike; the ratio is ours / scikit-learn on medians of process time (CPU seconds, which other
processes disturb far less than wall time; both run on one thread). Results: benchmarks/results/probe.{json,md}.

    OMP_NUM_THREADS=1 python scripts/benchmark_probe.py            # 3 runs, K = 5 and 10, 4 draws
    OMP_NUM_THREADS=1 python scripts/benchmark_probe.py --quick    # smoke run
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time
import warnings
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import sklearn
import torch
from sklearn.exceptions import ConvergenceWarning as SklearnConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler
from torch import Tensor

from looc_hub import LooCConfig, LooCModel
from looc_hub.data import load_image_dataset
from looc_hub.eval.baselines import calibrate_batchnorm
from looc_hub.eval.features import extract_features
from looc_hub.eval.few_shot import kshot_linear_probe
from looc_hub.eval.linear_probe import WEIGHT_DECAY_GRID, fit_linear_probe, stratified_folds, stratified_split
from looc_hub.spaces import PIXELS

RESULTS = Path(__file__).resolve().parents[1] / "benchmarks" / "results"
IMPLEMENTATIONS = ("ours", "sklearn_cold", "sklearn_warm")
TOLERANCE, MAX_ITER, SINGLE_WEIGHT_DECAY = 1e-5, 1000, 1e-3
Split = tuple[np.ndarray, np.ndarray]


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=3, help="timed runs of each implementation per job")
    parser.add_argument("--shots", type=int, nargs="+", default=[5, 10])
    parser.add_argument("--draws", type=int, default=4)
    parser.add_argument("--quick", action="store_true", help="one run, K = 5, 2 draws, backbone features only")
    parser.add_argument("--output-dir", type=Path, default=RESULTS)
    return parser.parse_args()


def digits_features() -> dict[str, tuple[Tensor, Tensor, Tensor, Tensor]]:
    """{features: (train x, train y, test x, test y)} for the calibrated random ResNet-10t and raw pixels."""
    train = load_image_dataset("looc-hub/digits", label_column="label")
    test = load_image_dataset("looc-hub/digits", split="test", label_column="label")
    torch.manual_seed(0)
    config = LooCConfig(backbone="resnet10t", image_size=32, augmentations=("color", "rotation"), crop_pct=1.0)
    model = calibrate_batchnorm(LooCModel(config), train, max_images=400, batch_size=200)
    train_x, train_y = extract_features(model, train, spaces=["backbone", PIXELS])
    test_x, test_y = extract_features(model, test, spaces=["backbone", PIXELS])
    return {name: (train_x[name], train_y, test_x[name], test_y) for name in ("backbone", PIXELS)}


def sklearn_probe(x: np.ndarray, y: np.ndarray, splits: list[Split] | None, *, warm: bool) -> tuple:
    """(scaler, model) of scikit-learn doing the probe's job: the grid on `splits` then the refit (or one fit)."""
    start: dict[float, tuple[np.ndarray, np.ndarray]] = {}
    weight_decay = SINGLE_WEIGHT_DECAY
    if splits is not None:
        grid = sorted(WEIGHT_DECAY_GRID, reverse=True)
        correct = dict.fromkeys(grid, 0)
        for index, (fit_rows, validation_rows) in enumerate(splits):
            scaler = StandardScaler().fit(x[fit_rows])
            model = LogisticRegression(tol=TOLERANCE, max_iter=MAX_ITER, warm_start=warm)
            for value in grid:
                model.set_params(C=1 / (len(fit_rows) * value)).fit(scaler.transform(x[fit_rows]), y[fit_rows])
                correct[value] += int((model.predict(scaler.transform(x[validation_rows])) == y[validation_rows]).sum())
                if index == 0:
                    start[value] = (model.coef_.copy(), model.intercept_.copy())
        weight_decay = max(grid, key=lambda value: (correct[value], value))
    scaler = StandardScaler().fit(x)
    model = LogisticRegression(C=1 / (len(x) * weight_decay), tol=TOLERANCE, max_iter=MAX_ITER, warm_start=warm)
    if warm and weight_decay in start:
        model.coef_, model.intercept_ = start[weight_decay]
    return scaler, model.fit(scaler.transform(x), y)


def sklearn_top1(x: np.ndarray, y: np.ndarray, test_x: np.ndarray, test_y: np.ndarray, splits, warm: bool) -> float:
    scaler, model = sklearn_probe(x, y, splits, warm=warm)
    return 100.0 * float((model.predict(scaler.transform(test_x)) == test_y).mean())


def job_runner(job: str, data: tuple[Tensor, Tensor, Tensor, Tensor], args: argparse.Namespace) -> Callable:
    """implementation -> test top-1 (%) of `job` on `data` (for kshot: the mean over shots and draws)."""
    train_x, train_y, test_x, test_y = data
    x, y, tx, ty = train_x.double().numpy(), train_y.numpy(), test_x.double().numpy(), test_y.numpy()

    def ours() -> float:
        if job == "kshot":
            results = [
                kshot_linear_probe(train_x, train_y, test_x, test_y, shots=k, draws=args.draws) for k in args.shots
            ]
            return statistics.mean(result.accuracy for result in results)
        weight_decay = SINGLE_WEIGHT_DECAY if job == "single" else None
        return fit_linear_probe(train_x, train_y, weight_decay=weight_decay).accuracy(test_x, test_y)["top1"]

    def sklearn_job(warm: bool) -> float:
        if job == "single":
            return sklearn_top1(x, y, tx, ty, None, warm)
        if job == "sweep":
            split = stratified_split(train_y, 0.2, 0)
            return sklearn_top1(x, y, tx, ty, [(split[0].numpy(), split[1].numpy())], warm)
        per_class = [(train_y == label).nonzero().squeeze(1) for label in range(int(train_y.max()) + 1)]
        accuracies = []
        for shots in args.shots:
            for draw in range(args.draws):  # kshot_linear_probe's draws and folds
                generator = torch.Generator().manual_seed(draw)
                rows = torch.cat([r[torch.randperm(len(r), generator=generator)[:shots]] for r in per_class])
                folds = [(a.numpy(), b.numpy()) for a, b in stratified_folds(train_y[rows], shots, draw)]
                accuracies.append(sklearn_top1(x[rows.numpy()], y[rows.numpy()], tx, ty, folds, warm))
        return statistics.mean(accuracies)

    runners = {"ours": ours, "sklearn_cold": lambda: sklearn_job(False), "sklearn_warm": lambda: sklearn_job(True)}
    return lambda implementation: runners[implementation]()


def measure(job: str, features: str, data: tuple, args: argparse.Namespace) -> dict:
    """Alternating timed runs of the three implementations on one job; medians and ratios."""
    run = job_runner(job, data, args)
    cpu: dict[str, list[float]] = {name: [] for name in IMPLEMENTATIONS}
    wall: dict[str, list[float]] = {name: [] for name in IMPLEMENTATIONS}
    top1: dict[str, float] = {}
    load = [os.getloadavg()[0]]
    for index in range(args.runs):
        for name in IMPLEMENTATIONS[index % 3 :] + IMPLEMENTATIONS[: index % 3]:  # rotating order
            started_cpu, started_wall = time.process_time(), time.perf_counter()
            top1[name] = run(name)
            cpu[name].append(time.process_time() - started_cpu)
            wall[name].append(time.perf_counter() - started_wall)
    load.append(os.getloadavg()[0])
    cpu_median = {name: statistics.median(values) for name, values in cpu.items()}
    return {
        "job": job,
        "features": features,
        "dimensions": int(data[0].shape[1]),
        "cpu_s": cpu_median,
        "wall_s": {name: statistics.median(values) for name, values in wall.items()},
        "ratio_cold": cpu_median["ours"] / cpu_median["sklearn_cold"],
        "ratio_warm": cpu_median["ours"] / cpu_median["sklearn_warm"],
        "top1": top1,
        "load_avg": load,
    }


def markdown(report: dict) -> str:
    meta = report["meta"]
    lines = [
        "# Linear probe vs scikit-learn LogisticRegression (lbfgs)",
        "",
        f"{meta['date']}, {meta['machine']}, {meta['cpus']} CPUs, OMP_NUM_THREADS={meta['omp_num_threads']}, "
        f"torch {meta['torch']}, scikit-learn {meta['sklearn']}. Medians of {meta['runs']} alternating runs of "
        f"process time; ratio = ours / scikit-learn (below 1: ours is faster). K-shot: K = {meta['shots']}, "
        f"{meta['draws']} draws each. Same objective, tolerance {TOLERANCE:g}, max_iter {MAX_ITER}.",
        "",
        "| job | features (d) | ours CPU-s | sklearn cold | ratio | sklearn warm | ratio | top-1 ours / cold / warm | "
        "load avg |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for row in report["results"]:
        cpu, top1 = row["cpu_s"], row["top1"]
        lines.append(
            f"| {row['job']} | {row['features']} ({row['dimensions']}) | {cpu['ours']:.2f} | "
            f"{cpu['sklearn_cold']:.2f} | {row['ratio_cold']:.2f}x | {cpu['sklearn_warm']:.2f} | "
            f"{row['ratio_warm']:.2f}x | {top1['ours']:.1f} / {top1['sklearn_cold']:.1f} / {top1['sklearn_warm']:.1f} "
            f"| {row['load_avg'][0]:.1f}-{row['load_avg'][1]:.1f} |"
        )
    lines += [
        "",
        "Top-1 on the 450 test digits (K-shot: the mean over K and draws). Where two solvers stop at the same",
        "gradient tolerance on a nearly separable problem (weak penalties), their weights differ slightly and a",
        "sweep may pick a neighbouring penalty, so K-shot top-1 can differ by a point or so.",
        "",
    ]
    return "\n".join(lines)


def main() -> None:
    args = parse_args()
    if args.quick:
        args.runs, args.shots, args.draws = 1, [5], 2
    features = digits_features()
    if args.quick:
        features = {"backbone": features["backbone"]}
    results = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SklearnConvergenceWarning)  # the same capped runs ours would warn about
        for name, data in features.items():
            for job in ("single", "sweep", "kshot"):
                results.append(measure(job, name, data, args))
                print(json.dumps(results[-1]), flush=True)
    meta = {
        "date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
        "omp_num_threads": os.environ.get("OMP_NUM_THREADS", "unset"),
        "torch": torch.__version__,
        "sklearn": sklearn.__version__,
        "runs": args.runs,
        "shots": args.shots,
        "draws": args.draws,
    }
    report = {"meta": meta, "results": results}
    (args.output_dir / "probe.json").write_text(json.dumps(report, indent=2) + "\n")
    (args.output_dir / "probe.md").write_text(markdown(report))


if __name__ == "__main__":
    main()
