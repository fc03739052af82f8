"""QGIS reads what ``sargeo tile`` writes: the tile index as a vector layer and chips as rasters.

The toolkit tiles (in this venv); then QGIS's own Python opens the output folders (one subprocess per
source, see ``qgis_read_tiles.py``) and the test compares the CRS, extents, feature count, field
values and raster sizes QGIS reports with the toolkit's `Tile` records and with rasterio's own view
of the source raster. Cases: the real Sen1Floods11 chip (EPSG:4326) natively and with
``--tile-metres`` (reprojected to its UTM zone), a generated UTM raster natively and with
``--crs 3857``.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import rasterio
from affine import Affine
from rasterio.windows import Window as RioWindow
from rasterio.windows import bounds as rio_window_bounds

from sargeo.cli import main as sargeo_main
from sargeo.geo.index import read_tile_index
from sargeo.records import Tile

pytestmark = pytest.mark.qgis

SCRIPT = Path(__file__).with_name("qgis_read_tiles.py")
UTM_EPSG = 32633
Report = dict[str, Any]


def _tile(raster: Path, out: Path, *options: str) -> Path:
    """Run ``sargeo tile`` as a user would, quietly."""
    code = sargeo_main(["tile", str(raster), "-o", str(out), "-q", *options])
    assert code == 0, f"sargeo tile {raster} {' '.join(options)} exited {code}"
    return out


def _qgis_reports(qgis: Callable[..., Report], folders: list[Path]) -> dict[Path, Report]:
    report = qgis(SCRIPT, [str(f) for f in folders], timeout=180)
    return {f: report[str(f)] for f in folders}


def _make_utm_raster(path: Path) -> Path:
    """A 700x600, 2-band float32 linear-power raster on a 10 m UTM 33N grid (Vienna area)."""
    rng = np.random.default_rng(7)
    yy, xx = np.mgrid[0:600, 0:700]
    field = 0.05 + 0.04 * np.sin(xx / 90.0) * np.cos(yy / 70.0) + 0.05
    pixels = np.stack([field, field * 0.2]) * rng.gamma(4.0, 0.25, size=(2, 600, 700))
    with rasterio.open(
        path,
        "w",
        driver="GTiff",
        width=700,
        height=600,
        count=2,
        dtype="float32",
        crs=f"EPSG:{UTM_EPSG}",
        transform=Affine(10.0, 0.0, 600_000.0, 0.0, -10.0, 5_340_000.0),
        nodata=float("nan"),
        tiled=True,
        blockxsize=256,
        blockysize=256,
    ) as dst:
        dst.write(pixels.astype(np.float32))
        dst.descriptions = ("VV", "VH")
    return path


@pytest.fixture(scope="module")
def generated_cases(
    tmp_path_factory: pytest.TempPathFactory, qgis: Callable[..., Report]
) -> dict[str, tuple[Path, Path, Report]]:
    """The generated UTM raster tiled natively and reprojected to Web Mercator, as QGIS sees it."""
    root = tmp_path_factory.mktemp("qgis-generated")
    raster = _make_utm_raster(root / "utm_VV_VH.tif")
    folders = {
        "native": _tile(raster, root / "native", "--size", "256", "--overlap", "32"),
        "web_mercator": _tile(raster, root / "web_mercator", "--size", "200", "--crs", "3857"),
    }
    reports = _qgis_reports(qgis, list(folders.values()))
    return {name: (raster, folder, reports[folder]) for name, folder in folders.items()}


@pytest.fixture(scope="module")
def sen1floods_cases(
    shared_data: Path, tmp_path_factory: pytest.TempPathFactory, qgis: Callable[..., Report]
) -> dict[str, tuple[Path, Path, Report]]:
    """The real Sen1Floods11 chip tiled natively (EPSG:4326) and in metres (UTM), as QGIS sees it."""
    raster = shared_data / "sen1floods11" / "Spain_7370579_S1Hand.tif"
    root = tmp_path_factory.mktemp("qgis-sen1floods")
    folders = {
        "native": _tile(raster, root / "native", "--size", "256", "--overlap", "32"),
        "metric": _tile(raster, root / "metric", "--tile-metres", "1280", "--max-nodata", "0.9"),
    }
    reports = _qgis_reports(qgis, list(folders.values()))
    return {name: (raster, folder, reports[folder]) for name, folder in folders.items()}


def _close(
    a: list[float] | tuple[float, ...], b: list[float] | tuple[float, ...], tol: float
) -> bool:
    return len(a) == len(b) and all(
        math.isclose(x, y, rel_tol=0, abs_tol=tol) for x, y in zip(a, b, strict=True)
    )


def _union(tiles: list[Tile]) -> tuple[float, float, float, float]:
    return (
        min(t.bounds[0] for t in tiles),
        min(t.bounds[1] for t in tiles),
        max(t.bounds[2] for t in tiles),
        max(t.bounds[3] for t in tiles),
    )


def _check_folder(folder: Path, report: Report, expected_crs: str) -> list[Tile]:
    """Every check that does not depend on the case: QGIS agrees with the toolkit's records."""
    tiles = read_tile_index(folder / "tiles.gpkg")
    manifest = json.loads((folder / "tiling.json").read_text())
    by_id = {t.id: t for t in tiles}
    assert tiles, f"{folder}: no tiles written"
    assert {t.crs for t in tiles} == {expected_crs} and manifest["crs"] == expected_crs
    pixel = min(abs(tiles[0].transform[0]), abs(tiles[0].transform[4]))
    tol = 1e-6 * pixel  # far below a pixel: QGIS must see the same grid, not a nearby one

    index = report["index"]
    assert index["valid"], f"QGIS could not open {folder / 'tiles.gpkg'} as a vector layer"
    assert index["crs_valid"] and index["crs"] == expected_crs
    assert index["feature_count"] == len(tiles) == manifest["tiles"]
    assert _close(index["extent"], _union(tiles), tol), (index["extent"], _union(tiles))
    assert {"tile_id", "minx", "miny", "maxx", "maxy", "chip"} <= set(index["fields"])
    assert sorted(f["tile_id"] for f in index["features"]) == sorted(by_id)
    for feature in index["features"]:
        tile = by_id[feature["tile_id"]]
        bounds = [feature[k] for k in ("minx", "miny", "maxx", "maxy")]
        assert _close(bounds, tile.bounds, tol), (tile.id, bounds, tile.bounds)
        assert _close(feature["geometry_bounds"], tile.bounds, tol), (tile.id, feature)
        assert feature["geometry_vertices"] == 5  # a closed quadrilateral footprint
        window = (feature["col"], feature["row"], feature["width"], feature["height"])
        assert window == (tile.window.col, tile.window.row, tile.window.width, tile.window.height)
        assert feature["chip"] == tile.chip and feature["crs"] == tile.crs

    assert sorted(report["chips"]) == sorted(by_id)
    for tile_id, chip in report["chips"].items():
        tile = by_id[tile_id]
        assert chip["valid"], f"QGIS could not open {tile.chip} as a raster layer"
        assert chip["crs"] == tile.crs
        assert _close(chip["extent"], tile.bounds, tol), (tile_id, chip["extent"], tile.bounds)
        assert (chip["width"], chip["height"]) == (tile.window.width, tile.window.height)
        assert chip["bands"] == len(tile.polarisations)
        spacing = [abs(tile.transform[0]), abs(tile.transform[4])]
        assert _close(chip["pixel_size"], spacing, tol)
    return tiles


def _check_native_grid(raster: Path, tiles: list[Tile]) -> None:
    """Without reprojection, each tile is exactly its window of the source, as rasterio sees it."""
    with rasterio.open(raster) as src:
        for tile in tiles:
            w = tile.window
            expected = rio_window_bounds(RioWindow(w.col, w.row, w.width, w.height), src.transform)
            tol = 1e-6 * abs(src.transform.a)
            assert _close(tile.bounds, expected, tol), (tile.id, tile.bounds, expected)
            assert w.col + w.width <= src.width and w.row + w.height <= src.height


def test_qgis_reads_generated_utm_tiles(
    generated_cases: dict[str, tuple[Path, Path, Report]],
) -> None:
    raster, folder, report = generated_cases["native"]
    tiles = _check_folder(folder, report, f"EPSG:{UTM_EPSG}")
    assert len(tiles) == 9  # 3 x 3 tiles of 256 px with 32 px overlap over 700 x 600
    assert _union(tiles) == pytest.approx((600_000.0, 5_334_000.0, 607_000.0, 5_340_000.0))
    _check_native_grid(raster, tiles)


def test_qgis_reads_tiles_reprojected_to_web_mercator(
    generated_cases: dict[str, tuple[Path, Path, Report]],
) -> None:
    _, folder, report = generated_cases["web_mercator"]
    tiles = _check_folder(folder, report, "EPSG:3857")
    # Vienna is near 16.3 E, 48.2 N: Web Mercator metres there, not UTM metres.
    minx, miny, maxx, maxy = _union(tiles)
    assert 1.75e6 < minx < maxx < 1.9e6 and 6.1e6 < miny < maxy < 6.3e6


def test_qgis_reads_sen1floods_tiles(
    sen1floods_cases: dict[str, tuple[Path, Path, Report]],
) -> None:
    raster, folder, report = sen1floods_cases["native"]
    tiles = _check_folder(folder, report, "EPSG:4326")
    _check_native_grid(raster, tiles)
    minx, miny, maxx, maxy = _union(tiles)
    assert -0.79 < minx < maxx < -0.73 and 38.08 < miny < maxy < 38.13  # south-east Spain


def test_qgis_reads_sen1floods_tiles_in_metres(
    sen1floods_cases: dict[str, tuple[Path, Path, Report]],
) -> None:
    _, folder, report = sen1floods_cases["metric"]
    tiles = _check_folder(folder, report, "EPSG:32630")  # 0.76 W lies in UTM zone 30 N
    for tile in tiles:
        width_m = tile.bounds[2] - tile.bounds[0]
        assert width_m == pytest.approx(1280.0, rel=0.05)
