"""Runs inside QGIS's Python: ``sargeo:vqa`` with a real SAR-GPT bundle and the vendored GPT runtime.

``main([raster, gpt_bundle, question, output])`` asks the question about the raster's whole extent and
reports the layer.
"""

from __future__ import annotations

from typing import Any


def main(args: list[str]) -> dict[str, Any]:
    import importlib

    import processing
    from qgis.core import QgsApplication, QgsRasterLayer, QgsVectorLayer
    from sar_narrator.provider import SargeoProvider

    gpt = importlib.import_module("sargeo.runtime.gpt")  # the zip's, now first on sys.path

    provider = SargeoProvider()
    QgsApplication.processingRegistry().addProvider(provider)
    raster, bundle, question, out = args
    box = QgsRasterLayer(raster, "chip").extent()
    extent = f"{box.xMinimum()},{box.xMaximum()},{box.yMinimum()},{box.yMaximum()} [EPSG:4326]"
    params = {"INPUT": raster, "QUESTION": question, "AREA": 0, "EXTENT": extent,
              "BUNDLE": bundle, "OUTPUT": out}  # fmt: skip
    result = processing.run("sargeo:vqa", params)
    layer = QgsVectorLayer(result["OUTPUT"], "answers", "ogr")
    report = {
        "runtime": gpt.__file__,
        "torch": "torch" in __import__("sys").modules,
        "count": layer.featureCount(),
        "crs": layer.crs().authid(),
        "answers": [str(f["answer"]) for f in layer.getFeatures()],
        "widths": [int(f["width"]) for f in layer.getFeatures()],
        "labels": layer.labelsEnabled(),
    }
    del layer
    QgsApplication.processingRegistry().removeProvider(provider)
    return report
