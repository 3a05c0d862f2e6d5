"""`LooCModel`, the public class: the network (`looc_hub.model.LooCNetwork`) with Hub I/O (`LooCHubMixin`).

The network stays a plain `nn.Module` that knows nothing of the Hub, as timm's `ResNet` and open_clip's `CLIP` do;
save, load and push are assembled onto it here, in the Hub layer, above both the network and evaluation (which
the card reads). Evaluation, training and fine-tuning take the network; whatever loads or saves folders takes
this class.
"""

from __future__ import annotations

from ..model import LooCNetwork
from .mixin import LooCHubMixin

__all__ = ["LooCModel"]


class LooCModel(LooCNetwork, LooCHubMixin):
    """A LooC / LooC++ model that saves, loads and pushes in looc-hub's Hub format.

    Everything it computes is `LooCNetwork`'s (one backbone pass gives every space); `save_pretrained`,
    `from_pretrained` and `push_to_hub` come from `LooCHubMixin` (`looc_hub.hub.mixin`), whose folder format
    (`looc_hub.hub.model_files`) plain timm also reads.

    Args:
        config: the architecture and preprocessing (`LooCConfig`).

    Example:
        >>> model = LooCModel(LooCConfig(backbone="resnet18", augmentations=("color", "rotation")))
        >>> model.save_pretrained("my-looc")
        >>> same = LooCModel.from_pretrained("my-looc")
    """
