"""Image directions on the ground: compass bearings, lengths in metres, the footprint of a sample.

A georeferenced tile's affine transform maps pixels to CRS coordinates; we map a one-pixel step along
each image axis to longitude/latitude with pyproj and measure it in local east/north metres. That
2x2 matrix (pixel vector -> east, north metres) folds in the transform's rotation and flips, the
anisotropy of geographic CRSs (a degree of longitude shrinks with latitude) and the grid convergence of
projected CRSs (grid north is not true north away from the central meridian), so bearings are true
compass bearings. Without a georeference, bearings are measured clockwise from the image's up.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from sargeo.errors import SargeoError
from sargeo.records import Sample, Tile

WGS84_A = 6_378_137.0
WGS84_E2 = 6.69437999014e-3
_DEG = math.pi / 180.0


@dataclass(frozen=True)
class Frame:
    """How pixel vectors of one image map to the ground.

    Attributes:
        georeferenced: True when ``to_en`` comes from a CRS; bearings are then compass bearings.
        to_en: (ee_x, ee_y, nn_x, nn_y): east = ee_x*dx + ee_y*dy, north = nn_x*dx + nn_y*dy (metres),
            or None without a georeference.
        spacing: (x, y) metres per pixel when known (from the tile or the sample's metadata).
        centre_lonlat: Longitude and latitude of the image centre, when georeferenced.
    """

    georeferenced: bool
    to_en: tuple[float, float, float, float] | None
    spacing: tuple[float, float] | None
    centre_lonlat: tuple[float, float] | None

    def ground(self, dx: float, dy: float) -> tuple[float, float]:
        """A pixel vector as (east, north) in metres, or as (right, up) in pixels without a CRS."""
        if self.to_en is None:
            return dx, -dy
        ex, ey, nx, ny = self.to_en
        return ex * dx + ey * dy, nx * dx + ny * dy

    def bearing(self, dx: float, dy: float) -> float:
        """Bearing in degrees [0, 360) of a pixel vector: from true north, or from image up."""
        east, north = self.ground(dx, dy)
        return math.degrees(math.atan2(east, north)) % 360.0

    def heading(self, angle_deg: float) -> float:
        """Compass bearing of an oriented box angle (clockwise from image up)."""
        rad = angle_deg * _DEG
        return self.bearing(math.sin(rad), -math.cos(rad))

    def length_m(self, dx: float, dy: float) -> float | None:
        """Ground length in metres of a pixel vector, when the pixel size is known."""
        if self.to_en is not None:
            east, north = self.ground(dx, dy)
            return math.hypot(east, north)
        if self.spacing is not None:
            return math.hypot(dx * self.spacing[0], dy * self.spacing[1])
        return None


def _metadata_spacing(metadata: dict[str, Any]) -> tuple[float, float] | None:
    value = metadata.get("pixel_spacing_m")
    if value is None:
        return None
    try:
        if isinstance(value, list | tuple):
            sx, sy = float(value[0]), float(value[-1])
        else:
            sx = sy = float(value)
    except (TypeError, ValueError, IndexError):
        return None
    return (sx, sy) if sx > 0 and sy > 0 else None


@lru_cache(maxsize=32)
def _transformer(crs: str) -> Any:
    from pyproj import CRS, Transformer
    from pyproj.exceptions import CRSError

    try:
        return Transformer.from_crs(CRS.from_user_input(crs), "EPSG:4326", always_xy=True)
    except CRSError as exc:
        raise SargeoError(f"cannot read CRS {crs[:60]!r}: {exc}") from exc


@lru_cache(maxsize=4096)
def _georef_frame(
    crs: str,
    transform: tuple[float, float, float, float, float, float],
    width: int,
    height: int,
    spacing: tuple[float, float] | None,
) -> Frame:
    a, b, c, d, e, f = transform
    cx, cy = width / 2.0, height / 2.0
    x0, y0 = a * cx + b * cy + c, d * cx + e * cy + f
    lons, lats = _transformer(crs).transform([x0, x0 + a, x0 + b], [y0, y0 + d, y0 + e])
    lon0, lat0 = float(lons[0]), float(lats[0])
    if not (math.isfinite(lon0) and math.isfinite(lat0)):
        raise SargeoError(f"tile centre ({x0}, {y0}) in {crs[:60]!r} does not map to lon/lat")
    # WGS84 radii of curvature: metres per degree east (prime vertical) and north (meridian)
    w = 1.0 - WGS84_E2 * math.sin(lat0 * _DEG) ** 2
    kx = WGS84_A / math.sqrt(w) * math.cos(lat0 * _DEG) * _DEG
    ky = WGS84_A * (1.0 - WGS84_E2) / w**1.5 * _DEG

    def dlon(lon: float) -> float:
        return (lon - lon0 + 180.0) % 360.0 - 180.0

    to_en = (
        dlon(float(lons[1])) * kx,
        dlon(float(lons[2])) * kx,
        (float(lats[1]) - lat0) * ky,
        (float(lats[2]) - lat0) * ky,
    )
    if spacing is None:
        spacing = (math.hypot(to_en[0], to_en[2]), math.hypot(to_en[1], to_en[3]))
    return Frame(True, to_en, spacing, (lon0, lat0))


def frame_for(sample: Sample) -> Frame:
    """The ground frame of a sample: from its tile when georeferenced, else from its metadata."""
    tile = sample.tile
    spacing = _metadata_spacing(sample.metadata)
    if tile is not None and all(s > 0 for s in tile.pixel_spacing):
        spacing = (float(tile.pixel_spacing[0]), float(tile.pixel_spacing[1]))
    if tile is not None and tile.crs:
        try:
            return _georef_frame(
                tile.crs, tuple(tile.transform), sample.width, sample.height, spacing
            )
        except SargeoError as exc:
            raise SargeoError(f"sample {sample.id} (tile {tile.id}): {exc}") from exc
    return Frame(False, None, spacing, None)


def footprint_wkt(tile: Tile, width: int, height: int) -> str:
    """The image's footprint as a WKT polygon in the tile's CRS."""
    a, b, c, d, e, f = tile.transform
    corners = [(0, 0), (width, 0), (width, height), (0, height), (0, 0)]
    coords = ", ".join(f"{a * x + b * y + c:.10g} {d * x + e * y + f:.10g}" for x, y in corners)
    return f"POLYGON (({coords}))"
