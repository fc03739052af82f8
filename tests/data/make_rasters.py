"""Generate the tiny test rasters the geo tests use (TorchGeo style: data made by a script, not committed).

Run ``python tests/data/make_rasters.py OUT_DIR`` to write them by hand; the tests call `make_all`.
"""

from __future__ import annotations

import sys
import warnings
from pathlib import Path

import numpy as np
import rasterio
from affine import Affine
from rasterio.crs import CRS
from rasterio.errors import NotGeoreferencedWarning
from rasterio.warp import transform


def _speckled(shape: tuple[int, ...], seed: int, mean_db: float = -12.0) -> np.ndarray:
    """Linear sigma0 with gamma (L=1) speckle over a smooth gradient."""
    rng = np.random.default_rng(seed)
    _bands, height, width = shape
    yy, xx = np.mgrid[0:height, 0:width]
    field = 10 ** ((mean_db + 4 * np.sin(xx / 17.0) + 3 * np.cos(yy / 23.0)) / 10)
    return (field[None] * rng.gamma(1.0, 1.0, size=shape)).astype(np.float32)


def write(
    path: Path,
    data: np.ndarray,
    crs: str | None,
    transform: Affine,
    nodata: float | None = None,
    descriptions: tuple[str, ...] | None = None,
    tags: dict[str, str] | None = None,
    **extra: object,
) -> Path:
    """Write a GeoTIFF with the given georeference."""
    count, height, width = data.shape
    profile: dict[str, object] = {
        "driver": "GTiff",
        "width": width,
        "height": height,
        "count": count,
        "dtype": str(data.dtype),
        "crs": CRS.from_user_input(crs) if crs else None,
        "transform": transform,
        "nodata": nodata,
        **extra,
    }
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(data)
        if descriptions:
            dst.descriptions = descriptions
        if tags:
            dst.update_tags(**tags)
    return path


def make_all(out: Path) -> dict[str, Path]:
    """Write every test raster into ``out`` and return them by name."""
    out.mkdir(parents=True, exist_ok=True)
    files: dict[str, Path] = {}

    # EPSG:4326, float32 dB, two bands, NaN nodata in a corner block.
    db = 10 * np.log10(_speckled((2, 300, 260), seed=1))
    db[:, :120, :100] = np.nan
    files["geographic_db"] = write(
        out / "s1_vv_vh_4326.tif", db.astype(np.float32), "EPSG:4326",
        Affine(1e-4, 0, 12.5, 0, -1e-4, 41.9), nodata=float("nan"), descriptions=("VV", "VH"),
    )  # fmt: skip

    # UTM zone 33N, uint16 amplitude DN, nodata 0 on a left margin, tiled + deflate.
    dn = np.sqrt(_speckled((1, 400, 333), seed=2)) * 3000
    dn = dn.clip(1, 65535).astype(np.uint16)
    dn[:, :, :40] = 0
    files["utm_uint16"] = write(
        out / "grd_vv_utm33.tif", dn, "EPSG:32633", Affine(10, 0, 500000, 0, -10, 4650000),
        nodata=0, descriptions=("VV",), tiled=True, blockxsize=128, blockysize=128, compress="deflate",
    )  # fmt: skip

    # EPSG:3857, float32 linear power, one band, acquisition time tag.
    files["webmercator_linear"] = write(
        out / "linear_3857.tif", _speckled((1, 200, 200), seed=3), "EPSG:3857",
        Affine(20, 0, 1_390_000, 0, -20, 5_150_000), tags={"ACQUISITION_START_TIME": "2021-04-01T05:26:23"},
    )  # fmt: skip

    # Two halves of one UTM mosaic (same grid, side by side) and their whole.
    whole = _speckled((2, 128, 256), seed=4)
    left_t = Affine(10, 0, 300000, 0, -10, 5000000)
    files["mosaic_whole"] = write(out / "mosaic_whole.tif", whole, "EPSG:32631", left_t)
    files["mosaic_left"] = write(
        out / "mosaic_left.tif", whole[:, :, :128].copy(), "EPSG:32631", left_t
    )
    files["mosaic_right"] = write(
        out / "mosaic_right.tif", whole[:, :, 128:].copy(), "EPSG:32631", left_t @ Affine.translation(128, 0)
    )  # fmt: skip
    # Mosaic members that disagree: other CRS, other band count.
    (east,), (north,) = transform("EPSG:32631", "EPSG:32632", [301280.0], [5000000.0])
    files["mosaic_other_crs"] = write(
        out / "mosaic_other_crs.tif", whole[:, :, 128:].copy(), "EPSG:32632", Affine(10, 0, east, 0, -10, north)
    )  # fmt: skip
    files["mosaic_one_band"] = write(
        out / "mosaic_one_band.tif", whole[:1, :, 128:].copy(), "EPSG:32631", left_t @ Affine.translation(128, 0)
    )  # fmt: skip

    # Bad inputs.
    with warnings.catch_warnings():  # no georeference is the point of this file
        warnings.simplefilter("ignore", NotGeoreferencedWarning)
        files["no_crs"] = write(
            out / "no_crs.tif", _speckled((1, 64, 64), seed=5), None, Affine.identity()
        )
    corrupt = out / "corrupt.tif"
    corrupt.write_bytes(b"II*\x00" + bytes(range(256)) * 8)
    files["corrupt"] = corrupt
    empty = out / "empty.tif"
    empty.write_bytes(b"")
    files["empty"] = empty
    allnodata = np.full((1, 100, 100), np.nan, dtype=np.float32)
    files["all_nodata"] = write(
        out / "all_nodata.tif", allnodata, "EPSG:32633", Affine(10, 0, 500000, 0, -10, 4650000), nodata=float("nan")
    )  # fmt: skip
    return files


if __name__ == "__main__":
    target = Path(sys.argv[1] if len(sys.argv) > 1 else "tests/data/generated")
    for name, path in make_all(target).items():
        print(f"{name:20s} {path}")
