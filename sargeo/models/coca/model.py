"""`SarCoca`: open_clip's CoCa (contrastive + captioning) with its config, caption tokenizer, SAR
preprocessing, freezable groups, loss weights and the decoder step that decoding drives."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import numpy.typing as npt
import torch
import torch.nn.functional as F
from torch import nn

from sargeo.errors import InputError
from sargeo.models.base import OpenClipModel
from sargeo.models.coca.tokenize import CaptionTokenizer


class SarCoca(OpenClipModel):
    """A captioning image-text model: ``net`` is an open_clip ``CoCa``.

    Attributes:
        captions: the tokenizer that also decodes (start, end and pad ids).
        loss_weights: ``{"contrastive": w1, "caption": w2}`` of the training loss.
        decode_defaults: default decoding settings (``sargeo.runtime.decoding.DecodeSettings`` keys).
    """

    def __init__(self, net: nn.Module, config: Mapping[str, Any]) -> None:
        super().__init__(net, config)
        self.captions = CaptionTokenizer(config["tokenizer"])
        weights = {"contrastive": 1.0, "caption": 2.0, **config.get("loss", {})}
        unknown = sorted(set(weights) - {"contrastive", "caption"})
        if unknown or min(weights.values()) < 0 or max(weights.values()) <= 0:
            raise InputError(
                f"model {self.name}: loss weights are contrastive and caption, >= 0, not both 0"
            )
        self.loss_weights = {k: float(v) for k, v in weights.items()}
        self.decode_defaults: dict[str, Any] = dict(config.get("decode", {}))

    @property
    def context_length(self) -> int:
        """The decoder's longest sequence (start token included)."""
        return min(int(self.net.context_length), self.captions.context_length)

    def encode_image_tokens(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(unit image embeddings (N, D), image tokens (N, T, width) for the decoder)."""
        latent, tokens = self.net.visual(images)
        return F.normalize(latent, dim=-1), tokens

    def encode_image(self, images: torch.Tensor, normalize: bool = True) -> torch.Tensor:
        """Image embeddings (N, D), unit length by default."""
        latent, _ = self.net.visual(images)
        return F.normalize(latent, dim=-1) if normalize else latent

    def encode_text(self, tokens: torch.Tensor, normalize: bool = True) -> torch.Tensor:
        """Text embeddings (N, D) of tokenized captions, unit length by default."""
        latent, _ = self.net.text(tokens)
        return F.normalize(latent, dim=-1) if normalize else latent

    def forward(self, images: torch.Tensor, tokens: torch.Tensor) -> dict[str, torch.Tensor]:
        """open_clip's CoCa forward: features, next-token logits and their labels (teacher forcing)."""
        out: dict[str, torch.Tensor] = self.net(images, tokens)
        return out

    def next_logits(self, image_tokens: torch.Tensor, prefix: torch.Tensor) -> torch.Tensor:
        """The decoder step: logits (rows, vocab) of the token after each row's ``prefix``."""
        _, token_embs = self.net.text(prefix)
        logits: torch.Tensor = self.net.text_decoder(image_tokens, token_embs)
        return logits[:, -1]


class TorchStep:
    """`sargeo.runtime.decoding`'s step over a `SarCoca` in torch: the state is the image tokens.

    ``step(state, tokens)`` runs the text tower and the multimodal decoder on each row's whole prefix
    (open_clip's decoder has no key-value cache) and returns float32 numpy logits; ``reorder`` takes
    rows of the image tokens with ``index_select``.
    """

    def __init__(self, model: SarCoca) -> None:
        self.model = model
        self.device = next(model.parameters()).device
        self.calls = 0

    @torch.no_grad()
    def __call__(
        self, state: torch.Tensor, tokens: npt.NDArray[np.int64]
    ) -> tuple[npt.NDArray[np.float32], torch.Tensor]:
        """Next-token logits of every row."""
        self.calls += 1
        prefix = torch.from_numpy(np.ascontiguousarray(tokens)).to(self.device)
        logits = self.model.next_logits(state, prefix)
        return logits.float().cpu().numpy(), state

    def reorder(self, state: torch.Tensor, indices: npt.NDArray[np.int64]) -> torch.Tensor:
        """Rows ``indices`` of the image tokens."""
        return state.index_select(0, torch.from_numpy(indices).to(state.device))
