"""A timm convolutional image tower that gives CoCa what open_clip's ViT gives it: a pooled embedding
for the contrastive loss and a sequence of image tokens for the caption decoder's cross-attention.

open_clip's own timm tower returns the pooled embedding only, so CoCa cannot use it. Here the trunk's
last feature map (EfficientNet-Lite0: 1280 channels at 1/32 of the input) becomes one token per cell,
normalised, projected to the decoder's width and given a learned position; the pooled embedding is the
cells' mean through a two-layer MLP, as the SAR-RS-CLIP lite tower's head. The trunk is
``timm.create_model(name, num_classes=0, global_pool="")``, so its parameter names (``trunk.blocks.0``)
and the pretrained weights that fill them are those of the CLIP lite model.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn


class TimmTokenTower(nn.Module):
    """``images -> (pooled (N, embed_dim), tokens (N, cells, width))``."""

    def __init__(self, model_name: str, image_size: int, embed_dim: int, width: int) -> None:
        super().__init__()
        import timm

        trunk: Any = timm.create_model(model_name, pretrained=False, num_classes=0, global_pool="")
        self.trunk = trunk
        channels = int(trunk.num_features)
        with torch.no_grad():
            was = self.trunk.training
            self.trunk.eval()
            grid = self.trunk(torch.zeros(1, 3, image_size, image_size)).shape[-2:]
            self.trunk.train(was)
        cells = int(grid[0] * grid[1])
        self.image_size = image_size
        self.token_norm = nn.LayerNorm(channels)
        self.token_proj = nn.Linear(channels, width)
        self.token_pos = nn.Parameter(torch.randn(cells, width) * 0.02)
        self.head = nn.Sequential(
            nn.Linear(channels, channels), nn.GELU(), nn.Linear(channels, embed_dim)
        )

    def forward(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Pooled embedding and image tokens of a batch of prepared images."""
        features = self.trunk(images)  # (N, C, h, w)
        cells = features.flatten(2).transpose(1, 2)  # (N, h*w, C)
        pooled = self.head(cells.mean(dim=1))
        tokens = self.token_proj(self.token_norm(cells)) + self.token_pos.to(cells.dtype)
        return pooled, tokens

    def set_grad_checkpointing(self, enable: bool = True) -> None:
        """open_clip's CoCa calls this on every tower."""
        self.trunk.set_grad_checkpointing(enable)
