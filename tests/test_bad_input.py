"""Every bad input or hostile environment is one line on stderr and exit code 2, never a traceback."""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import rasterio
from affine import Affine

SARGEO = [sys.executable, "-m", "sargeo"]


def run(*argv: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """The real command in a subprocess, so that whatever GDAL or PROJ print is seen too."""
    return subprocess.run(
        [*SARGEO, *argv, "-q"], capture_output=True, text=True, timeout=300, cwd=cwd
    )


def assert_one_line_error(done: subprocess.CompletedProcess[str], needle: str) -> None:
    """Exit 2 and exactly one stderr line that says ``needle``."""
    lines = done.stderr.strip().splitlines()
    assert done.returncode == 2, done.stderr
    assert len(lines) == 1 and needle in lines[0], done.stderr


def _tmpfs(folder: Path, options: str) -> Iterator[Path]:
    """A tmpfs mounted on ``folder`` with ``options``; skips where nothing can be mounted."""
    folder.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(folder)], capture_output=True
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs ({options}) here: {done.stderr.decode().strip()}")
    try:
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=False)


@pytest.fixture
def small_fs(tmp_path: Path) -> Iterator[Path]:
    """A 1 MiB file system, to fill up."""
    yield from _tmpfs(tmp_path / "small", "size=1m")


@pytest.fixture
def read_only_fs(tmp_path: Path) -> Iterator[Path]:
    """A read-only file system."""
    yield from _tmpfs(tmp_path / "ro", "ro,size=1m")


def test_full_disk_while_tiling(test_rasters: dict[str, Path], small_fs: Path) -> None:
    done = run("tile", str(test_rasters["utm_uint16"]), "-o", str(small_fs / "out"), "--size", "16")
    assert_one_line_error(done, "no space left")
    assert list(small_fs.iterdir()) == []


def test_full_disk_while_writing_the_index(test_rasters: dict[str, Path], small_fs: Path) -> None:
    # chips fit (about 0.4 MB), the GeoPackage's fixed tables do not fit beside 0.6 MB of ballast
    (small_fs / "ballast").write_bytes(b"\0" * 600_000)
    done = run(
        "tile", str(test_rasters["utm_uint16"]), "-o", str(small_fs / "out"), "--size", "128"
    )
    assert_one_line_error(done, "no space left")
    assert sorted(p.name for p in small_fs.iterdir()) == ["ballast"]


def test_read_only_file_system(test_rasters: dict[str, Path], read_only_fs: Path) -> None:
    done = run("tile", str(test_rasters["utm_uint16"]), "-o", str(read_only_fs / "a" / "out"))
    assert_one_line_error(done, "Read-only file system")


def test_output_under_a_regular_file(test_rasters: dict[str, Path], tmp_path: Path) -> None:
    blocker = tmp_path / "file.txt"
    blocker.write_text("not a folder")
    done = run("tile", str(test_rasters["utm_uint16"]), "-o", str(blocker / "out"))
    assert_one_line_error(done, "is a file, not a folder")
    assert blocker.read_text() == "not a folder"


def test_unknown_crs_prints_no_proj_line(test_rasters: dict[str, Path], tmp_path: Path) -> None:
    done = run(
        "tile", str(test_rasters["utm_uint16"]), "-o", str(tmp_path / "o"), "--crs", "99999999"
    )
    assert_one_line_error(done, "unknown CRS")
    assert "PROJ" not in done.stderr


def test_tile_metres_below_the_minimum_is_refused(
    test_rasters: dict[str, Path], tmp_path: Path
) -> None:
    done = run(
        "tile", str(test_rasters["utm_uint16"]), "-o", str(tmp_path / "o"), "--tile-metres", "100"
    )
    assert_one_line_error(done, "--tile-metres 100 m gives 10 px tiles")
    assert not (tmp_path / "o").exists()


def test_dot_output_is_refused_cleanly(test_rasters: dict[str, Path], tmp_path: Path) -> None:
    work = tmp_path / "work"
    work.mkdir()
    shutil.copy(test_rasters["utm_uint16"], work / "scene.tif")
    done = run("tile", "scene.tif", "-o", ".", "--overwrite", cwd=work)
    assert_one_line_error(done, "current folder")
    assert sorted(p.name for p in work.iterdir()) == ["scene.tif"]


def _cog(path: Path, size: int = 512) -> Path:
    """A cloud-optimised GeoTIFF: its directory comes first, its compressed tiles after it."""
    rng = np.random.default_rng(0)
    with rasterio.open(
        path, "w", driver="COG", width=size, height=size, count=1, dtype="float32",
        crs="EPSG:32633", transform=Affine(10, 0, 500000, 0, -10, 4650000), compress="deflate",
    ) as dst:  # fmt: skip
        dst.write(rng.random((1, size, size), dtype=np.float32))
    return path


def test_truncated_pixels_are_one_line(tmp_path: Path) -> None:
    whole = _cog(tmp_path / "whole.tif").read_bytes()
    cut = tmp_path / "cut.tif"
    cut.write_bytes(whole[: len(whole) // 2])  # opens fine; half its tiles are gone
    done = run("tile", str(cut), "-o", str(tmp_path / "o"), "--size", "128")
    assert_one_line_error(done, "cannot be read")
    assert "cut.tif" in done.stderr and not (tmp_path / "o").exists()


def _vrt(path: Path, source: str, geotransform: str) -> Path:
    path.write_text(
        '<VRTDataset rasterXSize="64" rasterYSize="64"><SRS>EPSG:32633</SRS>'
        f"<GeoTransform>{geotransform}</GeoTransform>"
        '<VRTRasterBand dataType="Float32" band="1"><SimpleSource>'
        f'<SourceFilename relativeToVRT="1">{source}</SourceFilename><SourceBand>1</SourceBand>'
        "</SimpleSource></VRTRasterBand></VRTDataset>"
    )
    return path


def test_vrt_with_a_missing_source(tmp_path: Path) -> None:
    vrt = _vrt(tmp_path / "m.vrt", "missing.tif", "500000,10,0,4650000,0,-10")
    done = run("tile", str(vrt), "-o", str(tmp_path / "o"), "--size", "32")
    assert_one_line_error(done, "missing.tif: No such file or directory")


def test_zero_pixel_size(tmp_path: Path) -> None:
    _cog(tmp_path / "src.tif", size=64)
    vrt = _vrt(tmp_path / "z.vrt", "src.tif", "500000,0,0,4650000,0,-10")
    done = run("tile", str(vrt), "-o", str(tmp_path / "o"), "--size", "32")
    assert_one_line_error(done, "zero pixel size")
    # a GeoTIFF cannot store a zero pixel size: GDAL keeps a single tie point instead
    tif = tmp_path / "zero.tif"
    with rasterio.open(
        tif, "w", driver="GTiff", width=64, height=64, count=1, dtype="float32",
        crs="EPSG:32633", transform=Affine(0, 0, 500000, 0, -10, 4650000),
    ) as dst:  # fmt: skip
        dst.write(np.ones((1, 64, 64), dtype=np.float32))
    done = run("tile", str(tif), "-o", str(tmp_path / "o"), "--size", "32")
    assert_one_line_error(done, "zero-size geotransform")
