"""`SarGpt`: a frozen SAR-RS-CLIP image tower, an MLP projector and a causal language model.

The image tower's last feature map (a ViT's patch grid, a CNN's last stage) is average-pooled to a
``grid x grid`` map: ``grid**2`` visual tokens, which the projector maps into the language model's
embedding space. They take the place of the image slots of the chat template (`sargeo.models.gpt.chat`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from sargeo.models.clip import SarClip
from sargeo.models.gpt.chat import ChatFormat, TextCodec
from sargeo.runtime.preprocess import PreprocessSpec


class VisionTokens(nn.Module):
    """A SAR-RS-CLIP image tower -> (batch, grid**2, channels) visual tokens."""

    def __init__(self, clip: SarClip, grid: int) -> None:
        super().__init__()
        self.visual = clip.net.visual
        self.grid = grid
        size = clip.preprocess.size
        with torch.no_grad():
            was = self.visual.training
            self.visual.eval()
            self.channels = int(self.feature_map(torch.zeros(1, 3, size, size)).shape[1])
            self.visual.train(was)

    def feature_map(self, images: torch.Tensor) -> torch.Tensor:
        """The tower's last feature map (batch, channels, h, w)."""
        out = self.visual.forward_intermediates(
            images, indices=1, intermediates_only=True, normalize_intermediates=True
        )
        fmap: torch.Tensor = out["image_intermediates"][-1]
        return fmap

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        pooled = F.adaptive_avg_pool2d(self.feature_map(images), self.grid)
        return pooled.flatten(2).transpose(1, 2)


class Projector(nn.Module):
    """Visual tokens -> language-model embeddings: LayerNorm, Linear, GELU, Linear."""

    def __init__(self, channels: int, hidden: int, width: int) -> None:
        super().__init__()
        self.net = nn.Sequential(
            nn.LayerNorm(channels), nn.Linear(channels, hidden), nn.GELU(), nn.Linear(hidden, width)
        )

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        out: torch.Tensor = self.net(tokens)
        return out


class SarGpt(nn.Module):
    """The multimodal model (see the module docstring).

    Attributes:
        vision: visual tokens of the image tower.
        projector: into the language model's embeddings.
        lm: the causal language model (a peft model when it has LoRA adapters).
        config: the model config, with the base model's name and hash (kept in checkpoints).
        chat: dialogues -> ids with image slots.
        preprocess: the SAR input description of the image tower.
    """

    def __init__(
        self,
        vision: VisionTokens,
        lm: Any,
        codec: TextCodec,
        config: Mapping[str, Any],
        preprocess: PreprocessSpec,
    ) -> None:
        super().__init__()
        self.vision = vision
        width = int(lm.get_input_embeddings().weight.shape[1])
        self.projector = Projector(vision.channels, int(config["projector"]["hidden"]), width)
        self.lm: Any = lm
        self.config = dict(config)
        self.name = str(config["name"])
        self.codec = codec
        self.preprocess = preprocess
        self.chat = ChatFormat(
            codec,
            str(config["chat"].get("system", "")),
            str(config["chat"].get("image_token", "<image>")),
            vision.grid**2,
            int(config["context_length"]),
        )

    @property
    def image_slots(self) -> int:
        """Visual tokens per image."""
        return self.vision.grid**2

    def image_embeddings(self, images: torch.Tensor) -> torch.Tensor:
        """Images (batch, 3, size, size) -> (batch, slots, width) projected visual tokens."""
        frozen = not any(p.requires_grad for p in self.vision.parameters())
        with torch.set_grad_enabled(torch.is_grad_enabled() and not frozen):
            tokens = self.vision(images)
        return self.projector(tokens)

    def embed(
        self, ids: torch.Tensor, image_mask: torch.Tensor, image_embeds: torch.Tensor
    ) -> torch.Tensor:
        """Token embeddings with the image slots filled (``image_mask`` True at each slot)."""
        embeds = self.lm.get_input_embeddings()(ids)
        filled = image_embeds.to(embeds.dtype).reshape(-1, embeds.shape[-1])
        return embeds.masked_scatter(image_mask.unsqueeze(-1), filled)

    def forward(
        self,
        images: torch.Tensor,
        ids: torch.Tensor,
        image_mask: torch.Tensor,
        attention_mask: torch.Tensor,
        labels: torch.Tensor | None = None,
    ) -> Any:
        """The language model's output (``loss`` when ``labels`` are given) on a padded batch."""
        embeds = self.embed(ids, image_mask, self.image_embeddings(images))
        return self.lm(inputs_embeds=embeds, attention_mask=attention_mask, labels=labels)

    def fingerprint(self) -> str:
        """Parameter names and shapes plus the base model's hash: equal exactly when weights fit."""
        digest = hashlib.sha256(str(self.config.get("base_sha256", "")).encode())
        for key, value in self.state_dict().items():
            digest.update(f"{key}:{tuple(value.shape)};".encode())
        return digest.hexdigest()[:16]
