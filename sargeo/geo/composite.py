"""8-bit RGB composites of SAR tiles with fixed dB ranges, for display and for RGB vision models.

Dual-pol: R = co-pol (VV or HH), G = cross-pol (VH or HV), B = co/cross ratio (co_dB - cross_dB).
Single-pol: the band replicated in three channels. Every channel is stretched over a FIXED dB range,
never over the tile's own minimum and maximum, so that the same backscatter gives the same colour in
every tile and a dark (water) tile stays dark.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
import numpy.typing as npt

from sargeo.errors import SargeoError
from sargeo.runtime.preprocess import DEFAULT_CLIP_DB, normalise, to_db

UInt8Array = npt.NDArray[np.uint8]
BoolArray = npt.NDArray[np.bool_]

CO_POLS = ("VV", "HH")
CROSS_POLS = ("VH", "HV")


@dataclass(frozen=True)
class RgbRanges:
    """Fixed dB ranges mapped onto 0..255 for each channel of a composite.

    Attributes:
        co: Co-polarised backscatter (VV or HH), dB. Default [-25, 5], a typical land/sea span.
        cross: Cross-polarised backscatter (VH or HV), dB. Default [-32, -5].
        ratio: Co/cross ratio, dB (co_dB - cross_dB). Default [0, 15].
    """

    co: tuple[float, float] = DEFAULT_CLIP_DB["VV"]
    cross: tuple[float, float] = DEFAULT_CLIP_DB["VH"]
    ratio: tuple[float, float] = (0.0, 15.0)


DEFAULT_RANGES = RgbRanges()


class Composite(NamedTuple):
    """An RGB composite and the pixels it is valid on."""

    rgb: UInt8Array
    """(3, h, w) uint8; invalid pixels are 0 in every channel."""
    valid: BoolArray
    """(h, w), True where every input band was finite."""


def _to_uint8(values_db: npt.ArrayLike, db_range: tuple[float, float]) -> UInt8Array:
    """Stretch dB values over a fixed range onto 0..255; NaN and inf become 0."""
    lo, hi = db_range
    if not hi > lo:
        raise SargeoError(f"composite range must have LO < HI, got {db_range}")
    values = np.asarray(values_db, dtype=np.float32)
    scaled = np.rint(normalise(values, lo, hi) * np.float32(255.0))
    return np.where(np.isfinite(values), scaled, 0.0).astype(np.uint8)


def pseudo_rgb(
    vv_db: npt.ArrayLike, vh_db: npt.ArrayLike, ranges: RgbRanges = DEFAULT_RANGES
) -> UInt8Array:
    """Dual-pol composite from co-pol and cross-pol dB bands (VV/VH or HH/HV): (3, h, w) uint8.

    R = co-pol over ``ranges.co``, G = cross-pol over ``ranges.cross``, B = co - cross (dB) over
    ``ranges.ratio``. A pixel that is NaN in either band is 0 in all three channels.
    """
    co = np.asarray(vv_db, dtype=np.float32)
    cross = np.asarray(vh_db, dtype=np.float32)
    if co.shape != cross.shape or co.ndim != 2:
        raise SargeoError(
            f"pseudo_rgb needs two 2-D bands of one shape, got {co.shape} and {cross.shape}"
        )
    rgb = np.stack(
        [
            _to_uint8(co, ranges.co),
            _to_uint8(cross, ranges.cross),
            _to_uint8(co - cross, ranges.ratio),
        ]
    )
    rgb[:, ~(np.isfinite(co) & np.isfinite(cross))] = 0
    return np.asarray(rgb, dtype=np.uint8)


def single_pol_rgb(
    band_db: npt.ArrayLike, db_range: tuple[float, float] = DEFAULT_RANGES.co
) -> UInt8Array:
    """Single-pol composite: one dB band stretched over ``db_range``, repeated in 3 channels."""
    band = np.asarray(band_db, dtype=np.float32)
    if band.ndim != 2:
        raise SargeoError(f"single_pol_rgb needs one 2-D band, got shape {band.shape}")
    grey = _to_uint8(band, db_range)
    return np.repeat(grey[None], 3, axis=0)


def _pick_pair(pols: Sequence[str]) -> tuple[int, int] | None:
    """Indices of a (co, cross) pair, preferring VV+VH, then HH+HV, then any co with any cross."""
    upper = [p.upper() for p in pols]
    for co, cross in (("VV", "VH"), ("HH", "HV")):
        if co in upper and cross in upper:
            return upper.index(co), upper.index(cross)
    cos = [i for i, p in enumerate(upper) if p in CO_POLS]
    crosses = [i for i, p in enumerate(upper) if p in CROSS_POLS]
    if cos and crosses:
        return cos[0], crosses[0]
    return None


def compose(
    bands: npt.ArrayLike,
    polarisations: Sequence[str],
    units: str,
    ranges: RgbRanges = DEFAULT_RANGES,
) -> Composite:
    """RGB composite of a (bands, h, w) tile, chosen from its polarisation names.

    A co-pol + cross-pol pair (VV+VH, HH+HV) gives `pseudo_rgb`; otherwise the first band gives
    `single_pol_rgb` (over the cross-pol range if it is a cross-pol band). Pixels in linear power or
    amplitude are converted to dB with `sargeo.runtime.preprocess.to_db` first. ``uint8`` pixels are
    already display values: the first band is replicated unchanged.

    Raises:
        SargeoError: Shape and polarisation names disagree, or the units are unknown.
    """
    arr = np.asarray(bands)
    if arr.ndim == 2:
        arr = arr[None]
    if arr.ndim != 3 or arr.shape[0] == 0:
        raise SargeoError(f"compose expects a (bands, h, w) array, got shape {np.shape(bands)}")
    if len(polarisations) not in (0, arr.shape[0]):
        raise SargeoError(
            f"{arr.shape[0]} band(s) but {len(polarisations)} polarisation name(s): "
            f"{', '.join(polarisations)}"
        )
    if units == "uint8":
        valid = np.ones(arr.shape[1:], dtype=bool)
        grey = np.clip(arr[0], 0, 255).astype(np.uint8)
        return Composite(np.repeat(grey[None], 3, axis=0), valid)
    if units not in ("dB", "linear", "amplitude"):
        raise SargeoError(f"cannot make a composite from pixels in units {units!r}")
    pair = _pick_pair(polarisations)
    used = list(pair) if pair is not None else [0]
    db = to_db(arr[used], units)
    valid = np.asarray(np.isfinite(db).all(axis=0))
    if pair is not None:
        rgb = pseudo_rgb(db[0], db[1], ranges)
    else:
        pol = polarisations[0].upper() if polarisations else ""
        rgb = single_pol_rgb(db[0], ranges.cross if pol in CROSS_POLS else ranges.co)
    return Composite(rgb, valid)
