"""The CLI's rasters for the runtime: a `sargeo.geo` raster source seen as a runtime `WindowSource`.

Everything the raster engine reads (a file, a mosaic of files, a Sentinel-1 SAFE product, reprojected
on the fly or not) reaches the runtime through this adapter; the QGIS plugin provides its own over
GDAL, and the runtime depends on neither.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import rasterio

from sargeo.errors import InputError
from sargeo.geo.grid import pixel_spacing_m
from sargeo.geo.readers import RasterSource, Reader
from sargeo.geo.source import open_source
from sargeo.runtime.gpkg import Crs
from sargeo.runtime.grid import Transform, Window

READ_CACHE_MB = "128"
"""GDAL's block cache while indexing. Tiles are read row by row in raster order, so a tile row needs
at most the block rows it spans (40 MB for a 10000 px wide float32 dual-pol raster in 512 px blocks);
the raster engine's default (512 MB) would otherwise fill up with blocks never read again and make
memory grow with the raster up to that size. A GDAL_CACHEMAX the user set wins."""

_GEO_DEFAULT_CACHE_MB = "512"  # what sargeo.geo sets when the user set nothing


def _bound_block_cache() -> None:
    """Lower GDAL's block cache for indexing, unless the user chose one (before GDAL reads pixels)."""
    if os.environ.get("GDAL_CACHEMAX", _GEO_DEFAULT_CACHE_MB) == _GEO_DEFAULT_CACHE_MB:
        os.environ["GDAL_CACHEMAX"] = READ_CACHE_MB


class _EnvReader:
    """A raster engine reader inside its own rasterio environment (one per reader thread)."""

    def __init__(self, source: RasterSource) -> None:
        self._env = rasterio.Env()
        self._env.__enter__()
        try:
            self._reader: Reader = source.open_reader()
        except BaseException:
            self._env.__exit__(None, None, None)
            raise

    def read(self, window: Window) -> np.ma.MaskedArray:
        return self._reader.read(window)

    def close(self) -> None:
        try:
            self._reader.close()
        finally:
            self._env.__exit__(None, None, None)


class GeoWindowSource:
    """A `sargeo.geo.readers.RasterSource` with the attributes `sargeo.runtime.sources` needs."""

    def __init__(
        self,
        source: RasterSource,
        files: Sequence[Path],
        reading: dict[str, Any],
        polarisations: Sequence[str] | None = None,
    ) -> None:
        self.source = source
        self.name = source.name
        self.files = tuple(str(p) for p in files)
        self.width = source.grid.width
        self.height = source.grid.height
        a, b, c, d, e, f = tuple(source.grid.transform)[:6]
        self.transform: Transform = (a, b, c, d, e, f)
        crs = source.grid.crs
        epsg = crs.to_epsg() if crs is not None else None
        self.crs = Crs(f"EPSG:{epsg}" if epsg else "", crs.to_wkt() if crs is not None else "")
        if polarisations is not None and len(polarisations) != source.count:
            raise InputError(
                f"{source.name} has {source.count} band(s); `polarisations` names"
                f" {len(polarisations)}"
            )
        names = polarisations if polarisations is not None else source.polarisations
        self.polarisations = tuple(p.upper() for p in names)
        self.units = source.units
        self.nodata = source.nodata
        acquired = source.acquisition_time
        self.acquisition_time = acquired.isoformat() if acquired is not None else ""
        self.reading = {**reading, "polarisations": list(self.polarisations), "units": self.units}

    def pixel_spacing(self, window: Window) -> tuple[float, float]:
        return pixel_spacing_m(self.source.grid, window)

    def open_reader(self) -> _EnvReader:
        return _EnvReader(self.source)


def open_rasters(
    paths: Sequence[Path],
    *,
    mosaic: bool = False,
    crs: str | None = None,
    resolution: float | None = None,
    units: str | None = None,
    polarisations: Sequence[str] | None = None,
    allow_pixel_coords: bool = False,
) -> list[GeoWindowSource]:
    """Open rasters for indexing: one source per raster, or one mosaic of them all."""
    _bound_block_cache()
    groups = [list(paths)] if mosaic or len(paths) == 1 else [[p] for p in paths]
    reading = {
        "crs": crs,
        "resolution": resolution,
        "mosaic": mosaic,
        "allow_pixel_coords": allow_pixel_coords,
    }
    sources = []
    for group in groups:
        source = open_source(
            group,
            crs=crs,
            resolution=resolution,
            mosaic=mosaic,
            allow_pixel_coords=allow_pixel_coords,
            units=units,
        )
        sources.append(GeoWindowSource(source, group, reading, polarisations))
    return sources
