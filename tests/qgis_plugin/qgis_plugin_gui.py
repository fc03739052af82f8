"""Runs inside QGIS's Python (offscreen): the plugin's GUI side with a small real interface.

``main([mode, bundle, scene, workdir, screenshot])``:
- ``missing``: onnxruntime and tokenizers are not importable; the plugin loads, registers its
  provider, and its message bar names what is missing.
- ``dock``: the dock searches the scene in a `QgsTask`, refuses a second request while the first
  runs, lists the ranked results, zooms to one, and saves a screenshot of the dock beside the map.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any


class Iface:
    """The parts of ``QgisInterface`` the plugin uses, over real widgets."""

    def __init__(self) -> None:
        from qgis.gui import QgsMapCanvas, QgsMessageBar
        from qgis.PyQt.QtWidgets import QMainWindow

        self.window = QMainWindow()
        self.canvas = QgsMapCanvas(self.window)
        self.bar = QgsMessageBar(self.window)
        self.menus: list[str] = []
        self.docks: list[Any] = []

    def mainWindow(self) -> Any:
        return self.window

    def mapCanvas(self) -> Any:
        return self.canvas

    def messageBar(self) -> Any:
        return self.bar

    def addPluginToRasterMenu(self, menu: str, action: Any) -> None:
        self.menus.append(f"{menu}/{action.text()}")

    def removePluginRasterMenu(self, menu: str, action: Any) -> None:
        self.menus.remove(f"{menu}/{action.text()}")

    def addToolBarIcon(self, action: Any) -> None:
        pass

    def removeToolBarIcon(self, action: Any) -> None:
        pass

    def addDockWidget(self, area: Any, dock: Any) -> None:
        self.docks.append(dock)

    def removeDockWidget(self, dock: Any) -> None:
        self.docks.remove(dock)


def _messages(bar: Any) -> list[str]:
    return [item.text() for item in bar.items()]


def _wait(condition: Any, seconds: float = 120.0) -> bool:
    from qgis.PyQt.QtCore import QCoreApplication

    end = time.monotonic() + seconds
    while time.monotonic() < end:
        QCoreApplication.processEvents()
        if condition():
            return True
        time.sleep(0.02)
    return False


def missing(iface: Iface) -> dict[str, Any]:
    from qgis.core import QgsApplication

    started = time.perf_counter()
    import sar_narrator

    plugin = sar_narrator.classFactory(iface)
    plugin.initGui()
    report = {
        "load_seconds": time.perf_counter() - started,
        "missing": sar_narrator.deps.missing(),
        "messages": _messages(iface.bar),
        "menus": list(iface.menus),
        "provider": QgsApplication.processingRegistry().providerById("sargeo") is not None,
    }
    from qgis.PyQt.QtWidgets import QPlainTextEdit
    from sar_narrator.diagnostics import show_dialog

    dialog = show_dialog(iface.window)
    report["dialog"] = dialog.findChild(QPlainTextEdit).toPlainText()
    dialog.close()
    plugin.unload()
    report["menus_after_unload"] = list(iface.menus)
    report["provider_after_unload"] = (
        QgsApplication.processingRegistry().providerById("sargeo") is not None
    )
    return report


def install(iface: Iface) -> dict[str, Any]:
    """The installer's task installs tokenizers (the smaller package) into the plugin's folder."""
    import numpy
    import sar_narrator
    from qgis.core import QgsApplication
    from sar_narrator.plugin import InstallTask

    deps = sar_narrator.deps
    before = deps.missing()
    results: list[Any] = []
    task = InstallTask(["tokenizers"], lambda ok, log: results.append((ok, log)))
    QgsApplication.taskManager().addTask(task)
    _wait(lambda: bool(results), 300)
    import tokenizers
    from osgeo import gdal_array

    target = deps.deps_dir()
    return {
        "before": before,
        "after": deps.missing(),
        "ok": results[0][0] if results else None,
        "log": results[0][1] if results else [],
        "tokenizers": tokenizers.__file__,
        "target": str(target),
        "installed": sorted(p.name for p in target.iterdir()),
        "numpy": numpy.__file__,
        "gdal_array": gdal_array.OpenArray(numpy.zeros((3, 4), numpy.float32)).RasterXSize,
    }


def dock(iface: Iface, bundle: str, scene: str, work: Path, screenshot: str) -> dict[str, Any]:
    import sar_narrator
    from qgis.core import QgsProject, QgsRasterLayer
    from qgis.PyQt.QtWidgets import QHBoxLayout, QWidget
    from sar_narrator.diagnostics import collect
    from sar_narrator.dock import SarNarratorDock

    plugin = sar_narrator.classFactory(iface)
    plugin.initGui()
    project = QgsProject.instance()
    raster = QgsRasterLayer(scene, Path(scene).stem)
    project.addMapLayer(raster)
    canvas = iface.canvas
    canvas.setDestinationCrs(raster.crs())
    panel = SarNarratorDock(canvas, project)
    panel.layer.setLayer(raster)
    panel.bundles["clip"].setFilePath(bundle)
    panel.output.setFilePath(str(work / "results"))
    panel.query.setText("flooded fields")
    panel.k.setValue(5)
    panel.tile.setValue(64)
    started = panel.search()
    refused = panel.search()
    busy_status = panel.status.text()
    finished = _wait(lambda: not panel.busy())
    items = [panel.results.item(i).text() for i in range(panel.results.count())]
    hits = [layer for layer in project.mapLayers().values() if layer.name().startswith("search")]
    panel.results.setCurrentRow(0)
    panel.zoom_to(panel.results.item(0))
    zoomed = canvas.extent()
    rect = panel.results.item(0).data(sar_narrator.dock.RECT_ROLE)[0]
    canvas.setLayers([hits[0], raster])
    canvas.setExtent(raster.extent())
    container = QWidget()
    row = QHBoxLayout(container)
    row.addWidget(canvas, 3)
    row.addWidget(panel, 2)
    container.resize(1100, 620)
    container.show()
    canvas.refresh()
    _wait(lambda: not canvas.isDrawing() and False, 1.5)
    _wait(lambda: not canvas.isDrawing(), 30)
    saved = container.grab().save(screenshot)
    asked = _ask_and_caption(panel, bundle, work, raster)
    report = {
        **asked,
        "started": started,
        "refused": not refused,
        "busy_status": busy_status,
        "finished": finished,
        "status": panel.status.text(),
        "items": items,
        "hit_layers": len(hits),
        "hit_features": hits[0].featureCount() if hits else 0,
        "hit_source": hits[0].source() if hits else "",
        "zoom_contains": zoomed.contains(rect),
        "screenshot": saved,
        "diagnostics": collect([Path(bundle).parent]),
    }
    container.hide()
    panel.setParent(None)
    plugin.unload()
    project.removeAllMapLayers()
    del raster, hits, container
    return report


def _ask_and_caption(panel: Any, bundle: str, work: Path, raster: Any) -> dict[str, Any]:
    """The rectangle tool asks SAR-GPT, the view is captioned (stand-in models, as in
    qgis_plugin_describe.py: no CoCa or SAR-GPT bundle exists yet)."""
    import runpy

    from qgis.core import QgsRectangle
    from sar_narrator import models

    helpers = runpy.run_path(str(Path(__file__).with_name("qgis_plugin_describe.py")))
    gpt = helpers["_bundle"](Path(bundle), work / "gpt", "gpt", ("vision_encoder", "lm_step"))
    coca = helpers["_bundle"](
        Path(bundle), work / "coca", "coca", ("image_encoder", "decoder_step")
    )
    module = helpers["_standins"]()
    models.TASK_RUNTIMES["gpt"] = (module.__name__, "GptModel")
    models.TASK_RUNTIMES["coca"] = (module.__name__, "CocaModel")
    panel.bundles["gpt"].setFilePath(gpt)
    panel.bundles["coca"].setFilePath(coca)
    panel.question.setText("is there water?")
    panel.start_drawing()
    tool_active = panel.canvas.mapTool() is panel.tool
    box = raster.extent()
    rect = QgsRectangle(
        box.xMinimum(), box.yMinimum(), box.center().x(), box.center().y()
    )  # the lower-left quarter
    panel.tool.extentChanged.emit(rect)
    _wait(lambda: not panel.busy())
    answer = panel.answer.text()
    project = panel.project
    answers = [v for v in project.mapLayers().values() if v.name() == "answers"]
    panel.canvas.setExtent(box)
    captioned = panel.caption_extent()
    _wait(lambda: not panel.busy())
    captions = [v for v in project.mapLayers().values() if v.name() == "captions"]
    # two of three polygons selected: the selected ones are captioned
    from qgis.core import QgsFeature, QgsGeometry, QgsVectorLayer

    polygons = QgsVectorLayer(f"Polygon?crs={raster.crs().authid()}", "fields", "memory")
    features = []
    for i in range(3):
        feature = QgsFeature()
        x = box.xMinimum() + box.width() * (0.1 + 0.3 * i)
        y = box.yMinimum() + box.height() * 0.4
        side = box.width() * 0.1
        feature.setGeometry(QgsGeometry.fromRect(QgsRectangle(x, y, x + side, y + side)))
        features.append(feature)
    polygons.dataProvider().addFeatures(features)
    project.addMapLayer(polygons)
    polygons.selectByIds([f.id() for f in polygons.getFeatures()][:2])
    selected = panel.caption_polygons()
    _wait(lambda: not panel.busy())
    by_polygon = [v for v in project.mapLayers().values() if v.name() == "captions"]
    return {
        "selected_captioned": selected,
        "selected_caption_features": sorted(v.featureCount() for v in by_polygon),
        "tool_active": tool_active,
        "answer": answer,
        "answer_features": answers[0].featureCount() if answers else 0,
        # the region is the rectangle's pixels (snapped outwards to whole pixels)
        "answer_extent_ok": bool(answers) and rect.buffered(1e-4).contains(answers[0].extent()),
        "captioned": captioned,
        "caption_features": captions[0].featureCount() if captions else 0,
        "caption_status": panel.status.text(),
    }


def main(args: list[str]) -> dict[str, Any]:
    iface = Iface()
    if args[0] == "missing":
        return missing(iface)
    if args[0] == "install":
        return install(iface)
    return dock(iface, args[1], args[2], Path(args[3]), args[4])
