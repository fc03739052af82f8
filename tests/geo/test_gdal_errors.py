"""GDAL's failures become one-line sargeo errors that name the file."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import rasterio

from sargeo.errors import ReadError
from sargeo.geo.source import open_source
from sargeo.records import Window


@pytest.mark.parametrize("layout", ["directory_last", "cloud_optimised"])
def test_a_window_read_that_fails_is_a_read_error(
    test_rasters: dict[str, Path], tmp_path: Path, layout: str
) -> None:
    scene = tmp_path / "scene.tif"
    if layout == "cloud_optimised":  # the directory first: reopening works, the tiles are gone
        with rasterio.open(test_rasters["utm_uint16"]) as src:
            profile = {**src.profile, "driver": "COG"}
            for key in ("blockxsize", "blockysize", "tiled", "interleave"):
                profile.pop(key, None)
            with rasterio.open(scene, "w", **profile) as dst:
                dst.write(src.read())
    else:  # GDAL's default: the directory after the pixels, so reopening the cut file fails
        shutil.copy(test_rasters["utm_uint16"], scene)
    source = open_source([scene])
    data = scene.read_bytes()
    scene.write_bytes(data[: len(data) // 3])  # the file is cut after it was opened
    with (
        pytest.raises(ReadError, match=r"scene\.tif.*cannot be read"),
        source.open_reader() as reader,
    ):
        for row in range(0, 400, 128):
            reader.read(Window(0, row, 128, 128))


def test_read_error_is_an_os_error() -> None:
    assert issubclass(ReadError, OSError)
