"""GDAL's and OGR's failures as sargeo's one-line errors.

rasterio raises "Read failed. See previous exception for details." and chains GDAL's own message as the
cause; GDAL reports a failed write only as log lines; SQLite's GeoPackage writer fails on a full disk with
whatever statement it was running. These helpers name the file and the real reason, on one line.
"""

from __future__ import annotations

import errno
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from rasterio.errors import RasterioIOError

from sargeo.errors import OutputError, ReadError

_NEARLY_FULL = 1 << 20
"""Free bytes under which a failed SQLite write is taken for a full disk (it may fail on any table)."""


def gdal_reason(exc: BaseException) -> str:
    """The first line of the GDAL message behind a rasterio error (rasterio chains it as the cause)."""
    while exc.__cause__ is not None:
        exc = exc.__cause__
    lines = str(exc).strip().splitlines()
    return lines[0] if lines else type(exc).__name__


@contextmanager
def pixel_reads(name: str, what: str = "pixels") -> Iterator[None]:
    """Turn a failed GDAL read (a truncated file, a missing VRT source) into a `ReadError`."""
    try:
        yield
    except RasterioIOError as exc:
        raise ReadError(f"{name}: the {what} cannot be read ({gdal_reason(exc)})") from exc


def ogr_write_error(exc: Exception, folder: Path) -> OSError:
    """An OGR writer's failure as an ``OSError``; on a full disk (SQLite's errors then vary) ENOSPC."""
    stats = os.statvfs(folder)
    if "disk is full" in str(exc) or stats.f_bavail * stats.f_frsize < _NEARLY_FULL:
        return OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(folder))
    first = str(exc).split("(", 1)[0].strip()[:200]
    return OutputError(f"cannot write the GeoPackage in {folder} ({first})")
