"""Scenes are made and written block by block, deterministically, whatever the block size."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import rasterio

from sargeo.records import Window
from sargeo.synth import scene as scene_module
from sargeo.synth.grid import Grid
from sargeo.synth.scene import SynthOptions, build_scene, generate


def _read(folder: Path) -> dict[str, np.ndarray]:
    out = {}
    for name in ("sar.tif", "optical.tif", "mask.tif"):
        with rasterio.open(folder / "scene_0000" / name) as ds:
            out[name] = ds.read()
    return out


def test_blocks_tile_the_grid_exactly() -> None:
    grid = Grid(700, 10.0, 0.0, 0.0, 32631)
    cover = np.zeros((700, 700), np.int64)
    for w in grid.blocks(256):
        assert w.width <= 256 and w.height <= 256
        cover[w.row : w.row + w.height, w.col : w.col + w.width] += 1
    assert (cover == 1).all()


@pytest.mark.slow
def test_output_does_not_depend_on_block_size_or_workers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    windows: list[Window] = []
    original = scene_module.render_block

    def spy(scene: scene_module.Scene, window: Window) -> object:
        windows.append(window)
        return original(scene, window)

    monkeypatch.setattr(scene_module, "render_block", spy)
    small = SynthOptions(size=1100, seed=9, block=256, workers=2)
    generate(tmp_path / "small", 1, small, progress=False)
    # the generator only ever made blocks of at most 256 px, covering the scene once
    assert len(windows) == 25 and max(max(w.width, w.height) for w in windows) <= 256
    assert sum(w.width * w.height for w in windows) == 1100 * 1100
    generate(
        tmp_path / "large",
        1,
        SynthOptions(size=1100, seed=9, block=1024, workers=1),
        progress=False,
    )
    a, b = _read(tmp_path / "small"), _read(tmp_path / "large")
    for name in a:
        np.testing.assert_array_equal(a[name], b[name], err_msg=name)
    coco_a = (tmp_path / "small" / "scene_0000" / "coco.json").read_text()
    assert coco_a == (tmp_path / "large" / "scene_0000" / "coco.json").read_text()


def test_same_seed_same_scene_other_index_other_scene() -> None:
    opts = SynthOptions(size=256, seed=4)
    one, two, other = build_scene(opts, 0), build_scene(opts, 0), build_scene(opts, 1)
    window = Window(0, 0, 256, 256)
    _, sar1, rgb1, _ = scene_module.render_block(one, window)
    _, sar2, rgb2, _ = scene_module.render_block(two, window)
    np.testing.assert_array_equal(sar1, sar2)
    np.testing.assert_array_equal(rgb1, rgb2)
    assert [o.footprint.wkt for o in one.objects] == [o.footprint.wkt for o in two.objects]
    assert one.grid != other.grid
