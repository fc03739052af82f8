"""Runs inside QGIS's Python: the installed plugin's algorithms through ``processing.run``.

``main([bundle, utm_scene, sen1floods_chip, workdir])`` registers the plugin's provider, runs
buildindex, textsearch (top k, threshold, extent, heatmap, another OGR format), caption and vqa with
the wrong bundle, bad inputs and a cancelled run, and reports what QGIS sees of every output.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any


def _plain(value: Any) -> Any:
    return value if isinstance(value, int | float | str) else None


def _layer_report(path: str, raster_extent: Any) -> dict[str, Any]:
    from qgis.core import QgsVectorLayer

    layer = QgsVectorLayer(path, "out", "ogr")
    features = list(layer.getFeatures())
    report = {
        "valid": layer.isValid(),
        "count": layer.featureCount(),
        "crs": layer.crs().authid(),
        "fields": [f.name() for f in layer.fields()],
        "inside": all(raster_extent.contains(f.geometry().boundingBox()) for f in features),
        "rows": [
            {
                k: _plain(f[k])
                for k in ("query", "rank", "score", "tile_id", "col", "row")
                if k in f.fields().names()
            }
            for f in features
        ],
        "renderer": layer.renderer().type() if layer.renderer() else "",
        "labels": layer.labelsEnabled(),
    }
    del layer
    return report


def fails(alg: str, params: dict[str, Any]) -> str:
    """The one-line message of an algorithm that fails, or empty when it ran."""
    import processing
    from qgis.core import QgsProcessingException

    try:
        processing.run(alg, params)
    except QgsProcessingException as exc:
        return str(exc)
    return ""


def main(args: list[str]) -> dict[str, Any]:
    import processing
    from osgeo import gdal
    from qgis.core import (
        QgsApplication,
        QgsCoordinateReferenceSystem,
        QgsProcessingException,
        QgsProcessingFeedback,
        QgsProject,
        QgsRasterLayer,
        QgsVectorLayer,
    )

    bundle, scene, chip, work = args[0], args[1], args[2], Path(args[3])
    import sar_narrator
    from sar_narrator.provider import SargeoProvider

    import sargeo.runtime

    provider = SargeoProvider()
    QgsApplication.processingRegistry().addProvider(provider)
    QgsProject.instance().setCrs(QgsCoordinateReferenceSystem("EPSG:3857"))  # not the rasters' CRS
    r: dict[str, Any] = {
        "plugin": sar_narrator.__file__,
        "runtime": sargeo.runtime.__file__,
        "torch_loaded": any(m in sys.modules for m in ("torch", "open_clip", "transformers")),
        "algorithms": sorted(a.id() for a in provider.algorithms()),
    }
    chip_layer = QgsRasterLayer(chip, "chip")
    scene_layer = QgsRasterLayer(scene, "scene")
    chip_extent, _scene_extent = chip_layer.extent(), scene_layer.extent()

    built = processing.run(
        "sargeo:buildindex",
        {"INPUT": [chip], "BUNDLE": bundle, "TILE_SIZE": 128, "OUTPUT": str(work / "index")},
    )
    stamp = (work / "index" / "index.json").stat().st_mtime_ns
    again = processing.run(
        "sargeo:buildindex",
        {"INPUT": [chip], "BUNDLE": bundle, "TILE_SIZE": 128, "OUTPUT": str(work / "index")},
    )
    r["index"] = {
        "tiles": built["TILES"],
        "again": again["TILES"],
        "reused": (work / "index" / "index.json").stat().st_mtime_ns == stamp,
        "footprints": _layer_report(built["FOOTPRINTS"], chip_extent),
    }

    second = str(work / "scene_east.tif")
    gdal.Translate(second, scene, options="-a_ullr 501920 5000000 503840 4998080")
    mosaic = processing.run(
        "sargeo:buildindex",
        {"INPUT": [scene, second], "BUNDLE": bundle, "TILE_SIZE": 64,
         "OUTPUT": str(work / "mosaic")},
    )  # fmt: skip
    footprints = QgsVectorLayer(mosaic["FOOTPRINTS"], "tiles", "ogr")
    r["mosaic"] = {
        "tiles": mosaic["TILES"],
        "ids": sorted({f["tile_id"].rsplit("_r", 1)[0] for f in footprints.getFeatures()}),
        "sources": sorted({f["source"] for f in footprints.getFeatures()}),
        "extent": footprints.extent().toString(0),
    }
    del footprints

    out = processing.run(
        "sargeo:textsearch",
        {
            "QUERIES": "dark calm water\n# a comment\nbright urban area\n",
            "INPUT": chip, "BUNDLE": bundle, "K": 3, "TILE_SIZE": 128,
            "OUTPUT": str(work / "hits.gpkg"), "HEATMAP": str(work / "heat.tif"),
        },
    )  # fmt: skip
    r["search_chip"] = _layer_report(out["OUTPUT"], chip_extent)
    heat = gdal.Open(out["HEATMAP"])
    r["heatmap"] = {
        "bands": heat.RasterCount, "size": [heat.RasterXSize, heat.RasterYSize],
        "names": [heat.GetRasterBand(i + 1).GetDescription() for i in range(heat.RasterCount)],
        "epsg4326": "4326" in heat.GetProjection(),
    }  # fmt: skip
    heat = None

    thr = processing.run(
        "sargeo:textsearch",
        {"QUERIES": "water", "INDEX": str(work / "index"), "BUNDLE": bundle, "MODE": 1,
         "THRESHOLD": -1.0, "OUTPUT": str(work / "all.geojson")},
    )  # fmt: skip
    r["threshold_all"] = _layer_report(thr["OUTPUT"], chip_extent)
    temporary = processing.run(
        "sargeo:textsearch",
        {"QUERIES": "water", "INDEX": str(work / "index"), "BUNDLE": bundle, "K": 2,
         "OUTPUT": "TEMPORARY_OUTPUT"},
    )["OUTPUT"]  # fmt: skip
    r["temporary"] = {"suffix": Path(temporary).suffix, **_layer_report(temporary, chip_extent)}
    extent = "500300,500900,4998400,4999500 [EPSG:32633]"
    sub = processing.run(
        "sargeo:textsearch",
        {"QUERIES": "open sea", "INPUT": scene, "EXTENT": extent, "BUNDLE": bundle, "K": 50,
         "TILE_SIZE": 32, "OUTPUT": str(work / "extent.gpkg")},
    )  # fmt: skip
    from qgis.core import QgsRectangle

    r["search_extent"] = _layer_report(
        sub["OUTPUT"], QgsRectangle(500290, 4998390, 500910, 4999510)
    )

    # bad input: one line, no output
    no_crs = str(work / "nocrs.tif")
    src = gdal.Open(scene)
    ds = gdal.GetDriverByName("GTiff").Create(no_crs, 64, 64, 2, gdal.GDT_Float32)
    ds.SetGeoTransform(src.GetGeoTransform())
    for i in (1, 2):
        ds.GetRasterBand(i).WriteArray(src.GetRasterBand(i).ReadAsArray(0, 0, 64, 64))
    ds = src = None
    rgb = str(work / "rgb.tif")
    ds = gdal.Translate(rgb, scene)
    for i, name in enumerate(("red", "green")):
        ds.GetRasterBand(i + 1).SetDescription(name)
    ds = None
    bad = {
        "caption_with_clip": ("sargeo:caption", {"INPUT": scene, "BUNDLE": bundle}),
        "vqa_with_clip": (
            "sargeo:vqa",
            {"QUESTION": "is there a ship?", "INPUT": scene, "EXTENT": extent, "BUNDLE": bundle},
        ),
        "empty_query": ("sargeo:textsearch", {"QUERIES": " \n ", "INPUT": scene, "BUNDLE": bundle}),
        "no_crs": ("sargeo:textsearch", {"QUERIES": "sea", "INPUT": no_crs, "BUNDLE": bundle}),
        "outside": (
            "sargeo:textsearch",
            {
                "QUERIES": "sea",
                "INPUT": scene,
                "BUNDLE": bundle,
                "EXTENT": "0,100,0,100 [EPSG:32633]",
            },
        ),
        "bands": ("sargeo:textsearch", {"QUERIES": "sea", "INPUT": rgb, "BUNDLE": bundle}),
        "not_a_bundle": (
            "sargeo:textsearch",
            {"QUERIES": "sea", "INPUT": scene, "BUNDLE": str(work)},
        ),
    }
    r["errors"] = {}
    for key, (alg, params) in bad.items():
        target = work / f"bad_{key}.gpkg"
        r["errors"][key] = {"message": fails(alg, {**params, "OUTPUT": str(target)}),
                            "output": target.exists()}  # fmt: skip

    class Cancelling(QgsProcessingFeedback):
        def setProgress(self, value: float) -> None:
            super().setProgress(value)
            self.cancel()

    target = work / "cancelled.gpkg"
    message = ""
    try:
        processing.run(
            "sargeo:textsearch",
            {"QUERIES": "sea", "INPUT": scene, "BUNDLE": bundle, "TILE_SIZE": 16,
             "OUTPUT": str(target)},
            feedback=Cancelling(),
        )  # fmt: skip
    except QgsProcessingException as exc:
        message = str(exc)
    index_cache = Path(sar_narrator.paths.data_dir()) / "indexes"
    r["cancel"] = {
        "message": message,
        "output": target.exists(),
        "partial": sorted(p.name for p in index_cache.glob(".*partial*")),
        "leftover": sorted(p.name for p in work.glob("*partial*")),
    }
    QgsApplication.processingRegistry().removeProvider(provider)
    del chip_layer, scene_layer
    return r
