"""No input is ever lost: an output may not be, hold or lie in an input; interrupted runs leave nothing."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import rasterio
from affine import Affine

from sargeo.atomic import atomic_dir, atomic_file, clean_leftovers, leftovers
from sargeo.cli import main
from sargeo.errors import OutputError
from sargeo.geo.index import read_tile_index
from tests.data.make_rasters import write
from tests.folders import digest

SARGEO = [sys.executable, "-m", "sargeo"]


@pytest.fixture
def scene_dir(tmp_path: Path, test_rasters: dict[str, Path]) -> Path:
    """A folder holding one scene, as a user's data folder would."""
    folder = tmp_path / "data"
    folder.mkdir()
    shutil.copy(test_rasters["utm_uint16"], folder / "scene.tif")
    return folder


@pytest.mark.parametrize("overwrite", [False, True])
@pytest.mark.parametrize("where", ["same", "parent", "inside", "cwd", "above_cwd"])
def test_tile_refuses_outputs_that_touch_an_input(
    scene_dir: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    where: str,
    overwrite: bool,
) -> None:
    scene = scene_dir / "scene.tif"
    monkeypatch.chdir(scene_dir)
    output = {
        "same": scene,
        "parent": scene_dir,
        "inside": scene / "tiles",
        "cwd": Path("."),
        "above_cwd": tmp_path,
    }[where]
    before = digest(tmp_path)
    argv = ["tile", str(scene), "-o", str(output), "-q", "--size", "128"]
    code = main([*argv, "--overwrite"] if overwrite else argv)
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1, err
    assert digest(tmp_path) == before


@pytest.mark.parametrize("overwrite", [False, True])
def test_narrate_refuses_its_dataset_as_output(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], overwrite: bool
) -> None:
    data = tmp_path / "synth"
    assert main(["synth", "-o", str(data), "--size", "256", "-q"]) == 0
    before = digest(data)
    for output in (data, data / "captions", data / "scene_0000"):
        argv = ["narrate", str(data), "-o", str(output), "-q"]
        assert main([*argv, "--overwrite"] if overwrite else argv) == 2
        assert len(capsys.readouterr().err.strip().splitlines()) == 1
    assert digest(data) == before


def test_output_through_a_symlink_is_still_the_input(scene_dir: Path, tmp_path: Path) -> None:
    link = tmp_path / "link"
    link.symlink_to(scene_dir)
    with (
        pytest.raises(OutputError, match="holds the input"),
        atomic_dir(link, inputs=[scene_dir / "scene.tif"], overwrite=True),
    ):
        pass
    assert (scene_dir / "scene.tif").exists()


def test_atomic_file_refuses_to_replace_an_input(tmp_path: Path) -> None:
    src = tmp_path / "a.gpkg"
    src.write_text("input")
    with pytest.raises(OutputError, match="is the input"), atomic_file(src, inputs=[src]):
        pass
    assert src.read_text() == "input"


def _float_scene(path: Path, seed: int, size: int = 256) -> Path:
    rng = np.random.default_rng(seed)
    pixels = rng.gamma(1.0, 0.05, size=(1, size, size)).astype(np.float32)
    return write(path, pixels, "EPSG:32633", Affine(10, 0, 500000, 0, -10, 4650000))


def test_same_file_names_in_different_folders_get_distinct_chips(tmp_path: Path) -> None:
    scenes = []
    for seed, folder in enumerate(("a", "b"), start=1):
        (tmp_path / folder).mkdir()
        scenes.append(_float_scene(tmp_path / folder / "scene.tif", seed=seed))
    out = tmp_path / "tiles"
    assert main(["tile", *map(str, scenes), "-o", str(out), "-q", "--size", "128"]) == 0
    tiles = read_tile_index(out / "tiles.gpkg")
    assert len(tiles) == 8 and len({t.id for t in tiles}) == 8  # 4 per scene, none overwritten
    assert len(list((out / "chips").glob("*.tif"))) == 8
    for tile in tiles:
        (source,) = (s for s in scenes if str(s) == tile.source)
        assert tile.id.startswith(f"{source.parent.name}_scene_")
        w = tile.window
        with rasterio.open(out / tile.chip) as chip, rasterio.open(source) as src:
            window = rasterio.windows.Window(w.col, w.row, w.width, w.height)
            np.testing.assert_array_equal(chip.read(), src.read(window=window))


def test_leftovers_of_a_killed_run_are_cleaned(tmp_path: Path) -> None:
    out = tmp_path / "out"
    dead = _dead_pid()
    partial = tmp_path / f".out.{dead}.abcd1234.partial"
    partial.mkdir()
    (partial / "chip.tif").write_bytes(b"half")
    moved_aside = tmp_path / f".out.{dead}.ffff0000.old"
    moved_aside.mkdir()
    (moved_aside / "old.txt").write_text("previous output")
    assert {p for p, _, _ in leftovers(out)} == {partial, moved_aside}
    clean_leftovers(out)
    # the previous output that a killed swap had moved aside is back; the half-written one is gone
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]
    assert (out / "old.txt").read_text() == "previous output"


def test_leftover_of_a_live_run_is_refused(tmp_path: Path) -> None:
    (tmp_path / f".out.{os.getppid()}.abcd1234.partial").mkdir()
    with pytest.raises(OutputError, match="another run"), atomic_dir(tmp_path / "out", inputs=()):
        pass


def _dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def _start_tiling(tmp_path: Path, size: int = 3072) -> tuple[subprocess.Popen[str], Path]:
    scene = _float_scene(tmp_path / "big.tif", seed=3, size=size)
    out = tmp_path / "tiles"
    argv = [*SARGEO, "tile", str(scene), "-o", str(out), "--size", "64", "--readers", "2", "-q"]
    proc = subprocess.Popen(
        argv,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        # as from a terminal: a suite started in the background (`cmd &`) hands its children an
        # ignored SIGINT, and Python then keeps ignoring it
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    deadline = time.monotonic() + 60
    while not list(tmp_path.glob(".tiles.*.partial/chips/*.tif")):
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "tiling never started writing"
        time.sleep(0.05)
    return proc, out


@pytest.mark.slow
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_interrupted_tiling_leaves_nothing(tmp_path: Path, sig: signal.Signals) -> None:
    proc, _ = _start_tiling(tmp_path)
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 128 + sig, err
    assert len(err.strip().splitlines()) == 1 and "no output was changed" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["big.tif"]


@pytest.mark.slow
def test_killed_tiling_is_cleaned_by_the_next_run(tmp_path: Path) -> None:
    proc, out = _start_tiling(tmp_path, size=2048)
    proc.kill()
    proc.wait()
    assert list(tmp_path.glob(".tiles.*.partial"))  # SIGKILL cannot be caught: a leftover stays
    argv = [*SARGEO, "tile", str(tmp_path / "big.tif"), "-o", str(out), "--size", "512", "-q"]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["big.tif", "tiles"]
