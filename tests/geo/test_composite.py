"""RGB composites: fixed ranges, channel order, single-pol replication, HH/HV, units, NaN."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from sargeo.errors import SargeoError
from sargeo.geo.composite import (
    DEFAULT_RANGES,
    RgbRanges,
    compose,
    pseudo_rgb,
    single_pol_rgb,
)


def test_default_ranges_are_documented_values() -> None:
    assert DEFAULT_RANGES.co == (-25.0, 5.0)
    assert DEFAULT_RANGES.cross == (-32.0, -5.0)
    assert DEFAULT_RANGES.ratio == (0.0, 15.0)


def test_channel_order_and_fixed_mapping() -> None:
    vv = np.array([[-25.0, 5.0, -13.0]], dtype=np.float32)
    vh = np.array([[-32.0, -5.0, -18.0]], dtype=np.float32)
    rgb = pseudo_rgb(vv, vh)
    assert rgb.dtype == np.uint8 and rgb.shape == (3, 1, 3)
    np.testing.assert_array_equal(rgb[0, 0], [0, 255, 102])  # R = VV over [-25, 5]
    np.testing.assert_array_equal(rgb[1, 0], [0, 255, 132])  # G = VH over [-32, -5]
    # B = VV - VH over [0, 15]: 7, 10, 5 dB
    np.testing.assert_array_equal(rgb[2, 0], [119, 170, 85])


def test_same_pixel_same_colour_whatever_the_tile() -> None:
    """No per-tile stretch: a pixel's colour does not depend on its neighbours."""
    rng = np.random.default_rng(0)
    dark_vv = rng.uniform(-24, -20, size=(16, 16)).astype(np.float32)
    dark_vh = dark_vv - 7
    bright_vv = rng.uniform(-2, 4, size=(16, 16)).astype(np.float32)
    bright_vh = bright_vv - 5
    for vv, vh in ((dark_vv, dark_vh), (bright_vv, bright_vh)):
        vv[3, 4], vh[3, 4] = -12.0, -20.0
    a = pseudo_rgb(dark_vv, dark_vh)
    b = pseudo_rgb(bright_vv, bright_vh)
    np.testing.assert_array_equal(a[:, 3, 4], b[:, 3, 4])
    # and a dark tile stays dark
    assert a[0].mean() < 50 < b[0].mean()


def test_values_outside_range_are_clipped() -> None:
    vv = np.array([[-60.0, 30.0]], dtype=np.float32)
    vh = np.array([[-60.0, 30.0]], dtype=np.float32)
    rgb = pseudo_rgb(vv, vh)
    np.testing.assert_array_equal(rgb[:2, 0], [[0, 255], [0, 255]])


def test_custom_ranges() -> None:
    vv = np.full((2, 2), -10.0, dtype=np.float32)
    rgb = pseudo_rgb(vv, vv - 10, RgbRanges(co=(-10.0, 0.0), cross=(-20.0, -10.0), ratio=(0, 10)))
    assert (rgb == np.array([0, 0, 255], dtype=np.uint8)[:, None, None]).all()
    with pytest.raises(SargeoError, match="LO < HI"):
        pseudo_rgb(vv, vv, RgbRanges(co=(5.0, -5.0)))


def test_single_pol_replicates_band() -> None:
    band = np.array([[-25.0, -13.0, 5.0]], dtype=np.float32)
    rgb = single_pol_rgb(band)
    assert rgb.shape == (3, 1, 3)
    np.testing.assert_array_equal(rgb[0], rgb[1])
    np.testing.assert_array_equal(rgb[0], rgb[2])
    np.testing.assert_array_equal(rgb[0, 0], [0, 102, 255])
    np.testing.assert_array_equal(single_pol_rgb(band, (-10.0, 0.0))[0, 0], [0, 0, 255])


def test_nan_becomes_zero_with_mask() -> None:
    vv = np.full((4, 4), -10.0, dtype=np.float32)
    vh = np.full((4, 4), -18.0, dtype=np.float32)
    vh[1, 2] = np.nan
    result = compose(np.stack([vv, vh]), ("VV", "VH"), "dB")
    assert (result.rgb[:, 1, 2] == 0).all()
    assert result.rgb[:, 0, 0].all()
    assert not result.valid[1, 2] and result.valid.sum() == 15


@pytest.mark.parametrize("pols", [("VV", "VH"), ("VH", "VV"), ("HH", "HV"), ("hv", "hh")])
def test_compose_picks_co_and_cross_by_name(pols: tuple[str, str]) -> None:
    co = np.full((3, 3), -8.0, dtype=np.float32)
    cross = np.full((3, 3), -20.0, dtype=np.float32)
    bands = np.stack([co, cross] if pols[0].upper() in ("VV", "HH") else [cross, co])
    result = compose(bands, pols, "dB")
    np.testing.assert_array_equal(result.rgb, pseudo_rgb(co, cross))


def test_compose_converts_units_first() -> None:
    db = np.stack([np.full((2, 2), -10.0), np.full((2, 2), -20.0)]).astype(np.float32)
    linear = (10 ** (db / 10)).astype(np.float32)
    expected = compose(db, ("VV", "VH"), "dB").rgb
    np.testing.assert_array_equal(compose(linear, ("VV", "VH"), "linear").rgb, expected)
    np.testing.assert_array_equal(compose(np.sqrt(linear), ("VV", "VH"), "amplitude").rgb, expected)


def test_compose_single_pol_uses_range_of_its_polarisation() -> None:
    band = np.full((1, 2, 2), -18.5, dtype=np.float32)
    vv = compose(band, ("VV",), "dB").rgb
    vh = compose(band, ("VH",), "dB").rgb
    np.testing.assert_array_equal(vv, single_pol_rgb(band[0], DEFAULT_RANGES.co))
    np.testing.assert_array_equal(vh, single_pol_rgb(band[0], DEFAULT_RANGES.cross))
    assert vv[0, 0, 0] != vh[0, 0, 0]
    # unnamed single band: co-pol range; a 2-D array is one band
    np.testing.assert_array_equal(compose(band[0], (), "dB").rgb, vv)


def test_compose_uint8_replicates_first_band() -> None:
    band = np.arange(12, dtype=np.uint8).reshape(1, 3, 4)
    result = compose(band, ("HH",), "uint8")
    assert result.rgb.dtype == np.uint8 and result.rgb.shape == (3, 3, 4)
    for channel in result.rgb:
        np.testing.assert_array_equal(channel, band[0])


def test_compose_errors() -> None:
    bands = np.zeros((2, 3, 3), dtype=np.float32)
    with pytest.raises(SargeoError, match="2 band"):
        compose(bands, ("VV",), "dB")
    with pytest.raises(SargeoError, match="units"):
        compose(bands, ("VV", "VH"), "kelvin")
    with pytest.raises(SargeoError, match="bands, h, w"):
        compose(np.zeros((1, 2, 3, 3)), ("VV",), "dB")


@pytest.mark.shared_data
def test_real_sentinel1_chip_water_is_dark(shared_data: Path) -> None:
    """On a real Sen1Floods11 chip the composite is valid everywhere and water is darker red."""
    import rasterio

    folder = shared_data / "sen1floods11"
    with rasterio.open(folder / "Spain_7370579_S1Hand.tif") as src:
        bands = src.read().astype(np.float32)
        pols = tuple(d or "" for d in src.descriptions)
    with rasterio.open(folder / "Spain_7370579_LabelHand.tif") as src:
        label = src.read(1)
    result = compose(bands, pols, "dB")
    assert result.rgb.shape == (3, *bands.shape[1:])
    assert np.array_equal(result.valid, np.isfinite(bands).all(axis=0))
    red = result.rgb[0].astype(float)
    assert red[label == 1].mean() + 40 < red[label == 0].mean()
