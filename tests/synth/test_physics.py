"""The radar model reproduces its table: class means, incidence trend, speckle statistics, sidelobes."""

from __future__ import annotations

import copy
from dataclasses import replace
from typing import Any

import numpy as np
import pytest

from sargeo.records import Window
from sargeo.synth.landcover import Block
from sargeo.synth.physics import Radar
from sargeo.synth.scene import Scene, SynthOptions, build_scene

from .conftest import SEED, SIZE

WINDOW = Window(0, 0, SIZE, SIZE)


@pytest.fixture(scope="module")
def scene() -> Scene:
    return build_scene(SynthOptions(size=SIZE, seed=SEED, units="linear"), 0)


def _with(radar: Radar, **changes: Any) -> Radar:
    """The same radar with some options changed."""
    other = copy.copy(radar)
    other.options = replace(radar.options, **changes)
    return other


def _block(scene: Scene) -> Block:
    return scene.rasteriser.block(
        WINDOW, scene.layout.acquisition.look_sign, scene.model.cardinal_exponent
    )


def _expected_db(scene: Scene, name: str, pol: int, mask: np.ndarray) -> float:
    """Table mean at the mean incidence of the class's pixels."""
    entry = scene.model.classes[name]
    cols = np.nonzero(mask)[1]
    theta = scene.radar.incidence(cols).mean()
    return entry.mean_db[pol] + entry.slope_db_per_deg[pol] * (
        theta - scene.model.reference_incidence_deg
    )


def test_class_means_before_speckle_follow_the_table(scene: Scene) -> None:
    block = _block(scene)
    vv, vh = scene.radar.mean_db(block)
    checked = 0
    for info in scene.classes.classes:
        where = block.mask == info.value
        if where.sum() < 2000:
            continue
        for pol, band in enumerate((vv, vh)):
            entry = scene.model.classes[info.name]
            # region offsets and large-scale texture do not average out over one small scene
            tol = 0.5 + 0.75 * entry.region_std_db + entry.texture_std_db
            assert float(band[where].mean()) == pytest.approx(
                _expected_db(scene, info.name, pol, where), abs=tol
            ), (info.name, pol)
        checked += 1
    assert checked >= 3  # sea and at least two land classes


def test_speckle_keeps_the_mean_and_has_the_right_looks(scene: Scene) -> None:
    clean = _with(scene.radar, speckle=False, k_texture=False)
    noisy = _with(scene.radar, k_texture=False)
    block = _block(scene)
    sea = block.mask == scene.classes.value("sea")
    assert sea.sum() > 10000
    ref = clean.sigma0(block)[0][sea]
    spk = noisy.sigma0(block)[0][sea]
    ratio = spk / ref
    assert float(ratio.mean()) == pytest.approx(1.0, abs=0.02)
    enl = float(ratio.mean() ** 2 / ratio.var())
    assert enl == pytest.approx(scene.radar.options.looks, rel=0.08)


def test_speckle_is_correlated_at_the_resolution_cell(scene: Scene) -> None:
    """Sentinel-1 GRD: 20 m resolution on 10 m pixels, neighbours share speckle (about 0.6)."""
    clean = _with(scene.radar, speckle=False, k_texture=False)
    noisy = _with(scene.radar, k_texture=False)
    block = _block(scene)
    sea = block.mask == scene.classes.value("sea")
    ratio = noisy.sigma0(block)[0] / clean.sigma0(block)[0]
    z = (ratio - ratio[sea].mean()) / ratio[sea].std()
    pairs = sea[:, 1:] & sea[:, :-1]
    lag1 = float((z[:, 1:] * z[:, :-1])[pairs].mean())
    h = scene.radar.speckle.kernel.astype(np.float64)
    assert lag1 == pytest.approx(float(np.sum(h[1:] * h[:-1]) ** 2), abs=0.04)
    assert 0.5 < lag1 < 0.75
    # coarse pixels (80 m) sample the 20 m cell once: white speckle
    coarse = build_scene(SynthOptions(size=128, spacing=80.0, seed=SEED), 0)
    assert coarse.radar.speckle.kernel.size == 1


def _without_point_targets(radar: Radar, **changes: Any) -> Radar:
    """The radar with options changed and no point scatterers (their sidelobes cross the sea)."""
    other = _with(radar, **changes)
    other.peaks = np.zeros((0, 2), np.int64)
    return other


def test_k_texture_makes_sea_clutter_heavier_tailed(scene: Scene) -> None:
    gamma_only = _without_point_targets(scene.radar, k_texture=False)
    block = _block(scene)
    sea = block.mask == scene.classes.value("sea")
    k = _without_point_targets(scene.radar).sigma0(block)[0][sea]
    g = gamma_only.sigma0(block)[0][sea]
    assert float(k.mean()) == pytest.approx(float(g.mean()), rel=0.05)
    nu, looks = scene.model.k_shape, scene.radar.options.looks
    # normalised intensity variance of K clutter: (1 + 1/nu)(1 + 1/L) - 1 > 1/L
    assert float(k.var() / k.mean() ** 2) > float(g.var() / g.mean() ** 2) * (1 + 0.5 / nu)
    assert looks > 0


def test_incidence_trend_across_range() -> None:
    big = build_scene(SynthOptions(size=4096, seed=SEED), 0)
    acq = big.layout.acquisition
    theta = big.radar.incidence(np.arange(4096))
    assert 29.0 <= theta.min() < theta.max() <= 46.0
    assert (np.diff(theta) > 0).all() == (acq.pass_direction == "ascending")
    window = Window(0, 0, 4096, 8)
    shape = (window.height, window.width)
    sea = Block(
        window, np.full(shape, big.classes.value("sea"), np.uint8), np.zeros(shape, np.float32),
        np.zeros(shape, np.float32), np.zeros(shape, bool), np.zeros(shape, np.float32),
        np.zeros(shape, np.uint8), np.zeros(shape, np.float32), [],
    )  # fmt: skip
    vv, vh = big.radar.mean_db(sea)
    slope_vv, slope_vh = big.model.classes["sea"].slope_db_per_deg
    for band, slope in ((vv, slope_vv), (vh, slope_vh)):
        fit = np.polyfit(theta, band.mean(axis=0), 1)[0]
        assert fit == pytest.approx(slope, abs=0.05)
    assert float(vv.mean()) == pytest.approx(
        big.model.classes["sea"].mean_db[0]
        + slope_vv * (theta.mean() - big.model.reference_incidence_deg),
        abs=0.3,
    )


def test_sidelobe_profile_peak_sidelobe_ratio(scene: Scene) -> None:
    profile = scene.radar.sidelobe_profile(1.0)
    assert profile[0] == pytest.approx(1.0)
    x = np.arange(len(profile)) * scene.grid.spacing / scene.model.resolution_m
    k = int(np.argmin(np.abs(x - 1.4303)))  # the sample nearest the first sidelobe
    expected = scene.model.pslr_db + 20 * np.log10(1.4303 / x[k])
    assert 10 * np.log10(profile[k]) == pytest.approx(expected, abs=0.05)
    assert (np.diff(profile[x >= 1.0]) <= 0).all()


def test_bright_ship_gets_a_sidelobe_cross(scene: Scene) -> None:
    targets = [o for o in scene.objects if o.cls == "ship" and o.attributes["status"] != "moored"]
    assert targets and all(o.point_target and o.peaks for o in targets)
    # without speckle: a median of 16 correlated speckle samples scatters too much to test the cross;
    # every peak set to 25 dB, so that its sidelobes 12-20 px out stand 2-6 dB over the sea
    clean = _with(scene.radar, speckle=False, k_texture=False)
    clean.peak_linear = np.full_like(clean.peak_linear, 10**2.5)
    block = _block(scene)
    vv = 10 * np.log10(clean.sigma0(block)[0])
    vv[block.mask != scene.classes.value("sea")] = np.nan  # the sea around the ship only
    checked = 0
    for obj in targets:
        r, c = obj.peak  # type: ignore[misc]
        if min(r, c) < 20 or max(r, c) > SIZE - 21:
            continue
        arm = np.concatenate([vv[r, c + 12 : c + 20], vv[r, c - 20 : c - 12]])
        off = np.concatenate([vv[r + 12 : r + 20, c + 12], vv[r - 20 : r - 12, c - 12]])
        if np.isnan(arm).mean() > 0.5 or np.isnan(off).mean() > 0.5:
            continue
        assert np.nanmedian(arm) > np.nanmedian(off) + 2
        checked += 1
    assert checked


def test_urban_double_bounce_is_bright(scene: Scene) -> None:
    block = _block(scene)
    walls = block.double_bounce > 0.1
    if walls.sum() < 50:
        pytest.skip("no wall facing the sensor in this scene")
    clean = _with(scene.radar, speckle=False)
    vv = 10 * np.log10(clean.sigma0(block)[0])
    urban = (block.mask == scene.classes.value("urban")) & (block.double_bounce == 0)
    assert float(np.median(vv[walls])) > float(np.median(vv[urban])) + 5
