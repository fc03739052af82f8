"""Raster files read through rasterio/GDAL as one `RasterSource`: a single file, or a mosaic of files on
one union grid (first valid pixel wins), optionally reprojected on the fly onto a target CRS/resolution.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
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

from sargeo.errors import InputError, SargeoError
from sargeo.geo.gdal_errors import gdal_reason, pixel_reads
from sargeo.geo.grid import Grid, utm_crs_for
from sargeo.geo.metadata import acquisition_time, detect_polarisations, detect_units, sample_values
from sargeo.geo.readers import RasterSource, Reader
from sargeo.runtime.grid import Window, array_slices, intersection, window_transform


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
            with pixel_reads(str(member.path), "file"):  # it may have changed since it was opened
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
            extent = Window(*member.offset, member.grid.width, member.grid.height)
            inner = intersection(window, extent)
            if inner is None:
                continue
            rows, cols = array_slices(inner, extent)
            part = _read_masked(
                handle, Window(cols.start, rows.start, inner.width, inner.height), src.nodata
            )
            dst = (slice(None), *array_slices(inner, window))
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
    place = f"pixels of window (col {window.col}, row {window.row}, {window.width}x{window.height})"
    with pixel_reads(handle.name, place):
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
        raise InputError(f"{path}: not a raster GDAL can read ({gdal_reason(exc)})") from exc


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


def open_files(
    paths: list[Path],
    *,
    crs: str | int | None = None,
    resolution: float | None = None,
    allow_pixel_coords: bool = False,
    units: str | None = None,
    metric: bool = False,
) -> FileSource:
    """Open one raster file, or several as a mosaic, as a `FileSource` (arguments as `open_source`).

    Raises:
        SargeoError: for missing, empty, corrupt or inconsistent files.
    """
    datasets = [_open_checked(p) for p in paths]
    try:
        return _file_source(paths, datasets, crs, resolution, allow_pixel_coords, units, metric)
    finally:
        for ds in datasets:
            ds.close()


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
        a, b, _, d, e, _ = tuple(ds.transform)[:6]
        if ds.crs is not None and a * e - b * d == 0:
            raise InputError(
                f"{path}: the geotransform has a zero pixel size ({a:g}, {e:g}); fix its georeference"
            )
        if ds.crs is None and not allow_pixel_coords:
            hint = {0: "", 1: " (one tie point and no pixel size: a zero-size geotransform)"}.get(
                len(ds.gcps[0]), " (it has GCPs only: open its SAFE folder instead)"
            )
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
            mgrid = Grid(dst_crs, Affine(*window_transform(transform, Window(c, r, w, h))), w, h)
            dx, dy = c, r
        members.append(_Member(path, mgrid, warp, (round(dx), round(dy))))

    tags = {**first.tags(), **first.tags(1)}
    dtype = first.dtypes[0]
    nodata = first.nodata
    if nodata is None and np.dtype(dtype).kind == "f":
        nodata = float("nan")
    detected = units or detect_units(dtype, sample_values(first), tags)
    return FileSource(
        name=";".join(str(p) for p in paths),
        grid=grid,
        count=first.count,
        dtype=dtype,
        nodata=nodata,
        polarisations=detect_polarisations(paths[0], tuple(first.descriptions)),
        units=detected,
        acquisition_time=acquisition_time(tags),
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
