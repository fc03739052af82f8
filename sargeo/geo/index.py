"""The tile index: one polygon per tile with every `Tile` field, as a GeoPackage layer ``tiles``."""

from __future__ import annotations

import warnings
from pathlib import Path

import geopandas as gpd
import pyogrio
import pyogrio.errors
from shapely.geometry import Polygon

from sargeo.atomic import atomic_file
from sargeo.errors import SargeoError
from sargeo.geo.gdal_errors import ogr_write_error
from sargeo.records import Tile

LAYER = "tiles"


def tile_footprint(tile: Tile) -> Polygon:
    """The tile's footprint: its window's corners through its affine transform."""
    a, b, c, d, e, f = tile.transform
    w, h = tile.window.width, tile.window.height
    corners = [(0, 0), (w, 0), (w, h), (0, h)]
    return Polygon([(a * x + b * y + c, d * x + e * y + f) for x, y in corners])


def tiles_frame(tiles: list[Tile], crs: str | None) -> gpd.GeoDataFrame:
    """A GeoDataFrame of tiles whose footprints are in ``crs`` (reprojected from each tile's CRS)."""
    frames = []
    by_crs: dict[str, list[Tile]] = {}
    for tile in tiles:
        by_crs.setdefault(tile.crs, []).append(tile)
    for tile_crs, group in by_crs.items():
        frame = gpd.GeoDataFrame(
            [t.to_properties() for t in group],
            geometry=[tile_footprint(t) for t in group],
            crs=tile_crs or None,
        )
        if crs and tile_crs and tile_crs != crs:
            frame = frame.to_crs(crs)
        frames.append(frame)
    if not frames:
        columns = list(Tile.__dataclass_fields__)
        return gpd.GeoDataFrame(
            columns=[*columns, "geometry"], geometry="geometry", crs=crs or None
        )
    merged = gpd.GeoDataFrame(
        gpd.pd.concat(frames, ignore_index=True), geometry="geometry", crs=frames[0].crs
    )
    return merged


def write_tile_index(tiles: list[Tile], path: Path, crs: str | None = None) -> Path:
    """Write the tiles as GeoPackage layer ``tiles`` (atomically) and return its path."""
    target_crs = crs if crs is not None else (tiles[0].crs if tiles else None)
    frame = tiles_frame(tiles, target_crs)
    with atomic_file(path) as tmp, warnings.catch_warnings():
        # Tiles in pixel coordinates (no CRS) are the user's explicit choice, not a surprise.
        warnings.filterwarnings("ignore", message=".*crs.*was not provided")
        try:
            frame.to_file(tmp, layer=LAYER, driver="GPKG", engine="pyogrio")
        except (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError) as exc:
            raise ogr_write_error(exc, tmp.parent) from exc
    return path


def read_tile_index(path: Path) -> list[Tile]:
    """Read back the tiles of a tile index GeoPackage."""
    try:
        frame = pyogrio.read_dataframe(path, layer=LAYER)
    except Exception as exc:
        raise SargeoError(f"{path}: not a sargeo tile index ({exc})") from exc
    return [Tile.from_properties(row) for row in frame.drop(columns="geometry").to_dict("records")]
