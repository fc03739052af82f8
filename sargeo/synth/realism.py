"""Realism statistics: numbers that say how SAR-like an image is, the same way for real and synthetic.

Pure numpy functions on one image and its masks: the equivalent number of looks (ENL) of homogeneous
areas, class levels in dB, the shape of the sea-clutter distribution and the ship-to-sea contrast. They
take linear intensity (sigma0-like power, or the square of an 8-bit amplitude display) so that one
implementation serves calibrated data (levels compare directly) and 8-bit data with an unknown display
gain (only ratios compare, and a ratio of intensities does not depend on a linear gain).

The loaders for the real references live in `sargeo.synth.realism_refs`; the comparison against stated
tolerances in `sargeo.synth.realism_check`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from sargeo.runtime.preprocess import DEFAULT_CLIP_DB
from sargeo.synth.sensors import amplitude_u8

Array = npt.NDArray[np.floating]
BoolArray = npt.NDArray[np.bool_]

MIN_PIXELS = 50
"""Fewest pixels a statistic is computed from; fewer give a number too noisy to compare."""

ENL_WINDOW = 9
"""Side (px) of the windows the ENL is estimated in: 81 samples each, small enough to fit in fields."""

ENL_KEEP = 0.1
"""Share of windows, lowest coefficient of variation first, taken as homogeneous."""

DISPLAY_SATURATION_DB = DEFAULT_CLIP_DB["VV"][1]
"""Sigma0 (dB) that an 8-bit amplitude display maps to 255: the fixed top of the VV clip range."""


def _db(ratio: float) -> float:
    """10 log10 of a positive ratio; a floor keeps zero finite."""
    return 10.0 * math.log10(max(ratio, 1e-12))


def _values(image: npt.ArrayLike, mask: BoolArray | None) -> Array:
    """The finite pixels of ``image`` under ``mask`` (all finite pixels when ``mask`` is None)."""
    x = np.asarray(image, dtype=np.float64)
    keep = np.isfinite(x)
    if mask is not None:
        if mask.shape != x.shape:
            raise ValueError(f"mask shape {mask.shape} differs from image shape {x.shape}")
        keep &= mask
    return x[keep]


def _enough(values: Array, what: str) -> Array:
    """Refuse too few pixels with a message naming the statistic."""
    if values.size < MIN_PIXELS:
        raise ValueError(f"{what}: only {values.size} pixels (need at least {MIN_PIXELS})")
    return values


@dataclass(frozen=True)
class Levels:
    """Backscatter level of one class: median and quartiles in dB over the class's pixels."""

    median_db: float
    p25_db: float
    p75_db: float
    pixels: int

    @property
    def iqr_db(self) -> float:
        """Inter-quartile range (dB): how spread the class is (speckle plus texture)."""
        return self.p75_db - self.p25_db


def class_levels_db(image_db: npt.ArrayLike, mask: BoolArray) -> Levels:
    """Median and quartiles (dB) of the pixels of ``image_db`` (already in dB) under ``mask``.

    Args:
        image_db: One band in dB; NaN pixels are ignored.
        mask: Pixels of the class.
    """
    v = _enough(_values(image_db, mask), "class levels")
    p25, p50, p75 = np.percentile(v, [25, 50, 75])
    return Levels(float(p50), float(p25), float(p75), int(v.size))


def _windows(x: Array, valid: BoolArray, window: int) -> Array:
    """The non-overlapping ``window`` x ``window`` windows of ``x`` lying wholly on ``valid`` pixels."""
    nh, nw = x.shape[0] // window, x.shape[1] // window
    if nh == 0 or nw == 0:
        return np.empty((0, window, window))
    h, w = nh * window, nw * window

    def blocks(a: npt.NDArray[np.generic]) -> npt.NDArray[np.generic]:
        return a[:h, :w].reshape(nh, window, nw, window).swapaxes(1, 2).reshape(-1, window, window)

    keep = blocks(valid).all(axis=(1, 2))
    return np.asarray(blocks(np.where(valid, x, 0.0))[keep], dtype=np.float64)


def homogeneous_windows(
    intensity: npt.ArrayLike,
    mask: BoolArray | None = None,
    window: int = ENL_WINDOW,
    keep: float = ENL_KEEP,
    rank_by: npt.ArrayLike | None = None,
) -> Array:
    """The most homogeneous windows of an image, shape (n, window, window).

    The image is cut into non-overlapping ``window`` x ``window`` windows; windows wholly inside
    ``mask`` (finite, non-negative) are ranked by coefficient of variation and the lowest ``keep``
    share is returned (texture only raises the variance, so these are the closest to pure speckle).

    Ranking a window by its own variance biases what is measured on it (windows whose speckle happened
    to be smooth are picked), and more so where neighbouring pixels are correlated (real GRD products).
    ``rank_by``, the other polarisation of the same scene, avoids that: its speckle is independent of
    this band's while the texture that makes an area heterogeneous is shared, so the windows are chosen
    for the area and measured on an independent draw of speckle.

    Args:
        intensity: Linear intensity (power), not dB and not amplitude.
        mask: Pixels the windows must lie in (e.g. one class); None for the whole image.
        window: Window side in pixels.
        keep: Share of windows kept as homogeneous.
        rank_by: Image on the same grid (linear intensity) whose windows' CV ranks homogeneity; None
            ranks by ``intensity`` itself.
    """
    x = np.asarray(intensity, dtype=np.float64)
    rank = x if rank_by is None else np.asarray(rank_by, dtype=np.float64)
    if rank.shape != x.shape:
        raise ValueError(f"rank_by shape {rank.shape} differs from image shape {x.shape}")
    if mask is not None and mask.shape != x.shape:
        raise ValueError(f"mask shape {mask.shape} differs from image shape {x.shape}")
    with np.errstate(invalid="ignore"):
        valid = np.isfinite(x) & (x >= 0) & np.isfinite(rank) & (rank >= 0)
    if mask is not None:
        valid &= mask
    wins = _windows(x, valid, window)
    rwins = wins if rank_by is None else _windows(rank, valid, window)
    mean, var = wins.mean(axis=(1, 2)), wins.var(axis=(1, 2), ddof=1)
    r_mean, r_var = rwins.mean(axis=(1, 2)), rwins.var(axis=(1, 2), ddof=1)
    ok = (mean > 0) & (var > 0) & (r_mean > 0) & (r_var > 0)
    if not ok.any():
        raise ValueError(
            f"homogeneous windows: no {window}x{window} window lies wholly in the mask"
        )
    cv = np.sqrt(r_var[ok]) / r_mean[ok]
    n_keep = max(1, math.ceil(keep * int(ok.sum())))
    return wins[ok][np.argsort(cv, kind="stable")[:n_keep]]


def homogeneous_enl(
    intensity: npt.ArrayLike,
    mask: BoolArray | None = None,
    window: int = ENL_WINDOW,
    keep: float = ENL_KEEP,
    rank_by: npt.ArrayLike | None = None,
) -> float:
    """Equivalent number of looks of the most homogeneous areas: median of mean^2/var over windows.

    Windows as `homogeneous_windows` (with ``rank_by`` the estimate is unbiased for pure speckle;
    without it, ranking on the measured variance biases it up by about 1.35x for white speckle).
    """
    wins = homogeneous_windows(intensity, mask, window, keep, rank_by)
    enl = wins.mean(axis=(1, 2)) ** 2 / wins.var(axis=(1, 2), ddof=1)
    return float(np.median(enl))


def speckle_correlation(
    intensity: npt.ArrayLike,
    mask: BoolArray | None = None,
    window: int = ENL_WINDOW,
    keep: float = ENL_KEEP,
    rank_by: npt.ArrayLike | None = None,
) -> float:
    """Mean lag-1 autocorrelation (along rows and columns) of intensity in homogeneous windows.

    About 0 for speckle drawn independently per pixel; about 0.5-0.6 for Sentinel-1 GRD, whose
    resolution (about 20 m) is twice its pixel spacing (10 m), so neighbouring pixels share speckle.
    """
    wins = homogeneous_windows(intensity, mask, window, keep, rank_by)
    z = wins - wins.mean(axis=(1, 2), keepdims=True)
    z /= z.std(axis=(1, 2), keepdims=True)
    along_cols = (z[:, :, 1:] * z[:, :, :-1]).mean(axis=(1, 2))
    along_rows = (z[:, 1:, :] * z[:, :-1, :]).mean(axis=(1, 2))
    return float(np.mean((along_cols + along_rows) / 2.0))


@dataclass(frozen=True)
class Clutter:
    """Shape of a clutter distribution in linear intensity, in the image's own units.

    Attributes:
        median: Median intensity (image units: sigma0 for calibrated data, 8-bit^2 for a display).
        low_db: 5th percentile over the median (dB, negative): how deep the speckle's dark tail is.
        high_db: 95th percentile over the median (dB): how bright the clutter's tail is.
        cv: Coefficient of variation (std/mean); 1/sqrt(ENL) for pure speckle.
        pixels: Number of pixels.
    """

    median: float
    low_db: float
    high_db: float
    cv: float
    pixels: int

    @property
    def median_db(self) -> float:
        """Median in dB (meaningful for calibrated sigma0 only)."""
        return _db(self.median)


def clutter_stats(intensity: npt.ArrayLike, mask: BoolArray | None = None) -> Clutter:
    """Distribution shape of the pixels under ``mask`` (e.g. open sea) in linear intensity."""
    v = _enough(_values(intensity, mask), "clutter statistics")
    p5, p50, p95 = np.percentile(v, [5, 50, 95])
    mean = float(v.mean())
    cv = float(v.std() / mean) if mean > 0 else float("nan")
    return Clutter(float(p50), _db(p5 / p50), _db(p95 / p50), cv, int(v.size))


@dataclass(frozen=True)
class Contrast:
    """Ship-to-sea contrast in dB: ship intensity over the median sea clutter.

    Attributes:
        mean_db: Mean ship intensity over median sea (dB).
        peak_db: Brightest ship pixel over median sea (dB).
    """

    mean_db: float
    peak_db: float


def ship_contrast(intensity: npt.ArrayLike, ship: BoolArray, sea: BoolArray) -> Contrast:
    """Contrast of the ``ship`` pixels against the median of the ``sea`` pixels (linear intensity)."""
    s = _values(intensity, ship)
    if s.size == 0:
        raise ValueError("ship contrast: the ship mask selects no finite pixel")
    c = _enough(_values(intensity, sea & ~ship), "ship contrast (sea)")
    sea_median = float(np.median(c))
    return Contrast(_db(float(s.mean()) / sea_median), _db(float(s.max()) / sea_median))


CHIP_CENTRE = 0.3
"""Side of the central window (share of the chip side) searched for the ship in a ship chip."""

CHIP_BORDER = 0.15
"""Width of the border ring (share of the chip side) taken as sea clutter in a ship chip."""

CHIP_TOP = 10
"""Brightest pixels of the central window averaged as the ship's mean intensity."""


def chip_contrast(intensity: npt.ArrayLike) -> Contrast:
    """Ship-to-sea contrast of a chip with one ship at its centre and no mask (OpenSARShip style).

    The sea is the border ring (``CHIP_BORDER`` of the side), the ship the ``CHIP_TOP`` brightest
    pixels of the central window (``CHIP_CENTRE`` of the side). The same procedure is applied to chips
    cut around synthetic ships, so that both sides are measured alike.
    """
    x = np.asarray(intensity, dtype=np.float64)
    h, w = x.shape
    b = max(1, round(CHIP_BORDER * min(h, w)))
    ring = np.ones_like(x, dtype=bool)
    ring[b : h - b, b : w - b] = False
    c = max(3, round(CHIP_CENTRE * min(h, w)))
    r0, c0 = (h - c) // 2, (w - c) // 2
    centre = x[r0 : r0 + c, c0 : c0 + c]
    top = np.sort(centre[np.isfinite(centre)])[-CHIP_TOP:]
    sea = _enough(_values(x, ring), "chip contrast (border ring)")
    sea_median = float(np.median(sea))
    if top.size == 0 or sea_median <= 0:
        raise ValueError("chip contrast: empty centre or zero sea clutter")
    return Contrast(_db(float(top.mean()) / sea_median), _db(float(top.max()) / sea_median))


def to_display_uint8(
    sigma0: npt.ArrayLike, saturation_db: float = DISPLAY_SATURATION_DB
) -> npt.NDArray[np.uint8]:
    """Linear sigma0 as an 8-bit amplitude display with a fixed gain (`sargeo.synth.sensors`)."""
    return amplitude_u8(sigma0, saturation_db)


def display_intensity(pixels: npt.ArrayLike) -> Array:
    """Intensity of an 8-bit amplitude display: the square of the pixel values (float)."""
    return np.square(np.asarray(pixels, dtype=np.float64))
