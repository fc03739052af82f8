"""Runs inside QGIS's Python: ``sargeo:caption`` and ``sargeo:vqa`` up to the model.

No CoCa or SAR-GPT bundle exists yet, so ``main([clip_bundle, scene, workdir])`` makes bundles of
those tasks from the CLIP bundle's graphs (the image encoder is real; ``bundle.json`` names the task)
and checks two things: today's runtime refuses them in one line, and with stand-in model classes
(the real image encoder, text made from its inputs) the algorithms find the regions (tiles in pixels
or metres, an extent, polygons of a layer in another CRS) and write the layers. The stand-ins are
registered under their own module name, so a real ``sargeo.runtime.coca`` cannot be shadowed.
"""

from __future__ import annotations

import importlib.util
import json
import runpy
import shutil
import sys
import types
from pathlib import Path
from typing import Any

import numpy as np


def _bundle(clip: Path, target: Path, task: str, roles: tuple[str, str]) -> str:
    shutil.copytree(clip, target)
    meta = json.loads((target / "bundle.json").read_text())
    graphs = meta["graphs"]
    meta["task"] = task
    meta["graphs"] = {roles[0]: graphs["image_encoder"], roles[1]: graphs["text_encoder"]}
    (target / "bundle.json").write_text(json.dumps(meta))
    return str(target)


def _standins() -> types.ModuleType:
    from sargeo.runtime.sessions import open_session

    class Encoder:
        def __init__(self, bundle: Any, threads: int | None = None) -> None:
            self.bundle = bundle
            role = "image_encoder" if bundle.task == "coca" else "vision_encoder"
            self.session = open_session(bundle.path(role), threads)
            self.name = self.session.get_inputs()[0].name

        def firsts(self, images: np.ndarray) -> list[float]:
            out = self.session.run(None, {self.name: np.ascontiguousarray(images, np.float32)})[0]
            return [float(v) for v in out[:, 0]]

    class CocaModel(Encoder):
        """As ``sargeo.runtime.coca.CocaModel``: settings, then captions with hypotheses."""

        def settings(self, overrides: Any = None) -> dict[str, Any]:
            return {"beam_width": 1, **(overrides or {})}

        def caption(self, images: np.ndarray, settings: Any) -> list[Any]:
            return [
                types.SimpleNamespace(
                    caption=f"stand-in caption, embedding[0] {v:.4f}",
                    hypothesis=types.SimpleNamespace(logprob=-3.0, length=6, tokens=(1,) * 5),
                )
                for v in self.firsts(images)
            ]

    class GptModel(Encoder):
        def answer(self, images: np.ndarray, questions: list[str]) -> list[str]:
            return [
                f"stand-in answer to {q}"
                for q, _ in zip(questions, self.firsts(images), strict=True)
            ]

    module = types.ModuleType("sargeo_standin_models")
    module.CocaModel = CocaModel  # type: ignore[attr-defined]
    module.GptModel = GptModel  # type: ignore[attr-defined]
    sys.modules[module.__name__] = module
    return module


def _report(path: str) -> dict[str, Any]:
    from qgis.core import QgsVectorLayer

    layer = QgsVectorLayer(path, "out", "ogr")
    features = list(layer.getFeatures())
    box = layer.extent()
    text = "answer" if "answer" in layer.fields().names() else "caption"
    report = {
        "count": layer.featureCount(),
        "crs": layer.crs().authid(),
        "fields": [f.name() for f in layer.fields()],
        "extent": [box.xMinimum(), box.yMinimum(), box.xMaximum(), box.yMaximum()],
        "texts": [f[text] for f in features],
        "scores": [f["score"] for f in features] if text == "caption" else [],
        "labels": layer.labelsEnabled(),
        "areas": [round(f.geometry().area()) for f in features],
    }
    del features
    del layer
    return report


def _polygons(scene_extent: Any, inside: bool) -> Any:
    from qgis.core import (
        QgsCoordinateReferenceSystem,
        QgsCoordinateTransform,
        QgsFeature,
        QgsGeometry,
        QgsProject,
        QgsRectangle,
        QgsVectorLayer,
    )

    layer = QgsVectorLayer("Polygon?crs=EPSG:4326", "regions", "memory")
    to_wgs84 = QgsCoordinateTransform(
        QgsCoordinateReferenceSystem("EPSG:32633"),
        QgsCoordinateReferenceSystem("EPSG:4326"),
        QgsProject.instance(),
    )
    x0, y1 = scene_extent.xMinimum(), scene_extent.yMaximum()
    boxes = [(100, 100, 400, 300), (900, 800, 1500, 1500)] if inside else [(-9000, 0, -8000, 500)]
    features = []
    for left, top, right, bottom in boxes:
        rect = QgsRectangle(x0 + left, y1 - bottom, x0 + right, y1 - top)
        geometry = QgsGeometry.fromRect(rect)
        geometry.transform(to_wgs84)
        feature = QgsFeature()
        feature.setGeometry(geometry)
        features.append(feature)
    layer.dataProvider().addFeatures(features)
    return layer


def main(args: list[str]) -> dict[str, Any]:
    import processing
    from qgis.core import QgsApplication, QgsRasterLayer
    from sar_narrator import models
    from sar_narrator.provider import SargeoProvider

    clip, scene, work = Path(args[0]), args[1], Path(args[2])
    _fails = runpy.run_path(str(Path(__file__).with_name("qgis_plugin_algorithms.py")))["fails"]
    coca = _bundle(clip, work / "coca", "coca", ("image_encoder", "decoder_step"))
    gpt = _bundle(clip, work / "gpt", "gpt", ("vision_encoder", "lm_step"))
    provider = SargeoProvider()
    QgsApplication.processingRegistry().addProvider(provider)
    raster = QgsRasterLayer(scene, "scene")
    extent = raster.extent()
    r: dict[str, Any] = {"real_runtime": {}}
    for task, alg, bundle in (("coca", "sargeo:caption", coca), ("gpt", "sargeo:vqa", gpt)):
        if importlib.util.find_spec(f"sargeo.runtime.{task}") is None:
            params = {"INPUT": scene, "BUNDLE": bundle, "QUESTION": "what is there?",
                      "EXTENT": extent, "OUTPUT": str(work / f"{task}.gpkg")}  # fmt: skip
            r["real_runtime"][task] = _fails(alg, params)

    module = _standins()
    models.TASK_RUNTIMES["coca"] = (module.__name__, "CocaModel")
    models.TASK_RUNTIMES["gpt"] = (module.__name__, "GptModel")
    out = {}
    runs = {
        "tiles_px": ("sargeo:caption", {"AREA": 0, "TILE_SIZE": 64, "BUNDLE": coca}),
        "tiles_m": ("sargeo:caption", {"AREA": 0, "TILE_SIZE": 960, "TILE_UNITS": 1, "BUNDLE": coca}),
        "extent": ("sargeo:caption", {"AREA": 1, "TILE_SIZE": 32, "BUNDLE": coca,
                                      "EXTENT": "500300,500900,4998400,4999500 [EPSG:32633]"}),
        "polygons": ("sargeo:caption", {"AREA": 2, "REGIONS": _polygons(extent, True), "BUNDLE": coca}),
        "vqa_extent": ("sargeo:vqa", {"QUESTION": "is there a ship?", "AREA": 0, "BUNDLE": gpt,
                                      "EXTENT": "500300,500900,4998400,4999500 [EPSG:32633]"}),
        "vqa_polygons": ("sargeo:vqa", {"QUESTION": "is there land?", "AREA": 1, "BUNDLE": gpt,
                                        "REGIONS": _polygons(extent, True)}),
    }  # fmt: skip
    for key, (alg, params) in runs.items():
        result = processing.run(
            alg, {**params, "INPUT": scene, "OUTPUT": str(work / f"{key}.gpkg")}
        )
        out[key] = _report(result["OUTPUT"])
    r["runs"] = out
    r["errors"] = {
        "no_extent": _fails("sargeo:caption", {"INPUT": scene, "AREA": 1, "BUNDLE": coca,
                                               "OUTPUT": str(work / "bad1.gpkg")}),
        "outside": _fails("sargeo:vqa", {"INPUT": scene, "AREA": 1, "BUNDLE": gpt, "QUESTION": "q",
                                         "REGIONS": _polygons(extent, False),
                                         "OUTPUT": str(work / "bad2.gpkg")}),
        "empty_question": _fails("sargeo:vqa", {"INPUT": scene, "BUNDLE": gpt, "QUESTION": " ",
                                                "EXTENT": extent, "OUTPUT": str(work / "bad3.gpkg")}),
    }  # fmt: skip
    r["error_outputs"] = sorted(p.name for p in work.glob("bad*.gpkg"))
    r["scene_extent"] = [extent.xMinimum(), extent.yMinimum(), extent.xMaximum(), extent.yMaximum()]
    QgsApplication.processingRegistry().removeProvider(provider)
    del raster
    return r
