"""``sargeo ask``: a question about regions of a raster, answered by SAR-GPT: the torch model of a
checkpoint, or a bundle through the torch-free runtime (`sargeo.runtime.gpt.GptModel`).

The regions are the polygons of a vector file (reprojected to the raster's CRS; each one's bounding
window is read), one extent in the raster's CRS, or, without either, the raster's tiles. Each region's
window is read from the raster engine, prepared as in training (`sargeo.runtime.preprocess`) and
answered in a fresh conversation. The GeoPackage (layer ``ask``) has one polygon per region with the
question, the answer, the model, checkpoint and bundle hashes, and the tile attributes of the embedding index
(`sargeo.runtime.index.TILE_FIELDS`).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from sargeo.atomic import atomic_file
from sargeo.errors import InputError, OptionError, OutputError
from sargeo.inference.commands import Reading
from sargeo.inference.geo_source import GeoWindowSource, open_rasters
from sargeo.runtime.gpkg import Field, Style, write_polygons
from sargeo.runtime.grid import Window, intersection, pixel_to_xy, tile_windows
from sargeo.runtime.index import TILE_FIELDS
from sargeo.runtime.pipeline import prepare_window
from sargeo.runtime.preprocess import PreprocessSpec
from sargeo.runtime.styles import graduated_qml

LAYER = "ask"
FIELDS = [
    Field("region", "MEDIUMINT"),
    Field("question", "TEXT"),
    Field("answer", "TEXT"),
    *TILE_FIELDS,
    Field("model", "TEXT"),
    Field("checkpoint_sha256", "TEXT"),
    Field("bundle_sha256", "TEXT"),
]
MAX_REGION_PX = 8192
"""Largest side of a region read at full resolution (bigger regions: draw smaller ones)."""


@dataclass(frozen=True)
class Region:
    """A window of the raster to ask about."""

    number: int
    window: Window


def _window_of(bounds: Sequence[float], source: GeoWindowSource, what: str) -> Window:
    """The raster window that covers map ``bounds`` (minx, miny, maxx, maxy), clipped to the raster."""
    a, b, c, d, e, f = source.transform
    if b or d:
        raise InputError(f"{source.name} is rotated; regions need a north-up raster")
    minx, miny, maxx, maxy = bounds
    cols = sorted(((minx - c) / a, (maxx - c) / a))
    rows = sorted(((maxy - f) / e, (miny - f) / e))
    eps = 1e-6  # pixel edges computed in floating point
    col0, row0 = int(np.floor(cols[0] + eps)), int(np.floor(rows[0] + eps))
    col1, row1 = int(np.ceil(cols[1] - eps)), int(np.ceil(rows[1] - eps))
    want = Window(col0, row0, col1 - col0, row1 - row0)
    inside = intersection(want, Window(0, 0, source.width, source.height))
    if inside is None or inside.width < 1 or inside.height < 1:
        raise InputError(f"{what} lies outside the raster {source.name}")
    if max(inside.width, inside.height) > MAX_REGION_PX:
        raise InputError(
            f"{what} is {inside.width}x{inside.height} px; at most {MAX_REGION_PX} px a side"
        )
    return inside


def regions_of(
    source: GeoWindowSource,
    vector: Path | None,
    extent: Sequence[float] | None,
    tile_size: int,
) -> list[Region]:
    """The regions to ask about (see the module docstring)."""
    if vector is not None and extent is not None:
        raise OptionError("regions", "give regions or an extent, not both")
    if extent is not None:
        if len(extent) != 4 or not (extent[0] < extent[2] and extent[1] < extent[3]):
            raise OptionError("extent", "must be XMIN,YMIN,XMAX,YMAX with XMIN < XMAX, YMIN < YMAX")
        return [Region(1, _window_of(extent, source, "the extent"))]
    if vector is not None:
        return [
            Region(i + 1, _window_of(b, source, f"region {i + 1} of {vector.name}"))
            for i, b in enumerate(_vector_bounds(vector, source))
        ]
    if tile_size < 16:
        raise OptionError("tile_size", f"must be at least 16, got {tile_size}")
    rows = tile_windows(source.width, source.height, tile_size, 0)
    return [Region(i + 1, w) for i, w in enumerate(w for row in rows for w in row)]


def _vector_bounds(path: Path, source: GeoWindowSource) -> list[tuple[float, ...]]:
    import geopandas as gpd
    import pyogrio.errors

    try:
        frame = gpd.read_file(path, engine="pyogrio")
    except (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError, OSError) as exc:
        raise InputError(f"cannot read regions from {path}: {str(exc).splitlines()[0]}") from exc
    frame = frame[frame.geometry.notna() & ~frame.geometry.is_empty]
    if frame.empty:
        raise InputError(f"{path} holds no region (no geometry)")
    if frame.crs is not None and source.crs.wkt:
        frame = frame.to_crs(source.crs.wkt)
    return [tuple(float(v) for v in g.bounds) for g in frame.geometry]


@dataclass(frozen=True)
class Answerer:
    """A model that answers one question about prepared images, with its provenance."""

    name: str
    preprocess: PreprocessSpec
    answer: Callable[[np.ndarray], str]
    """Prepared image (3, S, S) -> answer."""
    checkpoint_sha256: str = ""
    bundle_sha256: str = ""


def torch_answerer(checkpoint: Path, question: str, max_new_tokens: int | None) -> Answerer:
    """The torch model of a SAR-GPT run or checkpoint; a question too long fails here."""
    import torch

    from sargeo.models.gpt import load_gpt
    from sargeo.models.gpt.generate import generate

    model = load_gpt(checkpoint)
    model.chat.prompt([], question)

    def answer(image: np.ndarray) -> str:
        return generate(
            model, torch.from_numpy(image), question, max_new_tokens=max_new_tokens
        ).text

    sha = str(model.config.get("checkpoint_sha256", ""))
    return Answerer(model.name, model.preprocess, answer, sha)


def bundle_answerer(
    bundle: Path, question: str, max_new_tokens: int | None, threads: int | None = None
) -> Answerer:
    """A ``gpt`` bundle through the torch-free runtime; a question too long fails here."""
    from sargeo.runtime.bundle import load_bundle
    from sargeo.runtime.gpt import GptModel

    model = GptModel(load_bundle(bundle), threads)
    model.text.prompt(question)

    def answer(image: np.ndarray) -> str:
        return model.answer(image[None], [question], max_new_tokens)[0]

    sha = str(model.bundle.meta.get("training", {}).get("checkpoint_sha256", ""))
    return Answerer(model.name, model.bundle.preprocess, answer, sha, model.bundle.sha256)


def ask_raster(
    raster: Path,
    question: str,
    checkpoint: Path | None,
    output: Path,
    *,
    bundle: Path | None = None,
    threads: int | None = None,
    regions: Path | None = None,
    extent: Sequence[float] | None = None,
    tile_size: int = 512,
    max_new_tokens: int | None = None,
    reading: Reading | None = None,
    overwrite: bool = False,
    progress: bool = True,
) -> str:
    """Answer ``question`` about each region of ``raster`` with a checkpoint or a bundle (one of
    them); write the answers to ``output``; a summary."""
    from tqdm import tqdm

    if (checkpoint is None) == (bundle is None):
        raise OptionError("checkpoint", "give a checkpoint or a bundle (one of them)")
    if not question.strip():
        raise InputError("the question is empty")
    if output.suffix.lower() != ".gpkg":
        raise OptionError("output", f"must be a GeoPackage (.gpkg), got {output.name}")
    if output.exists() and not overwrite:
        raise OutputError(f"output {output} exists (use `overwrite` to replace it)")
    if max_new_tokens is not None and max_new_tokens < 1:
        raise OptionError("max_new_tokens", f"must be at least 1, got {max_new_tokens}")
    r = reading or Reading()
    source = open_rasters(
        [raster], crs=r.crs, resolution=r.resolution, units=r.units,
        polarisations=r.polarisations, allow_pixel_coords=r.allow_pixel_coords,
    )[0]  # fmt: skip
    chosen = regions_of(source, regions, extent, tile_size)
    if bundle is not None:  # a question too long for the context fails before any read
        model = bundle_answerer(bundle, question, max_new_tokens, threads)
    else:
        assert checkpoint is not None
        model = torch_answerer(checkpoint, question, max_new_tokens)
    started = time.perf_counter()
    features: list[tuple[list[tuple[float, float]], list[Any]]] = []
    reader = source.open_reader()
    try:
        for region in tqdm(chosen, disable=not progress, unit="region", leave=False):
            w = region.window
            data = reader.read(w)
            valid = float(1.0 - np.ma.getmaskarray(data).all(axis=0).mean())
            answer = model.answer(prepare_window(data, source, model.preprocess))
            corners = [(w.col, w.row), (w.col + w.width, w.row), (w.col + w.width, w.row + w.height),
                       (w.col, w.row + w.height), (w.col, w.row)]  # fmt: skip
            spacing = source.pixel_spacing(w)
            tile = [
                f"r{w.row:06d}_c{w.col:06d}", source.name, w.col, w.row, w.width, w.height,
                float(spacing[0]), float(spacing[1]), source.acquisition_time, valid,
            ]  # fmt: skip
            values = [region.number, question, answer, *tile, model.name]
            values += [model.checkpoint_sha256, model.bundle_sha256]
            features.append(([pixel_to_xy(source.transform, x, y) for x, y in corners], values))
    finally:
        reader.close()
    style = Style(
        "sargeo ask",
        graduated_qml("region", [float(v[0]) for _, v in features], label="answer"),
        "one colour per region, the answer as label",
    )
    inputs = [raster, *[p for p in (checkpoint, bundle, regions) if p is not None]]
    with atomic_file(output, inputs=inputs) as tmp:
        count = write_polygons(tmp, LAYER, source.crs, FIELDS, features, style)
    seconds = time.perf_counter() - started
    lines = [f"{count} answer(s) in {output} (layer '{LAYER}'), {seconds:.1f} s"]
    lines += [f"  region {v[0]}: {v[2]!r}" for _, v in features[:5]]
    if count > 5:
        lines.append(f"  ... and {count - 5} more")
    return "\n".join(lines)
