"""Cutting a scene into tiles keeps each tile's ground truth, and its pixels, exactly."""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import pytest
import rasterio
from PIL import Image

from sargeo.corpus.cut import CutTarget, clip_boxes, cut_sample
from sargeo.corpus.recipe import TileRule
from sargeo.datasets.synthetic import load_synthetic
from sargeo.records import Box, Sample
from sargeo.runtime.grid import Window
from sargeo.synth.scene import SynthOptions, generate


def test_clip_boxes_keeps_boxes_mostly_inside() -> None:
    window = Window(100, 100, 50, 50)
    inside = Box("ship", (110, 110, 120, 114), obox=(115, 112, 10, 4, 30.0))
    mostly = Box("ship", (140, 120, 160, 124))  # half inside: kept at 0.5, clipped at the edge
    barely = Box("ship", (145, 130, 165, 134))  # a quarter inside: dropped
    outside = Box("ship", (10, 10, 20, 20))
    kept = clip_boxes([inside, mostly, barely, outside], window, 0.5)
    assert [b.bbox for b in kept] == [(10, 10, 20, 14), (40, 20, 50, 24)]
    assert kept[0].obox == (15, 12, 10, 4, 30.0)
    assert clip_boxes([mostly], window, 0.6) == []


@pytest.fixture(scope="module")
def scene(tmp_path_factory: pytest.TempPathFactory) -> Sample:
    folder = tmp_path_factory.mktemp("synth") / "s"
    generate(folder, 1, SynthOptions(size=300, seed=11, workers=1), progress=False)
    (sample,) = load_synthetic(folder).samples
    return sample


def test_tiles_hold_the_source_pixels_and_mask(scene: Sample, tmp_path: Path) -> None:
    target = CutTarget(tmp_path, "source", TileRule(size=128, overlap=16), random.Random(0))
    tiles = list(cut_sample(scene, target))
    assert len(tiles) == 9  # 3 x 3 windows, the last ones flush with the edge
    with rasterio.open(scene.image) as sar, rasterio.open(scene.mask) as mask:
        for tile in tiles:
            assert tile.tile is not None and tile.scene == scene.scene
            w = tile.tile.window
            window = rasterio.windows.Window(w.col, w.row, w.width, w.height)
            with rasterio.open(tile.image) as chip:
                np.testing.assert_array_equal(chip.read(), sar.read(window=window))
                assert chip.transform == sar.window_transform(window)
                # the chip says what its bands are, so a model can read it without its source
                assert chip.descriptions == ("VV", "VH")
                assert chip.tags()["units"] == "dB"
            with rasterio.open(tile.mask) as m:
                np.testing.assert_array_equal(m.read(1), mask.read(1, window=window))
            for box in tile.boxes:
                x0, y0, x1, y1 = box.bbox
                assert 0 <= x0 < x1 <= w.width and 0 <= y0 < y1 <= w.height
            assert tile.labels == scene.labels


def test_every_whole_box_lands_in_some_tile(scene: Sample, tmp_path: Path) -> None:
    target = CutTarget(tmp_path, "source", TileRule(size=100, min_box_inside=0.5), random.Random(0))
    tiles = list(cut_sample(scene, target))
    assert sum(len(t.boxes) for t in tiles) >= len(scene.boxes) * 0.9  # edge boxes may split


def test_hrsid_rendering_writes_8_bit_jpeg_chips(scene: Sample, tmp_path: Path) -> None:
    target = CutTarget(tmp_path, "hrsid", TileRule(size=150), random.Random(0))
    tile = next(iter(cut_sample(scene, target)))
    assert tile.image.endswith(".jpg") and tile.tile is not None and tile.tile.units == "uint8"
    pixels = np.asarray(Image.open(tile.image))
    assert pixels.dtype == np.uint8 and pixels.shape == (150, 150, 3)
    assert np.array_equal(pixels[..., 0], pixels[..., 1])  # three identical channels


def test_optical_windows_come_with_their_own_captions(scene: Sample, tmp_path: Path) -> None:
    target = CutTarget(tmp_path, "db", TileRule(size=150), random.Random(0))
    tiles = list(cut_sample(scene, target))
    assert all(t.optical and Path(t.optical).is_file() for t in tiles)
    assert all(t.metadata.get("optical_captions") for t in tiles)
    with_ships = [t for t in tiles if any(b.cls == "ship" for b in t.boxes)]
    without = [t for t in tiles if not t.boxes]
    assert all("ship" not in " ".join(t.metadata["optical_captions"]) for t in without)
    for tile in with_ships:  # a tile's optical caption counts the tile's own objects
        assert any(w in tile.optical_caption for w in ("ship", "boat", "vessel"))
