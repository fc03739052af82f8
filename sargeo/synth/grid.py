"""The pixel grid of a scene: a square, north-up grid in a UTM zone, and conversions to and from it."""

from __future__ import annotations

from dataclasses import dataclass

from affine import Affine

from sargeo.runtime import grid as tile_grid
from sargeo.runtime.grid import Window


@dataclass(frozen=True)
class Grid:
    """A north-up square grid: ``size`` px of ``spacing`` m, top-left corner (x0, y0) in EPSG ``epsg``."""

    size: int
    spacing: float
    x0: float
    y0: float
    epsg: int

    @property
    def transform(self) -> Affine:
        """Affine transform from (col, row) to (x, y)."""
        return Affine(self.spacing, 0.0, self.x0, 0.0, -self.spacing, self.y0)

    @property
    def extent_m(self) -> float:
        """Side of the scene in metres."""
        return self.size * self.spacing

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        """(minx, miny, maxx, maxy) in the scene CRS."""
        return self.window_bounds(Window(0, 0, self.size, self.size))

    @property
    def crs(self) -> str:
        """CRS as ``EPSG:n``."""
        return f"EPSG:{self.epsg}"

    def window_transform(self, window: Window) -> Affine:
        """Transform of a window's own top-left pixel."""
        return Affine(*tile_grid.window_transform(self.transform, window))

    def window_bounds(self, window: Window) -> tuple[float, float, float, float]:
        """(minx, miny, maxx, maxy) of a window."""
        return tile_grid.window_bounds(self.transform, window)

    def to_pixel(self, x: float, y: float) -> tuple[float, float]:
        """(x, y) in the CRS to continuous (col, row)."""
        return (x - self.x0) / self.spacing, (self.y0 - y) / self.spacing

    def to_xy(self, col: float, row: float) -> tuple[float, float]:
        """Continuous (col, row) to (x, y) in the CRS."""
        return tile_grid.pixel_to_xy(self.transform, col, row)

    def blocks(self, block: int) -> list[Window]:
        """Windows of ``block`` px covering the grid row by row (edge blocks are smaller)."""
        return tile_grid.blocks(self.size, self.size, block)
