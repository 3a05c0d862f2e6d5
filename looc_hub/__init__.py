"""looc-hub: Leave-one-out Contrastive Learning (Xiao et al., ICLR 2021) with timm backbones and the Hub."""

from ._version import __version__
from .config import AUGMENTATIONS, VARIANTS, LooCConfig
from .data import build_dataloader, load_image_dataset
from .finetune import LooCClassifier
from .hub.factory import create_model
from .hub.pretrained import LooCModel
from .hub.publish import publish, validate_model_dir
from .hub.zoo import ZooEntry, get_zoo_entry, list_models, list_pretrained
from .preprocessing import eval_transform
from .views import LooCViewGenerator, LooCViews

__all__ = [
    "AUGMENTATIONS",
    "VARIANTS",
    "LooCClassifier",
    "LooCConfig",
    "LooCModel",
    "LooCViewGenerator",
    "LooCViews",
    "ZooEntry",
    "__version__",
    "build_dataloader",
    "create_model",
    "eval_transform",
    "get_zoo_entry",
    "list_models",
    "list_pretrained",
    "load_image_dataset",
    "publish",
    "validate_model_dir",
]
