"""The pretraining curves: loss per space and kNN top-1 per space against the step, from the run's metrics.jsonl.

Written at the end of `looc-pretrain` beside `summary.json` (`curves.png`) when matplotlib is installed
(`pip install looc-hub[eval]`), so a run shows whether it learned without a tracker UI.
"""

from __future__ import annotations

import json
from pathlib import Path

from ..eval.plotting import pyplot, save_figure

__all__ = ["plot_training_curves", "read_metrics"]


def read_metrics(path: str | Path) -> list[dict]:
    """The rows of a `JSONLTracker` file (one JSON object per logged step)."""
    return [json.loads(line) for line in Path(path).read_text().splitlines() if line.strip()]


def plot_training_curves(metrics_path: str | Path, path: str | Path) -> Path:
    """A PNG: left, the total loss and each space's InfoNCE loss; right, each space's kNN top-1 (%).

    Raises ValueError when the file has no loss row (nothing was trained).
    """
    rows = read_metrics(metrics_path)
    losses = [row for row in rows if "loss" in row]
    if not losses:
        raise ValueError(f"{metrics_path} has no loss rows to plot")
    knn = [row for row in rows if any(key.startswith("knn/") for key in row)]
    plt = pyplot()
    figure, (loss_axes, knn_axes) = plt.subplots(1, 2, figsize=(10, 3.6))
    steps = [row["step"] for row in losses]
    for key in ["loss", *sorted({k for row in losses for k in row if k.startswith("loss/")})]:
        loss_axes.plot(
            steps, [row.get(key) for row in losses], label=key.removeprefix("loss/"), lw=2 if key == "loss" else 1
        )
    loss_axes.set(xlabel="step", ylabel="InfoNCE loss", title="loss")
    loss_axes.legend(fontsize=8)
    spaces = sorted({k.split("/")[1] for row in knn for k in row if k.startswith("knn/") and k.endswith("/top1")})
    for space in spaces:
        points = [(row["step"], row[f"knn/{space}/top1"]) for row in knn if f"knn/{space}/top1" in row]
        knn_axes.plot(*zip(*points, strict=True), marker="o", label=space)
    knn_axes.set(xlabel="step", ylabel="top-1 (%)", title="kNN on the held-out split" if spaces else "no kNN logged")
    if spaces:
        knn_axes.legend(fontsize=8)
    figure.tight_layout()
    return save_figure(figure, path)
