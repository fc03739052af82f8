"""The installed plugin inside real QGIS (offscreen): its algorithms through ``processing.run`` and
``qgis_process``, loading without onnxruntime, and the dock with a screenshot.

A tiny CLIP is trained and exported in the session (`tests.bundles`); the rasters are the real
Sentinel-1 chip of ``../shared/data/sen1floods11`` (EPSG:4326) and a synthetic UTM scene.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pyogrio
import pytest

from tests.bundles import write_scene
from tests.qgis_plugin.plugin_install import install_plugin, plugin_env
from tests.qgis_plugin.qgis_harness import QGIS_EXTRAS, _qgis_env

pytestmark = [pytest.mark.qgis, pytest.mark.slow]

HERE = Path(__file__).parent
REPO = HERE.parents[1]
QGIS_PROCESS = Path("/usr/bin/qgis_process.bin")
RunInQgis = Callable[..., dict[str, Any]]


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    if not QGIS_EXTRAS.is_dir():
        pytest.skip(f"{QGIS_EXTRAS} is absent: run 'make setup'")
    return install_plugin(tmp_path_factory.mktemp("plugin"))


@pytest.fixture(scope="module")
def chip(shared_data: Path) -> Path:
    return shared_data / "sen1floods11" / "Spain_7370579_S1Hand.tif"


def test_algorithms_run_in_qgis(
    qgis: RunInQgis, installed: tuple[Path, Path], tiny_bundle: Path, chip: Path, tmp_path: Path
) -> None:
    scene = write_scene(tmp_path / "scene.tif")
    args = [tiny_bundle, scene, chip, tmp_path]
    env = plugin_env(*installed)
    r = qgis(HERE / "qgis_plugin_algorithms.py", args, timeout=300, processing=True, env=env)
    # the zip's own runtime runs, without torch
    assert r["plugin"].startswith(str(installed[0]))
    assert r["runtime"].startswith(str(installed[0] / "sar_narrator" / "vendor"))
    assert not r["torch_loaded"]
    assert r["algorithms"] == [
        f"sargeo:{a}" for a in ("buildindex", "caption", "textsearch", "vqa")
    ]
    # buildindex: 512 px chip in 128 px tiles, reused on the second run
    assert r["index"]["tiles"] == r["index"]["again"] == 16 and r["index"]["reused"]
    assert r["index"]["footprints"]["count"] == 16 and r["index"]["footprints"]["inside"]
    # a mosaic of two rasters side by side: 3 x 3 tiles of 64 px each, ids prefixed by raster
    mosaic = r["mosaic"]
    assert mosaic["tiles"] == 18 and mosaic["ids"] == ["scene", "scene_east"]
    assert mosaic["sources"] == sorted([str(scene), str(tmp_path / "scene_east.tif")])
    assert mosaic["extent"] == "500000,4998080 : 503840,5000000"
    # textsearch on the EPSG:4326 chip (project in EPSG:3857): 2 queries x top 3, in the layer's CRS
    hits = r["search_chip"]
    assert hits["valid"] and hits["count"] == 6 and hits["crs"] == "EPSG:4326" and hits["inside"]
    assert {"query", "rank", "score", "tile_id", "model", "bundle_sha256"} <= set(hits["fields"])
    assert hits["renderer"] == "graduatedSymbol" and hits["labels"]
    for query in ("dark calm water", "bright urban area"):
        rows = [h for h in hits["rows"] if h["query"] == query]
        assert [h["rank"] for h in rows] == [1, 2, 3]
        assert [h["score"] for h in rows] == sorted((h["score"] for h in rows), reverse=True)
    heat = r["heatmap"]
    assert heat["bands"] == 2 and heat["size"] == [4, 4] and heat["epsg4326"]
    assert heat["names"] == ["dark calm water", "bright urban area"]
    # threshold -1 on the index folder: every tile, ranked, written as GeoJSON
    every = r["threshold_all"]
    assert every["count"] == 16 and every["crs"] == "EPSG:4326"
    assert [h["rank"] for h in every["rows"]] == list(range(1, 17))
    assert "styleQML" not in every["fields"]
    temporary = r["temporary"]  # Processing's temporary output: a GeoPackage
    assert temporary["suffix"] == ".gpkg" and temporary["count"] == 2
    assert temporary["renderer"] == "graduatedSymbol"
    # an extent of the UTM scene: only tiles inside it (the extent is 60 x 110 px, 32 px tiles)
    sub = r["search_extent"]
    assert sub["crs"] == "EPSG:32633" and sub["inside"] and sub["count"] == 8
    # col and row count in the whole raster: the extent starts at pixel (30, 50)
    assert {(h["col"], h["row"]) for h in sub["rows"]} == {
        (c, r) for c in (30, 58) for r in (50, 82, 114, 128)
    }
    # bad input: one line each, no output layer
    errors = r["errors"]
    assert "needs a SAR-RS-CoCa (captioning) bundle" in errors["caption_with_clip"]["message"]
    assert "needs a SAR-GPT (question answering) bundle" in errors["vqa_with_clip"]["message"]
    assert "query is empty" in errors["empty_query"]["message"]
    assert "has no CRS" in errors["no_crs"]["message"]
    assert "outside the raster" in errors["outside"]["message"]
    assert "needs polarisation(s) VV, VH" in errors["bands"]["message"]
    assert "not a sargeo bundle" in errors["not_a_bundle"]["message"]
    for key, error in errors.items():
        assert not error["output"] and "\n" not in error["message"], key
        assert "Traceback" not in error["message"]
    # cancellation: stopped, no output, no partial index
    cancel = r["cancel"]
    assert "cancelled" in cancel["message"] and not cancel["output"]
    assert cancel["partial"] == [] and cancel["leftover"] == []


@pytest.mark.skipif(not QGIS_PROCESS.exists(), reason="qgis_process is not installed")
def test_qgis_process_runs_textsearch_from_the_shell(
    qgis: RunInQgis, installed: tuple[Path, Path], tiny_bundle: Path, chip: Path, tmp_path: Path
) -> None:
    plugins, home = installed
    env = _qgis_env(tmp_path, plugin_env(plugins, home))
    env.pop("PYTHONPATH")
    env["QGIS_PLUGINPATH"] = str(plugins)
    enable = [str(QGIS_PROCESS), "plugins", "enable", "sar_narrator"]
    subprocess.run(enable, env=env, capture_output=True, text=True, timeout=120, check=True)
    out = tmp_path / "hits.gpkg"
    command = [
        str(QGIS_PROCESS), "run", "sargeo:textsearch", "--", "QUERIES=flooded fields",
        f"INPUT={chip}", f"BUNDLE={tiny_bundle}", "K=4", "TILE_SIZE=128", f"OUTPUT={out}",
    ]  # fmt: skip
    proc = subprocess.run(
        command, env=env, capture_output=True, text=True, timeout=180, check=False
    )
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    frame = pyogrio.read_dataframe(out, layer="search")
    assert len(frame) == 4 and frame.crs.to_epsg() == 4326
    assert frame["rank"].tolist() == [1, 2, 3, 4]
    assert (frame["query"] == "flooded fields").all()
    minx, miny, maxx, maxy = frame.total_bounds
    assert minx >= -0.7819 and maxx <= -0.7358 and miny >= 38.0828 and maxy <= 38.1289


def test_plugin_loads_without_onnxruntime_and_says_what_is_missing(
    qgis: RunInQgis, installed: tuple[Path, Path], tmp_path: Path
) -> None:
    env = plugin_env(*installed, with_deps=False)
    r = qgis(HERE / "qgis_plugin_gui.py", ["missing"], processing=True, env=env)
    assert r["missing"] == ["onnxruntime", "tokenizers"]
    assert r["provider"] and "SAR Narrator/Install dependencies" in r["menus"]
    assert len(r["messages"]) == 1 and "needs onnxruntime, tokenizers" in r["messages"][0]
    assert r["menus_after_unload"] == [] and not r["provider_after_unload"]
    dialog = r["dialog"]  # the diagnostics dialog says the same, with versions and paths
    assert dialog.startswith("SAR Narrator needs onnxruntime, tokenizers")
    assert '"numpy"' in dialog and '"runtime_origin": "vendor"' in dialog
    assert r["load_seconds"] < 2.0, r["load_seconds"]  # import, provider, menus: no model loads


def test_the_installer_installs_into_the_plugins_folder_without_numpy(
    qgis: RunInQgis, installed: tuple[Path, Path], tmp_path: Path
) -> None:
    """A real ``pip --target --no-deps`` of tokenizers from the package registry (12 MB)."""
    env = plugin_env(*installed, with_deps=False)
    r = qgis(HERE / "qgis_plugin_gui.py", ["install"], timeout=300, processing=True, env=env)
    if not r["ok"] and any(
        "No matching distribution" in x or "connection" in x.lower() for x in r["log"]
    ):
        pytest.skip("the package registry cannot be reached: " + r["log"][-1])
    assert r["before"] == ["onnxruntime", "tokenizers"] and r["ok"], r["log"]
    assert r["after"] == ["onnxruntime"]
    assert "/empty-home/deps/py3." in r["target"]
    assert r["tokenizers"].startswith(r["target"])
    assert "--no-deps" in r["log"][0] and "tokenizers==" in r["log"][0]
    assert not any(name.startswith("numpy") for name in r["installed"])
    assert r["numpy"].startswith("/usr/lib/python3/dist-packages")  # QGIS's own numpy
    assert r["gdal_array"] == 4  # GDAL's array bindings still work


def test_dock_searches_asks_captions_in_tasks_and_saves_a_screenshot(
    qgis: RunInQgis, installed: tuple[Path, Path], tiny_bundle: Path, chip: Path, tmp_path: Path
) -> None:
    shot = tmp_path / "plugin_dock.png"
    args = ["dock", tiny_bundle, chip, tmp_path, shot]
    r = qgis(
        HERE / "qgis_plugin_gui.py", args, timeout=300, processing=True, env=plugin_env(*installed)
    )
    assert r["started"] and r["refused"] and "one request at a time" in r["busy_status"]
    assert r["finished"] and r["status"].endswith("done.")
    assert len(r["items"]) == 5 and r["items"][0].startswith("1. flooded fields")
    assert r["hit_layers"] == 1 and r["hit_features"] == 5 and r["zoom_contains"]
    assert r["diagnostics"]["missing"] == [] and r["diagnostics"]["runtime_origin"] == "vendor"
    found = {b["path"]: b.get("task") for b in r["diagnostics"]["bundles"]}
    assert found[str(tiny_bundle)] == "clip"  # and its siblings, if other tests exported some
    # the rectangle tool asks SAR-GPT and the view is captioned (stand-in models)
    assert r["tool_active"] and r["answer"].endswith("A: stand-in answer to is there water?")
    assert r["answer_features"] == 1 and r["answer_extent_ok"]
    assert r["captioned"] and r["caption_features"] == 4  # 512 px in the bundle's 256 px tiles
    assert r["selected_captioned"] and r["selected_caption_features"] == [2, 4]  # 2 selected
    from PIL import Image

    image = np.asarray(Image.open(shot).convert("RGB"))
    assert image.shape[:2] == (620, 1100)
    assert len(np.unique(image.reshape(-1, 3), axis=0)) > 1000  # the SAR image is on the canvas
    if os.environ.get("SARGEO_UPDATE_FIGURES"):
        shutil.copy(shot, REPO / "docs" / "img" / "plugin_dock.png")


def test_caption_and_vqa_find_their_regions_and_refuse_bundles_they_cannot_run(
    qgis: RunInQgis, installed: tuple[Path, Path], tiny_bundle: Path, tmp_path: Path
) -> None:
    """Up to the model, with stand-in models (see qgis_plugin_describe.py); a task whose runtime the
    zip lacks is refused in one line."""
    scene = write_scene(tmp_path / "scene.tif")  # 192 px at 10 m, EPSG:32633
    args = [tiny_bundle, scene, tmp_path]
    env = plugin_env(*installed)
    r = qgis(HERE / "qgis_plugin_describe.py", args, timeout=300, processing=True, env=env)
    for task, message in r["real_runtime"].items():
        assert f"cannot run {task} bundles yet" in message
    runs = r["runs"]
    x0, y0, x1, y1 = r["scene_extent"]
    expected = {"tiles_px": 9, "tiles_m": 4, "extent": 8, "polygons": 2, "vqa_extent": 1}
    for key, count in {**expected, "vqa_polygons": 2}.items():
        run = runs[key]
        assert run["count"] == count and run["crs"] == "EPSG:32633" and run["labels"], key
        ex0, ey0, ex1, ey1 = run["extent"]
        assert x0 <= ex0 and ey0 >= y0 and ex1 <= x1 and ey1 <= y1, key
        assert {"tile_id", "col", "row", "pixel_spacing", "model", "bundle_sha256"} <= set(
            run["fields"]
        )
    assert runs["tiles_px"]["areas"] == [640 * 640] * 9  # 64 px tiles of 10 m
    assert runs["tiles_m"]["areas"] == [960 * 960] * 4  # 960 m tiles: 96 px
    assert runs["polygons"]["areas"] == [300 * 200, 600 * 700]  # the polygons, back in UTM
    assert runs["extent"]["extent"] == [500300.0, 4998400.0, 500900.0, 4999500.0]
    assert runs["tiles_px"]["fields"][1:3] == ["caption", "score"]
    assert runs["tiles_px"]["scores"] == [-0.5] * 9  # mean log-probability: -3 over 6 tokens
    assert runs["vqa_extent"]["texts"] == ["stand-in answer to is there a ship?"]
    assert len(set(runs["tiles_px"]["texts"])) > 1  # each tile went through the image encoder
    errors = r["errors"]
    assert "EXTENT is needed" in errors["no_extent"]
    assert "polygon f1 lies outside the raster" in errors["outside"]
    assert "question is empty" in errors["empty_question"]
    assert r["error_outputs"] == []


def test_caption_with_a_real_coca_bundle(
    qgis: RunInQgis,
    installed: tuple[Path, Path],
    chip: Path,
    tmp_path: Path,
    request: pytest.FixtureRequest,
) -> None:
    """End to end once the CoCa runtime (``sargeo.runtime.coca``) and its test run are on this branch."""
    if importlib.util.find_spec("sargeo.runtime.coca") is None:
        pytest.skip("no CoCa runtime (sargeo.runtime.coca) on this branch yet")
    from sargeo.cli import main as sargeo_main

    try:
        run = request.getfixturevalue("tiny_coca_run")
    except pytest.FixtureLookupError:
        pytest.skip("no tiny CoCa run fixture (tests/conftest.py) on this branch yet")
    bundle = tmp_path / "tiny-coca"
    assert sargeo_main(["export", "coca", str(run / "run"), "-o", str(bundle), "-q"]) == 0
    args = [chip, bundle, tmp_path / "captions.gpkg"]
    r = qgis(
        HERE / "qgis_plugin_coca.py", args, timeout=300, processing=True, env=plugin_env(*installed)
    )
    assert r["runtime"].startswith(str(installed[0]))
    assert r["count"] == 16 and r["crs"] == "EPSG:4326" and r["labels"]
    assert all(c.strip() for c in r["captions"]) and all(s < 0 for s in r["scores"])


def test_vqa_with_a_real_gpt_bundle(
    qgis: RunInQgis, installed: tuple[Path, Path], chip: Path, tiny_gpt: Path, tmp_path: Path
) -> None:
    """``sargeo:vqa`` end to end with the tiny SAR-GPT bundle and the zip's GPT runtime: the answer
    about the chip's whole extent is the one ``sargeo ask --bundle`` gives."""
    from sargeo.cli import main as sargeo_main
    from tests.gpt_runs import QUESTION

    bundle = tiny_gpt / "bundle"
    args = [chip, bundle, QUESTION, tmp_path / "answers.gpkg"]
    r = qgis(
        HERE / "qgis_plugin_gpt.py", args, timeout=300, processing=True, env=plugin_env(*installed)
    )
    assert r["runtime"].startswith(str(installed[0])) and not r["torch"]
    assert r["count"] == 1 and r["crs"] == "EPSG:4326" and r["labels"]
    assert r["widths"] == [512] and r["answers"][0].strip()
    out = tmp_path / "cli.gpkg"
    argv = ["ask", str(chip), QUESTION, "--bundle", str(bundle), "-o", str(out), "-q"]
    assert sargeo_main([*argv, "--size", "512", "--threads", "1"]) == 0
    import geopandas as gpd

    assert list(gpd.read_file(out, layer="ask")["answer"]) == r["answers"]
