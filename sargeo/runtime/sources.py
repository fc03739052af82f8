"""What the runtime needs of a raster: its grid, radiometry and windows, behind a small protocol.

The CLI gives a `sargeo.geo` raster (any file, mosaic or SAFE product rasterio reads; see
`sargeo.inference.geo_source`); the QGIS plugin gives its own over GDAL or a layer's data provider.
The runtime never opens files itself, so it depends on neither.

A raster's fingerprint (`fingerprint_files`) is what an embedding index is keyed by: every file's
path, size and modification time, and the sha256 of 16 samples of 64 KiB spread over its bytes
(first and last included), so that a rewritten or edited raster is noticed without reading all of it.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from sargeo.runtime.gpkg import Crs
from sargeo.runtime.grid import Transform, Window

SAMPLES = 16
SAMPLE_BYTES = 1 << 16


class WindowReader(Protocol):
    """Reads pixel windows; one per thread."""

    def read(self, window: Window) -> np.ma.MaskedArray:
        """(bands, height, width) pixels, masked where nodata or outside the raster."""
        ...

    def close(self) -> None:
        """Release file handles."""
        ...


class WindowSource(Protocol):
    """A raster (file, mosaic, product) on one grid, as the runtime reads it.

    Attributes:
        name: What features record as their source.
        files: The files whose bytes decide the pixels (fingerprinted).
        width: Grid width in pixels.
        height: Grid height in pixels.
        transform: Affine transform of the grid (GDAL order).
        crs: The grid's CRS.
        polarisations: Polarisation of each band.
        units: Radiometric units (``linear``, ``dB``, ``amplitude``, ``uint8``).
        nodata: Nodata value, if any.
        acquisition_time: ISO acquisition time, or empty.
        reading: Options that change the pixels read (target CRS, resolution, overrides).
    """

    name: str
    files: tuple[str, ...]
    width: int
    height: int
    transform: Transform
    crs: Crs
    polarisations: tuple[str, ...]
    units: str
    nodata: float | None
    acquisition_time: str
    reading: dict[str, Any]

    def pixel_spacing(self, window: Window) -> tuple[float, float]:
        """Pixel size (x, y) in metres at the window."""
        ...

    def open_reader(self) -> WindowReader:
        """A new reader with its own file handles."""
        ...


def _file_prints(path: Path, digest: Any) -> None:
    stat = path.stat()
    digest.update(f"{path}|{stat.st_size}|{stat.st_mtime_ns};".encode())
    if stat.st_size == 0:
        return
    step = max(0, stat.st_size - SAMPLE_BYTES) / max(1, SAMPLES - 1)
    with path.open("rb") as handle:
        for i in range(SAMPLES):
            handle.seek(int(i * step))
            digest.update(handle.read(SAMPLE_BYTES))


def fingerprint_files(paths: Sequence[str | os.PathLike[str]]) -> str:
    """sha256 over the files (folders: every file inside, sorted) as the module docstring says."""
    digest = hashlib.sha256()
    for item in paths:
        path = Path(item).resolve()
        files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
        for file in files:
            _file_prints(file, digest)
    return digest.hexdigest()
