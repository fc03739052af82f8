"""`sargeo synth` end to end on tiny scenes, and its refusals (exit code 2, one-line message)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import rasterio

from sargeo.cli import main


def test_tiny_run_end_to_end(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "synth"
    assert (
        main(["synth", "-o", str(out), "--scenes", "2", "--size", "96", "--seed", "5", "-q"]) == 0
    )
    assert "wrote 2 scene(s) of 96 px" in capsys.readouterr().out
    manifest = json.loads((out / "synth.json").read_text())
    assert manifest["options"]["size"] == 96 and manifest["options"]["seed"] == 5
    for name in manifest["scenes"]:
        with rasterio.open(out / name / "sar.tif") as ds:
            assert ds.shape == (96, 96) and ds.tags()["units"] == "dB"
        json.loads((out / name / "coco.json").read_text())
    assert not list(tmp_path.glob(".*partial"))  # nothing half-written left behind


def test_linear_units_and_overwrite(tmp_path: Path) -> None:
    out = tmp_path / "synth"
    assert main(["synth", "-o", str(out), "--size", "64", "-q"]) == 0
    args = ["synth", "-o", str(out), "--size", "64", "--units", "linear", "--looks", "1", "-q"]
    assert main([*args, "--overwrite"]) == 0
    with rasterio.open(out / "scene_0000" / "sar.tif") as ds:
        assert ds.tags()["units"] == "linear" and ds.tags()["LOOKS"] == "1"
        assert float(ds.read().min()) >= 0.0
    assert json.loads((out / "scene_0000" / "scene.json").read_text())["looks"] == 1.0


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--size", "32"], "--size must be between 64"),
        (["--scenes", "0"], "--scenes must be at least 1"),
        (["--block", "300"], "--block must be a positive multiple of 256"),
        (["--looks", "0"], "--looks must be positive"),
        (["--looks", "inf"], "--looks must be at most 100"),
        (["--looks", "1e9"], "--looks must be at most 100"),
        (["--looks", "nan"], "--looks must be positive"),
        (["--seed", "-1"], "--seed must be a non-negative integer"),
        (["--size", "1000", "--spacing", "1000"], "makes a scene 1000 km across"),
    ],
)
def test_bad_options_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], extra: list[str], message: str
) -> None:
    out = tmp_path / "never"
    assert main(["synth", "-o", str(out), "-q", *extra]) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1
    assert not out.exists()


def test_the_smallest_sizes_that_once_crashed_run(tmp_path: Path) -> None:
    for size, seed in ((64, 7), (100, 7), (119, 10)):
        out = tmp_path / f"s{size}"
        assert main(["synth", "-o", str(out), "--size", str(size), "--seed", str(seed), "-q"]) == 0


def test_existing_output_needs_overwrite(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "exists"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    assert main(["synth", "-o", str(out), "--size", "64", "-q"]) == 2
    assert "already exists" in capsys.readouterr().err
    assert (out / "keep.txt").read_text() == "mine"


def test_bad_backscatter_table_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    table = tmp_path / "bad.json"
    table.write_text("[]")
    args = ["synth", "-o", str(tmp_path / "o"), "--size", "64", "--backscatter", str(table), "-q"]
    assert main(args) == 2
    assert "bad.json" in capsys.readouterr().err


def test_values_differ_between_seeds(tmp_path: Path) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    assert main(["synth", "-o", str(a), "--size", "64", "--seed", "1", "-q"]) == 0
    assert main(["synth", "-o", str(b), "--size", "64", "--seed", "2", "-q"]) == 0
    with (
        rasterio.open(a / "scene_0000" / "sar.tif") as da,
        rasterio.open(b / "scene_0000" / "sar.tif") as db,
    ):
        assert not np.array_equal(da.read(), db.read())
        assert da.transform != db.transform


def test_sensor_preset_and_hrsid_rendering(tmp_path: Path) -> None:
    out = tmp_path / "tsx"
    args = ["synth", "-o", str(out), "--size", "128", "--seed", "1", "-q"]
    assert main([*args, "--sensor", "terrasar-x-stripmap", "--render", "hrsid"]) == 0
    scene = out / "scene_0000"
    params = json.loads((scene / "scene.json").read_text())
    assert params["pixel_spacing"] == 3.0 and params["looks"] == 1.0
    assert params["resolution_m"] == 3.3 and params["sensor_preset"] == "terrasar-x-stripmap"
    render = params["render"]
    assert render["name"] == "hrsid" and render["kind"] == "amplitude_u8"
    assert params["files"]["display"] == "sar_8bit.tif"
    with rasterio.open(scene / "sar.tif") as ds:
        vv_db = ds.read(1)
    with rasterio.open(scene / "sar_8bit.tif") as ds:
        assert ds.count == 3 and ds.dtypes[0] == "uint8"
        assert ds.compression is not None and ds.compression.value == "JPEG"
        grey = ds.read()
    assert np.array_equal(grey[0], grey[1]) and np.array_equal(grey[0], grey[2])
    # the fixed stretch of scene.json, up to JPEG's loss
    expected = np.clip(255 * np.sqrt(10 ** ((vv_db - render["saturation_db"]) / 10)), 0, 255)
    assert float(np.median(np.abs(grey[0] - expected))) < 4.0


@pytest.mark.parametrize("flag", ["--sensor", "--render"])
def test_unknown_preset_names_the_choices(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], flag: str
) -> None:
    assert main(["synth", "-o", str(tmp_path / "o"), "--size", "64", "-q", flag, "nope"]) == 2
    err = capsys.readouterr().err
    assert f"{flag} must be one of" in err and len(err.strip().splitlines()) == 1
