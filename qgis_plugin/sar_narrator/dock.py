"""The dock widget: choose bundles, search with text, caption the view, ask about a rectangle.

Every request runs a ``sargeo`` Processing algorithm in a `QgsProcessingAlgRunnerTask` (a `QgsTask`):
the worker thread reads pixels and runs the model, and only the task's ``executed`` signal, delivered
on the main thread, adds the output layer to the project and fills the result list. One request runs
at a time; another while it runs is refused with a message in the dock's status line.
Outputs are GeoPackages in the output folder (kept when the project is saved).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from qgis.core import (
    QgsApplication,
    QgsCoordinateReferenceSystem,
    QgsCoordinateTransform,
    QgsMapLayerProxyModel,
    QgsProcessingAlgRunnerTask,
    QgsProcessingContext,
    QgsProcessingFeatureSourceDefinition,
    QgsProcessingFeedback,
    QgsProject,
    QgsRectangle,
    QgsSettings,
    QgsVectorLayer,
)
from qgis.gui import (
    QgsDockWidget,
    QgsFileWidget,
    QgsMapCanvas,
    QgsMapLayerComboBox,
    QgsMapToolExtent,
)
from qgis.PyQt.QtCore import Qt
from qgis.PyQt.QtWidgets import (
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from .diagnostics import BUNDLES_SETTING
from .paths import data_dir

SETTINGS = {
    "clip": "sar_narrator/clip_bundle",
    "coca": "sar_narrator/coca_bundle",
    "gpt": "sar_narrator/gpt_bundle",
}
RECT_ROLE = Qt.ItemDataRole.UserRole


class SarNarratorDock(QgsDockWidget):
    """The interactive panel over the ``sargeo`` algorithms.

    Args:
        canvas: The map canvas (zoom to results, the visible extent, the rectangle tool).
        project: The project the output layers are added to.
    """

    def __init__(
        self, canvas: QgsMapCanvas, project: QgsProject | None = None, parent: Any = None
    ) -> None:
        super().__init__("SAR Narrator", parent)
        self.setObjectName("SarNarratorDock")
        self.canvas = canvas
        self.project = project or QgsProject.instance()
        self.task: QgsProcessingAlgRunnerTask | None = None
        self._keep: tuple[Any, ...] = ()
        self.last_results: dict[str, Any] = {}
        self.tool: QgsMapToolExtent | None = None
        body = QWidget()
        layout = QVBoxLayout(body)
        form = QFormLayout()
        self.layer = QgsMapLayerComboBox()
        self.layer.setFilters(QgsMapLayerProxyModel.Filter.RasterLayer)
        form.addRow("Raster", self.layer)
        self.bundles: dict[str, QgsFileWidget] = {}
        for task, label in (
            ("clip", "CLIP bundle"),
            ("coca", "CoCa bundle"),
            ("gpt", "SAR-GPT bundle"),
        ):
            widget = QgsFileWidget()
            widget.setStorageMode(QgsFileWidget.StorageMode.GetDirectory)
            widget.setFilePath(str(QgsSettings().value(SETTINGS[task], "")))
            widget.fileChanged.connect(lambda path, key=task: self._remember(key, path))
            self.bundles[task] = widget
            form.addRow(label, widget)
        self.output = QgsFileWidget()
        self.output.setStorageMode(QgsFileWidget.StorageMode.GetDirectory)
        self.output.setFilePath(str(data_dir() / "results"))
        form.addRow("Output folder", self.output)
        layout.addLayout(form)
        row = QHBoxLayout()
        self.query = QLineEdit()
        self.query.setPlaceholderText("text query, e.g. ships near a harbour")
        self.query.returnPressed.connect(self.search)
        self.k = QSpinBox()
        self.k.setRange(1, 1000)
        self.k.setValue(10)
        self.tile = QSpinBox()
        self.tile.setRange(0, 8192)
        self.tile.setSpecialValueText("auto")
        self.tile.setToolTip("Tile size in pixels (auto: the bundle's)")
        self.search_button = QPushButton("Search")
        self.search_button.clicked.connect(self.search)
        row.addWidget(self.query, 1)
        row.addWidget(QLabel("k"))
        row.addWidget(self.k)
        row.addWidget(QLabel("tile"))
        row.addWidget(self.tile)
        row.addWidget(self.search_button)
        layout.addLayout(row)
        self.results = QListWidget()
        self.results.itemClicked.connect(self.zoom_to)
        layout.addWidget(self.results, 1)
        captions = QHBoxLayout()
        self.caption_view = QPushButton("Caption visible extent")
        self.caption_view.clicked.connect(self.caption_extent)
        self.caption_selected = QPushButton("Caption selected polygons")
        self.caption_selected.clicked.connect(self.caption_polygons)
        captions.addWidget(self.caption_view)
        captions.addWidget(self.caption_selected)
        layout.addLayout(captions)
        ask = QHBoxLayout()
        self.question = QLineEdit()
        self.question.setPlaceholderText("question, e.g. how many ships are there?")
        self.ask_button = QPushButton("Draw a rectangle and ask")
        self.ask_button.clicked.connect(self.start_drawing)
        ask.addWidget(self.question, 1)
        ask.addWidget(self.ask_button)
        layout.addLayout(ask)
        self.answer = QLabel("")
        self.answer.setWordWrap(True)
        layout.addWidget(self.answer)
        self.status = QLabel("Ready.")
        self.status.setWordWrap(True)
        layout.addWidget(self.status)
        self.setWidget(body)

    # --- requests ------------------------------------------------------------------------------

    def _remember(self, task: str, path: str) -> None:
        QgsSettings().setValue(SETTINGS[task], path)
        if path:
            QgsSettings().setValue(BUNDLES_SETTING, str(Path(path).parent))

    def _out(self, stem: str) -> str:
        """A new GeoPackage in the output folder (never one written before)."""
        folder = Path(self.output.filePath() or data_dir() / "results")
        folder.mkdir(parents=True, exist_ok=True)
        name = f"{stem}_{time.strftime('%Y%m%d_%H%M%S')}"
        path, number = folder / f"{name}.gpkg", 1
        while path.exists():
            number += 1
            path = folder / f"{name}_{number}.gpkg"
        return str(path)

    def busy(self) -> bool:
        """Whether a request is running (a second one is refused)."""
        return self.task is not None

    def run(
        self, algorithm: str, parameters: dict[str, Any], done: Callable[[dict[str, Any]], None]
    ) -> bool:
        """Start an algorithm in a task; ``done(results)`` runs on the main thread. False if refused."""
        if self.busy():
            self.status.setText("Busy: one request at a time. Wait for the running one to finish.")
            return False
        alg = QgsApplication.processingRegistry().createAlgorithmById(algorithm)
        if alg is None:
            self.status.setText(f"{algorithm} is not registered (is the plugin's provider loaded?)")
            return False
        context = QgsProcessingContext()
        context.setProject(self.project)
        feedback = QgsProcessingFeedback()
        task = QgsProcessingAlgRunnerTask(alg, parameters, context, feedback)
        self._keep = (alg, context, feedback)

        def executed(ok: bool, results: dict[str, Any]) -> None:
            self.task = None
            if ok:
                self.status.setText(f"{alg.displayName()}: done.")
                done(results)
            else:
                message = feedback.textLog().strip().splitlines()
                self.status.setText(
                    f"{alg.displayName()} failed: {message[-1] if message else 'see the log'}"
                )

        task.executed.connect(executed)
        self.task = task
        self.status.setText(f"{alg.displayName()}: running...")
        QgsApplication.taskManager().addTask(task)
        return True

    def _raster(self) -> Any:
        layer = self.layer.currentLayer()
        if layer is None:
            self.status.setText("Choose a raster layer first.")
        return layer

    def _add(self, path: str, name: str) -> QgsVectorLayer:
        layer = QgsVectorLayer(path, name, "ogr")
        self.project.addMapLayer(layer)
        return layer

    def search(self) -> bool:
        """Search the chosen raster with the query; results go to the list and the map."""
        raster = self._raster()
        if raster is None:
            return False
        params = {
            "QUERIES": self.query.text(), "INPUT": raster, "BUNDLE": self.bundles["clip"].filePath(),
            "K": self.k.value(), "TILE_SIZE": self.tile.value(), "OUTPUT": self._out("search"),
        }  # fmt: skip
        return self.run("sargeo:textsearch", params, self._show_hits)

    def _show_hits(self, results: dict[str, Any]) -> None:
        self.last_results = results
        layer = self._add(results["OUTPUT"], f"search: {self.query.text()}")
        self.results.clear()
        for feature in sorted(layer.getFeatures(), key=lambda f: (f["query"], f["rank"])):
            item = QListWidgetItem(
                f"{feature['rank']}. {feature['query']}  score {feature['score']:.3f}  ({feature['tile_id']})"
            )
            item.setData(RECT_ROLE, (feature.geometry().boundingBox(), layer.crs().authid()))
            self.results.addItem(item)

    def zoom_to(self, item: QListWidgetItem) -> None:
        """Zoom the canvas to a result (its tile, in the canvas's CRS)."""
        rect, authid = item.data(RECT_ROLE)
        transform = QgsCoordinateTransform(
            QgsCoordinateReferenceSystem(authid),
            self.canvas.mapSettings().destinationCrs(),
            self.project,
        )
        box = QgsRectangle(transform.transformBoundingBox(rect))
        box.scale(1.5)
        self.canvas.setExtent(box)
        self.canvas.refresh()

    def caption_extent(self) -> bool:
        """Caption the tiles of the visible extent."""
        raster = self._raster()
        if raster is None:
            return False
        extent = self.canvas.extent()
        crs = self.canvas.mapSettings().destinationCrs().authid()
        params = {
            "INPUT": raster, "AREA": 1, "BUNDLE": self.bundles["coca"].filePath(),
            "EXTENT": f"{extent.xMinimum()},{extent.xMaximum()},{extent.yMinimum()},{extent.yMaximum()} [{crs}]",
            "OUTPUT": self._out("captions"),
        }  # fmt: skip
        return self.run("sargeo:caption", params, lambda r: self._add(r["OUTPUT"], "captions"))

    def caption_polygons(self) -> bool:
        """Caption the selected polygons of the active vector layer."""
        raster = self._raster()
        layers = self.project.mapLayers().values()
        selected = [v for v in layers if isinstance(v, QgsVectorLayer) and v.selectedFeatureCount()]
        vector = selected[0] if selected else None
        if raster is None or vector is None:
            self.status.setText("Select polygons of a vector layer first.")
            return False
        params = {
            "INPUT": raster, "AREA": 2, "BUNDLE": self.bundles["coca"].filePath(),
            "REGIONS": QgsProcessingFeatureSourceDefinition(vector.id(), True),
            "OUTPUT": self._out("captions"),
        }  # fmt: skip
        return self.run("sargeo:caption", params, lambda r: self._add(r["OUTPUT"], "captions"))

    def start_drawing(self) -> None:
        """Activate the rectangle tool; the drawn rectangle is asked about."""
        if self.tool is None:
            self.tool = QgsMapToolExtent(self.canvas)
            self.tool.extentChanged.connect(self.ask)
        self.canvas.setMapTool(self.tool)
        self.status.setText("Draw a rectangle on the map.")

    def ask(self, extent: QgsRectangle) -> bool:
        """Ask the question about a rectangle (in the canvas's CRS); the answer is stored as a feature."""
        raster = self._raster()
        if raster is None:
            return False
        crs = self.canvas.mapSettings().destinationCrs().authid()
        params = {
            "QUESTION": self.question.text(), "INPUT": raster, "AREA": 0,
            "EXTENT": f"{extent.xMinimum()},{extent.xMaximum()},{extent.yMinimum()},{extent.yMaximum()} [{crs}]",
            "BUNDLE": self.bundles["gpt"].filePath(), "OUTPUT": self._out("answers"),
        }  # fmt: skip

        def show(results: dict[str, Any]) -> None:
            layer = self._add(results["OUTPUT"], "answers")
            answers = [f["answer"] for f in layer.getFeatures()]
            self.answer.setText(
                f"Q: {self.question.text()}\nA: {answers[0] if answers else '(no answer)'}"
            )

        return self.run("sargeo:vqa", params, show)
