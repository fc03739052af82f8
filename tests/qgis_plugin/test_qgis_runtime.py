"""The runtime inside QGIS's own Python (Debian numpy, onnxruntime installed --no-deps): it searches an
index the CLI built, and QGIS opens the result with its graduated style and labels."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyogrio
import pytest

from sargeo.cli import main as sargeo_main
from tests.bundles import write_scene

pytestmark = [pytest.mark.qgis, pytest.mark.slow]

SCRIPT = Path(__file__).with_name("qgis_runtime_search.py")


def test_qgis_searches_an_index_and_shows_the_style(
    qgis: Callable[..., dict[str, Any]], tiny_bundle: Path, tmp_path: Path
) -> None:
    raster = write_scene(tmp_path / "scene.tif")
    index = tmp_path / "index"
    argv = ["index", str(raster), "--bundle", str(tiny_bundle), "-o", str(index), "--size", "64"]
    assert sargeo_main([*argv, "-q"]) == 0
    out = tmp_path / "hits.gpkg"
    report = qgis(SCRIPT, [str(index), str(tiny_bundle), str(out)], timeout=180)
    assert report["numpy"].startswith("1.") and ".qgis-python" in report["onnxruntime"]
    assert not report["torch_loaded"]
    assert report["valid"] and report["features"] == 6 and report["crs"] == "EPSG:32633"
    assert report["renderer"] == "graduatedSymbol" and report["attribute"] == "score"
    assert report["ranges"] == 5 and report["labels"]
    assert {"query", "score", "rank", "model", "bundle_sha256", "tile_id"} <= set(report["fields"])
    # the same search in this venv writes the same scores
    assert (
        sargeo_main(
            [
                "search",
                str(index),
                "open sea",
                "--bundle",
                str(tiny_bundle),
                "-o",
                str(tmp_path / "v.gpkg"),
                "-k",
                "3",
                "-q",
            ]
        )
        == 0
    )
    venv = pyogrio.read_dataframe(tmp_path / "v.gpkg", layer="search")["score"].tolist()
    assert report["scores"][:3] == pytest.approx(venv, abs=1e-6)
