"""Sentinel-1 GRD SAFE products: discovery, calibration against xarray-sentinel, masking, bad input.

Products are built under tmp_path from xarray-sentinel's real manifest/annotation files (see
`tests.geo.safe_products`); the full-size placeholder TIFF is only ever read in windows.
"""

from __future__ import annotations

import importlib.util
import shutil
import threading
import tracemalloc
import warnings
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import psutil
import pytest
import rasterio
from rasterio.errors import NotGeoreferencedWarning

from sargeo.errors import SargeoError
from sargeo.geo.safe import CALIBRATIONS, SafeSource, open_safe
from sargeo.geo.source import open_source
from sargeo.records import Window
from tests.geo.safe_products import (
    FULL_SIZE,
    GRD,
    SLC,
    STEMS,
    lut_grid,
    make_grd_safe,
    read_calibration_xml,
    speckled_dn,
)

CROP = (3000, 2000, 1024, 1536)  # col, row, width, height of the cropped product

pytestmark = pytest.mark.filterwarnings("ignore::rasterio.errors.NotGeoreferencedWarning")


@pytest.fixture(scope="module")
def full_safe(safe_testdata: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The real GRD product at full size (placeholder DN = 1 everywhere), VV and VH."""
    return make_grd_safe(safe_testdata, tmp_path_factory.mktemp("full"))


@pytest.fixture(scope="module")
def crop_dn() -> dict[str, np.ndarray]:
    """Speckled DNs with a DN=0 border for the cropped product."""
    _, _, width, height = CROP
    return {"VV": speckled_dn(height, width, 1), "VH": speckled_dn(height, width, 2)}


@pytest.fixture(scope="module")
def crop_safe(
    safe_testdata: Path, tmp_path_factory: pytest.TempPathFactory, crop_dn: dict[str, np.ndarray]
) -> Path:
    """A 1024x1536 subset of the real product with speckled DNs."""
    return make_grd_safe(safe_testdata, tmp_path_factory.mktemp("crop"), crop=CROP, dn=crop_dn)


@pytest.fixture(scope="module")
def full_source(full_safe: Path) -> SafeSource:
    return open_safe(full_safe)


def _copy_safe(safe: Path, dst: Path) -> Path:
    """A copy of a product folder (symlinked TIFFs stay links)."""
    out = dst / safe.name
    shutil.copytree(safe, out, symlinks=True)
    return out


def test_polarisations_time_and_grid(full_source: SafeSource) -> None:
    src = full_source
    assert src.polarisations == ("VV", "VH")
    assert src.count == 2
    assert src.acquisition_time == datetime(2021, 4, 1, 5, 26, 23, 794457, tzinfo=UTC)
    assert src.units == "linear" and src.dtype == "float32"
    assert (src.grid.width, src.grid.height) == FULL_SIZE
    assert src.grid.crs is not None and src.grid.crs.to_epsg() == 4326
    assert src.extra["product_type"] == "GRD" and src.extra["mode"] == "IW"
    assert src.extra["calibration"] == "sigma0"


def test_affine_georeference_near_the_gcps(full_source: SafeSource, safe_testdata: Path) -> None:
    from xml.etree import ElementTree as ET

    annotation = safe_testdata / GRD / "annotation" / f"{STEMS['VV']}.xml"
    points = ET.parse(annotation).getroot().iter("geolocationGridPoint")
    error_m = float(full_source.extra["gcp_fit_max_error_m"])
    assert 0.0 < error_m < 5000.0  # documented approximation: a single affine over 250 km
    assert 0.0 < float(full_source.extra["gcp_fit_mean_error_m"]) < error_m
    worst = 0.0
    for p in points:
        lon, lat = full_source.grid.transform @ (
            float(p.findtext("pixel", "")) + 0.5,
            float(p.findtext("line", "")) + 0.5,
        )
        dx = (lon - float(p.findtext("longitude", ""))) * 111_320 * np.cos(np.radians(lat))
        dy = (lat - float(p.findtext("latitude", ""))) * 110_574
        worst = max(worst, float(np.hypot(dx, dy)))
    assert worst == pytest.approx(error_m, rel=1e-3)
    # The first line is the northern edge of a descending pass; the scene is near the Alps.
    minx, miny, maxx, maxy = full_source.grid.bounds
    assert 8.5 < minx < maxx < 12.7 and 45.4 < miny < maxy < 47.7


@pytest.mark.parametrize("calibration", sorted(CALIBRATIONS))
def test_lut_at_nodes_equals_the_xml(full_safe: Path, calibration: str) -> None:
    src = open_safe(full_safe, calibration=calibration)
    xml = full_safe / "annotation" / "calibration" / f"calibration-{STEMS['VH']}.xml"
    lines, pixels, luts = read_calibration_xml(xml)
    expected = luts[CALIBRATIONS[calibration]]
    lut = src.bands[1].lut
    width, height = FULL_SIZE
    for i, line in enumerate(lines):
        if line >= height:
            continue  # the last vector lies past the image, as in real products
        row = lut.interpolate(Window(0, int(line), width, 1))[0]
        np.testing.assert_array_equal(row[pixels], expected[i])
    # Half-way between nodes, bilinear interpolation gives the mean of the four corners.
    middle = lut.interpolate(Window(int(pixels[1]) + 20, int(lines[1]) + 300, 1, 1))[0, 0]
    corners = expected[1:3, 1:3].astype(np.float64)
    assert middle == pytest.approx(corners.mean(), rel=1e-6)


def test_lut_grid_helper_matches_the_written_xml(full_safe: Path) -> None:
    xml = full_safe / "annotation" / "calibration" / f"calibration-{STEMS['VV']}.xml"
    lines, pixels, _ = read_calibration_xml(xml)
    want_lines, want_pixels = lut_grid(*FULL_SIZE)
    np.testing.assert_array_equal(lines, want_lines)
    np.testing.assert_array_equal(pixels, want_pixels)


@pytest.mark.parametrize("calibration", sorted(CALIBRATIONS))
@pytest.mark.parametrize("band", [0, 1])
def test_window_equals_xarray_sentinel_calibrate_intensity(
    crop_safe: Path, crop_dn: dict[str, np.ndarray], calibration: str, band: int
) -> None:
    xarray_sentinel = pytest.importorskip("xarray_sentinel")
    from xarray_sentinel.sentinel1 import calibrate_intensity

    pol = ("VV", "VH")[band]
    window = Window(37, 11, 400, 300)  # crosses LUT nodes and the DN=0 borders
    src = open_safe(crop_safe, calibration=calibration)
    with src.open_reader() as reader:
        got = reader.read(window)[band]

    measurement = xarray_sentinel.open_sentinel1_dataset(str(crop_safe), group=f"IW/{pol}")
    dn = measurement["measurement"].isel(
        azimuth_time=slice(window.row, window.row + window.height),
        ground_range=slice(window.col, window.col + window.width),
    )
    cal = xarray_sentinel.open_sentinel1_dataset(str(crop_safe), group=f"IW/{pol}/calibration")
    expected = calibrate_intensity(dn, cal[CALIBRATIONS[calibration]]).values
    rows = slice(window.row, window.row + window.height)
    dn_window = crop_dn[pol][rows, window.col : window.col + window.width]
    np.testing.assert_array_equal(np.ma.getmaskarray(got), dn_window == 0)
    valid = dn_window != 0
    assert valid.mean() > 0.5
    # Equal to float32 precision: a few ulps, from rounding the LUT and (DN / A)^2.
    np.testing.assert_allclose(got.data[valid], expected[valid], rtol=1e-6, atol=0)


def test_dn_zero_is_masked(crop_safe: Path, crop_dn: dict[str, np.ndarray]) -> None:
    src = open_safe(crop_safe)
    with src.open_reader() as reader:
        data = reader.read(Window(0, 0, 200, 100))
    zero = np.stack([crop_dn[p][:100, :200] == 0 for p in ("VV", "VH")])
    assert zero.any() and (~zero).any()
    np.testing.assert_array_equal(np.ma.getmaskarray(data), zero)
    assert np.isnan(data.data[zero]).all()
    assert (data.data[~zero] > 0).all()


def test_window_partly_outside_is_masked_there(crop_safe: Path) -> None:
    src = open_safe(crop_safe)
    _, _, width, height = CROP
    with src.open_reader() as reader:
        data = reader.read(Window(width - 50, height - 40, 100, 100))
    mask = np.ma.getmaskarray(data)
    assert mask[:, 40:, :].all() and mask[:, :, 50:].all()
    assert not mask[:, :40, :50].any()


def test_far_window_is_read_without_reading_the_image(full_source: SafeSource) -> None:
    """A 512x512 window at the far corner: memory stays far below one image band (860 MB)."""
    window = Window(FULL_SIZE[0] - 600, FULL_SIZE[1] - 700, 512, 512)
    process = psutil.Process()
    with rasterio.Env(GDAL_CACHEMAX=64), full_source.open_reader() as reader:
        rss_before = process.memory_info().rss
        tracemalloc.start()
        data = reader.read(window)
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        rss_growth = process.memory_info().rss - rss_before
    assert data.shape == (2, 512, 512)
    assert peak < 32e6  # a few 512x512 float64 temporaries, not 25788x16685 pixels
    assert rss_growth < 300e6
    # Placeholder DN = 1 everywhere, so the power is 1 / A^2 of the interpolated LUT.
    lut = full_source.bands[0].lut.interpolate(window)
    np.testing.assert_allclose(data[0].data, 1.0 / lut.astype(np.float64) ** 2, rtol=1e-6)


def test_threads_each_with_their_own_reader(crop_safe: Path) -> None:
    src = open_safe(crop_safe)
    windows = [Window(c, r, 256, 256) for r in range(0, 1536, 256) for c in range(0, 1024, 256)]
    with src.open_reader() as reader:
        expected = [reader.read(w) for w in windows]
    results: dict[int, np.ma.MaskedArray] = {}

    def work(part: int) -> None:
        with src.open_reader() as reader:
            for i in range(part, len(windows), 3):
                results[i] = reader.read(windows[i])

    threads = [threading.Thread(target=work, args=(k,)) for k in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for i, want in enumerate(expected):
        np.testing.assert_array_equal(results[i].filled(-1), want.filled(-1))


def test_open_source_dispatches_to_safe(crop_safe: Path) -> None:
    src = open_source([crop_safe])
    assert isinstance(src, SafeSource)
    assert src.polarisations == ("VV", "VH")


def test_slc_is_refused(safe_testdata: Path) -> None:
    with pytest.raises(SargeoError, match="SLC product; only GRD products are supported"):
        open_safe(safe_testdata / SLC)
    with pytest.raises(SargeoError, match="only GRD"):
        open_source([safe_testdata / SLC])


def test_slc_measurement_in_a_grd_folder_is_refused(crop_safe: Path, tmp_path: Path) -> None:
    safe = _copy_safe(crop_safe, tmp_path)
    tiff = safe / "measurement" / f"{STEMS['VH']}.tiff"
    tiff.rename(tiff.with_name(tiff.name.replace("-grd-", "-slc-").replace("-iw-", "-iw1-")))
    with pytest.raises(SargeoError, match="SLC measurement; only GRD"):
        open_safe(safe)


def test_missing_calibration_xml(crop_safe: Path, tmp_path: Path) -> None:
    safe = _copy_safe(crop_safe, tmp_path)
    (safe / "annotation" / "calibration" / f"calibration-{STEMS['VH']}.xml").unlink()
    with pytest.raises(SargeoError, match=r"calibration XML of s1b-iw-grd-vh-.*is missing"):
        open_safe(safe)


def test_corrupt_calibration_xml(crop_safe: Path, tmp_path: Path) -> None:
    safe = _copy_safe(crop_safe, tmp_path)
    xml = safe / "annotation" / "calibration" / f"calibration-{STEMS['VV']}.xml"
    xml.write_text(xml.read_text()[:5000])
    with pytest.raises(SargeoError, match="not a readable calibration XML"):
        open_safe(safe)


def test_missing_manifest_and_measurements(crop_safe: Path, tmp_path: Path) -> None:
    safe = _copy_safe(crop_safe, tmp_path)
    for tiff in (safe / "measurement").iterdir():
        tiff.unlink()
    with pytest.raises(SargeoError, match="no Sentinel-1 measurement TIFF"):
        open_safe(safe)
    (safe / "manifest.safe").unlink()
    with pytest.raises(SargeoError, match=r"no manifest\.safe"):
        open_safe(safe)


def test_size_disagreeing_with_the_annotation(crop_safe: Path, tmp_path: Path) -> None:
    safe = _copy_safe(crop_safe, tmp_path)
    tiff = safe / "measurement" / f"{STEMS['VV']}.tiff"
    with rasterio.open(tiff) as ds:
        profile, dn = ds.profile, ds.read(window=((0, 512), (0, 512)))
    profile.update(width=512, height=512)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NotGeoreferencedWarning)
        with rasterio.open(tiff, "w", **profile) as out:
            out.write(dn)
    with pytest.raises(SargeoError, match="512x512 pixels, but its annotation"):
        open_safe(safe)


def test_not_sentinel1(safe_testdata: Path) -> None:
    s2 = next(safe_testdata.glob("S2A_*.SAFE"))
    with pytest.raises(SargeoError, match="not a readable Sentinel-1 manifest"):
        open_safe(s2)


def test_bad_options(crop_safe: Path) -> None:
    with pytest.raises(SargeoError, match="unknown calibration 'sigma1'"):
        open_safe(crop_safe, calibration="sigma1")
    for kwargs in ({"crs": "EPSG:32632"}, {"resolution": 20.0}, {"metric": True}):
        with pytest.raises(SargeoError, match="reprojecting SAFE products is not supported"):
            open_safe(crop_safe, **kwargs)  # type: ignore[arg-type]


def test_cli_tiles_a_safe_product(crop_safe: Path, tmp_path: Path) -> None:
    if importlib.util.find_spec("sargeo.geo.tiling") is None:
        pytest.skip("sargeo.geo.tiling is not written yet: 'sargeo tile' cannot run")
    from sargeo.cli import main

    out = tmp_path / "out"
    assert main(["tile", str(crop_safe), "-o", str(out), "--size", "512", "-q"]) == 0
    chips = sorted((out / "chips").glob("*.tif"))
    assert len(chips) == 6  # 2 x 3 tiles of a 1024 x 1536 product
    src = open_safe(crop_safe)
    with rasterio.open(chips[0]) as chip, src.open_reader() as reader:
        assert chip.crs.to_epsg() == 4326
        assert chip.descriptions == ("VV", "VH")
        assert chip.dtypes[0] == "float32"
        assert chip.transform.almost_equals(src.grid.transform)
        expected = reader.read(Window(0, 0, 512, 512))
        np.testing.assert_array_equal(chip.read(), expected.data)
