"""An index's tile footprints as GeoParquet (``tiles.parquet``), written in bounded memory.

A GeoPackage of tens of millions of footprints is slow to write (one SQLite insert a feature) and
large; GeoParquet is columnar and compressed, is read by geopandas, DuckDB, GDAL 3.5+ (with its
Parquet driver) and QGIS builds that have it. The footprints are computed from the tile records with
numpy, one row group of `ROWS_PER_GROUP` tiles at a time, in the index's row order, with the
attributes of ``tiles.gpkg`` (`sargeo.runtime.index.TILE_FIELDS`). The ``geo`` metadata follows
GeoParquet 1.1 (WKB polygons, the CRS as PROJJSON, the bounding box of all footprints).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.parquet as pq
import shapely
from pyproj import CRS

from sargeo.runtime.index import EmbeddingIndex

ROWS_PER_GROUP = 65536
FOOTPRINTS_PARQUET = "tiles.parquet"


def _rings(index: EmbeddingIndex, start: int, stop: int) -> npt.NDArray[np.float64]:
    """The closed corner rings of tiles ``[start, stop)``: (tiles, 5, 2) in the rasters' CRS."""
    t = index.tiles[start:stop]
    x0, y0 = t["col"].astype(np.float64), t["row"].astype(np.float64)
    x1, y1 = x0 + t["width"], y0 + t["height"]
    px = np.stack([x0, x1, x1, x0, x0], axis=1)
    py = np.stack([y0, y0, y1, y1, y0], axis=1)
    transforms = np.array([s["transform"][:6] for s in index.sources], dtype=np.float64)
    a, b, c, d, e, f = transforms[t["source"].astype(np.int64)].T[:, :, None]
    return np.stack([px * a + py * b + c, px * d + py * e + f], axis=2)


def _columns(index: EmbeddingIndex, start: int, stop: int) -> dict[str, Any]:
    """The `TILE_FIELDS` columns of tiles ``[start, stop)``."""
    t = index.tiles[start:stop]
    sources = index.sources
    names = np.array([s["name"] for s in sources], dtype=object)
    times = np.array([s["acquisition_time"] for s in sources], dtype=object)
    number = t["source"].astype(np.int64)
    prefixes = [sources[n]["prefix"] for n in number.tolist()]
    rc = zip(prefixes, t["r"].tolist(), t["c"].tolist(), strict=True)
    return {
        "tile_id": [f"{p}r{r:04d}_c{c:04d}" for p, r, c in rc],  # as `EmbeddingIndex.tile_id`
        "source": names[number].tolist(),
        "col": t["col"].astype(np.int64),
        "row": t["row"].astype(np.int64),
        "width": t["width"].astype(np.int32),
        "height": t["height"].astype(np.int32),
        "pixel_spacing_x": t["spacing_x"].astype(np.float64),
        "pixel_spacing_y": t["spacing_y"].astype(np.float64),
        "acquisition_time": pa.array(times[number].tolist(), type=pa.string()),
        "valid_fraction": t["valid"].astype(np.float64),
    }


def _groups(index: EmbeddingIndex) -> Iterator[tuple[int, int]]:
    for start in range(0, len(index.tiles), ROWS_PER_GROUP):
        yield start, min(len(index.tiles), start + ROWS_PER_GROUP)


def geo_metadata(index: EmbeddingIndex) -> dict[str, Any]:
    """GeoParquet 1.1 ``geo`` metadata of the footprints (a first pass over the records: bbox)."""
    low, high = np.full(2, np.inf), np.full(2, -np.inf)
    for start, stop in _groups(index):
        rings = _rings(index, start, stop)
        low = np.minimum(low, rings.min(axis=(0, 1)))
        high = np.maximum(high, rings.max(axis=(0, 1)))
    crs = index.crs()
    column: dict[str, Any] = {
        "encoding": "WKB",
        "geometry_types": ["Polygon"],
        "bbox": [*map(float, low), *map(float, high)],
        # GeoParquet: an absent crs means OGC:CRS84, so a CRS-less (pixel) index says null
        "crs": CRS.from_user_input(crs.wkt or crs.code).to_json_dict()
        if (crs.wkt or crs.code)
        else None,
    }
    return {"version": "1.1.0", "primary_column": "geometry", "columns": {"geometry": column}}


def write_geoparquet(index: EmbeddingIndex, path: Path) -> int:
    """Write the index's footprints at ``path``, in row order; returns the count."""
    metadata = {b"geo": json.dumps(geo_metadata(index)).encode()}
    writer: pq.ParquetWriter | None = None
    try:
        for start, stop in _groups(index):
            geometry = shapely.to_wkb(shapely.polygons(_rings(index, start, stop)))
            table = pa.table({**_columns(index, start, stop), "geometry": geometry})
            if writer is None:
                schema = table.schema.with_metadata(metadata)
                writer = pq.ParquetWriter(path, schema, compression="zstd")
            writer.write_table(table.replace_schema_metadata(metadata))
    finally:
        if writer is not None:
            writer.close()
    return len(index.tiles)
