"""LooC's view engine: batched augmentations with explicit parameters, and the leave-one-out view generator."""

from looc_hub.views.blur import RandomGaussianBlur, scaled_blur_sigma
from looc_hub.views.color import RandomColor
from looc_hub.views.crop import RandomResizedCrop
from looc_hub.views.flip import RandomHorizontalFlip
from looc_hub.views.generator import LooCViewGenerator, LooCViews
from looc_hub.views.geometry import resized_crop
from looc_hub.views.params import (
    AugmentationParams,
    BlurParams,
    ColorParams,
    CropParams,
    FlipParams,
    RotationParams,
    TextureParams,
)
from looc_hub.views.registry import LEAVE_ONE_OUT_AUGMENTATIONS as AUGMENTATIONS
from looc_hub.views.registry import REGISTRY, AugmentationSpec, get_augmentation
from looc_hub.views.rotation import RandomRotation90
from looc_hub.views.texture import RandomTexture

__all__ = [
    "AUGMENTATIONS",
    "REGISTRY",
    "AugmentationParams",
    "AugmentationSpec",
    "BlurParams",
    "ColorParams",
    "CropParams",
    "FlipParams",
    "LooCViewGenerator",
    "LooCViews",
    "RandomColor",
    "RandomGaussianBlur",
    "RandomHorizontalFlip",
    "RandomResizedCrop",
    "RandomRotation90",
    "RandomTexture",
    "RotationParams",
    "TextureParams",
    "get_augmentation",
    "resized_crop",
    "scaled_blur_sigma",
]
