"""Image resizing in numpy: separable area, bilinear and nearest resampling, no image library needed.

Each method is a linear map along each axis (a banded matrix, `axis_weights`), applied to the rows then
the columns: exact, deterministic and fast enough for model inputs (a few hundred pixels).
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
def _taps(
    n_in: int, n_out: int, method: str
) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.float32]]:
    """The non-zero band of `axis_weights`: per output pixel, K input indices and their weights."""
    dense = axis_weights(n_in, n_out, method)
    nonzero = dense != 0
    first = nonzero.argmax(axis=1)
    width = int((n_in - nonzero[:, ::-1].argmax(axis=1) - first).max())
    index = np.minimum(first[:, None] + np.arange(width)[None, :], n_in - 1)
    weight = np.take_along_axis(dense, index, axis=1)
    weight[first[:, None] + np.arange(width)[None, :] >= n_in] = 0.0
    index.setflags(write=False)
    weight.setflags(write=False)
    return index, weight


def _resample_last(x: npt.NDArray[np.float32], n_out: int, method: str) -> npt.NDArray[np.float32]:
    index, weight = _taps(x.shape[-1], n_out, method)
    out = x[..., index[:, 0]] * weight[:, 0]
    for k in range(1, index.shape[1]):
        out += x[..., index[:, k]] * weight[:, k]
    return out


def resize(
    image: npt.ArrayLike, height: int, width: int, method: str = "area"
) -> npt.NDArray[np.float32]:
    """Resize a (..., H, W) array to (..., height, width); values must be finite (fill NaN first).

    Applied as a few shifted, weighted sums over the band of non-zero weights, not as matrix products:
    no BLAS threads (which, on a busy machine, made a 256 px resize a hundred times slower), and the same
    numbers on every machine.
    """
    x = np.ascontiguousarray(image, dtype=np.float32)
    if x.shape[-2:] == (height, width):
        return x.copy()
    narrow = _resample_last(x, width, method)
    tall = _resample_last(np.ascontiguousarray(np.swapaxes(narrow, -1, -2)), height, method)
    return np.ascontiguousarray(np.swapaxes(tall, -1, -2), dtype=np.float32)
