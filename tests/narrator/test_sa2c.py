"""Segmentation-to-caption: class shares, the dominant class and simple spatial relations."""

from __future__ import annotations

import random
import re

import numpy as np
import pytest

from sargeo.narrator import sa2c
from sargeo.narrator.facts import CoverFacts, cover_facts
from sargeo.narrator.facts import cover as facts_cover
from sargeo.narrator.georef import Frame, frame_for
from sargeo.narrator.vocab import load_vocab
from sargeo.records import Sample

from .helpers import utm_tile

VOCAB = load_vocab()
NO_CRS = Frame(False, None, None, None)


def _texts(cover: CoverFacts, frame: Frame = NO_CRS, n: int = 20) -> list[str]:
    return [c.text for c in sa2c.captions(cover, frame, VOCAB, random.Random(3), n)]


def test_shares_are_exact_and_nodata_is_left_out() -> None:
    mask = np.zeros((100, 100), dtype=np.int16)
    mask[:, :30] = 1
    mask[:10, :] = -1  # nodata row band: 10 % of the pixels
    cover = cover_facts(mask, {0: "not water", 1: "water"}, VOCAB)
    assert cover.valid == 9000
    assert cover.shares["water"] == pytest.approx(2700 / 9000)
    assert cover.shares["land"] == pytest.approx(6300 / 9000)
    assert list(cover.shares) == ["land", "water"]


def test_water_in_the_west_with_a_crs_and_on_the_left_without() -> None:
    mask = np.zeros((120, 120), dtype=np.uint8)
    mask[:, :40] = 1
    cover = cover_facts(mask, {0: "land", 1: "water"}, VOCAB)
    frame = frame_for(Sample("s", "x", 120, 120, tile=utm_tile(120)))
    assert sa2c.region(cover.offsets["water"], frame, VOCAB, random.Random(0)) == "in the west"
    assert (
        sa2c.region(cover.offsets["water"], NO_CRS, VOCAB, random.Random(0)) == "on the left side"
    )
    texts = _texts(cover, frame)
    water = [t for t in texts if re.search(r"\bwater\b", t, re.I)]
    assert water and all("in the west" in t for t in water if "33%" in t), water


def test_urban_along_the_coast_and_spread_classes() -> None:
    mask = np.zeros((200, 200), dtype=np.uint8)
    mask[:, :80] = 1
    mask[:, 80:95] = 2
    cover = cover_facts(mask, {0: "land", 1: "sea", 2: "built-up"}, VOCAB)
    assert cover.coast == ("urban",)
    texts = _texts(cover)
    assert any("shore" in t or "coast" in t or "water's edge" in t for t in texts)
    rng = np.random.default_rng(0)
    noisy = rng.integers(0, 2, (200, 200))
    cover = cover_facts(noisy, {0: "forest", 1: "farmland"}, VOCAB)
    assert cover.offsets["forest"] is None and cover.coast == ()


def test_dominant_uniform_and_small_classes() -> None:
    mask = np.ones((100, 100), dtype=np.uint8)
    mask[0, :5] = 0  # 0.05 %: too small to name, but present
    cover = cover_facts(mask, {0: "urban", 1: "water", 2: "forest"}, VOCAB)
    assert list(cover.shares) == ["water"] and cover.present == {"water", "urban"}
    assert all("urban" not in t and "forest" not in t for t in _texts(cover))
    assert all("water" in t for t in _texts(cover))


def test_every_percentage_is_a_true_share() -> None:
    mask = np.zeros((100, 100), dtype=np.uint8)
    mask[:60, :] = 1
    mask[60:75, :50] = 2
    cover = cover_facts(mask, {0: "land", 1: "water", 2: "urban"}, VOCAB)
    truth = {"land": 32.5, "water": 60.0, "urban": 7.5}
    for text in _texts(cover, n=40):
        for name, pct in re.findall(r"(water|land|urban area|built-up area)[^%]*?(\d+)%", text):
            key = "urban" if "area" in name else name
            assert abs(float(pct) - truth[key]) <= 0.5 + 1e-9, text


@pytest.mark.shared_data
def test_sen1floods11_water_share_agrees_with_label_raster(shared_data) -> None:  # type: ignore[no-untyped-def]
    import rasterio

    from sargeo.datasets.detect import load_dataset
    from sargeo.narrator.fusion import Narrator

    data = load_dataset(shared_data / "sen1floods11")
    (sample,) = data.samples
    with rasterio.open(sample.mask) as src:
        label = src.read(1)
    expected = 100.0 * (label == 1).sum() / (label >= 0).sum()
    assert expected == pytest.approx(26.7, abs=0.05)
    result = Narrator().caption(sample)
    texts = [c.text for c in result.captions if c.branch in ("sa2c", "geo")]
    shares = [
        float(pct)
        for t in texts
        for clause in re.split(r"[,;.]", t.lower())
        if re.search(r"\bwater\b", clause)
        for pct in re.findall(r"(\d+)%", clause)
    ]
    assert shares, texts
    assert all(abs(s - expected) <= 1.0 for s in shares), (shares, texts)
    assert result.cover is not None and result.cover.shares["water"] == pytest.approx(
        expected / 100
    )


@pytest.mark.parametrize("steps", [1, 3, 6])
def test_shore_band_grows_like_scipy_dilation(steps: int) -> None:
    from scipy.ndimage import binary_dilation

    rng = np.random.default_rng(steps)
    region = rng.random((37, 53)) < 0.02
    region[0, :3] = region[-1, -1] = True  # touching the borders
    assert (facts_cover._grow(region, steps) == binary_dilation(region, iterations=steps)).all()
