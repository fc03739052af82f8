"""`SarClip`: an open_clip CLIP with its config, tokenizer, preprocessing and freezable groups."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from sargeo.models.base import OpenClipModel


class SarClip(OpenClipModel):
    """A contrastive image-text model: ``net`` is an open_clip ``CustomTextCLIP``."""

    def encode_image(self, images: torch.Tensor, normalize: bool = True) -> torch.Tensor:
        """Image embeddings (N, D), unit length by default."""
        out = self.net.visual(images)
        return F.normalize(out, dim=-1) if normalize else out

    def encode_text(self, tokens: torch.Tensor, normalize: bool = True) -> torch.Tensor:
        """Text embeddings (N, D) of tokenized captions, unit length by default."""
        out = self.net.text(tokens)
        return F.normalize(out, dim=-1) if normalize else out

    def forward(
        self, images: torch.Tensor, tokens: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Both embeddings, unit length."""
        return self.encode_image(images), self.encode_text(tokens)
