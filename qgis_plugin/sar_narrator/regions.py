"""The regions an algorithm works on: tiles of a raster, an extent, or polygons, as pixel windows.

Every region is a `Region`: a pixel window of the raster's grid and the polygon written as the output
feature's geometry (in the raster's CRS): the tile or extent rectangle, or the user's polygon itself.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from sargeo.errors import InputError, OptionError
from sargeo.runtime.grid import Window, pixel_to_xy, tile_windows

from .rasters import GdalSource

Ring = list[tuple[float, float]]


@dataclass(frozen=True)
class Region:
    """A window of the raster, the ring written as its geometry, and its id."""

    window: Window
    ring: Ring
    region_id: str


def window_ring(source: GdalSource, window: Window) -> Ring:
    """The window's corners in the raster's CRS (a closed ring)."""
    corners = [
        (window.col, window.row), (window.col + window.width, window.row),
        (window.col + window.width, window.row + window.height),
        (window.col, window.row + window.height), (window.col, window.row),
    ]  # fmt: skip
    return [pixel_to_xy(source.transform, x, y) for x, y in corners]


def bounds_window(
    source: GdalSource, bounds: tuple[float, float, float, float], what: str
) -> Window:
    """The pixels of a map rectangle (xmin, ymin, xmax, ymax in the raster's CRS), clipped.

    Raises:
        InputError: the rectangle does not overlap the raster.
    """
    a, _, c, _, e, f = source.transform
    xmin, ymin, xmax, ymax = bounds
    cols = sorted(((xmin - c) / a, (xmax - c) / a))
    rows = sorted(((ymax - f) / e, (ymin - f) / e))
    c0, c1 = max(0, math.floor(cols[0])), min(source.width, math.ceil(cols[1]))
    r0, r1 = max(0, math.floor(rows[0])), min(source.height, math.ceil(rows[1]))
    if c1 - c0 < 1 or r1 - r0 < 1:
        raise InputError(f"{what} lies outside the raster {source.name}")
    return Window(c0, r0, c1 - c0, r1 - r0)


def tile_regions(source: GdalSource, size: int, overlap: int = 0) -> list[Region]:
    """The tile grid of a raster (or of a window of one) as regions, ids ``rRRRR_cCCCC``."""
    if size < 8:
        raise OptionError("TILE_SIZE", f"must be at least 8 pixels, got {size}")
    grid = tile_windows(source.width, source.height, size, overlap)
    return [
        Region(w, window_ring(source, w), f"r{r:04d}_c{c:04d}")
        for r, row in enumerate(grid)
        for c, w in enumerate(row)
    ]


def polygon_regions(
    source: GdalSource, polygons: Sequence[tuple[str, Ring]], what: str = "polygon"
) -> list[Region]:
    """One region per polygon (rings in the raster's CRS): its bounding window, its own geometry."""
    regions = []
    for ident, ring in polygons:
        xs, ys = [p[0] for p in ring], [p[1] for p in ring]
        window = bounds_window(source, (min(xs), min(ys), max(xs), max(ys)), f"{what} {ident}")
        regions.append(Region(window, list(ring), str(ident)))
    if not regions:
        raise InputError(f"no {what} to work on")
    return regions


def metres_to_pixels(source: GdalSource, metres: float) -> int:
    """A length in metres as pixels of the raster (at its centre)."""
    spacing = source.pixel_spacing(Window(0, 0, source.width, source.height))
    return max(1, round(metres / math.sqrt(spacing[0] * spacing[1])))
