"""The command-line contract: every subcommand listed, one-line errors with exit code 2."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from sargeo.cli import CONTRACT, main

SARGEO = [sys.executable, "-m", "sargeo"]


def test_help_lists_every_contract_command() -> None:
    out = subprocess.run([*SARGEO, "--help"], capture_output=True, text=True, check=True).stdout
    for name, _ in CONTRACT:
        assert f"    {name}" in out


def test_unbuilt_command_says_so(capsys: pytest.CaptureFixture[str]) -> None:
    built = {"tile", "synth", "narrate", "corpus", "train", "eval", "export", "index", "search"}
    built |= {"caption", "ask"}
    for name, _ in CONTRACT:
        if name in built:
            continue
        code = main([name])
        err = capsys.readouterr().err
        if "not built yet" in err:
            assert code == 2


def _error_of(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    code = main(argv)
    return code, capsys.readouterr().err.strip()


@pytest.mark.parametrize(
    ("names", "extra", "message"),
    [
        (["no_crs"], [], "has no CRS"),
        (["corrupt"], [], "not a raster GDAL can read"),
        (["empty"], [], "is empty"),
        (["mosaic_left", "mosaic_other_crs"], ["--mosaic"], "disagree in CRS"),
        (["mosaic_left", "mosaic_one_band"], ["--mosaic"], "disagree in band count"),
        (["all_nodata"], [], "mostly nodata"),
        (["utm_uint16"], ["--overlap", "600"], "--overlap"),
        (["utm_uint16"], ["--crs", "EPSG:999999"], "unknown CRS"),
    ],
)
def test_tile_bad_input_exits_2_with_one_line(
    test_rasters: dict[str, Path],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    names: list[str],
    extra: list[str],
    message: str,
) -> None:
    out = tmp_path / "out"
    code, err = _error_of(
        ["tile", *[str(test_rasters[n]) for n in names], "-o", str(out), "-q", *extra], capsys
    )
    assert code == 2
    assert message in err and len(err.splitlines()) == 1
    assert not out.exists() and list(tmp_path.iterdir()) == []


def test_tile_pixel_coords_needs_flag(
    test_rasters: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["tile", str(test_rasters["no_crs"]), "-o", str(tmp_path / "p"), "-q", "--size", "32"]
    assert main(argv) == 2
    assert main([*argv, "--allow-pixel-coords"]) == 0
    captured = capsys.readouterr()
    assert "4 tiles written" in captured.out
    assert "Warning" not in captured.err


def test_tile_end_to_end_subprocess(test_rasters: dict[str, Path], tmp_path: Path) -> None:
    out = tmp_path / "tiles"
    argv = [*SARGEO, "tile", str(test_rasters["utm_uint16"]), "-o", str(out), "--size", "128"]
    done = subprocess.run(argv, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert "tiles written" in done.stdout and (out / "tiles.gpkg").exists()
    again = subprocess.run(argv, capture_output=True, text=True)
    assert again.returncode == 2
    assert again.stderr.strip().endswith("already exists (use --overwrite to replace it)")


def test_parser_imports_no_layer_dependencies() -> None:
    """Building the parser (``sargeo --help``) loads only the standard library and sargeo's constants."""
    code = (
        "import json, sys\n"
        "before = set(sys.modules)\n"
        "from sargeo.cli import build_parser\n"
        "build_parser()\n"
        "print(json.dumps(sorted({m.split('.')[0] for m in set(sys.modules) - before})))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    loaded = json.loads(done.stdout)
    assert [m for m in loaded if m not in sys.stdlib_module_names] == ["sargeo"]
