"""`OpenClipModel`: what every sargeo model on open_clip shares (CLIP and CoCa).

An open_clip network with the config it was built from, its tokenizer, the SAR preprocessing and the
named parameter groups that recipes freeze; an architecture fingerprint for checkpoints.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from typing import Any

import torch
from torch import nn

from sargeo.errors import InputError
from sargeo.models.clip.tokenize import Tokenizer, build_tokenizer
from sargeo.runtime.preprocess import PreprocessSpec


class OpenClipModel(nn.Module):
    """An open_clip network (``net``) with its config, tokenizer, preprocessing and groups.

    Attributes:
        net: the open_clip model (``visual``, ``text``, ``logit_scale``...).
        config: the model config it was built from (kept in checkpoints and bundles).
        tokenizer: captions -> ids for ``net.text``.
        preprocess: the SAR input description, the same one inference uses.
    """

    net: Any  # an open_clip model (untyped)

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

    def tokenize(self, texts: Iterable[str]) -> torch.Tensor:
        """Captions -> (N, context) ids."""
        return self.tokenizer(list(texts))

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
