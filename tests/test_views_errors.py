"""Bad arguments and inputs fail early with errors that name the problem and the valid choices."""

import pytest
import torch

from looc_hub.views import (
    LooCViewGenerator,
    RandomColor,
    RandomGaussianBlur,
    RandomResizedCrop,
    RandomRotation90,
    RandomTexture,
)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"augmentations": ("colour",)}, "valid choices"),
        ({"augmentations": "color"}, "sequence of names"),
        ({"augmentations": ("color", "color")}, "twice"),
        ({"augmentations": ("color",), "invariant_augmentations": ("color",)}, "both"),
        ({"invariant_augmentations": ("scale",)}, "valid choices"),
        ({"output_size": 4}, "output_size"),
        ({"output_size": 64.0}, "output_size"),
        ({"mean": (0.5, 0.5)}, "mean"),
        ({"std": (0.2, 0.0, 0.2)}, "std"),
        ({"chunk_size": 0}, "chunk_size"),
        ({"brightness": -0.1}, "brightness"),
        ({"hue": 0.6}, "hue"),
        ({"color_p": 1.5}, "probability"),
        ({"crop_scale": (0.5, 0.2)}, "crop scale"),
        ({"crop_scale": (0.0, 1.0)}, "crop scale"),
        ({"crop_ratio": (1.0,)}, "crop ratio"),
        ({"blur_sigma": (0.0, 2.0)}, "blur sigma"),
        ({"texture_strength": (0.2, 1.5)}, "texture strength"),
        ({"texture_frequency": (8.0, 4.0)}, "texture frequency"),
    ],
)
def test_bad_generator_arguments_raise_value_error(kwargs, message):
    with pytest.raises(ValueError, match=message):
        LooCViewGenerator(**kwargs)


def test_bad_augmentation_arguments_raise_value_error():
    with pytest.raises(ValueError, match="odd"):
        RandomGaussianBlur(kernel_size=4)
    with pytest.raises(ValueError, match="num_gratings"):
        RandomTexture(num_gratings=0)
    with pytest.raises(ValueError, match="output_size"):
        RandomResizedCrop(0)


@pytest.mark.parametrize(
    "images, error, message",
    [
        ([[0.0]], TypeError, "torch.Tensor"),
        (torch.zeros(3, 8, 8, dtype=torch.uint8), ValueError, r"\(B, 3, H, W\)"),
        (torch.zeros(2, 1, 8, 8, dtype=torch.uint8), ValueError, r"\(B, 3, H, W\)"),
        (torch.zeros(0, 3, 8, 8, dtype=torch.uint8), ValueError, r"\(B, 3, H, W\)"),
        (torch.zeros(2, 3, 8, 8, dtype=torch.int32), TypeError, "uint8 or floating"),
        (torch.full((2, 3, 8, 8), 255.0), ValueError, r"\[0, 1\]"),
        (torch.full((2, 3, 8, 8), -0.1), ValueError, r"\[0, 1\]"),
        (torch.full((2, 3, 8, 8), float("nan")), ValueError, r"\[0, 1\]"),
    ],
)
def test_bad_images_raise_clear_errors(images, error, message):
    with pytest.raises(error, match=message):
        LooCViewGenerator(output_size=8)(images)


def test_generator_argument_must_be_a_torch_generator():
    with pytest.raises(TypeError, match="torch.Generator"):
        LooCViewGenerator(output_size=8)(torch.zeros(1, 3, 8, 8, dtype=torch.uint8), generator=0)


def test_apply_checks_shapes_dtype_and_row_count():
    color = RandomColor()
    params = color.sample(2)
    with pytest.raises(ValueError, match="2 parameter rows for 3 images"):
        color.apply(torch.rand(3, 3, 8, 8), params)
    with pytest.raises(TypeError, match="float images"):
        color.apply(torch.zeros(2, 3, 8, 8, dtype=torch.uint8), params)
    with pytest.raises(ValueError, match="square"):
        RandomRotation90().apply(torch.rand(2, 3, 8, 6), RandomRotation90().sample(2))
    with pytest.raises(ValueError, match="larger than"):
        RandomGaussianBlur(p=1.0, kernel_size=9).apply(torch.rand(2, 3, 4, 4), RandomGaussianBlur(p=1.0).sample(2))


def test_sampling_device_must_agree_with_the_generator():
    with pytest.raises(ValueError, match="generator's device"):
        RandomColor().sample(2, torch.Generator(), device="meta")


def test_render_checks_images_and_parameter_rows():
    generator = LooCViewGenerator(output_size=8)
    params = generator.sample(2, (8, 8))
    with pytest.raises(ValueError, match="4 views each"):
        generator.render(torch.rand(3, 3, 8, 8), params)
    with pytest.raises(TypeError, match="float images"):
        generator.render(torch.zeros(2, 3, 8, 8, dtype=torch.uint8), params)
