"""Tiling: a grid of windows over a `RasterSource`, read concurrently, written as GeoTIFF chips plus a
tile index GeoPackage.

Chips are one GeoTIFF per tile: each is a standalone, georeferenced file that QGIS, GDAL and a training
data loader open independently, and a failed run never corrupts a shared store.

Concurrency: each worker thread owns one reader (its own GDAL handles) and a contiguous band of tile
rows, read in raster order, so GDAL's block cache of that handle absorbs the tile overlap and every
compressed block is decoded about once. GDAL releases the GIL while decoding, so threads scale.
"""

from __future__ import annotations

import json
import math
import os
import threading
import time
import warnings
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import rasterio
from affine import Affine
from rasterio.errors import NotGeoreferencedWarning
from rasterio.io import MemoryFile
from tqdm import tqdm

from sargeo.atomic import atomic_dir
from sargeo.errors import OptionError, SargeoError
from sargeo.geo.grid import crs_text, pixel_spacing_m
from sargeo.geo.index import write_tile_index
from sargeo.geo.readers import RasterSource
from sargeo.geo.source import open_source
from sargeo.records import Tile
from sargeo.runtime import preprocess
from sargeo.runtime.grid import (
    Transform,
    Window,
    tile_id_prefixes,
    tile_windows,
    window_bounds,
    window_transform,
)

CHIPS = "chips"
INDEX = "tiles.gpkg"
MANIFEST = "tiling.json"
MIN_TILE = 16
"""The smallest tile side in pixels."""


@dataclass(frozen=True)
class TilingOptions:
    """How to tile.

    Attributes:
        size: Tile size in pixels (ignored when ``tile_metres`` is set).
        overlap: Overlap between neighbouring tiles in pixels.
        resolution: Target pixel size (metres for projected CRSs); reprojects on the fly.
        crs: Target CRS (EPSG code, CRS text, or ``utm``).
        tile_metres: Tile size in metres; geographic rasters go to their UTM zone.
        to_db: Convert pixels to dB.
        clip: Clip range in the output units.
        speckle: Name of a speckle filter from `sargeo.geo.speckle`.
        max_nodata: Skip tiles whose nodata share exceeds this.
        allow_pixel_coords: Accept rasters without a CRS.
        mosaic: Combine several rasters into one source.
        units: Override the detected radiometric units.
        workers: Reader threads (default: all cores).
        calibration: For Sentinel-1 SAFE products: ``sigma0``, ``gamma0`` or ``beta0``.
    """

    size: int = 512
    overlap: int = 0
    resolution: float | None = None
    crs: str | None = None
    tile_metres: float | None = None
    to_db: bool = False
    clip: tuple[float, float] | None = None
    speckle: str | None = None
    max_nodata: float = 0.5
    allow_pixel_coords: bool = False
    mosaic: bool = False
    units: str | None = None
    workers: int | None = None
    calibration: str = "sigma0"

    def check(self) -> None:
        """Refuse inconsistent options with a clear message."""
        if self.size < MIN_TILE:
            raise OptionError("size", f"must be at least {MIN_TILE} pixels, got {self.size}")
        if not 0 <= self.overlap < self.size:
            raise OptionError("overlap", f"must be in [0, size), got {self.overlap}")
        if not 0.0 <= self.max_nodata <= 1.0:
            raise OptionError("max_nodata", f"must be in [0, 1], got {self.max_nodata}")
        if self.resolution is not None and self.resolution <= 0:
            raise OptionError("resolution", f"must be positive, got {self.resolution}")
        if self.tile_metres is not None and self.tile_metres <= 0:
            raise OptionError("tile_metres", f"must be positive, got {self.tile_metres}")
        if self.workers is not None and self.workers < 1:
            raise OptionError("workers", f"must be at least 1, got {self.workers}")


@dataclass
class TilingResult:
    """What a tiling run wrote."""

    output: Path
    tiles: list[Tile]
    skipped: int
    megabytes_read: float
    seconds: float
    sources: list[str] = field(default_factory=list)

    @property
    def index(self) -> Path:
        """The tile index GeoPackage."""
        return self.output / INDEX

    def summary(self) -> str:
        """A few lines for the terminal."""
        rate = self.megabytes_read / self.seconds if self.seconds > 0 else float("nan")
        lines = [
            f"tiled {len(self.sources)} raster(s): {len(self.tiles)} tiles written, "
            f"{self.skipped} skipped as mostly nodata",
            f"read {self.megabytes_read:.1f} MB of pixels in {self.seconds:.1f} s ({rate:.0f} MB/s)",
            f"chips:      {self.output / CHIPS}",
            f"tile index: {self.index} (layer 'tiles')",
        ]
        return "\n".join(lines)


def tile_size(source: RasterSource, options: TilingOptions) -> int:
    if options.tile_metres is None:
        return options.size
    spacing = pixel_spacing_m(source.grid)[0]
    size = round(options.tile_metres / spacing)
    if size < MIN_TILE:
        raise OptionError(
            "tile_metres",
            f"{options.tile_metres:g} m gives {size} px tiles at {spacing:.3g} m pixels; "
            f"tiles need at least {MIN_TILE} px ({MIN_TILE * spacing:.3g} m)",
        )
    return size


class ChipWriter:
    """Turns a masked window into a chip file and its `Tile` record."""

    def __init__(self, source: RasterSource, options: TilingOptions, chips: Path, prefix: str):
        self.source = source
        self.options = options
        self.chips = chips
        self.prefix = prefix
        self.converts = options.to_db or options.speckle is not None or options.clip is not None
        self.dtype = "float32" if self.converts else source.dtype
        self.units = "dB" if options.to_db else source.units
        self.nodata: float | None = float("nan") if self.converts else source.nodata
        self.crs = crs_text(source.grid.crs)

    def process(self, window: Window, name: str, data: np.ma.MaskedArray) -> Tile | None:
        mask = np.ma.getmaskarray(data).any(axis=0)
        valid = 1.0 - np.count_nonzero(mask) / mask.size
        if 1.0 - valid > self.options.max_nodata or valid == 0.0:
            return None
        pixels = self._convert(data)
        tile_id = f"{self.prefix}{name}"
        path = self.chips / f"{tile_id}.tif"
        transform = window_transform(self.source.grid.transform, window)
        self._write(path, pixels, transform)
        return Tile(
            id=tile_id,
            source=self.source.name,
            window=window,
            crs=self.crs,
            transform=transform,
            bounds=window_bounds(self.source.grid.transform, window),
            pixel_spacing=pixel_spacing_m(self.source.grid, window),
            polarisations=self.source.polarisations,
            units=self.units,
            acquisition_time=self.source.acquisition_time,
            chip=f"{CHIPS}/{path.name}",
            valid_fraction=round(valid, 6),
        )

    def _convert(self, data: np.ma.MaskedArray) -> np.ndarray:
        opts = self.options
        masked = np.ma.getmaskarray(data)
        if not self.converts and not masked.any():
            # The common case: nothing to fill or convert, so write the pixels as read (no copies;
            # the two full-tile copies cost about a quarter of the CPU that decoding the tile does).
            return np.asarray(data.data)
        if self.dtype != "float32":
            pixels = np.asarray(data.data)
            if self.nodata is not None:
                pixels = np.where(masked, self.nodata, pixels).astype(self.dtype)
            return pixels
        pixels = np.where(masked, np.nan, data.data.astype(np.float32))
        units = self.source.units
        if opts.speckle is not None:
            from sargeo.geo.speckle import apply_speckle_filter

            pixels = apply_speckle_filter(opts.speckle, pixels, units)
        if opts.to_db:
            pixels = preprocess.to_db(pixels, units)
        if opts.clip is not None:
            pixels = preprocess.clip(pixels, *opts.clip)
        return pixels.astype(np.float32)

    def _write(self, path: Path, pixels: np.ndarray, transform: Transform) -> None:
        """Encode the chip in memory, then write its bytes with Python's file I/O.

        GDAL reports a failed write (a full disk) only as log lines and carries on; Python raises an
        ``OSError`` that stops the run with one clear message.
        """
        count, height, width = pixels.shape
        with warnings.catch_warnings(), MemoryFile() as memory:
            # Pixel-coordinate rasters (--allow-pixel-coords) have no CRS by the user's choice.
            warnings.simplefilter("ignore", NotGeoreferencedWarning)
            with memory.open(
                driver="GTiff",
                width=width,
                height=height,
                count=count,
                dtype=self.dtype,
                crs=self.source.grid.crs,
                transform=Affine(*transform),
                nodata=self.nodata,
            ) as dst:
                dst.write(pixels)
                dst.descriptions = self.source.polarisations
                dst.update_tags(units=self.units, source=self.source.name)
            encoded = memory.getbuffer()
            with path.open("wb") as fh:
                fh.write(encoded)


def tile_source(
    source: RasterSource,
    options: TilingOptions,
    chips: Path,
    *,
    prefix: str = "",
    progress: bool = True,
) -> tuple[list[Tile], int]:
    """Tile one source into ``chips``; returns the tiles written and the number skipped."""
    size = tile_size(source, options)
    if options.overlap >= size:
        raise OptionError(
            "overlap", f"({options.overlap}) must be smaller than the tile ({size} px)"
        )
    rows = tile_windows(source.grid.width, source.grid.height, size, options.overlap)
    workers = min(options.workers or os.cpu_count() or 1, len(rows))
    per_worker = math.ceil(len(rows) / workers)
    bands = [list(enumerate(rows))[i : i + per_worker] for i in range(0, len(rows), per_worker)]
    writer = ChipWriter(source, options, chips, prefix)
    total = sum(len(r) for r in rows)
    bar = tqdm(total=total, unit="tile", desc="tiling", disable=not progress, leave=False)
    lock = threading.Lock()

    stop = threading.Event()

    def work(band: list[tuple[int, list[Window]]]) -> list[Tile | None]:
        out: list[Tile | None] = []
        with rasterio.Env(), source.open_reader() as reader:
            for r, row in band:
                if stop.is_set():
                    break
                for c, window in enumerate(row):
                    out.append(writer.process(window, f"r{r:04d}_c{c:04d}", reader.read(window)))
                with lock:
                    bar.update(len(row))
        return out

    try:
        with ThreadPoolExecutor(max_workers=workers) as pool:
            try:
                results = [t for part in pool.map(work, bands) for t in part]
            except BaseException:
                stop.set()  # the other threads stop at their next row instead of finishing
                raise
    finally:
        bar.close()
    tiles = [t for t in results if t is not None]
    return tiles, len(results) - len(tiles)


def source_groups(paths: list[Path], options: TilingOptions) -> list[list[Path]]:
    """The rasters of each source: all of them as one mosaic, or one each."""
    return [paths] if options.mosaic or len(paths) == 1 else [[p] for p in paths]


def group_prefixes(groups: list[list[Path]]) -> list[str]:
    """The tile-id prefix of each source (none for a single one)."""
    return tile_id_prefixes([g[0] for g in groups]) if len(groups) > 1 else [""]


def open_group(group: list[Path], options: TilingOptions) -> RasterSource:
    """One source (a raster, or a mosaic of the group) read as ``options`` say."""
    return open_source(
        group,
        crs=options.crs,
        resolution=options.resolution,
        mosaic=options.mosaic,
        allow_pixel_coords=options.allow_pixel_coords,
        units=options.units,
        metric=options.tile_metres is not None,
        calibration=options.calibration,
    )


def source_megabytes(source: RasterSource) -> float:
    """Megabytes of pixels in a source's grid (what tiling it reads)."""
    itemsize = np.dtype(source.dtype).itemsize
    return source.grid.width * source.grid.height * source.count * itemsize / 1e6


def check_tiles(tiles: list[Tile]) -> None:
    """Refuse an empty run; a repeated tile id is a bug (chips would overwrite each other)."""
    if len({t.id for t in tiles}) != len(tiles):
        raise AssertionError("two tiles got the same id")
    if not tiles:
        raise SargeoError("no tile written: every tile is mostly nodata (see `max_nodata`)")


def write_manifest(
    folder: Path,
    sources: list[RasterSource],
    options: TilingOptions,
    tiles: list[Tile],
    skipped: int,
) -> None:
    """``tiling.json``: the sources, options and what was written."""
    manifest = {
        "sources": [s.name for s in sources],
        "options": asdict(options),
        "tiles": len(tiles),
        "skipped": skipped,
        "crs": tiles[0].crs,
        "units": tiles[0].units,
        "polarisations": list(tiles[0].polarisations),
    }
    (folder / MANIFEST).write_text(json.dumps(manifest, indent=2, default=str))


def tile_to_folder(
    paths: list[Path],
    output: Path,
    options: TilingOptions,
    *,
    overwrite: bool = False,
    progress: bool = True,
) -> TilingResult:
    """Tile rasters into ``output``: ``chips/*.tif``, ``tiles.gpkg`` and ``tiling.json``.

    Several paths are one mosaic with ``options.mosaic``, else each is tiled on its own (tile ids then
    start with the raster's file name). The folder appears only when everything is written.
    """
    options.check()
    start = time.perf_counter()
    groups = source_groups(paths, options)
    sources = [open_group(group, options) for group in groups]
    tiles: list[Tile] = []
    skipped = 0
    megabytes = 0.0
    with atomic_dir(output, inputs=paths, overwrite=overwrite) as tmp:
        chips = tmp / CHIPS
        chips.mkdir()
        for prefix, source in zip(group_prefixes(groups), sources, strict=True):
            got, lost = tile_source(source, options, chips, prefix=prefix, progress=progress)
            tiles.extend(got)
            skipped += lost
            megabytes += source_megabytes(source)
        check_tiles(tiles)
        write_tile_index(tiles, tmp / INDEX)
        seconds = time.perf_counter() - start
        write_manifest(tmp, sources, options, tiles, skipped)
    return TilingResult(output, tiles, skipped, megabytes, seconds, [s.name for s in sources])
