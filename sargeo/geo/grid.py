"""Raster grids in map coordinates: a CRS, an affine transform and a size, and what follows from them
(pixel spacing in metres, the UTM zone of a point, CRS text). Window maths is `sargeo.runtime.grid`'s.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from affine import Affine
from rasterio.crs import CRS

from sargeo.runtime.grid import Window, pixel_to_xy, window_bounds


@dataclass(frozen=True)
class Grid:
    """A raster grid: CRS (None for pixel coordinates), affine transform and size."""

    crs: CRS | None
    transform: Affine
    width: int
    height: int

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        """(minx, miny, maxx, maxy) of the whole grid."""
        return window_bounds(self.transform, Window(0, 0, self.width, self.height))

    @property
    def resolution(self) -> tuple[float, float]:
        """Pixel size (x, y) in CRS units (the length of a pixel's sides, also on rotated grids)."""
        t = self.transform
        return math.hypot(t.a, t.d), math.hypot(t.b, t.e)


def utm_crs_for(lon: float, lat: float) -> CRS:
    """The WGS 84 UTM zone CRS that contains a lon/lat point."""
    zone = min(int((lon + 180.0) // 6.0) + 1, 60)
    return CRS.from_epsg((32600 if lat >= 0 else 32700) + zone)


def pixel_spacing_m(grid: Grid, window: Window | None = None) -> tuple[float, float]:
    """Pixel size in metres at the window's centre (degrees converted for geographic CRSs)."""
    rx, ry = grid.resolution
    if grid.crs is None:
        return rx, ry
    if grid.crs.is_geographic:
        w = window or Window(0, 0, grid.width, grid.height)
        _, lat = pixel_to_xy(grid.transform, w.col + w.width / 2, w.row + w.height / 2)
        metres_per_degree = 111_320.0
        return rx * metres_per_degree * math.cos(math.radians(lat)), ry * 110_574.0
    factor = grid.crs.linear_units_factor[1] if grid.crs.linear_units_factor else 1.0
    return rx * factor, ry * factor


def crs_text(crs: CRS | None) -> str:
    """``EPSG:n`` when the CRS has an EPSG code, else its WKT; empty for pixel coordinates."""
    if crs is None:
        return ""
    epsg = crs.to_epsg()
    return f"EPSG:{epsg}" if epsg else crs.to_wkt()
