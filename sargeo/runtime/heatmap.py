"""A query's similarity over a raster as a GeoTIFF on the tile grid: one cell per tile stride.

Cell (i, j) covers the raster's pixels of the tile grid's row i and column j (the stride is the tile
size less the overlap); its value is the best score of the tiles that cover the cell's centre, NaN
where no tile was embedded. The cell grid's transform is the raster's, scaled by the stride.

Writing the GeoTIFF needs GDAL, through rasterio (the CLI's environment) or ``osgeo.gdal`` (QGIS's
Python); both are imported only here and only when a heatmap is written.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import numpy.typing as npt

from sargeo.errors import InputError
from sargeo.runtime.gpkg import Crs
from sargeo.runtime.grid import Transform
from sargeo.runtime.index import EmbeddingIndex


def heatmap(
    index: EmbeddingIndex, scores: npt.ArrayLike, source: int = 0
) -> tuple[npt.NDArray[np.float32], Transform]:
    """The cell grid of one raster of the index: (rows, cols) scores and the grid's transform."""
    record = index.sources[source]
    tiles_key = index.manifest["key"]["tiles"]
    stride = int(tiles_key["size"]) - int(tiles_key["overlap"])
    rows = math.ceil(record["height"] / stride)
    cols = math.ceil(record["width"] / stride)
    grid = np.full((rows, cols), -np.inf, dtype=np.float32)
    values = np.asarray(scores, dtype=np.float32)
    mine = np.flatnonzero(index.tiles["source"] == source)
    for row in mine:
        t = index.tiles[row]
        # cells whose centre ((k + 0.5) * stride) lies inside the tile's window
        c0 = max(0, math.ceil(int(t["col"]) / stride - 0.5))
        c1 = min(cols, math.ceil((int(t["col"]) + int(t["width"])) / stride - 0.5))
        r0 = max(0, math.ceil(int(t["row"]) / stride - 0.5))
        r1 = min(rows, math.ceil((int(t["row"]) + int(t["height"])) / stride - 0.5))
        block = grid[r0:r1, c0:c1]
        np.maximum(block, values[row], out=block)
    grid[np.isinf(grid)] = np.nan
    a, b, c, d, e, f = record["transform"]
    return grid, (a * stride, b * stride, c, d * stride, e * stride, f)


def write_geotiff(
    path: Path,
    bands: npt.NDArray[np.float32],
    transform: Transform,
    crs: Crs,
    names: Sequence[str],
) -> None:
    """Write a float32 GeoTIFF (bands, rows, cols), NaN nodata, band descriptions ``names``.

    Uses rasterio where installed (the CLI), else ``osgeo.gdal`` (QGIS's Python).
    """
    try:
        import rasterio
        from affine import Affine
    except ImportError:
        _write_with_gdal(path, bands, transform, crs, names)
        return
    with rasterio.open(
        path,
        "w",
        driver="GTiff",
        width=bands.shape[2],
        height=bands.shape[1],
        count=len(bands),
        dtype="float32",
        crs=crs.wkt or None,
        transform=Affine(*transform),
        nodata=float("nan"),
        compress="deflate",
    ) as dst:
        dst.write(bands)
        for number, name in enumerate(names, 1):
            dst.set_band_description(number, name)


def _write_with_gdal(
    path: Path,
    bands: npt.NDArray[np.float32],
    transform: Transform,
    crs: Crs,
    names: Sequence[str],
) -> None:
    try:
        from osgeo import gdal
    except ImportError as exc:
        raise InputError("writing a heatmap needs GDAL (rasterio or osgeo.gdal)") from exc
    a, b, c, d, e, f = transform
    count, rows, cols = bands.shape
    dataset = gdal.GetDriverByName("GTiff").Create(
        str(path), cols, rows, count, gdal.GDT_Float32, ["COMPRESS=DEFLATE"]
    )
    dataset.SetGeoTransform((c, a, b, f, d, e))
    if crs.wkt:
        dataset.SetProjection(crs.wkt)
    for number, name in enumerate(names, 1):
        band = dataset.GetRasterBand(number)
        band.SetNoDataValue(float("nan"))
        band.SetDescription(name)
        band.WriteArray(bands[number - 1])
    dataset.FlushCache()
    dataset = None
