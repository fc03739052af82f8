"""Runs inside QGIS's Python: ``sargeo:caption`` with a real CoCa bundle and the vendored CoCa runtime.

``main([raster, coca_bundle, output])`` captions the raster's 128 px tiles and reports the layer.
"""

from __future__ import annotations

from typing import Any


def main(args: list[str]) -> dict[str, Any]:
    import importlib

    import processing
    from qgis.core import QgsApplication, QgsVectorLayer
    from sar_narrator.provider import SargeoProvider

    coca = importlib.import_module("sargeo.runtime.coca")  # the zip's, now first on sys.path

    provider = SargeoProvider()
    QgsApplication.processingRegistry().addProvider(provider)
    raster, bundle, out = args
    params = {"INPUT": raster, "AREA": 0, "TILE_SIZE": 128, "BUNDLE": bundle, "OUTPUT": out}
    result = processing.run("sargeo:caption", params)
    layer = QgsVectorLayer(result["OUTPUT"], "captions", "ogr")
    report = {
        "runtime": coca.__file__,
        "count": layer.featureCount(),
        "crs": layer.crs().authid(),
        "captions": [str(f["caption"]) for f in layer.getFeatures()],
        "scores": [float(f["score"]) for f in layer.getFeatures()],
        "labels": layer.labelsEnabled(),
    }
    del layer
    QgsApplication.processingRegistry().removeProvider(provider)
    return report
