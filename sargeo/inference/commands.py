"""``sargeo index`` and ``sargeo search``: rasters through the runtime, results as GeoPackages.

The work is `sargeo.runtime`'s; this module opens rasters with the raster engine, shows progress
bars, reads query files and writes every output atomically, never over an input.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Sequence
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

from sargeo.atomic import atomic_file
from sargeo.errors import InputError, OptionError, OutputError
from sargeo.inference.geo_source import GeoWindowSource, open_rasters
from sargeo.runtime.bundle import load_bundle
from sargeo.runtime.clip import ClipModel
from sargeo.runtime.grid import Transform
from sargeo.runtime.heatmap import heatmap, write_geotiff
from sargeo.runtime.index import (
    EmbeddingIndex,
    IndexOptions,
    build_index,
    open_index,
    read_manifest,
)
from sargeo.runtime.results import check_compatible, search, write_hits
from sargeo.runtime.search import Searcher


@dataclass(frozen=True)
class Reading:
    """How rasters are opened (see `sargeo.inference.geo_source.open_rasters`)."""

    mosaic: bool = False
    crs: str | None = None
    resolution: float | None = None
    units: str | None = None
    polarisations: tuple[str, ...] | None = None
    allow_pixel_coords: bool = False

    def open(self, rasters: Sequence[Path]) -> list[GeoWindowSource]:
        """The rasters opened this way: one source each, or one mosaic."""
        return open_rasters(
            rasters,
            mosaic=self.mosaic,
            crs=self.crs,
            resolution=self.resolution,
            units=self.units,
            polarisations=self.polarisations,
            allow_pixel_coords=self.allow_pixel_coords,
        )


def progress_bar(show: bool, what: str) -> tuple[Callable[[int, int], None], Callable[[], None]]:
    bars: list[tqdm[Any]] = []

    def update(done: int, total: int) -> None:
        if not show:
            return
        if not bars:
            bars.append(tqdm(total=total, unit="tile", desc=what, leave=False, dynamic_ncols=True))
        bars[0].n = done
        bars[0].refresh()

    def close() -> None:
        for bar in bars:
            bar.close()

    return update, close


def _index(
    rasters: Sequence[Path],
    model: ClipModel,
    output: Path,
    options: IndexOptions,
    reading: Reading,
    progress: bool,
) -> tuple[EmbeddingIndex, bool]:
    sources = reading.open(rasters)
    update, close = progress_bar(progress, "embedding tiles")
    try:
        return build_index(
            output, sources, model, options, inputs=[model.bundle.root], progress=update
        )
    finally:
        close()


def index_rasters(
    rasters: Sequence[Path],
    bundle: Path,
    output: Path,
    options: IndexOptions,
    reading: Reading,
    *,
    progress: bool = True,
) -> str:
    """Build (or reuse) the embedding index of ``rasters`` at ``output``; returns a summary."""
    model = ClipModel(load_bundle(bundle), options.threads)
    index, reused = _index(rasters, model, output, options, reading, progress)
    m = index.manifest
    if reused:
        return (
            f"index {output} is up to date ({m['count']} tiles, bundle {model.bundle.name}); reused"
        )
    rate = m["tiles_in_grid"] / m["seconds"] if m["seconds"] else float("nan")
    return (
        f"indexed {len(m['sources'])} raster(s): {m['count']} tiles embedded, {m['skipped']} skipped"
        f" as mostly nodata, in {m['seconds']:.1f} s ({rate:.1f} tiles/s)\n"
        f"index: {output} (footprints: {output / 'tiles.gpkg'})"
    )


def read_queries(text: str | None, file: Path | None) -> list[str]:
    """The query, or the queries of a file (one per line; blank lines and ``#`` comments skipped)."""
    if file is None:
        return [text or ""]
    try:
        lines = file.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read queries from {file}: {exc}") from exc
    queries = [line.strip() for line in lines if line.strip() and not line.lstrip().startswith("#")]
    if not queries:
        raise InputError(f"{file} holds no query (one per line)")
    return queries


def search_rasters(
    targets: Sequence[Path],
    queries: Sequence[str],
    bundle: Path,
    output: Path,
    *,
    k: int = 10,
    heatmap_path: Path | None = None,
    backend: str = "numpy",
    options: IndexOptions | None = None,
    reading: Reading | None = None,
    extra_inputs: Sequence[Path] = (),
    overwrite: bool = False,
    progress: bool = True,
) -> str:
    """Search an index folder, or rasters indexed on the fly, and write the hits as a GeoPackage."""
    if k < 1:
        raise OptionError("k", f"must be at least 1, got {k}")
    for path in (output, heatmap_path):
        if path is not None and path.exists() and not overwrite:
            raise OutputError(f"output {path} exists (use `overwrite` to replace it)")
    if output.suffix.lower() != ".gpkg":
        raise OptionError("output", f"must be a GeoPackage (.gpkg), got {output.name}")
    model = ClipModel(load_bundle(bundle), (options or IndexOptions()).threads)
    model.embed_texts(queries)  # empty or too long queries fail before any tile is read
    inputs = [*targets, bundle, *extra_inputs]
    with tempfile.TemporaryDirectory(prefix="sargeo-index-") as scratch:
        if len(targets) == 1 and read_manifest(targets[0]) is not None:
            index = open_index(targets[0])
            check_compatible(index, model)
        else:
            index, _ = _index(
                targets, model, Path(scratch) / "index", options or IndexOptions(),
                reading or Reading(), progress,
            )  # fmt: skip
        searcher = Searcher(index.vectors, backend)
        hits = search(index, model, queries, k, searcher=searcher)
        bands = _heatmaps(index, model, queries, searcher) if heatmap_path is not None else None
        # Both outputs appear together or not at all: the heatmap is renamed into place just
        # before the GeoPackage, after both were written.
        with (
            atomic_file(output, inputs=inputs) as tmp,
            atomic_file(heatmap_path, inputs=inputs) if heatmap_path else nullcontext() as tmp_map,
        ):
            count = write_hits(tmp, index, hits, model)
            if bands is not None and tmp_map is not None:
                write_geotiff(tmp_map, bands[0], bands[1], index.crs(), list(queries))
        lines = [f"{count} result(s) for {len(queries)} query(ies) in {output} (layer 'search')"]
        if heatmap_path is not None:
            lines.append(f"similarity heatmap: {heatmap_path} (one band per query)")
    best = [h for h in hits if h.rank == 1]
    lines += [
        f"  best for {h.query!r}: tile {index.tile_id(h.row)} (score {h.score:.3f})" for h in best
    ]
    return "\n".join(lines)


def _heatmaps(
    index: EmbeddingIndex, model: ClipModel, queries: Sequence[str], searcher: Searcher
) -> tuple[np.ndarray, Transform]:
    """One similarity grid per query (bands, rows, cols) and the grid's transform."""
    if len(index.sources) != 1:
        raise OptionError("heatmap", "needs an index of one raster or one mosaic")
    scores = searcher.scores(model.embed_texts(queries))
    grids = [heatmap(index, row) for row in scores]
    return np.stack([g for g, _ in grids]), grids[0][1]
