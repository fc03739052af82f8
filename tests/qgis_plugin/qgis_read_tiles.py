"""QGIS-side half of `test_qgis_reads_tiles`: what QGIS sees in tiling output folders.

Runs inside QGIS's own Python through `qgis_harness.run_in_qgis`; ``main`` takes tiling output
folders and reports, for each, the tile index layer (CRS, extent, features with their fields and
geometry bounds) and every chip as a raster layer (CRS, extent, size, bands). The test compares this
with the toolkit's own records.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from qgis.core import QgsRasterLayer, QgsRectangle, QgsVectorLayer

FIELDS = ("tile_id", "col", "row", "width", "height", "minx", "miny", "maxx", "maxy", "chip", "crs")


def _rect(rect: QgsRectangle) -> list[float]:
    return [rect.xMinimum(), rect.yMinimum(), rect.xMaximum(), rect.yMaximum()]


def _index(folder: Path) -> dict[str, Any]:
    layer = QgsVectorLayer(f"{folder / 'tiles.gpkg'}|layername=tiles", "tiles", "ogr")
    if not layer.isValid():
        return {"valid": False}
    names = layer.fields().names()
    features = []
    for feature in layer.getFeatures():
        row = {name: feature[name] for name in FIELDS if name in names}
        row["geometry_bounds"] = _rect(feature.geometry().boundingBox())
        row["geometry_vertices"] = len(list(feature.geometry().vertices()))
        features.append(row)
    return {
        "valid": True,
        "crs": layer.crs().authid(),
        "crs_valid": layer.crs().isValid(),
        "extent": _rect(layer.extent()),
        "feature_count": layer.featureCount(),
        "geometry_type": layer.geometryType(),
        "fields": names,
        "features": features,
    }


def _chip(path: Path) -> dict[str, Any]:
    layer = QgsRasterLayer(str(path), path.stem, "gdal")
    if not layer.isValid():
        return {"valid": False}
    return {
        "valid": True,
        "crs": layer.crs().authid(),
        "extent": _rect(layer.extent()),
        "width": layer.width(),
        "height": layer.height(),
        "bands": layer.bandCount(),
        "pixel_size": [layer.rasterUnitsPerPixelX(), layer.rasterUnitsPerPixelY()],
    }


def main(args: list[str]) -> dict[str, Any]:
    """Report the index and chips of each tiling output folder in ``args``."""
    report: dict[str, Any] = {}
    for folder in map(Path, args):
        chips = {p.stem: _chip(p) for p in sorted((folder / "chips").glob("*.tif"))}
        report[str(folder)] = {"index": _index(folder), "chips": chips}
    return report
