"""Decoding rows into uint8 canvases: resize + centre crop, image modes, JPEG draft decoding, EXIF, the collate."""

from __future__ import annotations

import io

import numpy as np
import pytest
import torch
import torchvision.transforms.functional as TF
from datasets import Image as ImageFeature
from PIL import Image
from skimage import data as skimage_data

from looc_hub.data import CanvasCollate, open_image, to_canvas


@pytest.fixture(scope="module")
def photo() -> Image.Image:
    """A real colour photo, 451 x 300 (landscape)."""
    return Image.fromarray(skimage_data.chelsea())


def jpeg_row(image: Image.Image, **save_kwargs) -> dict:
    """A row value as datasets stores it undecoded."""
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=95, **save_kwargs)
    return {"bytes": buffer.getvalue(), "path": None}


@pytest.mark.parametrize("size", [(80, 60), (60, 80), (120, 30)])
def test_canvas_equals_resize_shorter_side_then_centre_crop(size):
    """Where the crop falls on whole pixels, the one-pass box resize is exactly torchvision's two steps."""
    rng = np.random.default_rng(0)
    image = Image.fromarray(rng.integers(0, 256, (size[1], size[0], 3), dtype=np.uint8))
    canvas = to_canvas(image, 30)
    reference = TF.center_crop(TF.resize(image, 30, TF.InterpolationMode.BILINEAR, antialias=True), 30)
    assert canvas.shape == (30, 30, 3) and canvas.dtype == np.uint8
    assert np.abs(canvas.astype(int) - np.asarray(reference).astype(int)).max() <= 1


def test_canvas_of_a_photo_matches_torchvision_resize_and_crop(photo):
    canvas = to_canvas(photo, 64)
    reference = np.asarray(TF.center_crop(TF.resize(photo, 64, antialias=True), 64))
    # torchvision rounds the long side to whole pixels (96.2 -> 96) and the crop offset; we keep them exact.
    assert np.abs(canvas.astype(float) - reference).mean() < 4


def test_transparency_is_composited_onto_the_background():
    rgba = Image.new("RGBA", (8, 8), (255, 0, 0, 0))
    rgba.paste((255, 0, 0, 128), (0, 0, 8, 4))  # top half half-transparent red, bottom half fully transparent
    canvas = to_canvas(rgba, 8, background=(0, 0, 255))
    assert canvas[6:, :].tolist() == [[[0, 0, 255]] * 8] * 2
    top = canvas[1, 4].astype(int)
    assert abs(top[0] - 128) <= 2 and top[1] == 0 and abs(top[2] - 127) <= 2
    white = to_canvas(Image.new("LA", (4, 4), (0, 0)), 4)
    assert (white == 255).all()


def test_palette_transparency_grey_and_cmyk_become_rgb():
    palette = Image.new("P", (4, 4), 1)
    palette.putpalette([0, 0, 0, 10, 200, 30] + [0] * 762)
    palette.info["transparency"] = 0
    assert to_canvas(palette, 4)[0, 0].tolist() == [10, 200, 30]
    palette.putpixel((0, 0), 0)  # the transparent index
    assert to_canvas(palette, 4, background=(9, 9, 9))[0, 0].tolist() == [9, 9, 9]
    grey = to_canvas(Image.new("L", (6, 6), 77), 3)
    assert (grey == 77).all()
    cmyk = to_canvas(Image.new("CMYK", (6, 6), (0, 255, 255, 0)), 3)
    assert cmyk[0, 0].tolist() == [255, 0, 0]


def test_jpeg_decodes_at_a_reduced_scale_that_still_covers_the_canvas(photo):
    large = photo.resize((902, 600))
    row = jpeg_row(large)
    decoded = open_image(row, 64)
    assert decoded.size == (113, 75)  # 1/8 scale, the most JPEG offers: both sides still >= 64
    full = Image.open(io.BytesIO(row["bytes"])).convert("RGB")
    difference = to_canvas(decoded, 64).astype(float) - to_canvas(full, 64)
    assert np.abs(difference).mean() < 3
    assert open_image(row, 600).size == (902, 600)  # no reduction once the canvas needs full size


def test_exif_orientation_is_applied_like_datasets_does(photo):
    exif = Image.Exif()
    exif[0x0112] = 6  # rotated 90 degrees clockwise
    row = jpeg_row(photo, exif=exif)
    assert open_image(row, 300).size == (300, 451)
    assert open_image(row, 300).size == ImageFeature().decode_example(row).size


def test_rows_stored_as_paths_and_decoded_images_are_accepted(photo, tmp_path):
    path = tmp_path / "cat.png"
    photo.save(path)
    from_path = to_canvas(open_image({"bytes": None, "path": str(path)}, 32), 32)
    from_image = to_canvas(open_image(photo, 32), 32)
    assert np.array_equal(from_path, from_image)


def test_collate_makes_a_uint8_nchw_batch_with_labels(photo):
    collate = CanvasCollate(canvas_size=48)
    rows = [{"image": jpeg_row(photo), "label": 4}, {"image": Image.new("L", (10, 20), 200), "label": 1}]
    batch = collate(rows)
    images = batch["images"]
    assert images.shape == (2, 3, 48, 48) and images.dtype == torch.uint8 and images.is_contiguous()
    assert torch.equal(images[1], torch.full((3, 48, 48), 200, dtype=torch.uint8))
    assert torch.equal(images[0].permute(1, 2, 0), torch.tensor(to_canvas(open_image(rows[0]["image"], 48), 48)))
    assert batch["labels"].tolist() == [4, 1] and batch["labels"].dtype == torch.int64
    assert set(collate([{"image": photo}])) == {"images"}


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"canvas_size": 0}, "canvas_size must be a positive int"),
        ({"canvas_size": 32.0}, "canvas_size must be a positive int"),
        ({"canvas_size": 32, "background": (255, 255)}, "background must be an"),
        ({"canvas_size": 32, "background": (0, 0, 256)}, "background must be an"),
    ],
)
def test_collate_rejects_bad_arguments_at_construction(kwargs, message):
    with pytest.raises(ValueError, match=message):
        CanvasCollate(**kwargs)
