"""Image resizing in numpy: separable area, bilinear and nearest resampling, no image library needed.

Each method is a linear map along each axis, so a resize is two small matrix products
``rows @ image @ cols.T``: exact, deterministic and fast enough for model inputs (a few hundred pixels).
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import numpy.typing as npt

METHODS = ("area", "bilinear", "nearest")
"""``area`` averages the input pixels each output pixel covers (down-scaling; bilinear when
up-scaling); ``bilinear`` interpolates between pixel centres (half-pixel convention, as
``torch.nn.functional.interpolate(..., align_corners=False)`` without antialiasing); ``nearest`` picks
the input pixel under each output pixel's centre."""


@lru_cache(maxsize=64)
def axis_weights(n_in: int, n_out: int, method: str) -> npt.NDArray[np.float32]:
    """The (n_out, n_in) matrix that resamples one axis; each row sums to 1."""
    if n_in < 1 or n_out < 1:
        raise ValueError(f"cannot resize an axis of {n_in} pixels to {n_out}")
    if method not in METHODS:
        raise ValueError(f"unknown resize method {method!r}; choose from {', '.join(METHODS)}")
    weights = np.zeros((n_out, n_in), dtype=np.float64)
    scale = n_in / n_out
    rows = np.arange(n_out)
    if method == "nearest":
        src = np.minimum(((rows + 0.5) * scale).astype(np.int64), n_in - 1)
        weights[rows, src] = 1.0
    elif method == "area" and n_out < n_in:
        lo, hi = rows * scale, (rows + 1) * scale
        edges = np.arange(n_in + 1)
        overlap = np.minimum(hi[:, None], edges[None, 1:]) - np.maximum(
            lo[:, None], edges[None, :-1]
        )
        weights = np.clip(overlap, 0.0, None) / scale
    else:  # bilinear, and area when up-scaling
        src = np.clip((rows + 0.5) * scale - 0.5, 0.0, n_in - 1)
        left = np.floor(src).astype(np.int64)
        right = np.minimum(left + 1, n_in - 1)
        frac = src - left
        np.add.at(weights, (rows, left), 1.0 - frac)
        np.add.at(weights, (rows, right), frac)
    out = weights.astype(np.float32)
    out.setflags(write=False)
    return out


@lru_cache(maxsize=64)
def _columns(n_in: int, n_out: int, method: str) -> npt.NDArray[np.float32]:
    """`axis_weights` transposed, stored contiguously (a transposed view makes matmul ~15x slower)."""
    out = np.ascontiguousarray(axis_weights(n_in, n_out, method).T)
    out.setflags(write=False)
    return out


def resize(
    image: npt.ArrayLike, height: int, width: int, method: str = "area"
) -> npt.NDArray[np.float32]:
    """Resize a (..., H, W) array to (..., height, width); values must be finite (fill NaN first)."""
    x = np.ascontiguousarray(image, dtype=np.float32)
    if x.shape[-2:] == (height, width):
        return x.copy()
    lead, (h, w) = x.shape[:-2], x.shape[-2:]
    rows = axis_weights(h, height, method)
    narrow = (x.reshape(-1, w) @ _columns(w, width, method)).reshape(-1, h, width)
    out = np.stack([rows @ plane for plane in narrow]) if len(narrow) else narrow[:, :height]
    return np.ascontiguousarray(out.reshape(*lead, height, width), dtype=np.float32)
