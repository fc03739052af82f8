"""The two abstractions every raster input is read through: a `RasterSource` describes a raster's grid
and radiometry; its `Reader` (one per thread, since GDAL handles are not thread-safe) reads pixel windows.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np

from sargeo.geo.grid import Grid
from sargeo.records import Window


class Reader(ABC):
    """Reads pixel windows of one source; one reader per thread."""

    @abstractmethod
    def read(self, window: Window) -> np.ma.MaskedArray:
        """Pixels of ``window`` as (bands, height, width); masked where nodata, NaN or outside."""

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release file handles."""

    def __enter__(self) -> Reader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


@dataclass
class RasterSource(ABC):
    """A raster (file, mosaic or SAR product) presented on one grid.

    Attributes:
        name: What the tiles record as their source (paths joined by ``;``).
        grid: The grid that windows refer to.
        count: Number of bands.
        dtype: Numpy dtype name of the pixels as read.
        nodata: Nodata value, if any.
        polarisations: Polarisation (or band name) of each band.
        units: Radiometric units, one of `sargeo.records.UNITS`.
        acquisition_time: Acquisition start, when known.
    """

    name: str
    grid: Grid
    count: int
    dtype: str
    nodata: float | None
    polarisations: tuple[str, ...]
    units: str
    acquisition_time: datetime | None = None
    extra: dict[str, str] = field(default_factory=dict)

    @abstractmethod
    def open_reader(self) -> Reader:
        """A new reader with its own file handles (use one per thread)."""
