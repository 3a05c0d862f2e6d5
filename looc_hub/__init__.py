"""looc-hub: Leave-one-out Contrastive Learning (Xiao et al., ICLR 2021) with timm backbones and the Hub."""

from .config import AUGMENTATIONS, VARIANTS, LooCConfig
from .data import build_dataloader, load_image_dataset
from .model import LooCModel
from .preprocessing import eval_transform
from .publish import publish, validate_model_dir
from .views import LooCViewGenerator, LooCViews
from .zoo import ZooEntry, create_model, get_zoo_entry, list_models, list_pretrained

__version__ = "0.1.0"

__all__ = [
    "AUGMENTATIONS",
    "VARIANTS",
    "LooCConfig",
    "LooCModel",
    "LooCViewGenerator",
    "LooCViews",
    "ZooEntry",
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
