"""The projection head of every LooC space: MoCo v2's MLP (as the paper uses)."""

from __future__ import annotations

from torch import nn

__all__ = ["ProjectionHead"]


class ProjectionHead(nn.Sequential):
    """MoCo v2 projection MLP: Linear(in, hidden) -> ReLU -> Linear(hidden, out).

    MoCo v2 (Chen et al., 2020) uses hidden = the backbone's feature dim and out = 128; LooC keeps it per space.
    The output is not normalised here: the model L2-normalises every space's embedding.
    """

    def __init__(self, in_dim: int, hidden_dim: int, out_dim: int) -> None:
        super().__init__(nn.Linear(in_dim, hidden_dim), nn.ReLU(inplace=True), nn.Linear(hidden_dim, out_dim))
        self.in_dim, self.hidden_dim, self.out_dim = in_dim, hidden_dim, out_dim
