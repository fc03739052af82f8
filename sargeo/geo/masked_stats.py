"""Local statistics over valid pixels only (normalised convolution), the base of every speckle filter.

Sums over a window are divided by the number of valid pixels in it, so a pixel beside a nodata hole or
the image edge is estimated from its valid neighbours only, and NaN never spreads.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from scipy import ndimage

from sargeo.errors import SargeoError

FloatArray = npt.NDArray[np.float32]
_F64 = npt.NDArray[np.float64]


def prepare(img: npt.ArrayLike) -> tuple[_F64, _F64, npt.NDArray[np.bool_]]:
    """Return (values with invalid set to 0, validity weights, validity mask) in float64."""
    x = np.asarray(img, dtype=np.float64)
    if x.ndim != 2:
        raise SargeoError(f"speckle filters take a 2-D image, got an array of shape {x.shape}")
    valid = np.isfinite(x)
    return np.where(valid, x, 0.0), valid.astype(np.float64), valid


def window_sum(x: _F64, size: int) -> _F64:
    """Sum over a size x size window; pixels outside the image count as zero."""
    return ndimage.uniform_filter(x, size=size, mode="constant", cval=0.0) * float(size * size)


def window_count(w: _F64, size: int) -> _F64:
    """Number of valid pixels in each size x size window (rounded: running sums leave residues)."""
    return np.rint(window_sum(w, size))


def ratio(num: _F64, den: _F64) -> _F64:
    """num / den, NaN where den is 0 (no valid pixel)."""
    return np.divide(num, den, out=np.full_like(num, np.nan), where=den > 0)


def kernel_sum(x: _F64, kernel: _F64) -> _F64:
    """Weighted sum over a centred kernel (correlation, so kernel[r, c] weighs offset (r-k, c-k))."""
    return ndimage.correlate(x, kernel, mode="constant", cval=0.0)


def mean_var(s: _F64, s2: _F64, n: _F64) -> tuple[_F64, _F64]:
    """Mean and (population) variance from sums of values, squares and counts; NaN where n == 0."""
    mean = ratio(s, n)
    var = np.maximum(ratio(s2, n) - mean * mean, 0.0)
    return mean, var


def local_stats(x: _F64, w: _F64, size: int) -> tuple[_F64, _F64, _F64]:
    """Masked local mean, variance and count of valid pixels over a square window."""
    n = window_count(w, size)
    mean, var = mean_var(window_sum(x, size), window_sum(x * x, size), n)
    return mean, var, n


def finish(out: _F64, valid: npt.NDArray[np.bool_]) -> FloatArray:
    """``out`` as float32 with invalid pixels set back to NaN."""
    return np.where(valid, out, np.nan).astype(np.float32)
