"""The work behind the algorithms, free of Processing: regions through a model, layers written.

`run_regions` reads, prepares and feeds the regions' windows to a model with the runtime's pipeline
(`sargeo.runtime.pipeline.embed_windows`: reader threads, bounded memory, nodata skipping,
cancellation between batches). `write_layer` writes polygons with attributes and a default style as a
GeoPackage (the runtime's writer) or, for another extension, any OGR format (GDAL converts the
GeoPackage); either way the file appears complete or not at all.
"""

from __future__ import annotations

import hashlib
import json
import tempfile
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from sargeo.atomic import atomic_file
from sargeo.errors import OptionError
from sargeo.runtime.gpkg import Crs, Field, Style, write_polygons
from sargeo.runtime.index import TILE_FIELDS
from sargeo.runtime.pipeline import Cancelled, Progress, check_source, embed_windows

from .paths import data_dir
from .rasters import GdalSource
from .regions import Region

Ring = Sequence[tuple[float, float]]

REGION_FIELDS = [
    *TILE_FIELDS,
    Field("pixel_spacing", "REAL"),
    Field("model", "TEXT"),
    Field("bundle_sha256", "TEXT"),
]
"""Provenance of every caption or answer feature (after the task's own fields), as in search layers."""


def run_regions(
    source: GdalSource,
    regions: Sequence[Region],
    model: Any,
    apply: Callable[[npt.NDArray[np.float32]], Sequence[Any]],
    *,
    batch: int = 8,
    max_nodata: float = 0.5,
    progress: Progress | None = None,
    cancelled: Cancelled | None = None,
) -> list[tuple[Region, Any, float]]:
    """``apply(images) -> one result each`` over the regions with enough valid pixels.

    Returns:
        (region, its result, its valid share) of each region the model saw.
    """
    spec = model.bundle.preprocess
    check_source(source, spec)
    out = np.empty((len(regions), 1), dtype=object)

    def results(images: npt.NDArray[np.float32]) -> npt.NDArray[Any]:
        column = np.empty((len(images), 1), dtype=object)
        column[:, 0] = list(apply(images))
        return column

    done = embed_windows(
        source, [r.window for r in regions], spec, results, out, batch=batch, readers=1,
        max_nodata=max_nodata, progress=progress, cancelled=cancelled,
    )  # fmt: skip
    return [
        (region, out[i, 0], float(done.valid[i]))
        for i, region in enumerate(regions)
        if done.kept[i]
    ]


def region_values(source: GdalSource, region: Region, valid: float, model: Any) -> list[Any]:
    """The `REGION_FIELDS` values of a region (col and row in the whole raster's pixels)."""
    w = region.window
    sx, sy = source.pixel_spacing(w)
    return [
        region.region_id, source.name, w.col + source.offset[0], w.row + source.offset[1],
        w.width, w.height, sx, sy, source.acquisition_time, round(valid, 4),
        round(float(np.sqrt(sx * sy)), 4), model.bundle.name, model.bundle.sha256,
    ]  # fmt: skip


def write_layer(
    path: Path,
    layer: str,
    crs: Crs,
    fields: Sequence[Field],
    features: Iterable[tuple[Ring, Sequence[Any]]],
    style: Style | None,
    inputs: Sequence[str | Path] = (),
) -> int:
    """Write a polygon layer at ``path`` (GeoPackage, or any OGR format by extension)."""
    if path.suffix.lower() == ".gpkg":
        with atomic_file(path, inputs=inputs) as tmp:
            return write_polygons(tmp, layer, crs, fields, features, style)
    if path.suffix.lower() == ".shp":
        raise OptionError(
            "OUTPUT", "cannot be a shapefile (it truncates the text); pick GeoPackage"
        )
    from osgeo import gdal

    with tempfile.TemporaryDirectory(prefix="sar-narrator-") as scratch:
        staged = Path(scratch) / f"{layer}.gpkg"
        count = write_polygons(staged, layer, crs, fields, features, style)
        with atomic_file(path, inputs=inputs) as tmp:
            options = gdal.VectorTranslateOptions(layers=[layer], layerName=layer)
            if gdal.VectorTranslate(str(tmp), str(staged), options=options) is None:
                raise OptionError("OUTPUT", f"GDAL cannot write {path.name} in that format")
    return count


def cache_folder(source: GdalSource, bundle_sha: str, grid: dict[str, Any]) -> Path:
    """Where the index of a raster (window), bundle and grid is cached for reuse."""
    key = json.dumps([list(source.files), source.reading, bundle_sha, grid], sort_keys=True)
    return data_dir() / "indexes" / hashlib.sha256(key.encode()).hexdigest()[:20]
