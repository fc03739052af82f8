"""Runs inside QGIS's Python: the torch-free runtime searches an index and writes a styled layer.

``main([index, bundle, output])`` loads the bundle (hash checks), embeds the queries with ONNX
Runtime from ``.qgis-python``, searches, writes the GeoPackage with the runtime's sqlite3 writer, then
opens it as a QGIS layer and reports what QGIS sees.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any


def main(args: list[str]) -> dict[str, Any]:
    import numpy
    import onnxruntime
    from qgis.core import QgsVectorLayer

    from sargeo.runtime.bundle import load_bundle
    from sargeo.runtime.clip import ClipModel
    from sargeo.runtime.index import open_index
    from sargeo.runtime.results import search, write_hits

    index_dir, bundle_dir, output = (Path(a) for a in args)
    model = ClipModel(load_bundle(bundle_dir))
    index = open_index(index_dir)
    hits = search(index, model, ["open sea", "bright buildings"], 3)
    write_hits(output, index, hits, model)
    layer = QgsVectorLayer(f"{output}|layername=search", "search", "ogr")
    renderer = layer.renderer()
    report = {
        "numpy": numpy.__version__,
        "onnxruntime": onnxruntime.__file__,
        "torch_loaded": any(m in sys.modules for m in ("torch", "open_clip", "transformers")),
        "valid": layer.isValid(),
        "features": layer.featureCount(),
        "crs": layer.crs().authid(),
        "renderer": renderer.type(),
        "attribute": renderer.classAttribute() if renderer.type() == "graduatedSymbol" else "",
        "ranges": len(renderer.ranges()) if renderer.type() == "graduatedSymbol" else 0,
        "labels": layer.labelsEnabled(),
        "fields": [f.name() for f in layer.fields()],
        "scores": [f["score"] for f in layer.getFeatures()],
    }
    del layer, renderer
    return report
