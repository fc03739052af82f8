"""`SarClip`: an open_clip model with its config, tokenizer, preprocessing and freezable groups."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from sargeo.errors import InputError
from sargeo.models.clip.tokenize import Tokenizer, build_tokenizer
from sargeo.runtime.preprocess import PreprocessSpec


class SarClip(nn.Module):
    """A contrastive image-text model: ``net`` is an open_clip ``CustomTextCLIP``.

    Attributes:
        net: the open_clip model (``visual``, ``text``, ``logit_scale``).
        config: the model config it was built from (kept in checkpoints and bundles).
        tokenizer: captions -> ids for ``net.text``.
        preprocess: the SAR input description, the same one inference uses.
    """

    net: Any  # open_clip.model.CustomTextCLIP (untyped)

    def __init__(self, net: nn.Module, config: Mapping[str, Any]) -> None:
        super().__init__()
        self.net = net
        self.config = dict(config)
        self.name = str(config["name"])
        self.tokenizer: Tokenizer = build_tokenizer(config["tokenizer"])
        self.preprocess = PreprocessSpec.from_dict(config["preprocess"])
        self.groups: dict[str, list[str]] = {
            k: list(v) for k, v in config.get("groups", {}).items()
        }

    @property
    def logit_scale(self) -> torch.Tensor:
        """Learned temperature (log of the logit multiplier)."""
        scale: torch.Tensor = self.net.logit_scale
        return scale

    def encode_image(self, images: torch.Tensor, normalize: bool = True) -> torch.Tensor:
        """Image embeddings (N, D), unit length by default."""
        out = self.net.visual(images)
        return F.normalize(out, dim=-1) if normalize else out

    def encode_text(self, tokens: torch.Tensor, normalize: bool = True) -> torch.Tensor:
        """Text embeddings (N, D) of tokenized captions, unit length by default."""
        out = self.net.text(tokens)
        return F.normalize(out, dim=-1) if normalize else out

    def tokenize(self, texts: Iterable[str]) -> torch.Tensor:
        """Captions -> (N, context) ids."""
        return self.tokenizer(list(texts))

    def forward(
        self, images: torch.Tensor, tokens: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Both embeddings, unit length."""
        return self.encode_image(images), self.encode_text(tokens)

    # --- parameter groups -----------------------------------------------------------------------

    def group_prefixes(self, names: Iterable[str]) -> list[str]:
        """Parameter-name prefixes (of ``net``) of the named groups; an unknown name is refused."""
        prefixes: list[str] = []
        for name in names:
            if name not in self.groups:
                known = ", ".join(sorted(self.groups))
                raise InputError(
                    f"model {self.name} has no group {name!r} to freeze; groups: {known}"
                )
            prefixes.extend(self.groups[name])
        return prefixes

    def fingerprint(self) -> str:
        """A hash of every parameter and buffer name and shape: equal exactly when weights fit."""
        digest = hashlib.sha256()
        for key, value in self.net.state_dict().items():
            digest.update(f"{key}:{tuple(value.shape)};".encode())
        return digest.hexdigest()[:16]
