"""Pixel masks: valid data, and Sentinel-1 GRD border noise.

Sentinel-1 GRD products (especially before the 2018 IPF 2.9 processor) carry low-valued, noisy strips
along their range edges (the left and right sides of each azimuth row) and sometimes at the start and
end of the data take (top and bottom rows). They are darker than any real surface but, unlike a lake or
a calm sea, they touch the image edge: a dark pixel belongs to border noise when it is linked to the
edge by an unbroken run of dark pixels along its row (or column). Runs are found by a cumulative
logical AND from each edge, fully vectorised.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from scipy import ndimage

from sargeo.errors import SargeoError

BoolArray = npt.NDArray[np.bool_]


def valid_mask(
    data: npt.ArrayLike, nodata: float | None = None, *, per_pixel: bool = False
) -> BoolArray:
    """True where a value is finite and not ``nodata``.

    Args:
        data: Array of any shape, e.g. (bands, h, w).
        nodata: The nodata value, if any (NaN is always invalid; a NaN ``nodata`` adds nothing).
        per_pixel: For a (bands, h, w) array, return an (h, w) mask that is True only where every
            band is valid.

    Returns:
        Boolean array of ``data``'s shape, or (h, w) with ``per_pixel``.
    """
    arr = np.asarray(data)
    if np.issubdtype(arr.dtype, np.number) and not np.issubdtype(arr.dtype, np.integer):
        valid = np.isfinite(arr)
    else:
        valid = np.ones(arr.shape, dtype=bool)
    if nodata is not None and not np.isnan(nodata):
        valid &= arr != nodata
    if per_pixel:
        if arr.ndim != 3:
            raise SargeoError(f"per_pixel needs a (bands, h, w) array, got shape {arr.shape}")
        return np.asarray(valid.all(axis=0))
    return np.asarray(valid)


def _runs_from_edges(dark: BoolArray, axis: int) -> BoolArray:
    """Pixels linked to either end of ``axis`` by an unbroken run of dark pixels."""
    from_start = np.logical_and.accumulate(dark, axis=axis)
    flipped = np.flip(dark, axis=axis)
    from_end = np.flip(np.logical_and.accumulate(flipped, axis=axis), axis=axis)
    return np.asarray(from_start | from_end)


def border_noise_mask(
    band: npt.ArrayLike,
    threshold: float,
    *,
    azimuth: bool = False,
    smooth: int = 5,
) -> BoolArray:
    """Mask of border-noise pixels: dark pixels connected to the image edge along rows (columns).

    A pixel is dark when the mean of the valid pixels in a ``smooth``-pixel window along the scan
    direction is below ``threshold``, or when it is invalid (NaN, inf: the zero-filled margins of GRD
    products usually are nodata). Border noise is every dark pixel linked to the left or right edge
    of its row by dark pixels only; with ``azimuth`` the same is done from the top and bottom of each
    column. A dark area inside the image (a lake, a calm sea bay) is reached by no such run and is
    kept, unless it touches the edge itself.

    Args:
        band: One band, 2-D, in any units where border noise is low (linear power, amplitude, dB).
        threshold: Values below this are dark, in the band's units.
        azimuth: Also mask dark runs from the top and bottom rows (start and end of the data take).
        smooth: Window length (odd) of the running mean along the scan line that keeps single
            noisy-bright pixels inside the noise from cutting a run; 1 disables it.

    Returns:
        Boolean (h, w) array, True on border noise.
    """
    arr = np.asarray(band, dtype=np.float64)
    if arr.ndim != 2:
        raise SargeoError(f"border_noise_mask takes one 2-D band, got shape {arr.shape}")
    if smooth < 1 or smooth % 2 == 0:
        raise SargeoError(f"border noise smoothing window must be odd and >= 1, got {smooth}")
    valid = np.isfinite(arr)
    values = np.where(valid, arr, 0.0)
    weights = valid.astype(np.float64)
    axes = [1, 0] if azimuth else [1]
    mask = np.zeros(arr.shape, dtype=bool)
    for axis in axes:
        if smooth > 1:
            total = ndimage.uniform_filter1d(values, smooth, axis=axis, mode="nearest")
            count = ndimage.uniform_filter1d(weights, smooth, axis=axis, mode="nearest")
            with np.errstate(invalid="ignore", divide="ignore"):
                level = total / count
        else:
            level = np.where(valid, arr, np.nan)
        with np.errstate(invalid="ignore"):
            dark = ~valid | ~(level >= threshold)
        mask |= _runs_from_edges(dark, axis)
    return mask
