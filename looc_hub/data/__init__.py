"""Image data for LooC: any HF dataset or an embedded one, decoded into uint8 canvas batches for the view engine."""

from .canvas import CanvasCollate, UnreadableImageError, describe_image, open_image, to_8bit, to_canvas, to_rgb
from .columns import IMAGE_COLUMN, LABEL_COLUMN
from .dataset_cache import default_cache_dir
from .embedded import EMBEDDED_DATASET_NAMES, load_embedded_dataset
from .load import load_image_dataset
from .loader import build_dataloader, check_enough_rows
from .sampler import EpochShuffleSampler
from .screen import screen_images
from .subset import random_subset

__all__ = [
    "EMBEDDED_DATASET_NAMES",
    "IMAGE_COLUMN",
    "LABEL_COLUMN",
    "CanvasCollate",
    "EpochShuffleSampler",
    "UnreadableImageError",
    "build_dataloader",
    "check_enough_rows",
    "default_cache_dir",
    "describe_image",
    "load_embedded_dataset",
    "load_image_dataset",
    "open_image",
    "random_subset",
    "screen_images",
    "to_8bit",
    "to_canvas",
    "to_rgb",
]
