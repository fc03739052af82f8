"""Opening SAR rasters as one `RasterSource`: the dispatcher between a file or mosaic of files
(`sargeo.geo.files`) and a Sentinel-1 SAFE product (`sargeo.geo.safe`).

A source describes its grid and radiometry; `RasterSource.open_reader` gives a per-thread reader
(rasterio datasets are not thread-safe), whose `read` returns a masked array for a pixel window.
"""

from __future__ import annotations

from pathlib import Path

from sargeo.errors import SargeoError
from sargeo.geo.files import open_files
from sargeo.geo.readers import RasterSource
from sargeo.geo.safe import open_safe
from sargeo.records import UNITS


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
        return open_safe(
            paths[0], crs=crs, resolution=resolution, metric=metric, calibration=calibration
        )
    return open_files(
        paths,
        crs=crs,
        resolution=resolution,
        allow_pixel_coords=allow_pixel_coords,
        units=units,
        metric=metric,
    )


def _is_safe(path: Path) -> bool:
    return path.is_dir() and (path.suffix.upper() == ".SAFE" or (path / "manifest.safe").exists())
