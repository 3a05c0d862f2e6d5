"""A load-time check that every image decodes, so a bad file fails (or is skipped) before training, not mid-epoch.

A truncated file, random bytes or a decompression-bomb-sized image otherwise crashes a DataLoader worker hours
into a run. `screen_images` decodes every row exactly as the loader will (`CanvasCollate.canvas`) and either
names the unreadable ones or drops them.
"""

from __future__ import annotations

from datasets import Dataset
from datasets import Image as ImageFeature

from .canvas import CanvasCollate, UnreadableImageError
from .columns import IMAGE_COLUMN

__all__ = ["screen_images"]


def screen_images(dataset: Dataset, canvas_size: int, *, skip: bool = False) -> tuple[Dataset, list[str]]:
    """Decode every image; return the dataset (without unreadable rows when `skip`) and one line per bad row.

    Raises:
        UnreadableImageError: when some rows do not decode and `skip` is False, naming up to 10 of them.
        TypeError: for a streaming dataset, which cannot be screened ahead of reading it.
    """
    if not isinstance(dataset, Dataset):
        raise TypeError("Checking images needs a map-style dataset; a streaming one is read only once, lazily")
    collate = CanvasCollate(canvas_size)
    raw = dataset.cast_column(IMAGE_COLUMN, ImageFeature(decode=False))
    bad: list[str] = []
    bad_rows: list[int] = []
    for index, value in enumerate(raw[IMAGE_COLUMN]):
        try:
            collate.canvas(value)
        except UnreadableImageError as error:
            bad.append(f"row {index}: {error}")
            bad_rows.append(index)
    if bad and not skip:
        shown = "\n  ".join(bad[:10]) + (f"\n  ... and {len(bad) - 10} more" if len(bad) > 10 else "")
        raise UnreadableImageError(
            f"{len(bad)} of {len(dataset)} images cannot be read (skip them with --skip_unreadable true):\n  {shown}"
        )
    if bad:
        dropped = set(bad_rows)
        dataset = dataset.select([i for i in range(len(dataset)) if i not in dropped])
    return dataset, bad
