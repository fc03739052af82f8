"""What every ``sargeo`` algorithm shares: bundle and raster parameters, errors, progress.

Bad input (a bundle of the wrong task, a raster without CRS, an empty query, a region outside the
raster, bands the bundle cannot read) ends the algorithm with one line in the Processing log (a
`QgsProcessingException`) and no output, never a Python traceback.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeAlias

from qgis.core import (
    QgsCoordinateTransform,
    QgsProcessingAlgorithm,
    QgsProcessingContext,
    QgsProcessingException,
    QgsProcessingFeedback,
    QgsProcessingParameterExtent,
    QgsProcessingParameterFile,
    QgsRasterLayer,
)
from qgis.PyQt.QtGui import QIcon

from sargeo.errors import SargeoError, user_message

from ..paths import PLUGIN_DIR
from ..rasters import GdalSource, layer_path, open_raster
from ..regions import bounds_window


def default_threads() -> int:
    """ONNX Runtime threads: every core but one, so QGIS stays responsive."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:
        cores = os.cpu_count() or 1
    return max(1, cores - 1)


Params: TypeAlias = dict[str, Any]
Context: TypeAlias = QgsProcessingContext
Feedback: TypeAlias = QgsProcessingFeedback
Call: TypeAlias = tuple[Params, Context, Feedback]
"""The three arguments of ``processAlgorithm``."""


class SargeoAlgorithm(QgsProcessingAlgorithm):
    """Base class: one-line errors, progress and cancellation, shared parameters."""

    NAME = ""
    TITLE = ""
    HELP = ""

    def name(self) -> str:
        """Algorithm id within the provider."""
        return self.NAME

    def displayName(self) -> str:
        """Title in the Toolbox."""
        return self.TITLE

    def group(self) -> str:
        """Toolbox group."""
        return "SAR vision-language"

    def groupId(self) -> str:
        """Toolbox group id."""
        return "sarvl"

    def shortHelpString(self) -> str:
        """Help shown beside the dialog."""
        return self.HELP

    def icon(self) -> QIcon:
        """The plugin's icon."""
        return QIcon(str(PLUGIN_DIR / "icon.svg"))

    def createInstance(self) -> SargeoAlgorithm:
        """A fresh copy (Processing runs copies)."""
        return type(self)()

    def add_bundle(self, description: str) -> None:
        """The bundle folder parameter ``BUNDLE``."""
        self.addParameter(
            QgsProcessingParameterFile(
                "BUNDLE", description, behavior=QgsProcessingParameterFile.Behavior.Folder
            )
        )

    def processAlgorithm(self, parameters: Params, context: Context, feedback: Feedback) -> Params:
        """Run `work`; the errors of bad input become one-line Processing errors."""
        try:
            return self.work(parameters, context, feedback)
        except (SargeoError, OSError) as exc:
            raise QgsProcessingException(user_message(exc)) from exc

    def work(self, parameters: Params, context: Context, feedback: Feedback) -> Params:
        """The algorithm's work (subclasses)."""
        raise NotImplementedError

    def raster(
        self,
        parameters: dict[str, Any],
        name: str,
        context: QgsProcessingContext,
        extent_name: str | None = None,
    ) -> tuple[GdalSource, QgsRasterLayer] | None:
        """The raster layer parameter as a source (restricted to the extent parameter, if set)."""
        layer = self.parameterAsRasterLayer(parameters, name, context)
        if layer is None:
            return None
        if layer.providerType() != "gdal":
            raise QgsProcessingException(
                f"{layer.name()} is a {layer.providerType()} layer; use a file raster (GDAL)"
            )
        source = open_raster(layer_path(layer.source()))
        if extent_name:
            source = self.within_extent(source, layer, parameters, extent_name, context)
        return source, layer

    def within_extent(
        self,
        source: GdalSource,
        layer: QgsRasterLayer,
        parameters: Params,
        name: str,
        context: Context,
    ) -> GdalSource:
        """``source`` restricted to the extent parameter ``name`` (any CRS), when one is set."""
        if not parameters.get(name):
            return source
        rect = self.parameterAsExtent(parameters, name, context, layer.crs())
        bounds = (rect.xMinimum(), rect.yMinimum(), rect.xMaximum(), rect.yMaximum())
        return source.window(bounds_window(source, bounds, "the extent"))

    def extent_parameter(self, description: str = "Extent (default: the whole layer)") -> None:
        """An optional ``EXTENT`` parameter."""
        self.addParameter(QgsProcessingParameterExtent("EXTENT", description, optional=True))


def reporter(
    feedback: QgsProcessingFeedback, what: str
) -> tuple[Callable[[int, int], None], Callable[[], bool]]:
    """Progress and cancellation callbacks for the runtime."""
    last = [-1]

    def progress(done: int, total: int) -> None:
        feedback.setProgress(100.0 * done / max(total, 1))
        if done != last[0] and (done == total or done % 64 == 0):
            feedback.pushInfo(f"{what}: {done}/{total} tiles")
            last[0] = done

    return progress, feedback.isCanceled


def transform_to(layer_crs: Any, target: Any, context: QgsProcessingContext) -> Any:
    """A coordinate transform from a vector layer's CRS to a raster's."""
    return QgsCoordinateTransform(layer_crs, target, context.transformContext())


def output_path(
    alg: QgsProcessingAlgorithm, parameters: dict[str, Any], name: str, context: Any
) -> Path:
    """A destination parameter's file (temporary outputs are GeoPackages)."""
    return Path(alg.parameterAsOutputLayer(parameters, name, context))
