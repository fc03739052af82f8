"""Band metadata of a raster file that GDAL does not state plainly: radiometric units, polarisations and
acquisition time, guessed from tags, band descriptions, the file name and a few sampled values.
"""

from __future__ import annotations

import math
import re
from datetime import datetime
from pathlib import Path

import numpy as np
import rasterio
from rasterio.enums import Resampling
from rasterio.windows import Window as RioWindow

from sargeo.geo.gdal_errors import pixel_reads
from sargeo.records import UNITS

POLARISATIONS = ("HH", "HV", "VH", "VV")
_POL_IN_NAME = re.compile(r"(?:^|[^A-Za-z])(HH|HV|VH|VV)(?:[^A-Za-z]|$)", re.IGNORECASE)


def detect_units(dtype: str, sample: np.ndarray | None, tags: dict[str, str]) -> str:
    """Guess radiometric units from tags, then dtype and values (negative floats mean dB)."""
    for key in ("units", "UNITS", "unit", "UNIT"):
        value = tags.get(key, "").strip()
        for unit in UNITS:
            if value.lower() == unit.lower():
                return unit
        if value.lower() in ("db", "decibel", "decibels"):
            return "dB"
    if dtype == "uint8":
        return "uint8"
    if np.dtype(dtype).kind in "iu":
        return "amplitude"
    finite = sample[np.isfinite(sample)] if sample is not None else np.empty(0)
    if finite.size and finite.min() < 0:
        return "dB"
    return "linear"


def detect_polarisations(path: Path, descriptions: tuple[str | None, ...]) -> tuple[str, ...]:
    """Polarisations from band descriptions, else from the file name, else ``B1``, ``B2``..."""
    found = [d.strip().upper() for d in descriptions if d and d.strip().upper() in POLARISATIONS]
    if len(found) == len(descriptions):
        return tuple(found)
    names = [m.upper() for m in _POL_IN_NAME.findall(path.stem)]
    if len(names) == len(descriptions):
        return tuple(names)
    return tuple(f"B{i + 1}" for i in range(len(descriptions)))


def sample_values(ds: rasterio.io.DatasetReader) -> np.ndarray:
    """A small sample of band 1 (for unit detection); a failed read is a one-line `ReadError`."""
    with pixel_reads(ds.name, "sample pixels"):
        return _sample_values(ds)


def _sample_values(ds: rasterio.io.DatasetReader) -> np.ndarray:
    """A small sample of band 1 (for unit detection) that decodes only a few compressed blocks.

    A decimated read is cheap with overviews or on a small raster; on a large raster without
    overviews it would decode every block (the whole file), so read a 3 x 3 grid of small windows.
    """
    if ds.overviews(1) or ds.width * ds.height <= 1 << 20:
        h = min(ds.height, 64)
        w = min(ds.width, 64)
        data = ds.read(1, out_shape=(h, w), resampling=Resampling.nearest).astype("float64")
    else:
        side, steps = min(16, ds.width, ds.height), 3
        parts = [
            ds.read(
                1,
                window=RioWindow(
                    min(int((i + 0.5) * ds.width / steps), ds.width - side),
                    min(int((j + 0.5) * ds.height / steps), ds.height - side),
                    side,
                    side,
                ),
            )
            for j in range(steps)
            for i in range(steps)
        ]
        data = np.stack(parts).astype("float64")
    if ds.nodata is not None and not math.isnan(ds.nodata):
        data[data == ds.nodata] = np.nan
    return data


def acquisition_time(tags: dict[str, str]) -> datetime | None:
    """Acquisition time from the usual tags (ISO or TIFF ``YYYY:MM:DD hh:mm:ss``), if any."""
    for key in ("ACQUISITION_START_TIME", "acquisition_time", "TIFFTAG_DATETIME", "DATETIME"):
        value = tags.get(key)
        if not value:
            continue
        for fmt in (None, "%Y:%m:%d %H:%M:%S"):
            try:
                return (
                    datetime.fromisoformat(value) if fmt is None else datetime.strptime(value, fmt)
                )
            except ValueError:
                continue
    return None
