"""Each augmentation's ``apply`` against torchvision.transforms.v2.functional with the same parameters."""

import math

import pytest
import torch
from torchvision.transforms.v2 import RandomResizedCrop as TorchvisionRandomResizedCrop
from torchvision.transforms.v2 import functional as TF

from looc_hub.views import (
    BlurParams,
    ColorParams,
    RandomColor,
    RandomGaussianBlur,
    RandomHorizontalFlip,
    RandomResizedCrop,
    RandomRotation90,
    RandomTexture,
    color_ops,
    resized_crop,
)
from looc_hub.views.blur import gaussian_kernel_size
from looc_hub.views.reference import reference_texture

# Tolerances on images in [0, 1]: float32 rounding of a different but equivalent formula.
INTERPOLATION_ATOL = 1e-5  # crop: coordinates normalised to [-1, 1] for grid_sample and back
COLOR_ATOL = 1e-5  # hue: closed-form hexcone instead of torchvision's HSV round trip (measured ~2e-6)


@pytest.fixture
def generator() -> torch.Generator:
    return torch.Generator().manual_seed(0)


@pytest.fixture
def images(generator: torch.Generator) -> torch.Tensor:
    """Random colours plus the edge cases of the colour maths: grey, tied channels, black, white."""
    images = torch.rand(12, 3, 20, 20, generator=generator)
    images[0] = images[0, :1]  # grey
    images[1, 0] = images[1, 1]  # red == green
    images[2, 1] = images[2, 2]  # green == blue
    images[3] = 0.0
    images[4] = 1.0
    return images


def per_image(function, images: torch.Tensor, *factors: torch.Tensor, **kwargs) -> torch.Tensor:
    return torch.stack([function(image, *(float(f[i]) for f in factors), **kwargs) for i, image in enumerate(images)])


def test_crop_matches_torchvision_resized_crop(generator):
    images = torch.rand(32, 3, 40, 56, generator=generator)  # non-square: boxes up- and downsampled to 24
    crop = RandomResizedCrop(24)
    params = crop.sample(32, (40, 56), generator)
    expected = torch.stack(
        [
            TF.resized_crop(image, *box, size=[24, 24], antialias=False)
            for image, box in zip(images, zip(*(v.tolist() for v in vars(params).values()), strict=True), strict=True)
        ]
    )
    torch.testing.assert_close(crop.apply(images, params), expected, atol=INTERPOLATION_ATOL, rtol=0)


def test_crop_boxes_follow_the_sampling_rule(generator):
    crop = RandomResizedCrop(16, scale=(0.2, 1.0), ratio=(3 / 4, 4 / 3))
    params = crop.sample(4000, (60, 80), generator)
    assert bool((params.top >= 0).all() and (params.top + params.height <= 60).all())
    assert bool((params.left >= 0).all() and (params.left + params.width <= 80).all())
    area = (params.height * params.width).float() / (60 * 80)
    aspect = params.width.float() / params.height.float()
    # integer rounding widens the ranges by up to half a pixel per side
    assert area.min() > 0.17 and area.max() <= 1.0
    assert aspect.min() > 0.7 and aspect.max() < 1.43
    torchvision_crop = TorchvisionRandomResizedCrop(16, scale=(0.2, 1.0))
    torch.manual_seed(0)
    reference = [torchvision_crop.make_params([torch.zeros(3, 60, 80)]) for _ in range(4000)]
    reference_area = torch.tensor([p["height"] * p["width"] / (60 * 80) for p in reference])
    assert abs(area.mean() - reference_area.mean()) < 0.02  # same distribution of crop sizes


def test_crop_falls_back_to_torchvisions_centre_crop(generator):
    """No box of the scale range fits a 2 x 200 image: both fall back to the ratio-clamped centre crop."""
    params = RandomResizedCrop(16).sample(5, (2, 200), generator)
    expected = TorchvisionRandomResizedCrop(16, scale=(0.2, 1.0)).make_params([torch.zeros(3, 2, 200)])
    for name, value in expected.items():
        assert getattr(params, name).tolist() == [value] * 5


def test_flip_matches_torchvision(images, generator):
    flip = RandomHorizontalFlip()
    params = flip.sample(len(images), generator)
    expected = torch.stack([TF.horizontal_flip(x) if f else x for x, f in zip(images, params.flipped, strict=True)])
    assert torch.equal(flip.apply(images, params), expected)


def test_rotation_matches_torchvision_rotate(images, generator):
    rotation = RandomRotation90()
    params = rotation.sample(len(images), generator)
    assert set(params.quarter_turns.tolist()) == {0, 1, 2, 3}
    expected = per_image(lambda x, k: TF.rotate(x, 90.0 * k), images, params.quarter_turns)
    assert torch.equal(rotation.apply(images, params), expected)


def test_fused_crop_flip_rotation_equals_the_composition_exactly(generator):
    images = torch.rand(64, 3, 30, 42, generator=generator)
    crop, flip, rotation = RandomResizedCrop(17), RandomHorizontalFlip(), RandomRotation90()
    crop_params, flip_params = crop.sample(64, (30, 42), generator), flip.sample(64, generator)
    rotation_params = rotation.sample(64, generator)
    expected = rotation.apply(flip.apply(crop.apply(images, crop_params), flip_params), rotation_params)
    assert torch.equal(resized_crop(images, crop_params, 17, flip_params, rotation_params), expected)


def test_blur_matches_torchvision_gaussian_blur(images, generator):
    blur = RandomGaussianBlur(p=0.5)
    params = blur.sample(len(images), generator)
    assert 0 < int(params.blurred.sum()) < len(images)
    kernel = gaussian_kernel_size(20)
    expected = torch.stack(
        [
            TF.gaussian_blur(x, [kernel, kernel], [float(s), float(s)]) if b else x
            for x, b, s in zip(images, params.blurred, params.sigma, strict=True)
        ]
    )
    output = blur.apply(images, params)
    torch.testing.assert_close(output, expected, atol=1e-6, rtol=0)
    assert torch.equal(output[~params.blurred], images[~params.blurred])  # untouched rows are exact


@pytest.mark.parametrize("size, expected", [(224, 23), (64, 7), (96, 9), (32, 3), (8, 3)])
def test_blur_kernel_size_is_about_a_tenth_of_the_side_and_odd(size, expected):
    assert gaussian_kernel_size(size) == expected


@pytest.mark.parametrize(
    "ours, theirs, low, high",
    [
        (color_ops.adjust_brightness_, TF.adjust_brightness, 0.0, 2.0),
        (color_ops.adjust_contrast_, TF.adjust_contrast, 0.0, 2.0),
        (color_ops.adjust_saturation_, TF.adjust_saturation, 0.0, 2.0),
        (color_ops.adjust_hue_, TF.adjust_hue, -0.5, 0.5),
    ],
)
def test_color_adjustments_match_torchvision(images, generator, ours, theirs, low, high):
    factors = torch.empty(len(images)).uniform_(low, high, generator=generator)
    expected = per_image(theirs, images, factors)
    torch.testing.assert_close(ours(images.clone(), factors), expected, atol=COLOR_ATOL, rtol=0)


def test_grayscale_matches_torchvision(images):
    expected = TF.rgb_to_grayscale(images, num_output_channels=1)
    torch.testing.assert_close(color_ops.rgb_to_grayscale(images), expected, atol=1e-7, rtol=0)


@pytest.mark.parametrize("batch_size", [4, 48])  # few distinct orders: grouped by order; many: four passes
def test_color_applies_each_images_own_order(generator, batch_size):
    """Jitter in the per-image order, then grayscale, exactly as torchvision's ColorJitter + RandomGrayscale."""
    images = torch.rand(batch_size, 3, 12, 12, generator=generator)
    color = RandomColor(brightness=0.8, contrast=0.8, saturation=0.8, hue=0.3, jitter_p=0.9, grayscale_p=0.3)
    params = color.sample(len(images), generator)
    adjustments = (TF.adjust_brightness, TF.adjust_contrast, TF.adjust_saturation, TF.adjust_hue)
    expected = []
    for row, image in enumerate(images):
        if params.jittered[row]:
            factors = (params.brightness, params.contrast, params.saturation, params.hue)
            for index in params.order[row].tolist():
                image = adjustments[index](image, float(factors[index][row]))
        if params.grayscale[row]:
            image = TF.rgb_to_grayscale(image, num_output_channels=3)
        expected.append(image)
    torch.testing.assert_close(color.apply(images, params), torch.stack(expected), atol=COLOR_ATOL, rtol=0)


def test_color_order_matters_and_is_respected(generator):
    """Same factors, reversed order: the outputs differ (clamping makes the adjustments non-commutative)."""
    images = torch.rand(1, 3, 8, 8, generator=generator)
    color = RandomColor(jitter_p=1.0, grayscale_p=0.0)

    def params(order):
        return ColorParams(
            jittered=torch.tensor([True]),
            brightness=torch.tensor([1.8]),
            contrast=torch.tensor([0.3]),
            saturation=torch.tensor([1.5]),
            hue=torch.tensor([0.2]),
            order=torch.tensor([order]),
            grayscale=torch.tensor([False]),
        )

    forward, backward = color.apply(images, params([0, 1, 2, 3])), color.apply(images, params([3, 2, 1, 0]))
    assert not torch.allclose(forward, backward, atol=1e-3)


def test_color_sampling_ranges_and_permutations(generator):
    params = RandomColor().sample(2000, generator)
    assert torch.equal(params.order.sort(dim=1).values, torch.arange(4).expand(2000, 4))
    assert len({tuple(row) for row in params.order.tolist()}) == 24  # every order occurs
    for name in ("brightness", "contrast", "saturation"):
        values = getattr(params, name)
        assert values.min() >= 0.6 and values.max() <= 1.4
    assert params.hue.abs().max() <= 0.1
    assert abs(params.jittered.float().mean() - 0.8) < 0.04
    assert abs(params.grayscale.float().mean() - 0.2) < 0.04


def test_texture_matches_its_defining_formula(images, generator):
    texture = RandomTexture(p=0.7)
    params = texture.sample(len(images), generator)
    expected = []
    for row, image in enumerate(images):
        if params.textured[row]:
            fields = ("strength", "frequency", "orientation", "phase")
            image = reference_texture(image, *(getattr(params, f)[row].tolist() for f in fields))
        expected.append(image)
    torch.testing.assert_close(texture.apply(images, params), torch.stack(expected), atol=1e-5, rtol=0)


def test_texture_keeps_hue_and_geometry(generator):
    """Every channel of a pixel is scaled by the same factor (hue kept); the pattern is zero-mean on average."""
    images = torch.rand(8, 3, 32, 32, generator=generator) * 0.5 + 0.1  # below 1 / 1.6: no clamping
    texture = RandomTexture(p=1.0)
    output = texture.apply(images, texture.sample(8, generator))
    ratio = output / images  # (8, 3, H, W): the per-pixel factor, equal across channels
    torch.testing.assert_close(ratio[:, 0], ratio[:, 1], atol=1e-5, rtol=0)
    torch.testing.assert_close(ratio[:, 0], ratio[:, 2], atol=1e-5, rtol=0)
    assert not torch.allclose(output, images, atol=0.05)
    assert abs(float(ratio.mean()) - 1.0) < 0.05


def test_texture_frequencies_are_log_uniform_in_range(generator):
    params = RandomTexture(frequency=(4.0, 16.0)).sample(4000, generator)
    log_frequency = params.frequency.log()
    assert params.frequency.min() >= 4.0 and params.frequency.max() <= 16.0
    assert abs(float(log_frequency.mean()) - math.log(8.0)) < 0.02  # log-uniform: geometric mean 8


def test_apply_does_not_modify_its_input(images, generator):
    for augmentation in (RandomColor(), RandomGaussianBlur(p=1.0), RandomTexture(p=1.0)):
        before = images.clone()
        augmentation.apply(images, augmentation.sample(len(images), generator))
        assert torch.equal(images, before)


def test_blur_sigma_range_is_respected(generator):
    params: BlurParams = RandomGaussianBlur(sigma=(0.1, 2.0)).sample(1000, generator)
    assert params.sigma.min() >= 0.1 and params.sigma.max() <= 2.0
