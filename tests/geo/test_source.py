"""Opening rasters: units, polarisations, mosaics, reprojection, bad input."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import rasterio

from sargeo.errors import SargeoError
from sargeo.geo.grid import pixel_spacing_m, utm_crs_for
from sargeo.geo.source import open_source
from sargeo.records import Window
from sargeo.runtime.grid import window_bounds


def test_geographic_db_raster(test_rasters: dict[str, Path]) -> None:
    src = open_source([test_rasters["geographic_db"]])
    assert src.polarisations == ("VV", "VH")
    assert src.units == "dB"
    assert np.isnan(src.nodata)  # type: ignore[arg-type]
    assert src.grid.crs is not None and src.grid.crs.to_epsg() == 4326
    sx, sy = pixel_spacing_m(src.grid)
    assert 7 < sx < 10 and 10 < sy < 12  # 1e-4 deg at 42 N


def test_units_and_polarisation_detection(test_rasters: dict[str, Path]) -> None:
    assert open_source([test_rasters["utm_uint16"]]).units == "amplitude"
    linear = open_source([test_rasters["webmercator_linear"]])
    assert linear.units == "linear"
    assert linear.polarisations == ("B1",)
    assert linear.acquisition_time is not None and linear.acquisition_time.year == 2021
    assert open_source([test_rasters["webmercator_linear"]], units="dB").units == "dB"


def test_nodata_is_masked(test_rasters: dict[str, Path]) -> None:
    src = open_source([test_rasters["utm_uint16"]])
    with src.open_reader() as reader:
        data = reader.read(Window(0, 0, 100, 10))
    assert np.ma.getmaskarray(data)[:, :, :40].all()
    assert not np.ma.getmaskarray(data)[:, :, 40:].any()


def test_mosaic_equals_whole(test_rasters: dict[str, Path]) -> None:
    mosaic = open_source([test_rasters["mosaic_left"], test_rasters["mosaic_right"]], mosaic=True)
    whole = open_source([test_rasters["mosaic_whole"]])
    assert (mosaic.grid.width, mosaic.grid.height) == (256, 128)
    assert mosaic.grid.transform.almost_equals(whole.grid.transform)
    window = Window(100, 20, 60, 50)  # straddles the seam
    with mosaic.open_reader() as a, whole.open_reader() as b:
        np.testing.assert_array_equal(a.read(window).data, b.read(window).data)


def test_mosaic_reprojected_on_the_fly(test_rasters: dict[str, Path]) -> None:
    src = open_source(
        [test_rasters["mosaic_left"], test_rasters["mosaic_other_crs"]], mosaic=True, crs="32631"
    )
    assert src.grid.crs is not None and src.grid.crs.to_epsg() == 32631
    assert 250 < src.grid.width < 280  # two 128 px members side by side, one rotated a little
    with src.open_reader() as reader:
        data = reader.read(Window(0, 0, src.grid.width, src.grid.height))
    mask = np.ma.getmaskarray(data)[0]
    col, row = src.members[0].offset  # type: ignore[attr-defined]
    assert col == 0
    assert not mask[row : row + 128, :128].any()  # the left member, untouched
    assert not mask[20:110, 140:250].any()  # the right member, warped from zone 32
    with rasterio.open(test_rasters["mosaic_left"]) as left:
        np.testing.assert_allclose(data.data[:, row : row + 128, :128], left.read(), rtol=1e-5)


def test_utm_for_geographic_when_metric(test_rasters: dict[str, Path]) -> None:
    src = open_source([test_rasters["geographic_db"]], metric=True, resolution=10.0)
    assert src.grid.crs == utm_crs_for(12.51, 41.88)
    assert src.grid.resolution == (10.0, 10.0)


def test_window_bounds_are_transform_of_window(test_rasters: dict[str, Path]) -> None:
    with rasterio.open(test_rasters["utm_uint16"]) as ds:
        expected = rasterio.windows.bounds(rasterio.windows.Window(32, 64, 128, 100), ds.transform)
        got = window_bounds(ds.transform, Window(32, 64, 128, 100))
    assert got == pytest.approx(expected)


@pytest.mark.parametrize(
    ("names", "kwargs", "message"),
    [
        (["no_crs"], {}, "has no CRS"),
        (["corrupt"], {}, "not a raster GDAL can read"),
        (["empty"], {}, "is empty"),
        (["mosaic_left", "mosaic_other_crs"], {"mosaic": True}, "disagree in CRS"),
        (["mosaic_left", "mosaic_one_band"], {"mosaic": True}, "disagree in band count"),
        (["mosaic_left", "mosaic_right"], {}, "add `mosaic`"),
    ],
)
def test_bad_inputs(
    test_rasters: dict[str, Path], names: list[str], kwargs: dict[str, bool], message: str
) -> None:
    with pytest.raises(SargeoError, match=message):
        open_source([test_rasters[n] for n in names], **kwargs)  # type: ignore[arg-type]


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(SargeoError, match="no such file"):
        open_source([tmp_path / "nope.tif"])


def test_pixel_coords_allowed(test_rasters: dict[str, Path]) -> None:
    src = open_source([test_rasters["no_crs"]], allow_pixel_coords=True)
    assert src.grid.crs is None


def test_vrt_opens_like_its_source(test_rasters: dict[str, Path], tmp_path: Path) -> None:
    whole = test_rasters["mosaic_whole"]
    with rasterio.open(whole) as ds:
        width, height = ds.width, ds.height
    bands = "".join(
        f'<VRTRasterBand dataType="Float32" band="{b}"><SimpleSource>'
        f'<SourceFilename relativeToVRT="0">{whole}</SourceFilename><SourceBand>{b}</SourceBand>'
        f"</SimpleSource></VRTRasterBand>"
        for b in (1, 2)
    )
    with rasterio.open(whole) as ds:
        transform = ", ".join(str(v) for v in ds.transform.to_gdal())
        wkt = ds.crs.to_wkt()
    vrt = tmp_path / "scene.vrt"
    vrt.write_text(
        f'<VRTDataset rasterXSize="{width}" rasterYSize="{height}"><SRS>{wkt}</SRS>'
        f"<GeoTransform>{transform}</GeoTransform>{bands}</VRTDataset>"
    )
    src, ref = open_source([vrt]), open_source([whole])
    assert src.grid == ref.grid and src.count == 2
    with src.open_reader() as a, ref.open_reader() as b:
        window = Window(10, 20, 100, 50)
        np.testing.assert_array_equal(a.read(window).data, b.read(window).data)
