"""`--help` text of every `PretrainConfig` field (the pretraining command's flags); defaults and choices are added
from the dataclass and `FIELD_CHOICES`, so they cannot drift from what the config accepts."""

from __future__ import annotations

__all__ = ["FIELD_HELP"]

FIELD_HELP = {
    "model": "zoo model to pretrain (looc_hub.list_models()); it fixes the LooCConfig: backbone, spaces, image size",
    "model_overrides": "LooCConfig fields (architecture, preprocessing) to change, as a YAML mapping, e.g. "
    "'{image_size: 32}'",
    "dataset": "training images: a Hub dataset name, an imagefolder dir, parquet file(s), a save_to_disk dir or an "
    "embedded set ('looc-hub/openmoji', 'looc-hub/digits')",
    "train_split": "split to pretrain on (also the kNN monitor's labelled bank)",
    "eval_split": "held-out split of the per-epoch kNN monitor; null turns the monitor off",
    "image_column": "column holding the images",
    "label_column": "column holding the labels of the kNN monitor; null turns the monitor off",
    "streaming": "stream the dataset instead of loading it (no length: set --max_steps)",
    "canvas_size": "square size images are decoded to before the views are cut; null: 1.25 x the model's "
    "image_size (ours)",
    "check_images": "decode every training image before training, so an unreadable one is named up front",
    "skip_unreadable": "with the check, drop unreadable images (their count is printed) instead of failing",
    "epochs": "passes over the training set (ignored when --max_steps is set)",
    "max_steps": "optimiser steps to train for, instead of --epochs; null: epochs x steps per epoch",
    "batch_size": "images per process per step; the global batch is batch_size x processes",
    "base_lr": "learning rate per 256 images, scaled linearly with the global batch (MoCo v2: 0.03)",
    "optimizer": "sgd (MoCo v2's) or adamw (ours)",
    "sgd_momentum": "SGD momentum (MoCo v2: 0.9)",
    "weight_decay": "weight decay of the optimiser (MoCo v2: 1e-4)",
    "warmup_epochs": "linear learning-rate warmup before the cosine decay, in epochs (may be fractional; ours)",
    "queue_size": "negatives kept per space (the paper's: 16,384); at most half the training set",
    "temperature": "InfoNCE temperature (MoCo v2's: 0.2)",
    "key_momentum": "key-encoder EMA momentum, in [0, 1) (MoCo v2's: 0.999)",
    "key_momentum_schedule": "key encoder momentum: constant at --key_momentum (MoCo v2's) or cosine from it to 1 "
    "(BYOL's, ours)",
    "crop_scale": "random resized crop area range [min, max] (MoCo v2: [0.2, 1.0]; small recipes use a milder "
    "minimum, ours)",
    "sync_bn": "SyncBatchNorm across processes instead of MoCo's Shuffle-BN",
    "bn_groups": "one process only: BatchNorm groups of the one-process Shuffle-BN (keys spread across them); "
    "1 turns it off (4 is ours)",
    "mixed_precision": "Accelerate's mixed precision; null: Accelerate's own setting (from `accelerate config` or "
    "`accelerate launch`)",
    "channels_last": "channels-last memory format (faster convolutions on recent GPUs)",
    "compile": "torch.compile both encoders' forward passes",
    "seed": "seed of the initial weights, the data order, the views and Shuffle-BN (a resumed run draws the same)",
    "num_workers": "data-loading worker processes per training process",
    "output_dir": "run folder: checkpoints/, logs/, model/ (the Hub-format result) and summary.json",
    "checkpoint_every_steps": "save a resumable checkpoint every N steps; 0: at the end of every epoch",
    "keep_checkpoints": "checkpoints kept on disk (older ones are deleted)",
    "resume": "'latest' or a checkpoint folder to continue. Checkpoints are TRUSTED INPUT: they hold pickles "
    "(Accelerate's optimiser and RNG state) that can run code when loaded; resume only checkpoints you wrote",
    "overwrite": "start over in a non-empty --output_dir: removes the previous run's checkpoints/, logs/, model/ "
    "and summary.json (nothing else) before training",
    "log_every_steps": "log loss, learning rate and throughput to the trackers every N steps",
    "knn_every_epochs": "run the kNN monitor every N epochs (and always at the end)",
    "knn_k": "neighbours of the kNN monitor",
    "knn_temperature": "temperature of the kNN monitor's weighted vote",
    "knn_bank_size": "labelled training images in the kNN monitor's bank (the first N of --train_split)",
    "report_to": "trackers, as a YAML list: jsonl (built in: logs/metrics.jsonl) and any of Accelerate's (each "
    "needs its package installed, e.g. pip install tensorboard)",
    "push_to_hub": "org/name to push the final model to (the id and a token are checked before training)",
    "hub_private": "create the --push_to_hub repo private",
}
