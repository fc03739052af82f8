"""Synthetic speckle and its measure, shared by the classical and the learned filter tests."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt


def enl(values: npt.NDArray[np.floating]) -> float:
    """Equivalent number of looks, mean^2 / variance, over finite values."""
    v = values[np.isfinite(values)].astype(np.float64)
    return float(v.mean() ** 2 / v.var())


def gamma_speckle(
    reflectivity: npt.ArrayLike, looks: float = 1.0, seed: int = 0
) -> npt.NDArray[np.float32]:
    """Fully developed ``looks``-look speckle (unit-mean gamma) over a reflectivity map."""
    r = np.asarray(reflectivity, dtype=np.float64)
    noise = np.random.default_rng(seed).gamma(looks, 1.0 / looks, size=r.shape)
    return (r * noise).astype(np.float32)
