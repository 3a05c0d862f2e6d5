"""The pretraining curves PNG is drawn from the JSON-lines log that JSONLTracker writes."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

from looc_hub.training.curves import plot_training_curves, read_metrics


def test_curves_plot_loss_and_knn_rows(tmp_path):
    rows = [{"step": s, "loss": 4.0 - s / 100, "loss/invariant": 4.2 - s / 100, "epoch": 0} for s in range(10, 110, 10)]
    rows += [
        {"step": 50, "knn/backbone/top1": 40.0, "knn/backbone/top5": 80.0},
        {"step": 100, "knn/backbone/top1": 55.0},
    ]
    metrics = tmp_path / "metrics.jsonl"
    metrics.write_text("".join(json.dumps(row) + "\n" for row in rows))
    assert read_metrics(metrics) == rows
    png = plot_training_curves(metrics, tmp_path / "out" / "curves.png")
    image = np.asarray(Image.open(png).convert("RGB"))
    assert image.shape[1] > 2 * image.shape[0]  # two panels side by side
    assert (image != 255).any(axis=-1).mean() > 0.05  # something was drawn, not a blank canvas


def test_a_log_without_loss_rows_is_an_error(tmp_path):
    metrics = tmp_path / "metrics.jsonl"
    metrics.write_text(json.dumps({"step": 1, "knn/backbone/top1": 10.0}) + "\n")
    with pytest.raises(ValueError, match="no loss rows"):
        plot_training_curves(metrics, tmp_path / "curves.png")
