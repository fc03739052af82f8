"""Tiling: grid coverage, georeference of every tile, alignment with label rasters, outputs."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import rasterio

from sargeo.errors import SargeoError
from sargeo.geo.index import read_tile_index
from sargeo.geo.tiling import TilingOptions, tile_to_folder


def test_sen1floods11_tiles_and_labels_align(shared_data: Path, tmp_path: Path) -> None:
    folder = shared_data / "sen1floods11"
    sar, label = folder / "Spain_7370579_S1Hand.tif", folder / "Spain_7370579_LabelHand.tif"
    opts = TilingOptions(size=128, overlap=32, max_nodata=1.0)
    sar_run = tile_to_folder([sar], tmp_path / "sar", opts, progress=False)
    label_run = tile_to_folder([label], tmp_path / "label", opts, progress=False)
    assert len(sar_run.tiles) == len(label_run.tiles) == 25  # offsets 0,96,192,288,384 per axis

    with rasterio.open(sar) as src, rasterio.open(label) as lab:
        for tile, ltile in zip(sar_run.tiles, label_run.tiles, strict=True):
            assert tile.id == ltile.id and tile.window == ltile.window
            w = rasterio.windows.Window(tile.window.col, tile.window.row, 128, 128)
            # Bounds are the source transform applied to the window.
            assert tile.bounds == pytest.approx(
                rasterio.windows.bounds(w, src.transform), abs=1e-12
            )
            assert tile.crs == "EPSG:4326" and tile.polarisations == ("VV", "VH")
            assert tile.units == "dB"
            assert 7.8 < tile.pixel_spacing[0] < 7.95 and 9.9 < tile.pixel_spacing[1] < 10.0  # 38 N
            with (
                rasterio.open(sar_run.output / tile.chip) as chip,
                rasterio.open(label_run.output / ltile.chip) as lchip,
            ):
                # Same grid, pixel for pixel, and the pixels are the source's.
                assert chip.transform.almost_equals(lchip.transform, precision=1e-12)
                assert chip.crs == lchip.crs == src.crs
                np.testing.assert_array_equal(chip.read(), src.read(window=w))
                np.testing.assert_array_equal(lchip.read(), lab.read(window=w))
                assert lchip.dtypes[0] == "int16"
                assert chip.descriptions == ("VV", "VH")


def test_index_round_trip_and_manifest(test_rasters: dict[str, Path], tmp_path: Path) -> None:
    out = tmp_path / "t"
    result = tile_to_folder(
        [test_rasters["utm_uint16"]], out, TilingOptions(size=128, overlap=16), progress=False
    )
    assert read_tile_index(result.index) == result.tiles
    manifest = json.loads((out / "tiling.json").read_text())
    assert manifest["tiles"] == len(result.tiles) and manifest["crs"] == "EPSG:32633"
    assert sorted(p.name for p in (out / "chips").iterdir()) == sorted(
        Path(t.chip).name for t in result.tiles
    )
    assert not list(tmp_path.glob(".*partial"))


def test_mostly_nodata_tiles_are_skipped(test_rasters: dict[str, Path], tmp_path: Path) -> None:
    # The 4326 raster has a 120x100 NaN block in its top-left corner.
    keep_all = tile_to_folder(
        [test_rasters["geographic_db"]], tmp_path / "a",
        TilingOptions(size=64, max_nodata=1.0), progress=False,
    )  # fmt: skip
    strict = tile_to_folder(
        [test_rasters["geographic_db"]], tmp_path / "b",
        TilingOptions(size=64, max_nodata=0.2), progress=False,
    )  # fmt: skip
    # NaN share of the four tiles that touch the block: r0c0 100 %, r1c0 56/64, r0c1 36/64,
    # r1c1 (56 * 36) / 64**2 = 49 %; with 0.2 all four go, with 1.0 only the all-NaN one.
    assert strict.skipped == 4 and keep_all.skipped == 1
    assert len(keep_all.tiles) - len(strict.tiles) == strict.skipped - keep_all.skipped
    assert all(t.valid_fraction >= 0.8 for t in strict.tiles)


def test_db_conversion_and_clip(test_rasters: dict[str, Path], tmp_path: Path) -> None:
    result = tile_to_folder(
        [test_rasters["utm_uint16"]], tmp_path / "db",
        TilingOptions(size=128, to_db=True, clip=(-10.0, 70.0)), progress=False,
    )  # fmt: skip
    tile = result.tiles[-1]
    assert tile.units == "dB"
    with (
        rasterio.open(result.output / tile.chip) as chip,
        rasterio.open(test_rasters["utm_uint16"]) as src,
    ):
        got = chip.read(1)
        w = rasterio.windows.Window(tile.window.col, tile.window.row, 128, 128)
        dn = src.read(1, window=w).astype(np.float64)
    expected = np.clip(10 * np.log10(dn**2 + 1e-6), -10, 70)
    valid = dn > 0
    np.testing.assert_allclose(got[valid], expected[valid], rtol=1e-5)
    assert np.isnan(got[~valid]).all()


def test_tile_size_in_metres_reprojects_geographic_to_utm(
    test_rasters: dict[str, Path], tmp_path: Path
) -> None:
    result = tile_to_folder(
        [test_rasters["geographic_db"]], tmp_path / "m",
        TilingOptions(tile_metres=640, resolution=10.0, max_nodata=1.0), progress=False,
    )  # fmt: skip
    tile = result.tiles[0]
    assert tile.crs == "EPSG:32633"
    assert tile.window.width == 64 and tile.pixel_spacing == (10.0, 10.0)
    assert tile.bounds[2] - tile.bounds[0] == pytest.approx(640.0)


def test_mosaic_tiles_like_the_whole(test_rasters: dict[str, Path], tmp_path: Path) -> None:
    whole = tile_to_folder(
        [test_rasters["mosaic_whole"]], tmp_path / "w", TilingOptions(size=64), progress=False
    )
    mosaic = tile_to_folder(
        [test_rasters["mosaic_left"], test_rasters["mosaic_right"]], tmp_path / "m",
        TilingOptions(size=64, mosaic=True), progress=False,
    )  # fmt: skip
    assert [t.bounds for t in whole.tiles] == [t.bounds for t in mosaic.tiles]
    for a, b in zip(whole.tiles, mosaic.tiles, strict=True):
        with (
            rasterio.open(whole.output / a.chip) as ca,
            rasterio.open(mosaic.output / b.chip) as cb,
        ):
            np.testing.assert_array_equal(ca.read(), cb.read())


def test_separate_rasters_get_prefixed_ids(test_rasters: dict[str, Path], tmp_path: Path) -> None:
    result = tile_to_folder(
        [test_rasters["utm_uint16"], test_rasters["webmercator_linear"]], tmp_path / "two",
        TilingOptions(size=128), progress=False,
    )  # fmt: skip
    prefixes = {t.id.rsplit("_r", 1)[0] for t in result.tiles}
    assert prefixes == {"grd_vv_utm33", "linear_3857"}
    assert {t.crs for t in result.tiles} == {"EPSG:32633", "EPSG:3857"}


def test_existing_output_is_refused_then_replaced(
    test_rasters: dict[str, Path], tmp_path: Path
) -> None:
    out = tmp_path / "o"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    opts = TilingOptions(size=128)
    with pytest.raises(SargeoError, match="already exists"):
        tile_to_folder([test_rasters["utm_uint16"]], out, opts, progress=False)
    assert (out / "keep.txt").read_text() == "mine"
    tile_to_folder([test_rasters["utm_uint16"]], out, opts, overwrite=True, progress=False)
    assert not (out / "keep.txt").exists() and (out / "tiles.gpkg").exists()


def test_failure_leaves_nothing_behind(test_rasters: dict[str, Path], tmp_path: Path) -> None:
    out = tmp_path / "nodata"
    with pytest.raises(SargeoError, match="mostly nodata"):
        tile_to_folder([test_rasters["all_nodata"]], out, TilingOptions(size=64), progress=False)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    "options",
    [TilingOptions(size=8), TilingOptions(size=64, overlap=64), TilingOptions(max_nodata=2.0)],
)
def test_bad_options(test_rasters: dict[str, Path], tmp_path: Path, options: TilingOptions) -> None:
    with pytest.raises(SargeoError):
        tile_to_folder([test_rasters["utm_uint16"]], tmp_path / "x", options, progress=False)
