"""``sargeo tile --workers N``: a local Dask cluster gives the single-process run's output."""

from __future__ import annotations

from pathlib import Path

import pytest

from sargeo.cli import main
from tests.bundles import write_scene
from tests.scale.conftest import assert_same_tiling

pytestmark = pytest.mark.slow


def test_tile_on_a_local_cluster_equals_the_single_process_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    a = write_scene(tmp_path / "a.tif", size=256, nodata_rows=40)
    b = write_scene(tmp_path / "b.tif", size=200, seed=3)
    argv = ["tile", str(a), str(b), "--size", "48", "--overlap", "8", "-q"]
    assert main([*argv, "-o", str(tmp_path / "one")]) == 0
    capsys.readouterr()
    dask_argv = [*argv, "-o", str(tmp_path / "two"), "--workers", "2", "--partition", "20"]
    assert main(dask_argv) == 0
    out = capsys.readouterr().out
    # 256 px: 7 rows of 7 tiles, partitions of 2 rows; 200 px: 5 rows of 5 tiles, of 4 rows
    assert "6 partitions on 2 Dask worker(s)" in out
    assert_same_tiling(tmp_path / "one", tmp_path / "two")
    assert not list(tmp_path.glob(".two.parts-*"))  # the parts are gone once merged


def test_cluster_options_are_checked(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    raster = write_scene(tmp_path / "a.tif", size=64)
    base = ["tile", str(raster), "-o", str(tmp_path / "out"), "-q"]
    assert main([*base, "--workers", "0"]) == 2
    assert "--workers must be at least 1" in capsys.readouterr().err
    assert main([*base, "--workers", "2", "--scheduler", "tcp://127.0.0.1:1"]) == 2
    assert "--workers and --scheduler exclude each other" in capsys.readouterr().err
    assert main([*base, "--workers", "1", "--partition", "0"]) == 2
    assert not (tmp_path / "out").exists()
