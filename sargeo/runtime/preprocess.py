"""Radiometric preprocessing shared by training and inference: one implementation, numpy only.

Conversions never use per-tile statistics: clip ranges and normalisation are fixed numbers, so that a
dark tile stays dark and the same pixel value always maps to the same model input.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

DB_EPSILON = 1e-6
"""Added to linear power before log10, so that zeros give a finite floor (-60 dB) instead of -inf."""

DEFAULT_CLIP_DB: dict[str, tuple[float, float]] = {"VV": (-25.0, 5.0), "VH": (-32.0, -5.0)}
"""Fixed clip ranges per polarisation in dB (typical Sentinel-1 land/sea span)."""

FloatArray = npt.NDArray[np.float32]


def to_linear_power(values: npt.ArrayLike, units: str) -> FloatArray:
    """Convert pixels in ``units`` to linear power (sigma0-like)."""
    x = np.asarray(values, dtype=np.float32)
    if units == "linear":
        return x
    if units == "amplitude":
        return np.square(x, dtype=np.float32)
    if units == "dB":
        return np.power(np.float32(10.0), x / np.float32(10.0), dtype=np.float32)
    raise ValueError(f"cannot convert units {units!r} to linear power")


def to_db(values: npt.ArrayLike, units: str, eps: float = DB_EPSILON) -> FloatArray:
    """Convert pixels in ``units`` (linear power, amplitude or dB) to dB: 10 log10(power + eps)."""
    if units == "dB":
        return np.asarray(values, dtype=np.float32)
    power = to_linear_power(values, units)
    with np.errstate(invalid="ignore"):
        return (np.float32(10.0) * np.log10(np.maximum(power, 0) + np.float32(eps))).astype(
            np.float32
        )


def clip(values: npt.ArrayLike, lo: float, hi: float) -> FloatArray:
    """Clip to a fixed range; NaN stays NaN."""
    return np.clip(np.asarray(values, dtype=np.float32), lo, hi)


def normalise(values: npt.ArrayLike, lo: float, hi: float) -> FloatArray:
    """Map the fixed range [lo, hi] linearly onto [0, 1], clipping outside values."""
    x = clip(values, lo, hi)
    return ((x - np.float32(lo)) / np.float32(hi - lo)).astype(np.float32)
