"""Raster layers as the runtime's `WindowSource`: pixels read through GDAL in the layer's own grid.

A `GdalSource` is a file raster (what a QGIS raster layer of the ``gdal`` provider points at), or a
pixel window of one (an extent the user chose): its transform, CRS, polarisations, units, nodata and
acquisition time, and readers that return masked ``(bands, h, w)`` windows. Polarisations come from
band descriptions (``VV``, ``VH``...) or the file name; units from the ``units`` tag, else the data type
and sign of the values (negative floats are dB), as the toolkit's raster engine guesses them.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from osgeo import gdal, osr

from sargeo.errors import InputError
from sargeo.runtime.gpkg import Crs
from sargeo.runtime.grid import Transform, Window, window_transform

gdal.UseExceptions()

POLARISATIONS = ("HH", "HV", "VH", "VV")
_POL_IN_NAME = re.compile(r"(?:^|[^A-Za-z])(HH|HV|VH|VV)(?:[^A-Za-z]|$)", re.IGNORECASE)
_TIME_KEYS = ("ACQUISITION_START_TIME", "acquisition_time", "TIFFTAG_DATETIME", "DATETIME")
_METRES_PER_DEGREE = 111_320.0


def layer_path(source: str) -> Path:
    """The file of a QGIS ``gdal`` layer source (``path|option=...`` becomes ``path``)."""
    return Path(source.split("|")[0])


def _crs(dataset: Any, path: Path) -> Crs:
    wkt = dataset.GetProjection()
    if not wkt:
        raise InputError(f"{path.name} has no CRS: assign one (Layer Properties > Source) first")
    srs = osr.SpatialReference(wkt=wkt)
    srs.AutoIdentifyEPSG()
    name, code = srs.GetAuthorityName(None), srs.GetAuthorityCode(None)
    return Crs(f"EPSG:{code}" if name == "EPSG" and code else "", wkt)


def _units(dataset: Any) -> str:
    tags = {**dataset.GetMetadata(), **dataset.GetRasterBand(1).GetMetadata()}
    for key in ("units", "UNITS", "unit", "UNIT"):
        value = tags.get(key, "").strip().lower()
        if value in ("db", "decibel", "decibels"):
            return "dB"
        if value in ("linear", "amplitude", "uint8"):
            return value
    band = dataset.GetRasterBand(1)
    kind = gdal.GetDataTypeName(band.DataType).lower()
    if kind == "byte":
        return "uint8"
    if "int" in kind:
        return "amplitude"
    side = min(64, dataset.RasterXSize, dataset.RasterYSize)
    sample = band.ReadAsArray(0, 0, dataset.RasterXSize, dataset.RasterYSize, side, side)
    finite = sample[np.isfinite(sample)]
    return "dB" if finite.size and float(finite.min()) < 0 else "linear"


def _polarisations(dataset: Any, path: Path) -> tuple[str, ...]:
    count = dataset.RasterCount
    described = [
        (dataset.GetRasterBand(i + 1).GetDescription() or "").strip().upper() for i in range(count)
    ]
    if all(d in POLARISATIONS for d in described):
        return tuple(described)
    named = [m.upper() for m in _POL_IN_NAME.findall(path.stem)]
    return tuple(named) if len(named) == count else tuple(f"B{i + 1}" for i in range(count))


@dataclass
class GdalSource:
    """A file raster, or a window of it, for the runtime (see `sargeo.runtime.sources`).

    Build with `open_raster`.
    """

    name: str
    files: tuple[str, ...]
    width: int
    height: int
    transform: Transform
    crs: Crs
    polarisations: tuple[str, ...]
    units: str
    nodata: float | None
    acquisition_time: str
    reading: dict[str, Any] = field(default_factory=dict)
    offset: tuple[int, int] = (0, 0)
    geographic: bool = False
    unit_metres: float = 1.0

    def pixel_spacing(self, window: Window) -> tuple[float, float]:
        """Pixel size in metres at the window (degrees scaled at its latitude on lon/lat grids)."""
        a, _, _, _, e, _ = self.transform
        if not self.geographic:
            return abs(a) * self.unit_metres, abs(e) * self.unit_metres
        _, _, _, _, _, f = self.transform
        lat = f + e * (window.row + window.height / 2)
        return (
            abs(a) * _METRES_PER_DEGREE * math.cos(math.radians(lat)),
            abs(e) * _METRES_PER_DEGREE,
        )

    def open_reader(self) -> GdalReader:
        """A reader with its own GDAL handle (one per thread)."""
        return GdalReader(self)

    def window(self, window: Window) -> GdalSource:
        """This raster restricted to a pixel window of its grid (an extent)."""
        col, row = self.offset[0] + window.col, self.offset[1] + window.row
        return GdalSource(
            name=self.name, files=self.files, width=window.width, height=window.height,
            transform=window_transform(self.transform, window), crs=self.crs,
            polarisations=self.polarisations, units=self.units, nodata=self.nodata,
            acquisition_time=self.acquisition_time,
            reading={**self.reading, "window": [col, row, window.width, window.height]},
            offset=(col, row), geographic=self.geographic, unit_metres=self.unit_metres,
        )  # fmt: skip


class GdalReader:
    """Reads windows of a `GdalSource` (masked where nodata, NaN, or outside the raster)."""

    def __init__(self, source: GdalSource) -> None:
        self.source = source
        self._dataset = gdal.Open(source.files[0], gdal.GA_ReadOnly)

    def read(self, window: Window) -> np.ma.MaskedArray:
        """(bands, height, width) float32 pixels of a window of the source's grid."""
        src = self.source
        col, row = src.offset[0] + window.col, src.offset[1] + window.row
        data = np.full((len(src.polarisations), window.height, window.width), np.nan, np.float32)
        mask = np.ones(data.shape, dtype=bool)
        c0, r0 = max(col, 0), max(row, 0)
        c1 = min(col + window.width, self._dataset.RasterXSize)
        r1 = min(row + window.height, self._dataset.RasterYSize)
        if c1 > c0 and r1 > r0:
            pixels = self._dataset.ReadAsArray(c0, r0, c1 - c0, r1 - r0)
            pixels = np.asarray(pixels, dtype=np.float32).reshape(len(data), r1 - r0, c1 - c0)
            rows, cols = slice(r0 - row, r1 - row), slice(c0 - col, c1 - col)
            data[:, rows, cols] = pixels
            invalid = ~np.isfinite(pixels)
            if src.nodata is not None and not math.isnan(src.nodata):
                invalid |= pixels == np.float32(src.nodata)
            mask[:, rows, cols] = invalid
        return np.ma.MaskedArray(data, mask=mask)

    def close(self) -> None:
        """Release the GDAL handle."""
        self._dataset = None


def open_raster(path: Path, name: str | None = None) -> GdalSource:
    """A file raster GDAL opens, with its georeference and radiometry.

    Raises:
        InputError: unreadable file, no CRS, or a rotated grid.
    """
    try:
        dataset = gdal.Open(str(path), gdal.GA_ReadOnly)
    except RuntimeError as exc:
        raise InputError(f"GDAL cannot open {path}: {exc}") from exc
    if dataset is None or dataset.RasterCount == 0:
        raise InputError(f"{path} is not a raster GDAL reads")
    crs = _crs(dataset, path)
    c, a, b, f, d, e = dataset.GetGeoTransform()
    if b or d:
        raise InputError(f"{path.name} has a rotated grid; warp it north-up first")
    srs = osr.SpatialReference(wkt=crs.wkt)
    metadata = dataset.GetMetadata()
    acquired = next((metadata[k] for k in _TIME_KEYS if metadata.get(k)), "")
    nodata = dataset.GetRasterBand(1).GetNoDataValue()
    return GdalSource(
        name=name or str(path), files=(str(path),), width=dataset.RasterXSize,
        height=dataset.RasterYSize, transform=(a, b, c, d, e, f), crs=crs,
        polarisations=_polarisations(dataset, path), units=_units(dataset),
        nodata=None if nodata is None else float(nodata), acquisition_time=acquired,
        geographic=bool(srs.IsGeographic()),
        unit_metres=1.0 if srs.IsGeographic() else float(srs.GetLinearUnits() or 1.0),
    )  # fmt: skip
