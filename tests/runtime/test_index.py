"""``sargeo index`` and ``sargeo search`` with a bundle exported from a trained tiny CLIP.

Search results are checked against the torch model itself: the same windows read with rasterio,
prepared, embedded and ranked in torch must give the index's vectors and the GeoPackage's ranking.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import numpy as np
import pyogrio
import pytest
import rasterio
import torch
from rasterio.windows import Window as RioWindow

from sargeo.cli import main
from sargeo.eval.run import load_clip
from sargeo.runtime.bundle import load_bundle
from sargeo.runtime.index import open_index
from sargeo.runtime.preprocess import prepare
from tests.bundles import write_scene

pytestmark = pytest.mark.slow


def _index(raster: Path, bundle: Path, out: Path, *extra: str) -> None:
    assert main(["index", str(raster), "--bundle", str(bundle), "-o", str(out), "-q", *extra]) == 0


def _search(target: Path, query: str, bundle: Path, out: Path, *extra: str) -> None:
    argv = ["search", str(target), query, "--bundle", str(bundle), "-o", str(out), "-q"]
    assert main([*argv, *extra]) == 0


@torch.no_grad()
def test_search_ranks_tiles_as_the_torch_model_does(
    tiny_bundle: Path, tiny_run: Path, tmp_path: Path
) -> None:
    raster = write_scene(tmp_path / "scene.tif")
    _index(raster, tiny_bundle, tmp_path / "index", "--size", "48", "--overlap", "16")
    index = open_index(tmp_path / "index")
    assert len(index.tiles) == 36  # 192 px: 6 x 6 tiles of 48 px (stride 32, the last flush)
    model, _ = load_clip(tiny_run / "run")
    with rasterio.open(raster) as src:
        windows = [
            (int(t["col"]), int(t["row"]), int(t["width"]), int(t["height"])) for t in index.tiles
        ]
        pixels = [src.read(window=RioWindow(*w)) for w in windows]
    images = np.stack([prepare(p, "dB", ("VV", "VH"), model.preprocess) for p in pixels])
    vectors = model.encode_image(torch.from_numpy(images)).numpy()
    np.testing.assert_allclose(index.vectors.astype(np.float32), vectors, atol=2e-3)

    query = "a bright building on land beside dark water"
    _search(tmp_path / "index", query, tiny_bundle, tmp_path / "hits.gpkg", "-k", "5")
    hits = pyogrio.read_dataframe(tmp_path / "hits.gpkg", layer="search")
    text = model.encode_text(model.tokenize([query])).numpy()[0]
    scores = vectors @ text
    order = np.argsort(-scores, kind="stable")
    assert hits["rank"].tolist() == [1, 2, 3, 4, 5]
    np.testing.assert_allclose(hits["score"], scores[order[:5]], atol=5e-3)
    assert hits["score"].is_monotonic_decreasing
    best = index.tile_id(int(order[0]))
    if scores[order[0]] - scores[order[1]] > 5e-3:
        assert hits["tile_id"].iloc[0] == best


def test_results_carry_provenance_and_a_style(tiny_bundle: Path, tmp_path: Path) -> None:
    raster = write_scene(tmp_path / "scene.tif")
    out = tmp_path / "hits.gpkg"
    _search(raster, "open sea", tiny_bundle, out, "-k", "4", "--size", "64")
    hits = pyogrio.read_dataframe(out, layer="search")
    sha = load_bundle(tiny_bundle).sha256
    assert len(hits) == 4 and set(hits["query"]) == {"open sea"}
    assert set(hits["model"]) == {tiny_bundle.name} and set(hits["bundle_sha256"]) == {sha}
    assert set(hits["acquisition_time"]) == {"2021-06-01T05:30:00"}
    assert set(hits["pixel_spacing"]) == {10.0} and set(hits["source"]) == {str(raster)}
    assert all(t.startswith("r") and "_c" in t for t in hits["tile_id"])
    assert hits.crs.to_epsg() == 32633
    with rasterio.open(raster) as src:
        left, bottom, right, top = src.bounds
    for geometry in hits.geometry:
        x0, y0, x1, y1 = geometry.bounds
        assert left <= x0 < x1 <= right and bottom <= y0 < y1 <= top
        assert geometry.area == pytest.approx(640.0 * 640.0)
    with sqlite3.connect(out) as db:
        ((qml, default),) = db.execute("SELECT styleQML, useAsDefault FROM layer_styles").fetchall()
    assert default == 1 and 'type="graduatedSymbol"' in qml and 'attr="score"' in qml


def test_several_queries_and_a_heatmap(tiny_bundle: Path, tmp_path: Path) -> None:
    raster = write_scene(tmp_path / "scene.tif", nodata_rows=70)
    _index(raster, tiny_bundle, tmp_path / "index", "--size", "64")
    index = open_index(tmp_path / "index")
    assert index.manifest["skipped"] == 3 and len(index.tiles) == 6  # the top row is mostly NaN
    queries = tmp_path / "queries.txt"
    queries.write_text("# what to look for\nopen sea\n\nbright buildings\nfarmland\n")
    out, heat = tmp_path / "hits.gpkg", tmp_path / "heat.tif"
    argv = [
        "search",
        str(tmp_path / "index"),
        "--queries",
        str(queries),
        "--bundle",
        str(tiny_bundle),
    ]
    assert main([*argv, "-o", str(out), "-k", "3", "--heatmap", str(heat), "-q"]) == 0
    hits = pyogrio.read_dataframe(out, layer="search")
    assert hits.groupby("query")["rank"].apply(list).to_dict() == {
        q: [1, 2, 3] for q in ("open sea", "bright buildings", "farmland")
    }
    with rasterio.open(heat) as src:
        assert src.count == 3 and src.descriptions == ("open sea", "bright buildings", "farmland")
        assert (src.width, src.height) == (3, 3) and src.crs.to_epsg() == 32633
        assert src.transform.a == 640.0 and src.transform.c == 500_000.0
        grid = src.read(1)
    assert np.isnan(grid[0]).all() and np.isfinite(grid[1:]).all()
    sea = hits[hits["query"] == "open sea"]
    row, col = divmod(int(sea["tile_id"].iloc[0][1:5]) * 3 + int(sea["tile_id"].iloc[0][7:]), 3)
    assert grid[row, col] == pytest.approx(sea["score"].iloc[0], abs=1e-5)


def _stamp(folder: Path) -> int:
    return (folder / "vectors.f16").stat().st_ino


def test_an_index_is_reused_until_something_changes(
    tiny_bundle: Path, tiny_bundle_int8: Path, tmp_path: Path
) -> None:
    raster = write_scene(tmp_path / "scene.tif")
    out = tmp_path / "index"
    _index(raster, tiny_bundle, out, "--size", "64")
    first = _stamp(out)
    _index(raster, tiny_bundle, out, "--size", "64")
    assert _stamp(out) == first  # nothing changed: reused, not rewritten
    _index(raster, tiny_bundle, out, "--size", "64", "--batch", "3", "--readers", "2")
    assert _stamp(out) == first  # speed options do not change the index
    keys = [json.loads((out / "index.json").read_text())["key"]]
    for change in (
        lambda: _index(raster, tiny_bundle, out, "--size", "96"),  # another tile grid
        lambda: _index(raster, tiny_bundle_int8, out, "--size", "96"),  # another bundle
        lambda: (
            write_scene(raster, seed=5),
            _index(raster, tiny_bundle_int8, out, "--size", "96"),
        ),
    ):
        before = _stamp(out)
        change()
        assert _stamp(out) != before
        keys.append(json.loads((out / "index.json").read_text())["key"])
    assert [k["tiles"]["size"] for k in keys] == [64, 96, 96, 96]
    assert keys[1]["bundle"] != keys[2]["bundle"]
    assert keys[2]["rasters"][0]["fingerprint"] != keys[3]["rasters"][0]["fingerprint"]
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no leftovers


def test_an_index_serves_only_its_own_model(
    tiny_bundle: Path, tiny_bundle_int8: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    raster = write_scene(tmp_path / "scene.tif")
    _index(raster, tiny_bundle, tmp_path / "index", "--size", "64")
    # the int8 bundle of the same weights shares the embedding space
    _search(tmp_path / "index", "sea", tiny_bundle_int8, tmp_path / "a.gpkg")
    meta = json.loads((tiny_bundle / "bundle.json").read_text())
    meta["embedding"]["space"] = "other-weights"
    other = tmp_path / "other"
    other.mkdir()
    for item in tiny_bundle.iterdir():
        (other / item.name).write_bytes(item.read_bytes())
    (other / "bundle.json").write_text(json.dumps(meta))
    argv = ["search", str(tmp_path / "index"), "sea", "--bundle", str(other)]
    assert main([*argv, "-o", str(tmp_path / "b.gpkg"), "-q"]) == 2
    assert "whose weights differ" in capsys.readouterr().err
    assert not (tmp_path / "b.gpkg").exists()


def test_several_rasters_in_one_index(
    tiny_bundle: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for folder, seed in (("a", 1), ("b", 2)):
        (tmp_path / folder).mkdir()
        write_scene(tmp_path / folder / "scene.tif", size=128, seed=seed)
    rasters = [str(tmp_path / f / "scene.tif") for f in ("a", "b")]
    argv = ["index", *rasters, "--bundle", str(tiny_bundle), "--size", "64", "-q"]
    assert main([*argv, "-o", str(tmp_path / "index")]) == 0
    index = open_index(tmp_path / "index")
    assert [s["name"] for s in index.sources] == rasters
    assert sorted({index.tile_id(i)[:8] for i in range(len(index.tiles))}) == [
        "a_scene_",
        "b_scene_",
    ]
    out = tmp_path / "hits.gpkg"
    _search(tmp_path / "index", "sea", tiny_bundle, out, "-k", "8")
    assert set(pyogrio.read_dataframe(out, layer="search")["source"]) == set(rasters)
    search = ["search", str(tmp_path / "index"), "sea", "--bundle", str(tiny_bundle), "-q"]
    assert (
        main([*search, "-o", str(tmp_path / "x.gpkg"), "--heatmap", str(tmp_path / "x.tif")]) == 2
    )
    assert "--heatmap needs an index of one raster" in capsys.readouterr().err
    assert not (tmp_path / "x.gpkg").exists() and not (tmp_path / "x.tif").exists()
    write_scene(tmp_path / "utm32.tif", size=128, epsg=32632)
    argv = ["index", rasters[0], str(tmp_path / "utm32.tif"), "--bundle", str(tiny_bundle), "-q"]
    assert main([*argv, "-o", str(tmp_path / "mixed")]) == 2
    assert "must share a CRS" in capsys.readouterr().err
