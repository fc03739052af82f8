"""Scene layouts and object placement make geographic sense (vector level, no pixels)."""

from __future__ import annotations

import copy
from collections import Counter
from dataclasses import replace

import numpy as np
import pytest
import shapely

from sargeo.records import Window
from sargeo.synth.landcover import Block
from sargeo.synth.layout import capped_uniform
from sargeo.synth.objects import WAKE_KELVIN, WAKE_TURBULENT
from sargeo.synth.scene import Scene, SynthOptions, build_scene


@pytest.fixture(scope="module")
def scenes() -> list[Scene]:
    """Layouts of three 2048 px scenes (20 km): harbours, airports and many objects."""
    return [build_scene(SynthOptions(size=2048, seed=seed), 0) for seed in (3, 12, 33)]


def test_objects_sit_where_they_belong(scenes: list[Scene]) -> None:
    found: Counter[str] = Counter()
    for scene in scenes:
        lay = scene.layout
        airports = shapely.union_all([a.zone for a in lay.airports])
        for obj in scene.objects:
            found[obj.cls] += 1
            fp = obj.footprint
            if obj.cls in ("ship", "offshore_platform", "wind_turbine", "oil_slick"):
                assert lay.open_sea.contains(fp), obj.cls
            elif obj.cls == "aircraft":
                assert airports.contains(fp)
            elif obj.cls == "storage_tank":
                assert lay.land.contains(fp)
            if obj.cls == "ship":
                lo, hi = lay.sizes.ship_length_m
                assert lo <= obj.length_m <= hi and obj.width_m < obj.length_m
                assert obj.attributes["status"] in ("moored", "anchored", "under_way")
                assert obj.attributes["wake"] == bool(obj.wakes)
                if obj.attributes["status"] == "moored":
                    # alongside a pier or the quay front
                    berths = [g for h in lay.harbours for g in (*h.piers, h.zone)]
                    assert min(fp.distance(g) for g in berths) < 30.0
    assert found["ship"] > 10 and found["aircraft"] > 0
    assert any(o.attributes.get("wake") for s in scenes for o in s.objects)


def test_objects_keep_apart_and_inside_the_scene(scenes: list[Scene]) -> None:
    for scene in scenes:
        objs = scene.objects
        tree = shapely.STRtree([o.footprint for o in objs])
        gap = 1.5 * scene.grid.spacing
        for i, obj in enumerate(objs):
            near = tree.query(obj.footprint, predicate="dwithin", distance=gap)
            assert set(near.tolist()) == {i}
            x, y, w, h = obj.bbox
            assert x >= 0 and y >= 0 and x + w <= scene.grid.size and y + h <= scene.grid.size
        assert [o.id for o in objs] == list(range(1, len(objs) + 1))


def test_layout_has_the_promised_features(scenes: list[Scene]) -> None:
    totals: Counter[str] = Counter()
    for scene in scenes:
        totals.update(scene.layout.counts)
        for a in scene.layout.airports:
            assert a.zone.contains(a.runway) and a.runway.length > 3000  # perimeter of >= 1.8 km
    for key in ("rivers", "urban_areas", "harbours", "piers", "airports", "roads"):
        assert totals[key] > 0, key


def test_wakes_scale_the_sea_only(scenes: list[Scene]) -> None:
    scene = scenes[0]
    shape = (4, 6)
    wake = np.zeros(shape, np.uint8)
    wake[1], wake[2], wake[3] = WAKE_TURBULENT, WAKE_KELVIN, WAKE_TURBULENT
    mask = np.full(shape, scene.classes.value("sea"), np.uint8)
    mask[3] = scene.classes.value("forest")
    block = Block(
        Window(0, 0, 6, 4), mask, np.zeros(shape, np.float32), np.zeros(shape, np.float32),
        np.zeros(shape, bool), np.zeros(shape, np.float32), wake, np.zeros(shape, np.float32), [],
    )  # fmt: skip
    radar = copy.copy(scene.radar)
    radar.model = replace(scene.model, swell_db=0.0)
    radar.options = replace(radar.options, speckle=False, k_texture=False, units="linear")
    vv, _ = radar.sigma0(block)
    model = scene.model.wake
    np.testing.assert_allclose(vv[1] / vv[0], 10 ** (model.turbulent_db / 10), rtol=1e-5)
    np.testing.assert_allclose(vv[2] / vv[0], 10 ** (model.kelvin_db / 10), rtol=1e-5)
    clean_db, _ = radar.mean_db(block)
    np.testing.assert_allclose(vv[3], 10 ** (clean_db[3] / 10), rtol=1e-5)  # land is untouched


@pytest.mark.parametrize("spacing", [10.0, 3.0, 1.0])
def test_every_small_size_places_its_layout(spacing: float) -> None:
    # lakes, islands and towns once drew their radius from an empty range below about 120 px at 10 m
    for size in (64, 100, 119, *range(66, 200, 11)):
        for seed in range(10):
            scene = build_scene(SynthOptions(size=size, seed=seed, spacing=spacing), 0)
            assert scene.grid.size == size
            for _, geom in scene.layout.layers:
                assert geom.is_valid


def test_capped_uniform_draws_the_same_value_where_the_cap_does_not_bite() -> None:
    a, b = np.random.default_rng(4), np.random.default_rng(4)
    assert capped_uniform(a, 150.0, 1200.0, 5000.0) == b.uniform(150.0, 1200.0)
    assert capped_uniform(a, 150.0, 1200.0, 80.0) == 80.0
