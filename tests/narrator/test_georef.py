"""Bearings and lengths on the ground from a tile's georeference."""

from __future__ import annotations

import math

import pytest
from pyproj import Geod, Transformer

from sargeo.narrator.georef import footprint_wkt, frame_for
from sargeo.records import Sample, Tile, Window

from .helpers import utm_tile


def _sample(tile: Tile | None, size: int = 100, **metadata: object) -> Sample:
    return Sample("s", "x.tif", size, size, tile=tile, metadata=dict(metadata))


def _diff(a: float, b: float) -> float:
    return abs((a - b + 180.0) % 360.0 - 180.0)


def test_north_up_utm_on_central_meridian() -> None:
    frame = frame_for(_sample(utm_tile(100)))
    assert frame.georeferenced
    assert frame.heading(0) == pytest.approx(0.0, abs=0.05)
    assert frame.heading(90) == pytest.approx(90.0, abs=0.05)
    assert frame.heading(225) == pytest.approx(225.0, abs=0.05)
    assert frame.length_m(30, 0) == pytest.approx(300.0, rel=0.01)


def test_grid_convergence_against_geodesic_azimuth() -> None:
    # 300 km east of UTM 31's central meridian at ~45°N, grid north is ~2.7° off true north.
    tile = utm_tile(100, x0=800_000.0)
    frame = frame_for(_sample(tile))
    to_ll = Transformer.from_crs("EPSG:32631", "EPSG:4326", always_xy=True)
    a, _, c, _, e, f = tile.transform
    x, y = c + 50 * a, f + 50 * e
    lon1, lat1 = to_ll.transform(x, y)
    lon2, lat2 = to_ll.transform(x, y + 1000.0)  # one km grid north
    azimuth, _, _ = Geod(ellps="WGS84").inv(lon1, lat1, lon2, lat2)
    assert _diff(frame.heading(0), azimuth % 360) < 0.05
    assert _diff(frame.heading(0), 0.0) > 1.5  # convergence is really accounted for


def test_rotated_and_geographic_transforms() -> None:
    # image up is grid east: a transform rotated by 90 degrees
    rotated = Tile(
        "r",
        "",
        Window(0, 0, 100, 100),
        "EPSG:32631",
        (0.0, -10.0, 500_000.0, -10.0, 0.0, 5_000_000.0),
        (0, 0, 1, 1),
        (10, 10),
        ("VV",),
        "dB",
    )
    frame = frame_for(_sample(rotated))
    assert _diff(frame.heading(0), 90.0) < 0.1 or _diff(frame.heading(0), 270.0) < 0.1
    up = frame.ground(0, -1)
    assert up[1] == pytest.approx(0.0, abs=1e-3)
    # EPSG:4326 at 60°N: equal degree steps are half as wide east-west; a 45° pixel diagonal is
    # therefore not north-east on the ground
    geo = Tile(
        "g",
        "",
        Window(0, 0, 100, 100),
        "EPSG:4326",
        (1e-4, 0.0, 10.0, 0.0, -1e-4, 60.0),
        (0, 0, 1, 1),
        (0, 0),
        ("VV",),
        "dB",
    )
    frame = frame_for(_sample(geo))
    expected = math.degrees(math.atan2(math.cos(math.radians(60.0)), 1.0))
    assert frame.heading(45) == pytest.approx(expected, abs=0.2)
    assert frame.spacing is not None and frame.spacing[0] == pytest.approx(5.6, rel=0.02)


def test_without_crs_bearings_are_image_relative_and_spacing_from_metadata() -> None:
    frame = frame_for(_sample(None, pixel_spacing_m=[2.0, 3.0]))
    assert not frame.georeferenced
    assert frame.heading(90) == pytest.approx(90.0)
    assert frame.length_m(10, 0) == pytest.approx(20.0)
    assert frame.length_m(0, 10) == pytest.approx(30.0)
    assert frame_for(_sample(None)).length_m(1, 1) is None


def test_footprint_is_closed_polygon_in_tile_crs() -> None:
    wkt = footprint_wkt(utm_tile(10), 10, 10)
    assert wkt.startswith("POLYGON ((500000 5000000, 500100 5000000, 500100 4999900")
    assert wkt.endswith("500000 5000000))")
