"""Embeddings of images and captions by a CLIP model (torch), for retrieval and zero-shot evaluation."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt
import torch
from torch.utils.data import DataLoader

from sargeo.models.clip.model import SarClip
from sargeo.train.dataset import ImageSet


@torch.no_grad()
def embed_images(
    model: SarClip,
    images: Sequence[str],
    batch_size: int = 64,
    device: torch.device | str = "cpu",
    polarisations: Sequence[tuple[str, ...] | None] | None = None,
) -> npt.NDArray[np.float32]:
    """Unit-length embeddings (N, D) of image files, prepared with the model's preprocessing.

    ``polarisations``: per image, the band names where the file does not state them (or None).
    """
    model.eval()
    loader = DataLoader(
        ImageSet(list(images), model.preprocess, polarisations), batch_size=batch_size
    )
    out = [model.encode_image(batch.to(device)).float().cpu() for batch in loader]
    return torch.cat(out).numpy() if out else np.zeros((0, 1), np.float32)


@torch.no_grad()
def embed_texts(
    model: SarClip, texts: Sequence[str], batch_size: int = 256, device: torch.device | str = "cpu"
) -> npt.NDArray[np.float32]:
    """Unit-length embeddings (N, D) of captions, batched by length (short ones pad less)."""
    model.eval()
    if not texts:
        return np.zeros((0, 1), np.float32)
    order = sorted(range(len(texts)), key=lambda i: (len(texts[i]), i))
    out = []
    for i in range(0, len(order), batch_size):
        tokens = model.tokenize([texts[j] for j in order[i : i + batch_size]]).to(device)
        out.append(model.encode_text(tokens).float().cpu())
    sorted_emb = torch.cat(out).numpy()
    result = np.empty_like(sorted_emb)
    result[order] = sorted_emb
    return result
