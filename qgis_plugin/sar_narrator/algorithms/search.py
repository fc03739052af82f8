"""``sargeo:buildindex`` and ``sargeo:textsearch``: embed rasters once, then search them with text.

The index is the runtime's (`sargeo.runtime.index`): keyed by the rasters' fingerprints, the grid and
the bundle hash, reused while nothing changed. Searching a raster layer indexes it on the fly into the
plugin's cache, so the second query on the same layer reads no pixel.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
from qgis.core import (
    QgsProcessing,
    QgsProcessingFeedback,
    QgsProcessingOutputNumber,
    QgsProcessingOutputVectorLayer,
    QgsProcessingParameterEnum,
    QgsProcessingParameterFile,
    QgsProcessingParameterFolderDestination,
    QgsProcessingParameterMultipleLayers,
    QgsProcessingParameterNumber,
    QgsProcessingParameterRasterDestination,
    QgsProcessingParameterRasterLayer,
    QgsProcessingParameterString,
    QgsProcessingParameterVectorDestination,
)

from sargeo.atomic import atomic_file
from sargeo.errors import InputError, OptionError
from sargeo.runtime.clip import ClipModel
from sargeo.runtime.heatmap import heatmap, write_geotiff
from sargeo.runtime.index import EmbeddingIndex, IndexOptions, build_index, open_index
from sargeo.runtime.pipeline import CancelledError
from sargeo.runtime.results import (
    FIELDS,
    LAYER,
    check_compatible,
    hit_features,
    hit_style,
    search,
    search_above,
)
from sargeo.runtime.search import Searcher

from ..models import default_tile_size, load_model
from ..rasters import GdalSource, layer_path, open_raster
from ..work import Ring, cache_folder, write_layer
from .base import (
    Context,
    Feedback,
    Params,
    SargeoAlgorithm,
    default_threads,
    output_path,
    reporter,
)

Feature = tuple[Ring, list[Any]]

MODES = ["Top k per query", "Every tile above a score threshold"]


def parse_queries(text: str) -> list[str]:
    """One query per line; blank lines and ``#`` comments skipped."""
    queries = [q.strip() for q in text.splitlines() if q.strip() and not q.strip().startswith("#")]
    if not queries:
        raise InputError("the query is empty: type at least one (one per line)")
    return queries


def _grid_parameters(alg: SargeoAlgorithm) -> None:
    alg.addParameter(
        QgsProcessingParameterNumber(
            "TILE_SIZE", "Tile size in pixels (0: the bundle's default)",
            type=QgsProcessingParameterNumber.Type.Integer, defaultValue=0, minValue=0,
        )
    )  # fmt: skip
    alg.addParameter(
        QgsProcessingParameterNumber(
            "OVERLAP", "Tile overlap in pixels", type=QgsProcessingParameterNumber.Type.Integer,
            defaultValue=0, minValue=0,
        )
    )  # fmt: skip


def _options(
    alg: SargeoAlgorithm, parameters: dict[str, Any], context: Any, model: ClipModel
) -> IndexOptions:
    size = alg.parameterAsInt(parameters, "TILE_SIZE", context) or default_tile_size(model.bundle)
    overlap = alg.parameterAsInt(parameters, "OVERLAP", context)
    options = IndexOptions(size=size, overlap=overlap, batch=16, readers=1, threads=model.threads)
    options.check()
    return options


def index_sources(
    sources: list[GdalSource],
    model: ClipModel,
    options: IndexOptions,
    folder: Path,
    feedback: QgsProcessingFeedback,
) -> tuple[EmbeddingIndex, bool]:
    """Build or reuse the index of ``sources`` at ``folder``."""
    progress, cancelled = reporter(feedback, "embedding")
    index, reused = build_index(
        folder, sources, model, options, inputs=[model.bundle.root],
        progress=progress, cancelled=cancelled,
    )  # fmt: skip
    m = index.manifest
    if reused:
        feedback.pushInfo(f"index {folder} is up to date ({m['count']} tiles): reused")
    else:
        feedback.pushInfo(
            f"indexed {m['count']} tiles ({m['skipped']} skipped as mostly nodata) in"
            f" {m['seconds']:.1f} s into {folder}"
        )
    return index, reused


class BuildIndexAlgorithm(SargeoAlgorithm):
    """``sargeo:buildindex``."""

    NAME = "buildindex"
    TITLE = "Build a text-search index"
    HELP = (
        "Embeds every tile of one raster layer (or several, a mosaic in one CRS) with a SAR-RS-CLIP"
        " bundle into an index folder. The index is keyed by the rasters, the tile grid and the"
        " bundle's hash: running again with nothing changed reuses it at once. Search it with"
        " 'Search a SAR raster with text'. Tiles mostly nodata are skipped."
    )

    def initAlgorithm(self, config: Any = None) -> None:
        """Parameters."""
        self.addParameter(
            QgsProcessingParameterMultipleLayers(
                "INPUT", "Raster layers", QgsProcessing.SourceType.TypeRaster
            )
        )
        self.extent_parameter("Extent (one raster only; default: the whole layer)")
        self.add_bundle("SAR-RS-CLIP bundle folder")
        _grid_parameters(self)
        self.addParameter(
            QgsProcessingParameterFolderDestination(
                "OUTPUT", "Index folder (default: the plugin's cache)", optional=True,
                createByDefault=False,
            )
        )  # fmt: skip
        self.addOutput(QgsProcessingOutputVectorLayer("FOOTPRINTS", "Indexed tile footprints"))
        self.addOutput(QgsProcessingOutputNumber("TILES", "Tiles indexed"))

    def work(self, parameters: Params, context: Context, feedback: Feedback) -> Params:
        """Index the layers."""
        model = load_model(
            self.parameterAsFile(parameters, "BUNDLE", context), "clip", default_threads()
        )
        layers = self.parameterAsLayerList(parameters, "INPUT", context)
        if not layers:
            raise InputError("choose at least one raster layer")
        sources = []
        for layer in layers:
            if layer.providerType() != "gdal":
                raise InputError(f"{layer.name()} is not a file raster (GDAL)")
            sources.append(open_raster(layer_path(layer.source())))
        if parameters.get("EXTENT"):
            if len(sources) != 1:
                raise OptionError("EXTENT", "works with one raster layer only")
            sources = [self.within_extent(sources[0], layers[0], parameters, "EXTENT", context)]
        options = _options(self, parameters, context, model)
        chosen = self.parameterAsString(parameters, "OUTPUT", context)
        folder = (
            Path(chosen)
            if chosen and chosen != "TEMPORARY_OUTPUT"
            else cache_folder(
                sources[0], model.bundle.sha256, {**options.grid_key(), "n": len(sources)}
            )
        )
        index, _ = index_sources(sources, model, options, folder, feedback)
        # a Dask-built index of over a million tiles has GeoParquet footprints only
        listed = list(index.manifest.get("footprints", ["tiles.gpkg"])) or ["tiles.gpkg"]
        footprints = "tiles.gpkg" if "tiles.gpkg" in listed else listed[0]
        return {
            "OUTPUT": str(folder),
            "FOOTPRINTS": str(folder / footprints),
            "TILES": int(index.manifest["count"]),
        }


class TextSearchAlgorithm(SargeoAlgorithm):
    """``sargeo:textsearch``."""

    NAME = "textsearch"
    TITLE = "Search a SAR raster with text"
    HELP = (
        "Ranks the tiles of an index (from 'Build a text-search index') or of a raster layer"
        " (indexed on the fly and cached) by their similarity to each query, one query per line."
        " Output: one polygon per hit with query, score (cosine similarity), rank and provenance,"
        " styled by score; optionally a heatmap raster of the similarity (one band per query)."
    )

    def initAlgorithm(self, config: Any = None) -> None:
        """Parameters."""
        self.addParameter(
            QgsProcessingParameterString("QUERIES", "Queries (one per line)", multiLine=True)
        )
        self.addParameter(QgsProcessingParameterRasterLayer("INPUT", "Raster layer", optional=True))
        self.extent_parameter()
        self.addParameter(
            QgsProcessingParameterFile(
                "INDEX",
                "or an index folder",
                behavior=QgsProcessingParameterFile.Behavior.Folder,
                optional=True,
            )
        )
        self.add_bundle("SAR-RS-CLIP bundle folder")
        self.addParameter(
            QgsProcessingParameterEnum("MODE", "Results", options=MODES, defaultValue=0)
        )
        self.addParameter(
            QgsProcessingParameterNumber(
                "K", "k (results per query)", type=QgsProcessingParameterNumber.Type.Integer,
                defaultValue=10, minValue=1,
            )
        )  # fmt: skip
        self.addParameter(
            QgsProcessingParameterNumber(
                "THRESHOLD", "Score threshold (cosine similarity)",
                type=QgsProcessingParameterNumber.Type.Double, defaultValue=0.2, minValue=-1, maxValue=1,
            )
        )  # fmt: skip
        _grid_parameters(self)
        self.addParameter(
            QgsProcessingParameterVectorDestination(
                "OUTPUT", "Search results", type=QgsProcessing.SourceType.TypeVectorPolygon
            )
        )
        self.addParameter(
            QgsProcessingParameterRasterDestination(
                "HEATMAP", "Similarity heatmap", optional=True, createByDefault=False
            )
        )

    def work(self, parameters: Params, context: Context, feedback: Feedback) -> Params:
        """Search."""
        queries = parse_queries(self.parameterAsString(parameters, "QUERIES", context))
        model = load_model(
            self.parameterAsFile(parameters, "BUNDLE", context), "clip", default_threads()
        )
        model.embed_texts(queries)  # a query too long fails before any pixel is read
        picked = self.raster(parameters, "INPUT", context, "EXTENT")
        index_dir = self.parameterAsFile(parameters, "INDEX", context)
        if picked is not None:
            options = _options(self, parameters, context, model)
            folder = cache_folder(picked[0], model.bundle.sha256, {**options.grid_key(), "n": 1})
            index, _ = index_sources([picked[0]], model, options, folder, feedback)
        elif index_dir:
            index = open_index(Path(index_dir))
            check_compatible(index, model)
        else:
            raise InputError("choose a raster layer or an index folder to search")
        if feedback.isCanceled():
            raise CancelledError("cancelled; nothing was written")
        searcher = Searcher(index.vectors, "numpy")
        if self.parameterAsEnum(parameters, "MODE", context) == 0:
            hits = search(
                index,
                model,
                queries,
                self.parameterAsInt(parameters, "K", context),
                searcher=searcher,
            )
        else:
            threshold = self.parameterAsDouble(parameters, "THRESHOLD", context)
            hits = search_above(index, model, queries, threshold, searcher=searcher)
        out = output_path(self, parameters, "OUTPUT", context)
        inputs = [
            *(f for s in index.sources for f in s["files"]),
            str(model.bundle.root),
            str(index.folder),
        ]
        features = hit_features(index, hits, model)
        if picked is not None and picked[0].offset != (0, 0):
            features = in_raster_pixels(features, picked[0].offset)
        count = write_layer(out, LAYER, index.crs(), FIELDS, features, hit_style(hits), inputs)
        feedback.pushInfo(f"{count} result(s) for {len(queries)} query(ies) written to {out}")
        results: dict[str, Any] = {"OUTPUT": str(out)}
        heat = (
            self.parameterAsOutputLayer(parameters, "HEATMAP", context)
            if parameters.get("HEATMAP")
            else ""
        )
        if heat:
            if len(index.sources) != 1:
                raise OptionError("HEATMAP", "needs an index of one raster")
            scores = searcher.scores(model.embed_texts(queries))
            grids = [heatmap(index, row) for row in scores]
            with atomic_file(Path(heat), inputs=inputs) as tmp:
                write_geotiff(
                    tmp, np.stack([g for g, _ in grids]), grids[0][1], index.crs(), queries
                )
            results["HEATMAP"] = heat
        return results


def in_raster_pixels(features: Iterable[Feature], offset: tuple[int, int]) -> Iterator[Feature]:
    """Search features of an extent's index with ``col``/``row`` counted in the whole raster."""
    names = [f.name for f in FIELDS]
    col, row = names.index("col"), names.index("row")
    for ring, values in features:
        values[col] += offset[0]
        values[row] += offset[1]
        yield ring, values
