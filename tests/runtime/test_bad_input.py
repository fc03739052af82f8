"""Bad bundles, queries and rasters: one line on stderr, exit 2, and no output file, as a user sees it."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.bundles import write_scene

pytestmark = pytest.mark.slow


def run(*argv: str) -> subprocess.CompletedProcess[str]:
    """The real command in a subprocess, quietly."""
    return subprocess.run(
        [sys.executable, "-m", "sargeo", *argv, "-q"], capture_output=True, text=True, timeout=300
    )


def one_line(done: subprocess.CompletedProcess[str], needle: str) -> None:
    lines = done.stderr.strip().splitlines()
    assert done.returncode == 2, done.stderr
    assert len(lines) == 1 and needle in lines[0], done.stderr


def _broken(bundle: Path, tmp_path: Path, damage: Callable[[Path], None]) -> Path:
    copy = Path(shutil.copytree(bundle, tmp_path / "bundle"))
    damage(copy)
    return copy


def _flip_a_byte(bundle: Path) -> None:
    graph = bundle / "image_encoder.onnx"
    data = bytearray(graph.read_bytes())
    data[100] ^= 1
    graph.write_bytes(bytes(data))


def _future_version(bundle: Path) -> None:
    meta = json.loads((bundle / "bundle.json").read_text())
    meta["format_version"] = 7
    (bundle / "bundle.json").write_text(json.dumps(meta))


def _missing_tokenizer(bundle: Path) -> None:
    meta = json.loads((bundle / "bundle.json").read_text())
    meta["tokenizer"].update(kind="hf-json", files={"tokenizer.json": "0" * 64})
    (bundle / "bundle.json").write_text(json.dumps(meta))


@pytest.mark.parametrize(
    ("damage", "needle"),
    [
        (_flip_a_byte, "image_encoder.onnx does not match its sha256"),
        (_future_version, "format version 7; this sargeo reads version 1"),
        (lambda b: (b / "text_encoder.onnx").unlink(), "text_encoder.onnx is missing"),
        (_missing_tokenizer, "the tokenizer file tokenizer.json is missing"),
    ],
)
def test_a_bad_bundle(
    tiny_bundle: Path, tmp_path: Path, damage: Callable[[Path], None], needle: str
) -> None:
    raster = write_scene(tmp_path / "scene.tif", size=64)
    bundle = _broken(tiny_bundle, tmp_path, damage)
    out = tmp_path / "out.gpkg"
    one_line(run("search", str(raster), "sea", "--bundle", str(bundle), "-o", str(out)), needle)
    one_line(
        run("index", str(raster), "--bundle", str(bundle), "-o", str(tmp_path / "idx")), needle
    )
    assert not out.exists() and not (tmp_path / "idx").exists()


@pytest.mark.parametrize(
    ("query", "needle"),
    [
        ("   ", "the query is empty"),
        ("ship " * 40, "is 42 tokens long; the model reads at most 32"),
    ],
)
def test_a_bad_query(tiny_bundle: Path, tmp_path: Path, query: str, needle: str) -> None:
    raster = write_scene(tmp_path / "scene.tif", size=64)
    out = tmp_path / "out.gpkg"
    one_line(
        run("search", str(raster), query, "--bundle", str(tiny_bundle), "-o", str(out)), needle
    )
    assert not out.exists()


def test_an_empty_query_file(tiny_bundle: Path, tmp_path: Path) -> None:
    raster = write_scene(tmp_path / "scene.tif", size=64)
    (tmp_path / "q.txt").write_text("# nothing\n\n")
    argv = [
        "search",
        str(raster),
        "--queries",
        str(tmp_path / "q.txt"),
        "--bundle",
        str(tiny_bundle),
    ]
    one_line(run(*argv, "-o", str(tmp_path / "o.gpkg")), "holds no query")
    assert not (tmp_path / "o.gpkg").exists()


def test_a_raster_the_model_cannot_read(tiny_bundle: Path, tmp_path: Path) -> None:
    raster = write_scene(tmp_path / "scene.tif", size=64, bands=("B1", "B2", "B3"))
    out = tmp_path / "out.gpkg"
    done = run("search", str(raster), "sea", "--bundle", str(tiny_bundle), "-o", str(out))
    one_line(done, "the model cannot read this raster: the model needs polarisation(s) VV, VH")
    assert not out.exists()
    # naming the bands makes it readable
    argv = ["search", str(raster), "sea", "--bundle", str(tiny_bundle), "-o", str(out)]
    assert run(*argv, "--polarisations", "VV,VH,HV").returncode == 0 and out.exists()
    one_line(run(*argv, "--polarisations", "VV,VH", "--overwrite"), "has 3 band(s)")


def test_outputs_never_replace_inputs(tiny_bundle: Path, tmp_path: Path) -> None:
    raster = write_scene(tmp_path / "scene.tif", size=64)
    folder = tmp_path / "notes"
    folder.mkdir()
    (folder / "keep.txt").write_text("mine")
    one_line(
        run("index", str(raster), "--bundle", str(tiny_bundle), "-o", str(folder)),
        "is not a sargeo index",
    )
    assert (folder / "keep.txt").read_text() == "mine"
    one_line(
        run("index", str(raster), "--bundle", str(tiny_bundle), "-o", str(raster)),
        "is not a sargeo index",
    )
    index = tmp_path / "index"
    assert run("index", str(raster), "--bundle", str(tiny_bundle), "-o", str(index)).returncode == 0
    inside = index / "hits.gpkg"
    one_line(
        run("search", str(index), "sea", "--bundle", str(tiny_bundle), "-o", str(inside)),
        "lies inside the input",
    )
    out = tmp_path / "hits.gpkg"
    out.write_text("old")
    one_line(
        run("search", str(index), "sea", "--bundle", str(tiny_bundle), "-o", str(out)),
        "exists (use --overwrite",
    )
    assert out.read_text() == "old"
