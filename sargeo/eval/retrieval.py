"""Image-text retrieval metrics with clip_benchmark's definition, in numpy.

A query hits at k when any item that matches it is among its k best-scored items: for image -> text, any
of the image's captions (several per image); for text -> image, the caption's own image. Recall@k is the
share of queries that hit, in percent; mR is the mean of R@1, R@5 and R@10 in both directions (the
figure SAR-TEXT and the remote-sensing retrieval papers report). Equal scores rank by index (stable).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

KS = (1, 5, 10)


def _first_hit_rank(
    order: npt.NDArray[np.intp], positive: npt.NDArray[np.bool_]
) -> npt.NDArray[np.intp]:
    """Per query row: the 0-based rank of the best-ranked positive item (len(row) when none)."""
    hits = np.take_along_axis(positive, order, axis=1)
    any_hit = hits.any(axis=1)
    return np.where(any_hit, hits.argmax(axis=1), order.shape[1])


def retrieval_metrics(
    similarity: npt.ArrayLike, text_image: Sequence[int] | npt.ArrayLike, ks: Sequence[int] = KS
) -> dict[str, float]:
    """Recall@k both ways and mR from an (images, texts) similarity matrix.

    Args:
        similarity: score of image i with text t (higher is closer), shape (n_images, n_texts).
        text_image: for each text, the index of its image.
        ks: the cut-offs (1, 5, 10).

    Returns:
        ``i2t_R@k``, ``t2i_R@k`` for each k, and ``mR``, in percent.
    """
    sim = np.asarray(similarity, dtype=np.float64)
    owner = np.asarray(text_image, dtype=np.intp)
    n_images, n_texts = sim.shape
    if owner.shape != (n_texts,) or (n_texts and (owner.min() < 0 or owner.max() >= n_images)):
        raise ValueError("text_image needs one image index (0..n_images-1) per text")
    positive = owner[None, :] == np.arange(n_images)[:, None]  # (images, texts)
    i2t = _first_hit_rank(np.argsort(-sim, axis=1, kind="stable"), positive)
    t2i = _first_hit_rank(np.argsort(-sim.T, axis=1, kind="stable"), positive.T)
    out: dict[str, float] = {}
    for k in ks:
        out[f"i2t_R@{k}"] = float(100.0 * np.mean(i2t < k)) if n_images else 0.0
    for k in ks:
        out[f"t2i_R@{k}"] = float(100.0 * np.mean(t2i < k)) if n_texts else 0.0
    out["mR"] = float(np.mean([out[f"{d}_R@{k}"] for d in ("i2t", "t2i") for k in ks]))
    return out


def chance_metrics(
    text_image: Sequence[int] | npt.ArrayLike,
    draws: int = 200,
    seed: int = 0,
    ks: Sequence[int] = KS,
) -> dict[str, float]:
    """The metrics of a model that ranks at random, on the same images and captions (mean of draws).

    The level to read a score against: with few images, recall at 10 is high even by chance.
    """
    owner = np.asarray(text_image, dtype=np.intp)
    n_images = int(owner.max()) + 1 if owner.size else 0
    rng = np.random.default_rng(seed)
    runs = [retrieval_metrics(rng.random((n_images, owner.size)), owner, ks) for _ in range(draws)]
    return {key: float(np.mean([r[key] for r in runs])) for key in runs[0]}


def format_table(rows: dict[str, dict[str, float]], ks: Sequence[int] = KS) -> str:
    """A plain text table: one row per evaluated set or model, the R@k columns and mR."""
    cols = [f"i2t_R@{k}" for k in ks] + [f"t2i_R@{k}" for k in ks] + ["mR"]
    width = max([len(n) for n in rows] + [4])
    lines = [" ".join([f"{'':<{width}}", *(f"{c:>9}" for c in cols)])]
    for name, metrics in rows.items():
        lines.append(
            " ".join([f"{name:<{width}}", *(f"{metrics.get(c, float('nan')):9.2f}" for c in cols)])
        )
    return "\n".join(lines)
