"""Random Gaussian blur (a base augmentation, MoCo v2: sigma ~ U[0.1, 2.0] pixels of a 224 px image, p = 0.5)."""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import Tensor

from looc_hub._checks import check_int
from looc_hub.views._validate import (
    check_float_batch,
    check_interval,
    check_probability,
    resolve_device,
)
from looc_hub.views.params import BlurParams

MOCO_V2_SIGMA = (0.1, 2.0)  # pixels, for MoCo v2's 224 px views
REFERENCE_SIDE = 224


def scaled_blur_sigma(image_size: int) -> tuple[float, float]:
    """MoCo v2's sigma range scaled to an image side (ours): the same blur relative to the image at any size.

    MoCo v2's (0.1, 2.0) px is for 224 px views; applied as is to a 32 px view it would blur 7x harder.
    """
    scale = check_int("image_size", image_size) / REFERENCE_SIDE
    return (MOCO_V2_SIGMA[0] * scale, MOCO_V2_SIGMA[1] * scale)


def gaussian_kernel_size(image_size: int) -> int:
    """Odd kernel of about 10% of the image side: 23 at 224 px (torchvision's MoCo v2 recipe), 7 at 64 px.

    ``2 * (side // 20) + 1``, at least 3; the rule is ours, the 10% is the MoCo v2 / SimCLR convention.
    """
    return max(3, 2 * (image_size // 20) + 1)


def gaussian_kernels(sigma: Tensor, kernel_size: int) -> Tensor:
    """Normalised 1-D Gaussian kernels, one per row: (N,) -> (N, kernel_size), as torchvision computes them."""
    offsets = torch.arange(kernel_size, device=sigma.device, dtype=torch.float32) - kernel_size // 2  # (K,)
    return torch.softmax(-0.5 * (offsets / sigma[:, None]) ** 2, dim=1)


def blur_rows(images: Tensor, sigma: Tensor, kernel_size: int) -> Tensor:
    """Blur each image with its own sigma: a separable depthwise convolution with reflect padding.

    (N, C, H, W) -> (N, C, H, W). The N * C planes become the channels of one grouped convolution.
    """
    batch, channels, height, width = images.shape
    pad = kernel_size // 2
    if pad >= min(height, width):
        raise ValueError(f"blur kernel {kernel_size} needs images larger than {pad} pixels, got {height}x{width}")
    kernels = gaussian_kernels(sigma, kernel_size).repeat_interleave(channels, dim=0)  # (N * C, K)
    padded = F.pad(images, (pad, pad, pad, pad), mode="reflect")
    planes = padded.reshape(1, batch * channels, height + 2 * pad, width + 2 * pad)
    planes = F.conv2d(planes, kernels[:, None, None, :], groups=batch * channels)  # along W
    planes = F.conv2d(planes, kernels[:, None, :, None], groups=batch * channels)  # along H
    return planes.view(batch, channels, height, width)


class RandomGaussianBlur:
    """Blur each image with probability ``p``, sigma ~ U(sigma) in pixels of the image it is applied to.

    Matches ``torchvision.transforms.v2.functional.gaussian_blur(image, kernel_size, sigma)`` per image (reflect
    padding, same kernel). MoCo v2 blurs with PIL's radius = sigma; torchvision's kernel form is what we match.

    Args:
        sigma: (min, max) standard deviation in pixels (MoCo v2: (0.1, 2.0)).
        p: probability of blurring an image (MoCo v2: 0.5).
        kernel_size: odd kernel side; None uses ``gaussian_kernel_size`` of the image side at apply time.
    """

    def __init__(self, sigma: Sequence[float] = MOCO_V2_SIGMA, p: float = 0.5, kernel_size: int | None = None) -> None:
        self.sigma = check_interval("blur sigma", sigma, 0.0, low_inclusive=False)
        self.p = check_probability("blur p", p)
        if kernel_size is not None and (check_int("blur kernel_size", kernel_size) % 2 == 0):
            raise ValueError(f"blur kernel_size must be odd, got {kernel_size}")
        self.kernel_size = kernel_size

    def sample(
        self, batch_size: int, generator: torch.Generator | None = None, device: torch.device | str | None = None
    ) -> BlurParams:
        device = resolve_device(generator, device)
        blurred = torch.rand(batch_size, device=device, generator=generator) < self.p
        sigma = torch.empty(batch_size, device=device).uniform_(*self.sigma, generator=generator)
        return BlurParams(blurred=blurred, sigma=sigma)

    def apply(self, images: Tensor, params: BlurParams) -> Tensor:
        check_float_batch(images, params)
        return self.apply_(images.clone(), params)

    def apply_(self, images: Tensor, params: BlurParams) -> Tensor:
        """In-place ``apply``: only the blurred rows are gathered, convolved and written back."""
        check_float_batch(images, params)
        kernel_size = self.kernel_size or gaussian_kernel_size(min(images.shape[-2:]))
        params = params.to(images.device)
        rows = params.blurred.nonzero().squeeze(1)
        if rows.numel():
            blurred = blur_rows(images.index_select(0, rows), params.sigma[rows], kernel_size)
            images.index_copy_(0, rows, blurred)
        return images

    def __repr__(self) -> str:
        return f"{type(self).__name__}(sigma={self.sigma}, p={self.p}, kernel_size={self.kernel_size})"
