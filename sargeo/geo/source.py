"""Opening SAR rasters as one `RasterSource`: a file, a mosaic of files, or (via `sargeo.geo.safe`) a
Sentinel-1 SAFE product, optionally reprojected on the fly onto a target grid.

A source describes its grid and radiometry; `RasterSource.open_reader` gives a per-thread reader
(rasterio datasets are not thread-safe), whose `read` returns a masked array for a pixel window.
"""

from __future__ import annotations

import math
import re
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import numpy as np
import rasterio
from affine import Affine
from rasterio.crs import CRS
from rasterio.enums import Resampling
from rasterio.errors import RasterioIOError
from rasterio.vrt import WarpedVRT
from rasterio.warp import calculate_default_transform, transform_bounds
from rasterio.windows import Window as RioWindow

from sargeo.errors import SargeoError
from sargeo.records import UNITS, Window

POLARISATIONS = ("HH", "HV", "VH", "VV")
_POL_IN_NAME = re.compile(r"(?:^|[^A-Za-z])(HH|HV|VH|VV)(?:[^A-Za-z]|$)", re.IGNORECASE)


@dataclass(frozen=True)
class Grid:
    """A raster grid: CRS (None for pixel coordinates), affine transform and size."""

    crs: CRS | None
    transform: Affine
    width: int
    height: int

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        """(minx, miny, maxx, maxy) of the whole grid."""
        return window_bounds(self.transform, Window(0, 0, self.width, self.height))

    @property
    def resolution(self) -> tuple[float, float]:
        """Pixel size (x, y) in CRS units (the length of a pixel's sides, also on rotated grids)."""
        t = self.transform
        return math.hypot(t.a, t.d), math.hypot(t.b, t.e)


def window_bounds(transform: Affine, window: Window) -> tuple[float, float, float, float]:
    """Bounds of a pixel window under ``transform`` (exactly the transform applied to its corners)."""
    xs, ys = [], []
    for col, row in (
        (window.col, window.row),
        (window.col + window.width, window.row),
        (window.col, window.row + window.height),
        (window.col + window.width, window.row + window.height),
    ):
        x, y = transform @ (col, row)
        xs.append(x)
        ys.append(y)
    return min(xs), min(ys), max(xs), max(ys)


def window_transform(transform: Affine, window: Window) -> Affine:
    """Transform of a window's own pixel grid."""
    return transform @ Affine.translation(window.col, window.row)


def utm_crs_for(lon: float, lat: float) -> CRS:
    """The WGS 84 UTM zone CRS that contains a lon/lat point."""
    zone = min(int((lon + 180.0) // 6.0) + 1, 60)
    return CRS.from_epsg((32600 if lat >= 0 else 32700) + zone)


def pixel_spacing_m(grid: Grid, window: Window | None = None) -> tuple[float, float]:
    """Pixel size in metres at the window's centre (degrees converted for geographic CRSs)."""
    rx, ry = grid.resolution
    if grid.crs is None:
        return rx, ry
    if grid.crs.is_geographic:
        w = window or Window(0, 0, grid.width, grid.height)
        _, lat = grid.transform @ (w.col + w.width / 2, w.row + w.height / 2)
        metres_per_degree = 111_320.0
        return rx * metres_per_degree * math.cos(math.radians(lat)), ry * 110_574.0
    factor = grid.crs.linear_units_factor[1] if grid.crs.linear_units_factor else 1.0
    return rx * factor, ry * factor


def crs_text(crs: CRS | None) -> str:
    """``EPSG:n`` when the CRS has an EPSG code, else its WKT; empty for pixel coordinates."""
    if crs is None:
        return ""
    epsg = crs.to_epsg()
    return f"EPSG:{epsg}" if epsg else crs.to_wkt()


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


# --- files and mosaics through rasterio ----------------------------------------------------------


@dataclass
class _Member:
    path: Path
    grid: Grid  # the member's grid in the source's CRS (after warping, if any)
    warp: bool  # read through a WarpedVRT onto ``grid``
    offset: tuple[int, int]  # (col, row) of the member's grid origin in the source grid


@dataclass
class FileSource(RasterSource):
    """One file or a mosaic of files (first valid pixel wins), read through rasterio/GDAL."""

    members: list[_Member] = field(default_factory=list)
    resampling: Resampling = Resampling.bilinear

    def open_reader(self) -> Reader:
        return _FileReader(self)


class _FileReader(Reader):
    def __init__(self, source: FileSource) -> None:
        self.source = source
        self.handles: list[rasterio.io.DatasetReaderBase] = []
        self._opened: list[rasterio.io.DatasetReader] = []
        for member in source.members:
            ds = rasterio.open(member.path)
            self._opened.append(ds)
            if member.warp:
                self.handles.append(
                    WarpedVRT(
                        ds,
                        crs=source.grid.crs,
                        transform=member.grid.transform,
                        width=member.grid.width,
                        height=member.grid.height,
                        resampling=source.resampling,
                        src_nodata=ds.nodata,
                        nodata=source.nodata,
                    )
                )
            else:
                self.handles.append(ds)

    def read(self, window: Window) -> np.ma.MaskedArray:
        src = self.source
        shape = (src.count, window.height, window.width)
        if len(self.handles) == 1 and src.members[0].offset == (0, 0):
            return _read_masked(self.handles[0], window, src.nodata)
        fill = src.nodata if src.nodata is not None and not math.isnan(src.nodata) else 0
        data = np.full(shape, fill, dtype=src.dtype)
        mask = np.ones(shape, dtype=bool)
        for member, handle in zip(src.members, self.handles, strict=True):
            c0 = max(window.col, member.offset[0])
            r0 = max(window.row, member.offset[1])
            c1 = min(window.col + window.width, member.offset[0] + member.grid.width)
            r1 = min(window.row + window.height, member.offset[1] + member.grid.height)
            if c1 <= c0 or r1 <= r0:
                continue
            part = _read_masked(
                handle,
                Window(c0 - member.offset[0], r0 - member.offset[1], c1 - c0, r1 - r0),
                src.nodata,
            )
            dst = (slice(None), slice(r0 - window.row, r1 - window.row),
                   slice(c0 - window.col, c1 - window.col))  # fmt: skip
            take = mask[dst] & ~np.ma.getmaskarray(part)
            data[dst][take] = part.data[take]
            mask[dst] &= ~take
        return np.ma.MaskedArray(data, mask=mask)

    def close(self) -> None:
        for handle in self.handles:
            handle.close()
        for ds in self._opened:
            ds.close()


def _read_masked(
    handle: rasterio.io.DatasetReaderBase, window: Window, nodata: float | None
) -> np.ma.MaskedArray:
    rio_window = RioWindow(window.col, window.row, window.width, window.height)
    data = handle.read(window=rio_window)
    # NaN/inf are invalid in any float raster, so a NaN nodata needs no pass of its own.
    has_value = nodata is not None and not math.isnan(nodata)
    if data.dtype.kind == "f":
        mask = ~np.isfinite(data)
        if has_value:
            mask |= data == nodata
    elif has_value:
        mask = data == nodata
    else:
        mask = np.zeros(data.shape, dtype=bool)
    return np.ma.MaskedArray(data, mask=mask)


def _open_checked(path: Path) -> rasterio.io.DatasetReader:
    if not path.exists():
        raise SargeoError(f"{path}: no such file")
    if path.is_file() and path.stat().st_size == 0:
        raise SargeoError(f"{path}: the file is empty")
    try:
        return rasterio.open(path)
    except RasterioIOError as exc:
        first = str(exc).splitlines()[0] if str(exc) else "unreadable"
        raise SargeoError(f"{path}: not a raster GDAL can read ({first})") from exc


def detect_units(dtype: str, sample: np.ndarray | None, tags: dict[str, str]) -> str:
    """Guess radiometric units from tags, then dtype and values (negative floats mean dB)."""
    for key in ("units", "UNITS", "unit", "UNIT"):
        value = tags.get(key, "").strip()
        for unit in UNITS:
            if value.lower() == unit.lower():
                return unit
        if value.lower() in ("db", "decibel", "decibels"):
            return "dB"
    if dtype == "uint8":
        return "uint8"
    if np.dtype(dtype).kind in "iu":
        return "amplitude"
    finite = sample[np.isfinite(sample)] if sample is not None else np.empty(0)
    if finite.size and finite.min() < 0:
        return "dB"
    return "linear"


def detect_polarisations(path: Path, descriptions: tuple[str | None, ...]) -> tuple[str, ...]:
    """Polarisations from band descriptions, else from the file name, else ``B1``, ``B2``..."""
    found = [d.strip().upper() for d in descriptions if d and d.strip().upper() in POLARISATIONS]
    if len(found) == len(descriptions):
        return tuple(found)
    names = [m.upper() for m in _POL_IN_NAME.findall(path.stem)]
    if len(names) == len(descriptions):
        return tuple(names)
    return tuple(f"B{i + 1}" for i in range(len(descriptions)))


def _sample_values(ds: rasterio.io.DatasetReader) -> np.ndarray:
    """A small sample of band 1 (for unit detection) that decodes only a few compressed blocks.

    A decimated read is cheap with overviews or on a small raster; on a large raster without
    overviews it would decode every block (the whole file), so read a 3 x 3 grid of small windows.
    """
    if ds.overviews(1) or ds.width * ds.height <= 1 << 20:
        h = min(ds.height, 64)
        w = min(ds.width, 64)
        data = ds.read(1, out_shape=(h, w), resampling=Resampling.nearest).astype("float64")
    else:
        side, steps = min(16, ds.width, ds.height), 3
        parts = [
            ds.read(
                1,
                window=RioWindow(
                    min(int((i + 0.5) * ds.width / steps), ds.width - side),
                    min(int((j + 0.5) * ds.height / steps), ds.height - side),
                    side,
                    side,
                ),
            )
            for j in range(steps)
            for i in range(steps)
        ]
        data = np.stack(parts).astype("float64")
    if ds.nodata is not None and not math.isnan(ds.nodata):
        data[data == ds.nodata] = np.nan
    return data


def _acquisition_time(tags: dict[str, str]) -> datetime | None:
    for key in ("ACQUISITION_START_TIME", "acquisition_time", "TIFFTAG_DATETIME", "DATETIME"):
        value = tags.get(key)
        if not value:
            continue
        for fmt in (None, "%Y:%m:%d %H:%M:%S"):
            try:
                return (
                    datetime.fromisoformat(value) if fmt is None else datetime.strptime(value, fmt)
                )
            except ValueError:
                continue
    return None


def _target_crs(
    value: str | int | None, src_crs: CRS | None, centre_lonlat: tuple[float, float]
) -> CRS | None:
    if value is None:
        return src_crs
    if str(value).lower() == "utm":
        return utm_crs_for(*centre_lonlat)
    text = str(value)
    try:
        return CRS.from_epsg(int(text)) if text.isdigit() else CRS.from_user_input(text)
    except Exception as exc:  # rasterio raises CRSError, pyproj others
        raise SargeoError(f"unknown CRS {value!r}") from exc


def open_source(
    paths: list[Path],
    *,
    crs: str | int | None = None,
    resolution: float | None = None,
    mosaic: bool = False,
    allow_pixel_coords: bool = False,
    units: str | None = None,
    metric: bool = False,
    calibration: str = "sigma0",
) -> RasterSource:
    """Open one raster, a mosaic of rasters, or a SAFE product as a `RasterSource`.

    Args:
        paths: One file, a SAFE folder, or (with ``mosaic``) several files that form a mosaic.
        crs: Target CRS (EPSG code, any CRS text, or ``utm`` for the UTM zone of the centre).
        resolution: Target pixel size in target-CRS units (metres for projected CRSs).
        mosaic: Combine several files into one source.
        allow_pixel_coords: Accept rasters without a CRS (tiles then carry pixel coordinates).
        units: Override the detected radiometric units.
        metric: The caller needs metric pixels (tile size in metres): geographic sources are
            reprojected to their UTM zone when no ``crs`` is given.
        calibration: For SAFE products: ``sigma0``, ``gamma0`` or ``beta0``.

    Raises:
        SargeoError: for missing, empty, corrupt or inconsistent inputs.
    """
    if not paths:
        raise SargeoError("no raster given")
    if len(paths) > 1 and not mosaic:
        raise SargeoError(
            "several rasters given: add `mosaic` to combine them, or tile them one by one"
        )
    if units is not None and units not in UNITS:
        raise SargeoError(f"unknown units {units!r}: expected one of {', '.join(UNITS)}")
    if len(paths) == 1 and _is_safe(paths[0]):
        from sargeo.geo.safe import open_safe

        return open_safe(
            paths[0], crs=crs, resolution=resolution, metric=metric, calibration=calibration
        )

    datasets = [_open_checked(p) for p in paths]
    try:
        return _file_source(paths, datasets, crs, resolution, allow_pixel_coords, units, metric)
    finally:
        for ds in datasets:
            ds.close()


def _is_safe(path: Path) -> bool:
    return path.is_dir() and (path.suffix.upper() == ".SAFE" or (path / "manifest.safe").exists())


def _file_source(
    paths: list[Path],
    datasets: list[rasterio.io.DatasetReader],
    crs: str | int | None,
    resolution: float | None,
    allow_pixel_coords: bool,
    units: str | None,
    metric: bool,
) -> FileSource:
    first = datasets[0]
    for path, ds in zip(paths, datasets, strict=True):
        if ds.crs is None and not allow_pixel_coords:
            hint = " (it has GCPs only: open its SAFE folder instead)" if ds.gcps[0] else ""
            raise SargeoError(
                f"{path}: the raster has no CRS{hint}; use `allow_pixel_coords` to tile it in pixel coordinates"
            )
        if ds.count != first.count:
            raise SargeoError(
                f"mosaic files disagree in band count: {paths[0]} has {first.count}, {path} has {ds.count}"
            )
        if ds.dtypes[0] != first.dtypes[0]:
            raise SargeoError(
                f"mosaic files disagree in data type: {paths[0]} is {first.dtypes[0]}, {path} is {ds.dtypes[0]}"
            )
    crss = {ds.crs.to_wkt() if ds.crs else "" for ds in datasets}
    if len(crss) > 1 and crs is None:
        raise SargeoError(
            "mosaic files disagree in CRS: pass `crs` to reproject them onto one grid"
        )
    if allow_pixel_coords and first.crs is None and (crs is not None or resolution is not None):
        raise SargeoError("a raster without CRS cannot be reprojected or resampled")

    centre = _centre_lonlat(first)
    src_crs = first.crs
    if metric and crs is None and src_crs is not None and src_crs.is_geographic:
        crs = "utm"
    dst_crs = _target_crs(crs, src_crs, centre)
    warp_all = dst_crs is not None and (
        any(ds.crs != dst_crs for ds in datasets) or resolution is not None
    )
    member_grids = [_member_grid(ds, dst_crs, resolution, warp_all) for ds in datasets]
    res_x, res_y = member_grids[0].resolution
    # Union grid anchored on the first member's origin, so members align on whole pixels.
    minx = min(g.bounds[0] for g in member_grids)
    maxy = max(g.bounds[3] for g in member_grids)
    maxx = max(g.bounds[2] for g in member_grids)
    miny = min(g.bounds[1] for g in member_grids)
    origin = member_grids[0].transform
    col0 = math.floor((minx - origin.c) / res_x + 1e-6)
    row0 = math.floor((origin.f - maxy) / res_y + 1e-6)
    transform = Affine(res_x, 0.0, origin.c + col0 * res_x, 0.0, -res_y, origin.f - row0 * res_y)
    width = math.ceil((maxx - transform.c) / res_x - 1e-6)
    height = math.ceil((transform.f - miny) / res_y - 1e-6)
    if len(datasets) == 1:
        transform, width, height = (
            member_grids[0].transform,
            member_grids[0].width,
            member_grids[0].height,
        )
    grid = Grid(dst_crs, transform, width, height)

    members: list[_Member] = []
    for path, mgrid in zip(paths, member_grids, strict=True):
        dx = (mgrid.transform.c - transform.c) / res_x
        dy = (transform.f - mgrid.transform.f) / res_y
        aligned = (
            abs(dx - round(dx)) < 1e-6
            and abs(dy - round(dy)) < 1e-6
            and mgrid.resolution == (res_x, res_y)
        )
        warp = warp_all or not aligned
        if warp and not aligned:
            # Snap the member's grid onto the union grid, then warp onto it.
            c = math.floor(dx)
            r = math.floor(dy)
            w = math.ceil((mgrid.bounds[2] - transform.c) / res_x) - c
            h = math.ceil((transform.f - mgrid.bounds[1]) / res_y) - r
            mgrid = Grid(dst_crs, transform @ Affine.translation(c, r), w, h)
            dx, dy = c, r
        members.append(_Member(path, mgrid, warp, (round(dx), round(dy))))

    tags = {**first.tags(), **first.tags(1)}
    dtype = first.dtypes[0]
    nodata = first.nodata
    if nodata is None and np.dtype(dtype).kind == "f":
        nodata = float("nan")
    detected = units or detect_units(dtype, _sample_values(first), tags)
    return FileSource(
        name=";".join(str(p) for p in paths),
        grid=grid,
        count=first.count,
        dtype=dtype,
        nodata=nodata,
        polarisations=detect_polarisations(paths[0], tuple(first.descriptions)),
        units=detected,
        acquisition_time=_acquisition_time(tags),
        members=members,
    )


def _centre_lonlat(ds: rasterio.io.DatasetReader) -> tuple[float, float]:
    if ds.crs is None:
        return 0.0, 0.0
    left, bottom, right, top = transform_bounds(ds.crs, "EPSG:4326", *ds.bounds)
    return (left + right) / 2, (bottom + top) / 2


def _member_grid(
    ds: rasterio.io.DatasetReader, dst_crs: CRS | None, resolution: float | None, warp: bool
) -> Grid:
    if not warp or dst_crs is None:
        return Grid(ds.crs, ds.transform, ds.width, ds.height)
    kwargs = {"resolution": resolution} if resolution else {}
    transform, width, height = calculate_default_transform(
        ds.crs, dst_crs, ds.width, ds.height, *ds.bounds, **kwargs
    )
    return Grid(dst_crs, transform, int(width), int(height))
