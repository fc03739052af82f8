"""Inputs an export is checked on, and retrieval measured through the graphs as through torch.

Real inputs are the images and captions of an evaluation caption CSV (the run's test split), prepared
exactly as training and inference prepare them; synthetic inputs are random model inputs and random
words, which reach corners real data may not (unknown words, long captions, odd pixel values).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import torch

from sargeo.eval.retrieval import retrieval_metrics
from sargeo.models.clip import SarClip
from sargeo.runtime.preprocess import PreprocessSpec, prepare

Array = npt.NDArray[np.float32]

REAL_TEXTS = (
    "three ships moored in a harbour",
    "open sea with no ships",
    "a flooded area beside farmland",
    "an urban area next to a river",
    "a SAR image of a large cargo ship at sea",
    "forest and bare soil in the north-west of the image",
)
"""Captions in the narrator's style, used when no evaluation data is at hand."""


@dataclass
class EvalSet:
    """Prepared images, their captions, and for each caption the index of its image."""

    csv: Path | None
    images: Array
    texts: list[str]
    owners: list[int] = field(default_factory=list)


def load_eval_set(csv: Path | None, spec: PreprocessSpec, max_images: int) -> EvalSet:
    """The first ``max_images`` images of a caption CSV with their captions (none without a CSV)."""
    if csv is None:
        return EvalSet(None, np.zeros((0, 3, spec.size, spec.size), np.float32), list(REAL_TEXTS))
    from sargeo.train.data import read_caption_csv, read_image

    table = read_caption_csv([csv]).head(max_images)
    images = []
    for path in table.images:
        raw = read_image(path)
        images.append(prepare(raw.pixels, raw.units, raw.polarisations, spec, nodata=raw.nodata))
    texts, owners = table.pairs()
    return EvalSet(csv, np.stack(images).astype(np.float32), texts, owners)


def synthetic_images(spec: PreprocessSpec, n: int, seed: int = 0) -> Array:
    """Random model inputs: normal noise around the normalised range, plus a constant image."""
    rng = np.random.default_rng(seed)
    images = rng.standard_normal((n, 3, spec.size, spec.size)).astype(np.float32)
    images[-1] = 0.0
    return images


def synthetic_texts(n: int, seed: int = 0) -> list[str]:
    """Random words (letters and digits) of random lengths, some longer than any context."""
    rng = np.random.default_rng(seed)
    alphabet = list("abcdefghijklmnopqrstuvwxyz0123456789")
    texts = []
    for i in range(n):
        words = int(rng.integers(1, 12)) if i else 200
        texts.append(
            " ".join(
                "".join(rng.choice(alphabet, size=int(rng.integers(1, 10)))) for _ in range(words)
            )
        )
    return texts


@torch.no_grad()
def torch_images(model: SarClip, images: Array, batch: int = 32) -> Array:
    """Unit image embeddings by the torch model."""
    out = [
        model.encode_image(torch.from_numpy(images[i : i + batch])).numpy()
        for i in range(0, len(images), batch)
    ]
    return np.concatenate(out).astype(np.float32) if out else np.zeros((0, 1), np.float32)


@torch.no_grad()
def torch_texts(model: SarClip, ids: npt.NDArray[np.int64], batch: int = 64) -> Array:
    """Unit text embeddings by the torch model, of the runtime tokenizer's ids."""
    out = [
        model.encode_text(torch.from_numpy(ids[i : i + batch])).numpy()
        for i in range(0, len(ids), batch)
    ]
    return np.concatenate(out).astype(np.float32) if out else np.zeros((0, 1), np.float32)


def batched(run: Callable[[Any], Array], items: Any, batch: int) -> Array:
    """``run`` over slices of ``items``, concatenated."""
    parts = [run(items[i : i + batch]) for i in range(0, len(items), batch)]
    return np.concatenate(parts).astype(np.float32) if parts else np.zeros((0, 0), np.float32)


def mean_recall(images: Array, texts: Array, owners: Sequence[int]) -> dict[str, float]:
    """Retrieval metrics (R@k both ways, mR) of unit embeddings."""
    return retrieval_metrics(images @ texts.T, list(owners))
