"""Captions from a `SarCoca` in torch: the image encoder once per image, then `sargeo.runtime.decoding`
(greedy or beam search, one specification for torch and ONNX) over the model's decoder step."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import torch
from torch.utils.data import DataLoader

from sargeo.models.coca.model import SarCoca, TorchStep
from sargeo.runtime.coca import Captioned
from sargeo.runtime.decoding import DecodeSettings, beam_search, greedy_search, settings_for
from sargeo.train.dataset import ImageSet


def decode_settings(model: SarCoca, overrides: Mapping[str, Any] | None = None) -> DecodeSettings:
    """The model's default decoding settings (its config's ``decode``) with ``overrides`` (None
    values ignored) and its end token; ``max_length`` must leave room for the start token."""
    return settings_for(
        model.decode_defaults, overrides, model.captions.end, model.context_length - 1
    )


@torch.no_grad()
def caption_tensors(
    model: SarCoca, images: torch.Tensor, settings: DecodeSettings
) -> list[Captioned]:
    """Caption a batch of prepared images (N, 3, S, S): the best hypothesis of each."""
    model.eval()
    device = next(model.parameters()).device
    _, image_tokens = model.encode_image_tokens(images.to(device))
    step = TorchStep(model)
    prompts = np.full((images.shape[0], 1), model.captions.start, dtype=np.int64)
    if settings.beam_width == 1:
        best = greedy_search(step, prompts, image_tokens, settings, step.reorder)
    else:
        best = [b[0] for b in beam_search(step, prompts, image_tokens, settings, step.reorder)]
    return [Captioned(model.captions.decode(h.tokens), h) for h in best]


def caption_files(
    model: SarCoca,
    images: Sequence[str],
    settings: DecodeSettings,
    batch_size: int = 16,
    polarisations: Sequence[tuple[str, ...] | None] | None = None,
) -> list[str]:
    """Captions of image files (chips), prepared with the model's preprocessing, in order."""
    loader = DataLoader(
        ImageSet(list(images), model.preprocess, polarisations), batch_size=batch_size
    )
    out: list[str] = []
    for batch in loader:
        out.extend(c.caption for c in caption_tensors(model, batch, settings))
    return out
