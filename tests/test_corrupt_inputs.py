"""Property: corrupted input files never crash `tile` or `narrate`, and never harm an existing output.

Hypothesis truncates files at random offsets or overwrites random bytes. Each run must end in exit 0
(the damage was harmless, or a damaged sample was skipped and reported) or exit 2 with exactly one line
on stderr; on exit 2 the existing output folder, run with ``--overwrite``, is byte for byte unchanged.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import numpy as np
import pytest
import rasterio
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rasterio.windows import Window

from sargeo.cli import main
from sargeo.geo.index import read_tile_index
from tests.folders import digest

pytestmark = pytest.mark.slow

SETTINGS = settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@st.composite
def damage(draw: st.DrawFn, size: int) -> tuple[str, int, bytes]:
    """A truncation offset, or an offset and bytes to write there."""
    kind = draw(st.sampled_from(["truncate", "overwrite"]))
    offset = draw(st.integers(0, size - 1))
    junk = draw(st.binary(min_size=1, max_size=64)) if kind == "overwrite" else b""
    return kind, offset, junk


def _apply(original: bytes, target: Path, how: tuple[str, int, bytes]) -> None:
    kind, offset, junk = how
    data = original[:offset] if kind == "truncate" else bytearray(original)
    if kind == "overwrite":
        data[offset : offset + len(junk)] = junk
    target.write_bytes(bytes(data))


def _check_run(argv: list[str], out: Path, capsys: pytest.CaptureFixture[str]) -> int:
    """Run over an earlier output with --overwrite; exit 0, or exit 2 with one line and no harm."""
    before = digest(out)
    code = main([*argv, "-o", str(out), "--overwrite", "-q"])
    err = capsys.readouterr().err.strip()
    assert code in (0, 2), err
    if code == 2:
        assert len(err.splitlines()) == 1, err
        assert digest(out) == before
        assert sorted(p.name for p in out.parent.iterdir() if p.name.startswith(".")) == []
    return code


def _chips_match(out: Path, original: Path) -> bool:
    """Whether every chip holds exactly the original raster's pixels under its window."""
    with rasterio.open(original) as src:
        for tile in read_tile_index(out / "tiles.gpkg"):
            w = tile.window
            with rasterio.open(out / tile.chip) as chip:
                window = Window(w.col, w.row, w.width, w.height)
                if not np.array_equal(chip.read(), src.read(window=window)):
                    return False
    return True


@SETTINGS
@given(data=st.data())
def test_tile_survives_corrupt_rasters(
    tmp_path: Path,
    test_rasters: dict[str, Path],
    capsys: pytest.CaptureFixture[str],
    data: st.DataObject,
) -> None:
    original = test_rasters["utm_uint16"]
    valid = original.read_bytes()
    how = data.draw(damage(len(valid)), label="damage")
    work = Path(tempfile.mkdtemp(dir=tmp_path))
    scene = work / "scene.tif"
    _apply(valid, scene, how)
    out = work / "out"
    out.mkdir()
    (out / "keep.txt").write_text("an earlier output")
    code = _check_run(["tile", str(scene), "--size", "64"], out, capsys)
    if code == 0 and how[0] == "truncate":
        # only harmless truncation (trailing metadata) may pass, and never with other pixels
        assert _chips_match(out, original), "a truncated raster gave chips with other pixels"
    shutil.rmtree(work)


@pytest.fixture(scope="module")
def synth_dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    data = tmp_path_factory.mktemp("synth") / "data"
    assert main(["synth", "-o", str(data), "--size", "256", "--scenes", "2", "-q"]) == 0
    return data


@SETTINGS
@given(data=st.data())
def test_narrate_survives_corrupt_datasets(
    tmp_path: Path, synth_dataset: Path, capsys: pytest.CaptureFixture[str], data: st.DataObject
) -> None:
    files = sorted(p.relative_to(synth_dataset) for p in synth_dataset.rglob("*") if p.is_file())
    victim = data.draw(st.sampled_from(files), label="file")
    original = (synth_dataset / victim).read_bytes()
    how = data.draw(damage(max(len(original), 1)), label="damage")
    work = Path(tempfile.mkdtemp(dir=tmp_path))
    shutil.copytree(synth_dataset, work / "data")
    _apply(original, work / "data" / victim, how)
    out = work / "out"
    out.mkdir()
    (out / "keep.txt").write_text("an earlier output")
    _check_run(["narrate", str(work / "data"), "--qa"], out, capsys)
    shutil.rmtree(work)
