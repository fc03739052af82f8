"""``sargeo:caption`` and ``sargeo:vqa``: describe regions of a raster, or answer a question on them.

Regions are the tiles of the whole layer or of an extent, or the polygons of a vector layer (any CRS;
transformed to the raster's). Each region's pixels are read in the raster's own grid, prepared as the
bundle says and given to the model (`models.Captioner`, `models.Answerer`). One feature per region,
in the raster's CRS, with the text and its provenance, labelled with the text.
"""

from __future__ import annotations

from typing import Any

from qgis.core import (
    QgsFeatureRequest,
    QgsProcessing,
    QgsProcessingContext,
    QgsProcessingParameterEnum,
    QgsProcessingParameterFeatureSource,
    QgsProcessingParameterNumber,
    QgsProcessingParameterRasterLayer,
    QgsProcessingParameterString,
    QgsProcessingParameterVectorDestination,
)

from sargeo.errors import InputError, OptionError
from sargeo.runtime.gpkg import Field, Style
from sargeo.runtime.grid import Window
from sargeo.runtime.styles import labelled_qml

from ..models import default_tile_size, load_model, mean_logprob
from ..rasters import GdalSource
from ..regions import Region, metres_to_pixels, polygon_regions, tile_regions, window_ring
from ..work import REGION_FIELDS, region_values, run_regions, write_layer
from .base import (
    Call,
    Context,
    Feedback,
    Params,
    SargeoAlgorithm,
    default_threads,
    output_path,
    reporter,
    transform_to,
)

CAPTION_AREAS = ["Whole layer (tiles)", "Extent (tiles)", "Polygons of a vector layer"]
VQA_AREAS = ["Extent (one region)", "Polygons of a vector layer"]


def _polygons(
    alg: SargeoAlgorithm, parameters: dict[str, Any], context: QgsProcessingContext, raster: Any
) -> list[tuple[str, list[tuple[float, float]]]]:
    """The polygons of ``REGIONS`` as exterior rings in the raster layer's CRS."""
    source = alg.parameterAsSource(parameters, "REGIONS", context)
    if source is None:
        raise OptionError("REGIONS", "choose a polygon layer")
    transform = transform_to(source.sourceCrs(), raster.crs(), context)
    rings = []
    for feature in source.getFeatures(QgsFeatureRequest()):
        geometry = feature.geometry()
        if geometry.isEmpty():
            continue
        geometry.transform(transform)
        parts = geometry.asMultiPolygon() if geometry.isMultipart() else [geometry.asPolygon()]
        outer = max((p[0] for p in parts if p), key=len, default=None)
        if outer:
            rings.append((f"f{feature.id()}", [(pt.x(), pt.y()) for pt in outer]))
    return rings


def _area_regions(
    alg: SargeoAlgorithm,
    parameters: dict[str, Any],
    context: QgsProcessingContext,
    tiles: bool,
    area: str,
) -> tuple[GdalSource, list[Region]]:
    """The raster and its regions for the chosen area (``layer``, ``extent`` or ``polygons``)."""
    if area == "extent" and not parameters.get("EXTENT"):
        raise OptionError("EXTENT", "is needed for this area: draw or type one")
    picked = alg.raster(parameters, "INPUT", context, "EXTENT" if area == "extent" else None)
    if picked is None:
        raise InputError("choose a raster layer")
    source, layer = picked
    if area == "polygons":
        return source, polygon_regions(source, _polygons(alg, parameters, context, layer))
    if not tiles:
        return source, [Region(_whole(source), window_ring(source, _whole(source)), "extent")]
    return source, []


def _whole(source: GdalSource) -> Window:
    return Window(0, 0, source.width, source.height)


def _area_parameters(alg: SargeoAlgorithm, areas: list[str], word: str) -> None:
    """INPUT, AREA (one of ``areas``), EXTENT and REGIONS."""
    alg.addParameter(QgsProcessingParameterRasterLayer("INPUT", "Raster layer"))
    alg.addParameter(QgsProcessingParameterEnum("AREA", word, options=areas, defaultValue=0))
    alg.extent_parameter(f"Extent ({word.lower()} 'Extent')")
    polygons = QgsProcessingParameterFeatureSource(
        "REGIONS",
        f"Polygons ({word.lower()} 'Polygons')",
        [QgsProcessing.SourceType.TypeVectorPolygon],
        optional=True,
    )
    alg.addParameter(polygons)


def _write(
    alg: SargeoAlgorithm,
    call: Call,
    source: GdalSource,
    model: Any,
    done: list[tuple[Region, list[Any], float]],
    task: tuple[str, list[Field], str],
) -> dict[str, Any]:
    """Write one feature per region: ``task`` = (layer name, the task's own fields, label field)."""
    parameters, context, feedback = call
    layer, fields, label = task
    features = [(r.ring, [*own, *region_values(source, r, valid, model)]) for r, own, valid in done]
    style = Style(f"sargeo {layer}", labelled_qml(label), f"{label} as labels")
    out = output_path(alg, parameters, "OUTPUT", context)
    inputs = [*source.files, str(model.bundle.root)]
    count = write_layer(out, layer, source.crs, [*fields, *REGION_FIELDS], features, style, inputs)
    feedback.pushInfo(f"{count} feature(s) written to {out}")
    return {"OUTPUT": str(out)}


class CaptionAlgorithm(SargeoAlgorithm):
    """``sargeo:caption``."""

    NAME = "caption"
    TITLE = "Caption a SAR raster"
    HELP = (
        "Writes a caption for every tile of a raster layer (the whole layer or an extent), or for"
        " every polygon of a vector layer, with a SAR-RS-CoCa bundle. Output: one polygon per tile"
        " or polygon with the caption and its provenance, labelled with the caption."
    )

    def initAlgorithm(self, config: Any = None) -> None:
        """Parameters."""
        _area_parameters(self, CAPTION_AREAS, "Area")
        size = QgsProcessingParameterNumber(
            "TILE_SIZE", "Tile size (0: the bundle's default)",
            type=QgsProcessingParameterNumber.Type.Double, defaultValue=0, minValue=0,
        )  # fmt: skip
        self.addParameter(size)
        units = QgsProcessingParameterEnum(
            "TILE_UNITS", "Tile size in", ["pixels", "metres"], False, 0
        )
        self.addParameter(units)
        self.add_bundle("SAR-RS-CoCa bundle folder")
        polygons = QgsProcessing.SourceType.TypeVectorPolygon
        self.addParameter(QgsProcessingParameterVectorDestination("OUTPUT", "Captions", polygons))

    def work(self, parameters: Params, context: Context, feedback: Feedback) -> Params:
        """Caption the regions."""
        bundle = self.parameterAsFile(parameters, "BUNDLE", context)
        model = load_model(bundle, "coca", default_threads())
        area = ("layer", "extent", "polygons")[self.parameterAsEnum(parameters, "AREA", context)]
        source, regions = _area_regions(self, parameters, context, True, area)
        if not regions:
            size = self.parameterAsDouble(parameters, "TILE_SIZE", context)
            if self.parameterAsEnum(parameters, "TILE_UNITS", context) == 1 and size:
                pixels = metres_to_pixels(source, size)
            else:
                pixels = int(size) or default_tile_size(model.bundle)
            regions = tile_regions(source, min(pixels, max(source.width, source.height)))
        progress, cancelled = reporter(feedback, "captioning")
        settings = model.settings()

        def captions(images: Any) -> list[Any]:
            return list(model.caption(images, settings))

        done = run_regions(source, regions, model, captions, progress=progress, cancelled=cancelled)
        rows = [
            (region, [c.caption, round(mean_logprob(c), 6)], valid) for region, c, valid in done
        ]
        fields = [Field("caption", "TEXT"), Field("score", "REAL")]
        call = (parameters, context, feedback)
        return _write(self, call, source, model, rows, ("captions", fields, "caption"))


class VqaAlgorithm(SargeoAlgorithm):
    """``sargeo:vqa``."""

    NAME = "vqa"
    TITLE = "Ask a question about SAR regions"
    HELP = (
        "Answers a question about each region (an extent, or every polygon of a vector layer) of a"
        " raster layer with a SAR-GPT bundle. Output: one polygon per region with the question,"
        " the answer and their provenance, labelled with the answer."
    )

    def initAlgorithm(self, config: Any = None) -> None:
        """Parameters."""
        self.addParameter(QgsProcessingParameterString("QUESTION", "Question"))
        _area_parameters(self, VQA_AREAS, "Regions")
        self.add_bundle("SAR-GPT bundle folder")
        polygons = QgsProcessing.SourceType.TypeVectorPolygon
        self.addParameter(QgsProcessingParameterVectorDestination("OUTPUT", "Answers", polygons))

    def work(self, parameters: Params, context: Context, feedback: Feedback) -> Params:
        """Answer the question on each region."""
        question = self.parameterAsString(parameters, "QUESTION", context).strip()
        if not question:
            raise InputError("the question is empty")
        bundle = self.parameterAsFile(parameters, "BUNDLE", context)
        model = load_model(bundle, "gpt", default_threads())
        area = ("extent", "polygons")[self.parameterAsEnum(parameters, "AREA", context)]
        source, regions = _area_regions(self, parameters, context, False, area)
        progress, cancelled = reporter(feedback, "answering")

        def answer(images: Any) -> list[str]:
            return list(model.answer(images, [question] * len(images)))

        done = run_regions(
            source, regions, model, answer, batch=1, progress=progress, cancelled=cancelled
        )
        rows = [(region, [question, str(text)], valid) for region, text, valid in done]
        fields = [Field("question", "TEXT"), Field("answer", "TEXT")]
        call = (parameters, context, feedback)
        return _write(self, call, source, model, rows, ("answers", fields, "answer"))
