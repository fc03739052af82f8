"""Unit tests of the realism statistics on images whose answer is known (gamma speckle, flat ships)."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from sargeo.errors import SargeoError
from sargeo.synth import realism as R
from sargeo.synth import realism_refs as F


def _speckle(looks: float, shape: tuple[int, int] = (360, 360), seed: int = 0) -> np.ndarray:
    """Pure L-look gamma speckle of unit mean."""
    return np.random.default_rng(seed).gamma(looks, 1.0 / looks, shape)


@pytest.mark.parametrize("looks", [1.0, 4.0, 10.0])
def test_enl_tracks_the_number_of_looks(looks: float) -> None:
    # all windows: unbiased; lowest-CV windows: biased up by a bounded factor (same on both sides)
    x = _speckle(looks)
    assert R.homogeneous_enl(x, keep=1.0) == pytest.approx(looks, rel=0.1)
    assert looks < R.homogeneous_enl(x) < 1.6 * looks


def test_enl_ignores_texture_outside_the_mask_and_takes_homogeneous_windows() -> None:
    x = _speckle(4.0)
    textured = x * np.random.default_rng(1).gamma(1.0, 1.0, x.shape)  # K-distributed, ENL < 1
    mixed = np.where(np.arange(x.shape[1])[None, :] < 180, x, textured)
    left = np.zeros(x.shape, dtype=bool)
    left[:, :180] = True
    assert R.homogeneous_enl(mixed, left, keep=1.0) == pytest.approx(4.0, rel=0.15)
    assert R.homogeneous_enl(mixed, ~left, keep=1.0) < 1.5
    with pytest.raises(ValueError, match="no 9x9 window"):
        R.homogeneous_enl(mixed, np.zeros(x.shape, dtype=bool))


def test_clutter_shape_of_single_look_speckle_matches_theory() -> None:
    # exponential intensity: p95/p50 = ln 20 / ln 2, p5/p50 = -ln 0.95 / ln 2, cv = 1
    c = R.clutter_stats(_speckle(1.0, (400, 400)) * 0.02)
    assert c.high_db == pytest.approx(10 * math.log10(math.log(20) / math.log(2)), abs=0.15)
    assert c.low_db == pytest.approx(10 * math.log10(-math.log(0.95) / math.log(2)), abs=0.3)
    assert c.cv == pytest.approx(1.0, abs=0.05)
    assert c.median_db == pytest.approx(10 * math.log10(0.02 * math.log(2)), abs=0.1)


def test_class_levels_of_a_known_image() -> None:
    db = np.full((40, 40), -20.0)
    db[:, 20:] = -8.0
    db[0, 0] = np.nan
    mask = np.zeros(db.shape, dtype=bool)
    mask[:, 20:] = True
    lv = R.class_levels_db(db, mask)
    assert (lv.median_db, lv.iqr_db, lv.pixels) == (-8.0, 0.0, 800)
    with pytest.raises(ValueError, match="only 0 pixels"):
        R.class_levels_db(db, np.zeros(db.shape, dtype=bool))
    with pytest.raises(ValueError, match="shape"):
        R.class_levels_db(db, mask[:10])


def test_ship_and_chip_contrast_of_a_flat_ship() -> None:
    x = np.full((60, 60), 0.01)
    ship = np.zeros(x.shape, dtype=bool)
    ship[28:32, 25:35] = True
    x[ship] = 1.0
    x[30, 30] = 10.0
    c = R.ship_contrast(x, ship, ~ship)
    assert c.peak_db == pytest.approx(30.0)
    assert c.mean_db == pytest.approx(10 * math.log10((39 * 1.0 + 10.0) / 40 / 0.01))
    chip = R.chip_contrast(x)
    assert chip.peak_db == pytest.approx(30.0)
    assert chip.mean_db == pytest.approx(10 * math.log10((9 + 10.0) / 10 / 0.01))


def test_display_is_a_fixed_amplitude_stretch() -> None:
    sat = 10 ** (R.DISPLAY_SATURATION_DB / 10)
    px = R.to_display_uint8(np.array([0.0, sat / 4, sat, 100 * sat, np.nan]))
    assert px.tolist() == [0, 128, 255, 255, 0]
    # intensity ratios of the display equal sigma0 ratios below saturation: gain-free
    a = R.display_intensity(R.to_display_uint8(np.array([sat / 100, sat / 10])))
    assert 10 * math.log10(a[1] / a[0]) == pytest.approx(10.0, abs=0.3)


def test_loaders_name_the_missing_file(tmp_path: Path) -> None:
    with pytest.raises(SargeoError, match=r"Spain_7370579_S1Hand\.tif: file not found"):
        F.load_sen1floods11(tmp_path)
    with pytest.raises(SargeoError, match="no JPG images"):
        F.load_hrsid(tmp_path)
    with pytest.raises(SargeoError, match="no \\*/Patch_Cal"):
        F.load_opensarship(tmp_path)
    (tmp_path / "Spain_7370579_S1Hand.tif").write_text("not a tiff")
    with pytest.raises(SargeoError, match="cannot read raster"):
        F.load_sen1floods11(tmp_path)


def test_loaders_read_the_real_references(shared_data: Path) -> None:
    flood = F.load_sen1floods11(shared_data / "sen1floods11")
    assert flood.vv_db.shape == flood.water.shape == (512, 512)
    assert flood.water.sum() == 70035  # the README's count of water pixels
    assert not (flood.water & flood.land).any()
    hrsid = F.load_hrsid(shared_data / "hrsid_mini")
    assert len(hrsid) == 18
    assert sum(len(im.boxes) for im in hrsid) == 24
    assert all(im.ship.any() and im.pixels.dtype == np.uint8 for im in hrsid)
    chips = F.load_opensarship(shared_data / "opensarship")
    assert {c.product for c in chips} == {"GRD", "SLC"}
    assert all(c.vh is None or c.vh.shape == c.vv.shape for c in chips)
    # band order: VH (band 1) is darker than VV (band 2) over the sea
    dual = [c for c in chips if c.vh is not None]
    assert np.median([np.median(c.vh) < np.median(c.vv) for c in dual]) == 1


def test_ranking_by_the_other_polarisation_removes_the_selection_bias() -> None:
    vv, vh = _speckle(4.4, seed=1), _speckle(4.4, seed=2)
    cross = R.homogeneous_enl(vv, rank_by=vh)
    assert cross == pytest.approx(4.4, rel=0.1)
    assert R.homogeneous_enl(vv) > 1.2 * cross  # ranked on its own variance: biased up
    with pytest.raises(ValueError, match="rank_by shape"):
        R.homogeneous_enl(vv, rank_by=vh[:10])


def test_speckle_correlation_tells_white_from_correlated_speckle() -> None:
    from scipy.ndimage import uniform_filter

    white = _speckle(4.4)
    correlated = uniform_filter(white, size=2)  # 2x2 box: lag-1 correlation 0.5 along each axis
    assert R.speckle_correlation(white, keep=1.0) == pytest.approx(0.0, abs=0.03)
    assert R.speckle_correlation(correlated, keep=1.0) == pytest.approx(0.5, abs=0.06)
