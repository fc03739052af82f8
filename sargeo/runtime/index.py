"""The embedding index of rasters: a folder reused while nothing changed, rebuilt when anything did.

Layout of ``INDEX/``:

- ``index.json``: format and version, the key (every raster's fingerprint and grid, how it was read,
  the tile grid, the bundle's sha256), the rasters' georeference, the tile count and vector size.
- ``vectors.f16``: one unit image embedding per tile, float16, row-major, memory-mapped when read.
- ``tiles.npy``: one record per tile (raster number, tile row and column, pixel window, valid share,
  pixel spacing in metres), in the vectors' order.
- ``tiles.gpkg``: the tile footprints (layer ``tiles``), to see in QGIS what the index covers.

That is format version 1, the single-file layout that ``sargeo index`` writes in one process. Version 2
is the sharded layout of an index built on Dask (``"layout": "sharded"``): the vectors and tile
records in ``shards/`` (see `sargeo.runtime.shards`), the footprints in ``tiles.parquet`` (GeoParquet)
and, up to a million tiles, ``tiles.gpkg``. Both open alike (`open_index`) and search alike.

The key decides reuse (`is_current`): same rasters (paths, sizes, times and sampled bytes), same grids
and reading options, same tile size, overlap and nodata limit, same bundle. Tiles with more invalid
pixels than the limit are not embedded. Building writes into a hidden folder renamed into place.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from sargeo.atomic import atomic_dir
from sargeo.errors import InputError, OptionError, OutputError
from sargeo.runtime.bundle import Bundle
from sargeo.runtime.clip import ClipModel
from sargeo.runtime.gpkg import Crs, Field, write_polygons
from sargeo.runtime.grid import Window, pixel_to_xy, tile_id_prefixes, tile_windows
from sargeo.runtime.pipeline import Cancelled, Progress, check_source, embed_windows
from sargeo.runtime.shards import ShardedVectors, open_shards, shards_complete
from sargeo.runtime.sources import WindowSource, fingerprint_files

FORMAT = "sargeo-index"
FORMAT_VERSION = 1
"""The single-file layout's version (older readers open these indexes too)."""
SHARDED_VERSION = 2
LAYOUTS = {FORMAT_VERSION: "single", SHARDED_VERSION: "sharded"}
"""Each format version's layout (``index.json``'s ``layout``, absent in version 1)."""
MANIFEST, VECTORS, TILES, FOOTPRINTS = "index.json", "vectors.f16", "tiles.npy", "tiles.gpkg"

TILE_DTYPE = np.dtype(
    [
        ("source", "<u4"),
        ("r", "<u4"),
        ("c", "<u4"),
        ("col", "<i8"),
        ("row", "<i8"),
        ("width", "<i4"),
        ("height", "<i4"),
        ("valid", "<f4"),
        ("spacing_x", "<f4"),
        ("spacing_y", "<f4"),
    ]
)


TILE_FIELDS = [
    Field("tile_id", "TEXT"),
    Field("source", "TEXT"),
    Field("col", "MEDIUMINT"),
    Field("row", "MEDIUMINT"),
    Field("width", "MEDIUMINT"),
    Field("height", "MEDIUMINT"),
    Field("pixel_spacing_x", "REAL"),
    Field("pixel_spacing_y", "REAL"),
    Field("acquisition_time", "TEXT"),
    Field("valid_fraction", "REAL"),
]
"""The attributes of a tile in every layer the index writes (`EmbeddingIndex.tile_values`)."""


@dataclass(frozen=True)
class IndexOptions:
    """The tile grid and the work.

    Attributes:
        size: Tile side in pixels of the raster's grid (tiles are resized to the model's input).
        overlap: Overlap between neighbouring tiles in pixels.
        max_nodata: Tiles with a larger share of invalid pixels are not embedded.
        batch: Tiles per inference call.
        readers: Reader threads.
        threads: ONNX Runtime threads (default: all cores).
    """

    size: int = 256
    overlap: int = 0
    max_nodata: float = 0.5
    batch: int = 32
    readers: int = 2
    threads: int | None = None

    def check(self) -> None:
        """Refuse inconsistent options."""
        if self.size < 8:
            raise OptionError("size", f"must be at least 8 pixels, got {self.size}")
        if not 0 <= self.overlap < self.size:
            raise OptionError("overlap", f"must be in [0, size), got {self.overlap}")
        if not 0.0 <= self.max_nodata < 1.0:
            raise OptionError("max_nodata", f"must be in [0, 1), got {self.max_nodata}")
        if self.batch < 1 or self.readers < 1:
            raise OptionError("batch", "and `readers` must be at least 1")

    def grid_key(self) -> dict[str, Any]:
        """The options that change which tiles exist (the rest only change speed)."""
        return {"size": self.size, "overlap": self.overlap, "max_nodata": self.max_nodata}


def _prefixes(sources: Sequence[WindowSource]) -> list[str]:
    """Tile-id prefixes of several rasters, named as `sargeo tile` names them."""
    if len(sources) == 1:
        return [""]
    return tile_id_prefixes([s.name.split(";")[0] for s in sources])


def source_record(source: WindowSource, prefix: str) -> dict[str, Any]:
    """A raster's georeference and identity, as stored in ``index.json``."""
    return {
        "name": source.name,
        "files": list(source.files),
        "fingerprint": fingerprint_files(source.files),
        "reading": source.reading,
        "width": source.width,
        "height": source.height,
        "transform": list(source.transform),
        "crs": asdict(source.crs),
        "polarisations": list(source.polarisations),
        "units": source.units,
        "acquisition_time": source.acquisition_time,
        "prefix": prefix,
    }


def source_records(sources: Sequence[WindowSource]) -> list[dict[str, Any]]:
    """`source_record` of each raster, with its tile-id prefix."""
    return [source_record(s, p) for s, p in zip(sources, _prefixes(sources), strict=True)]


def index_key(
    records: Sequence[dict[str, Any]], bundle: Bundle, options: IndexOptions
) -> dict[str, Any]:
    """Everything that decides the index's content."""
    identity = ("fingerprint", "reading", "width", "height", "transform", "crs", "polarisations")
    return {
        "rasters": [{k: r[k] for k in ("name", *identity)} for r in records],
        "tiles": options.grid_key(),
        "bundle": bundle.sha256,
    }


def read_manifest(folder: Path) -> dict[str, Any] | None:
    """``index.json`` of a folder, or None when it is not a readable index of a known version."""
    try:
        manifest = json.loads((folder / MANIFEST).read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        return None
    version = manifest.get("format_version")
    layout = LAYOUTS.get(version) if isinstance(version, int) else None
    return manifest if layout and manifest.get("layout", "single") == layout else None


def is_sharded(manifest: dict[str, Any]) -> bool:
    """Whether an index's vectors are in shards (format version 2)."""
    return manifest.get("layout") == "sharded"


def is_current(folder: Path, key: dict[str, Any]) -> bool:
    """Whether ``folder`` is a complete index with exactly this key."""
    manifest = read_manifest(folder)
    if manifest is None or manifest.get("key") != key:
        return False
    if is_sharded(manifest):
        return shards_complete(folder, manifest)
    expected = manifest["count"] * manifest["dim"] * 2
    vectors = folder / VECTORS
    return vectors.is_file() and vectors.stat().st_size == expected and (folder / TILES).is_file()


@dataclass
class EmbeddingIndex:
    """An index opened for search: vectors memory-mapped (one file or shards), tile records in memory."""

    folder: Path
    manifest: dict[str, Any]
    vectors: npt.NDArray[np.float16] | ShardedVectors
    tiles: npt.NDArray[Any]

    @property
    def sources(self) -> list[dict[str, Any]]:
        """The rasters' records (see `source_record`)."""
        return list(self.manifest["sources"])

    def tile_id(self, row: int) -> str:
        """The id of the tile of a vector row."""
        t = self.tiles[row]
        return f"{self.sources[int(t['source'])]['prefix']}r{int(t['r']):04d}_c{int(t['c']):04d}"

    def footprint(self, row: int) -> list[tuple[float, float]]:
        """The tile's corners in the raster's CRS (a closed ring)."""
        t = self.tiles[row]
        transform = self.sources[int(t["source"])]["transform"]
        col, top, w, h = int(t["col"]), int(t["row"]), int(t["width"]), int(t["height"])
        corners = [(col, top), (col + w, top), (col + w, top + h), (col, top + h), (col, top)]
        return [pixel_to_xy(transform, x, y) for x, y in corners]

    def crs(self) -> Crs:
        """The CRS every raster of the index shares."""
        return Crs(**self.sources[0]["crs"])

    def tile_values(self, row: int) -> list[Any]:
        """The `TILE_FIELDS` values of the tile of a vector row."""
        t = self.tiles[row]
        source = self.sources[int(t["source"])]
        return [
            self.tile_id(row), source["name"], int(t["col"]), int(t["row"]), int(t["width"]),
            int(t["height"]), float(t["spacing_x"]), float(t["spacing_y"]),
            source["acquisition_time"], float(t["valid"]),
        ]  # fmt: skip


def open_index(folder: Path) -> EmbeddingIndex:
    """Open an index folder for search; a missing, partial or foreign folder is an `InputError`."""
    manifest = read_manifest(folder)
    if manifest is None:
        versions = " or ".join(map(str, LAYOUTS))
        raise InputError(f"{folder} is not a sargeo embedding index of format version {versions}")
    if is_sharded(manifest):
        return EmbeddingIndex(folder, manifest, *open_shards(folder, manifest, TILE_DTYPE))
    count, dim = int(manifest["count"]), int(manifest["dim"])
    path = folder / VECTORS
    if not path.is_file() or path.stat().st_size != count * dim * 2:
        raise InputError(f"index {folder}: {VECTORS} is missing or incomplete; build it again")
    vectors = (
        np.memmap(path, dtype=np.float16, mode="r", shape=(count, dim))
        if count
        else np.zeros((0, dim), np.float16)
    )
    try:
        tiles = np.load(folder / TILES, allow_pickle=False)
    except (OSError, ValueError) as exc:
        raise InputError(f"index {folder}: {TILES} cannot be read; build it again") from exc
    if len(tiles) != count:
        raise InputError(f"index {folder}: {TILES} does not match {VECTORS}; build it again")
    return EmbeddingIndex(folder, manifest, vectors, tiles)


def _compact(path: Path, vectors: np.memmap, kept: npt.NDArray[np.bool_], dim: int) -> int:
    """Move kept rows forward over skipped ones, then cut the file to the kept rows."""
    rows = np.flatnonzero(kept)
    for start in range(0, len(rows), 65536):
        chunk = rows[start : start + 65536]
        vectors[start : start + len(chunk)] = vectors[chunk]  # chunk >= destination: safe in place
    vectors.flush()
    del vectors
    os.truncate(path, len(rows) * dim * 2)
    return len(rows)


def check_sources(sources: Sequence[WindowSource], model: ClipModel) -> None:
    """Refuse, before any work, rasters that cannot share an index or that the model cannot read."""
    if not sources:
        raise InputError("no raster to index")
    if len({(s.crs.code, s.crs.wkt) for s in sources}) > 1:
        raise InputError("the rasters of one index must share a CRS: index them one by one")
    for source in sources:
        check_source(source, model.bundle.preprocess)


def flat_grid(
    source: WindowSource, options: IndexOptions
) -> tuple[list[Window], list[tuple[int, int]]]:
    """A raster's tile windows in index order (row by row) and each one's (row, column) in the grid."""
    grid = tile_windows(source.width, source.height, options.size, options.overlap)
    windows = [w for row in grid for w in row]
    return windows, [(r, c) for r, row in enumerate(grid) for c in range(len(row))]


def tile_block(
    number: int,
    source: WindowSource,
    windows: Sequence[Window],
    positions: Sequence[tuple[int, int]],
    valid: npt.NDArray[np.float32],
) -> npt.NDArray[Any]:
    """The `TILE_DTYPE` records of windows of raster ``number``."""
    block = np.zeros(len(windows), dtype=TILE_DTYPE)
    block["source"] = number
    block["r"] = [r for r, _ in positions]
    block["c"] = [c for _, c in positions]
    block["col"] = [w.col for w in windows]
    block["row"] = [w.row for w in windows]
    block["width"] = [w.width for w in windows]
    block["height"] = [w.height for w in windows]
    block["valid"] = valid
    spacing = [source.pixel_spacing(w) for w in windows]
    block["spacing_x"] = [s[0] for s in spacing]
    block["spacing_y"] = [s[1] for s in spacing]
    return block


def write_index(
    folder: Path,
    sources: Sequence[WindowSource],
    model: ClipModel,
    options: IndexOptions,
    *,
    progress: Progress | None = None,
    cancelled: Cancelled | None = None,
) -> dict[str, Any]:
    """Embed the rasters' tiles into the empty ``folder``; returns the manifest written."""
    started = time.perf_counter()
    check_sources(sources, model)
    spec = model.bundle.preprocess
    grids = [flat_grid(s, options) for s in sources]
    total = sum(len(windows) for windows, _ in grids)
    dim = model.bundle.embedding_size
    path = folder / VECTORS
    vectors = np.memmap(path, dtype=np.float16, mode="w+", shape=(max(total, 1), dim))
    tiles = np.zeros(total, dtype=TILE_DTYPE)
    kept = np.zeros(total, dtype=bool)
    offset = 0
    for number, (source, (windows, positions)) in enumerate(zip(sources, grids, strict=True)):
        span = slice(offset, offset + len(windows))
        done_before = offset

        def report(done: int, _: int, base: int = done_before) -> None:
            if progress is not None:
                progress(base + done, total)

        embedded = embed_windows(
            source, windows, spec, model.embed_images, vectors[span],
            batch=options.batch, readers=options.readers, max_nodata=options.max_nodata,
            progress=report, cancelled=cancelled,
        )  # fmt: skip
        kept[span] = embedded.kept
        tiles[span] = tile_block(number, source, windows, positions, embedded.valid)
        offset += len(windows)
    _compact(path, vectors, kept, dim)
    return finish_index(folder, sources, model, options, tiles[kept], total, started)


def finish_index(
    folder: Path,
    sources: Sequence[WindowSource],
    model: ClipModel,
    options: IndexOptions,
    tiles: npt.NDArray[Any],
    total: int,
    started: float,
    *,
    shards: Sequence[int] | None = None,
    footprints: Sequence[str] = (FOOTPRINTS,),
) -> dict[str, Any]:
    """Write the tile records, ``index.json`` and the footprints beside ``folder``'s vectors.

    Args:
        shards: Each shard's row count when the vectors and tile records are already in
            ``shards/`` (the sharded layout), else None (``vectors.f16``; ``tiles`` saved here).
        footprints: The footprint files the index has, as listed in ``index.json``: ``tiles.gpkg``
            is written here when listed; the others (GeoParquet) by the caller, afterwards.
    """
    count, dim = len(tiles), model.bundle.embedding_size
    if count == 0:
        raise InputError("no tile was indexed: every tile is mostly nodata (see `max_nodata`)")
    if shards is None:
        np.save(folder / TILES, tiles, allow_pickle=False)
    records = source_records(sources)
    layout: dict[str, Any] = {"format_version": FORMAT_VERSION}
    if shards is not None:
        layout = {"format_version": SHARDED_VERSION, "layout": "sharded", "shards": list(shards)}
    manifest = {
        "format": FORMAT,
        **layout,
        "key": index_key(records, model.bundle, options),
        "sources": records,
        "bundle": {
            "name": model.bundle.name,
            "sha256": model.bundle.sha256,
            "embedding_space": model.bundle.embedding_space,
            "path": str(model.bundle.root),
        },
        "count": count,
        "dim": dim,
        "dtype": "float16",
        "tiles_in_grid": total,
        "skipped": total - count,
        "seconds": round(time.perf_counter() - started, 3),
        "footprints": list(footprints),
    }
    (folder / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n")
    index = open_index(folder)
    if FOOTPRINTS in footprints:
        write_footprints(index)
    return manifest


def write_footprints(index: EmbeddingIndex) -> None:
    """The index's tile footprints as GeoPackage layer ``tiles`` (``tiles.gpkg``), in row order."""
    features = ((index.footprint(row), index.tile_values(row)) for row in range(len(index.tiles)))
    write_polygons(index.folder / FOOTPRINTS, "tiles", index.crs(), TILE_FIELDS, features)


def current_index(output: Path, key: dict[str, Any]) -> EmbeddingIndex | None:
    """The index at ``output`` when it is complete with exactly this key (reuse it), else None.

    An index with this key whose files do not open (a damaged shard or tile records) is None too:
    built again.

    Raises:
        OutputError: when ``output`` exists and is not an index (it is never replaced then).
    """
    if not output.exists():
        return None
    if not output.is_dir() or read_manifest(output) is None:
        raise OutputError(f"{output} exists and is not a sargeo index; name a new folder")
    if not is_current(output, key):
        return None
    try:
        return open_index(output)
    except InputError:
        return None


def build_index(
    output: Path,
    sources: Sequence[WindowSource],
    model: ClipModel,
    options: IndexOptions,
    *,
    inputs: Sequence[str | os.PathLike[str]] = (),
    progress: Progress | None = None,
    cancelled: Cancelled | None = None,
) -> tuple[EmbeddingIndex, bool]:
    """The index of ``sources`` at ``output``: reused when current, else (re)built atomically.

    Returns:
        The opened index, and whether an existing one was reused.

    Raises:
        OutputError: when ``output`` exists and is not an index (it is never replaced then).
    """
    options.check()
    records = source_records(sources)
    key = index_key(records, model.bundle, options)
    current = current_index(output, key)
    if current is not None:
        return current, True
    files = [f for s in sources for f in s.files]
    with atomic_dir(output, inputs=[*files, *inputs], overwrite=True) as tmp:
        write_index(tmp, sources, model, options, progress=progress, cancelled=cancelled)
    return open_index(output), False
