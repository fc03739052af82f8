"""The sharded index layout: its vectors read as one array, searched across shard boundaries, and a
sharded index answering exactly as the single-file index of the same vectors (results, heatmaps,
footprints, reuse), and refused in one line when a shard is missing or damaged."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import geopandas
import numpy as np
import pyogrio
import pytest
import rasterio

from sargeo.cli import main
from sargeo.errors import InputError
from sargeo.inference.commands import Reading
from sargeo.runtime import search as search_module
from sargeo.runtime.bundle import load_bundle
from sargeo.runtime.clip import ClipModel
from sargeo.runtime.index import IndexOptions, is_current, open_index
from sargeo.runtime.results import search
from sargeo.runtime.search import Searcher
from sargeo.runtime.shards import ShardedVectors, shard_paths
from sargeo.scale.index import save_part, write_sharded
from tests.bundles import write_scene


def _shards(tmp_path: Path, vectors: np.ndarray, sizes: list[int]) -> ShardedVectors:
    paths, start = [], 0
    for number, size in enumerate(sizes):
        path = tmp_path / f"v{number}.f16"
        vectors[start : start + size].tofile(path)
        paths.append(path)
        start += size
    assert start == len(vectors)
    return ShardedVectors(paths, sizes, vectors.shape[1])


def _unit(rows: int, dim: int, seed: int) -> np.ndarray:
    x = np.random.default_rng(seed).standard_normal((rows, dim)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def test_shards_read_as_one_array(tmp_path: Path) -> None:
    whole = _unit(100, 6, 0).astype(np.float16)
    view = _shards(tmp_path, whole, [1, 30, 1, 1, 50, 17])
    assert len(view) == 100 and view.shape == (100, 6) and view.dtype == np.float16
    for key in (
        slice(None), slice(0, 1), slice(29, 33), slice(31, 83), slice(95, 200), slice(-5, None),
        slice(40, 10), slice(3, 90, 7), slice(None, None, -3), 0, 31, 99, -1, -100,
    ):  # fmt: skip
        np.testing.assert_array_equal(view[key], whole[key], err_msg=str(key))
    rows = np.array([99, 0, 31, 31, 2, -1, 45])
    np.testing.assert_array_equal(view[rows], whole[rows])
    np.testing.assert_array_equal(view[rows.reshape(7, 1)], whole[rows.reshape(7, 1)])
    np.testing.assert_array_equal(view[np.sort(rows[:5])], whole[np.sort(rows[:5])])
    np.testing.assert_array_equal(view[[]], whole[[]])
    mask = np.arange(100) % 3 == 0
    np.testing.assert_array_equal(view[mask], whole[mask])
    np.testing.assert_array_equal(view[31:40, 2], whole[31:40, 2])
    np.testing.assert_array_equal(view[5, 1:3], whole[5, 1:3])
    np.testing.assert_array_equal(np.asarray(view), whole)
    assert np.asarray(view, dtype=np.float32).dtype == np.float32
    np.testing.assert_array_equal(view.astype(np.float32), whole.astype(np.float32))
    for bad in (100, -101, np.array([3, 100])):
        with pytest.raises(IndexError):
            view[bad]
    with pytest.raises(IndexError):
        view[np.array([0.5])]


def test_a_shard_gone_after_opening_is_one_line(tmp_path: Path) -> None:
    view = _shards(tmp_path, _unit(10, 4, 1).astype(np.float16), [4, 6])
    (tmp_path / "v1.f16").unlink()
    assert view[:4].shape == (4, 4)
    with pytest.raises(InputError, match=r"v1\.f16 cannot be read"):
        view[3:5]


@pytest.mark.parametrize("resident", [True, False])
def test_search_streams_across_shard_boundaries(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, resident: bool
) -> None:
    """Chunks of 7 rows over shards of 1 to 23: the top-k merge gives the single array's answer,
    equal scores (copies of one vector in several shards) ranked by row."""
    whole = _unit(120, 16, 2)
    queries = _unit(3, 16, 3)
    twins = [4, 5, 6, 22, 23, 61, 119]  # across the boundaries at 5, 6, 23 and 62
    queries[0] = whole[twins] = np.eye(16)[0]  # scores exactly 1 whatever the BLAS kernel's order
    whole = whole.astype(np.float16)
    view = _shards(tmp_path, whole, [5, 1, 17, 23, 16, 57, 1])
    monkeypatch.setattr(search_module, "CHUNK_ROWS", 7)
    if not resident:
        monkeypatch.setattr(search_module, "RESIDENT_LIMIT", 0)
    sharded, single = Searcher(view), Searcher(whole)
    assert sharded.resident is resident
    for k in (1, 7, 8, 120):
        got, want = sharded.top_k(queries, k), single.top_k(queries, k)
        np.testing.assert_array_equal(got[1], want[1])
        np.testing.assert_array_equal(got[0], want[0])
    _, rows = sharded.top_k(queries[0], len(twins))
    assert rows.tolist() == [twins]
    np.testing.assert_array_equal(sharded.scores(queries), single.scores(queries))


def test_faiss_reads_the_shards(tmp_path: Path) -> None:
    pytest.importorskip("faiss")
    whole = _unit(3000, 16, 4).astype(np.float16)
    view = _shards(tmp_path, whole, [1000, 1, 1999])
    queries = _unit(4, 16, 5)
    for backend in ("faiss", "faiss-ivf"):
        got, want = (
            Searcher(view, backend).top_k(queries, 9),
            Searcher(whole, backend).top_k(queries, 9),
        )
        np.testing.assert_array_equal(got[1], want[1])


# ---- whole indexes (a tiny exported CLIP) ----


def _cli(*argv: str) -> int:
    return main([*argv, "-q"])


def _reshard(
    single: Path, out: Path, raster: Path, bundle: Path, sizes: list[int], parts: Path
) -> None:
    """The sharded index of ``single``'s very vectors, through the Dask index's own merge."""
    index = open_index(single)
    parts.mkdir()
    start = 0
    for number, size in enumerate(sizes):
        span = slice(start, start + size)
        save_part(parts / f"part-{number:05d}.shard", index.vectors[span], index.tiles[span])
        start += size
    assert start == len(index.tiles)
    out.mkdir()
    sources = Reading().open([raster])
    m = index.manifest
    model = ClipModel(load_bundle(bundle))
    parts_list = [parts / f"part-{n:05d}.shard" for n in range(len(sizes))]
    write_sharded(out, parts_list, sources, model, IndexOptions(size=64), m["tiles_in_grid"], 0.0)


@pytest.fixture(scope="module")
def two_layouts(tiny_bundle: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A single-file index of a 256 px scene (16 tiles of 64 px, 4 skipped) and its sharded twin."""
    tmp = tmp_path_factory.mktemp("layouts")
    raster = write_scene(tmp / "scene.tif", size=256, nodata_rows=70)
    single, sharded = tmp / "single", tmp / "sharded"
    argv = ["index", str(raster), "--bundle", str(tiny_bundle), "--size", "64"]
    assert _cli(*argv, "-o", str(single)) == 0
    assert open_index(single).manifest["count"] == 12
    _reshard(single, sharded, raster, tiny_bundle, [5, 0, 1, 4, 2], tmp / "parts")
    return {"raster": raster, "single": single, "sharded": sharded, "tmp": tmp}


@pytest.mark.slow
def test_a_sharded_index_answers_as_the_single_file_one(
    two_layouts: dict[str, Path], tiny_bundle: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    single, sharded, tmp = two_layouts["single"], two_layouts["sharded"], two_layouts["tmp"]
    manifest = json.loads((sharded / "index.json").read_text())
    assert manifest["format_version"] == 2 and manifest["layout"] == "sharded"
    assert manifest["shards"] == [5, 1, 4, 2]  # the empty part is no shard
    assert manifest["footprints"] == ["tiles.parquet", "tiles.gpkg"]
    assert not (sharded / "vectors.f16").exists() and not (sharded / "tiles.npy").exists()
    one, two = open_index(single), open_index(sharded)
    assert isinstance(two.vectors, ShardedVectors) and two.vectors.shape == one.vectors.shape
    np.testing.assert_array_equal(two.tiles, one.tiles)
    np.testing.assert_array_equal(np.asarray(two.vectors), np.asarray(one.vectors))
    queries = tmp / "queries.txt"
    queries.write_text("open sea\nbright buildings\nfarmland\n")
    outputs = {}
    for name, folder in (("single", single), ("sharded", sharded)):
        for chunk in ("resident", "chunks of 3"):
            if chunk != "resident":  # streamed in chunks that cross the shards' boundaries
                monkeypatch.setattr(search_module, "RESIDENT_LIMIT", 0)
                monkeypatch.setattr(search_module, "CHUNK_ROWS", 3)
            hits, heat = tmp / f"{name}-{chunk}.gpkg", tmp / f"{name}-{chunk}.tif"
            argv = ["search", str(folder), "--queries", str(queries), "--bundle", str(tiny_bundle)]
            assert _cli(*argv, "-o", str(hits), "-k", "12", "--heatmap", str(heat)) == 0
            with rasterio.open(heat) as src:
                outputs[name, chunk] = (pyogrio.read_dataframe(hits, layer="search"), src.read())
            monkeypatch.undo()
    want_hits, want_heat = outputs["single", "resident"]
    assert len(want_hits) == 36 and np.isfinite(want_heat).sum() == 3 * 12
    for (name, chunk), (hits, heat) in outputs.items():
        assert hits.equals(want_hits), (name, chunk)  # scores are written to 6 decimals
        # the same layout's chunks give the same floats; resident and streamed differ by the BLAS
        # kernels' summation order (1e-7)
        np.testing.assert_array_equal(heat, outputs["single", chunk][1], err_msg=f"{name} {chunk}")
        np.testing.assert_allclose(heat, want_heat, atol=1e-6)
    model = ClipModel(load_bundle(tiny_bundle))
    monkeypatch.setattr(search_module, "RESIDENT_LIMIT", 0)
    monkeypatch.setattr(search_module, "CHUNK_ROWS", 2)
    assert search(two, model, ["sea"], 12) == search(one, model, ["sea"], 12)


@pytest.mark.slow
def test_geoparquet_footprints_match_the_geopackage(two_layouts: dict[str, Path]) -> None:
    sharded = two_layouts["sharded"]
    parquet = geopandas.read_parquet(sharded / "tiles.parquet")
    gpkg = pyogrio.read_dataframe(sharded / "tiles.gpkg")
    single = pyogrio.read_dataframe(two_layouts["single"] / "tiles.gpkg")
    assert len(parquet) == 12 and parquet.crs.to_epsg() == 32633
    assert list(parquet.columns) == list(gpkg.columns)
    assert parquet["tile_id"].tolist() == gpkg["tile_id"].tolist() == single["tile_id"].tolist()
    assert parquet.geometry.geom_equals_exact(single.geometry, tolerance=1e-6).all()
    for column in ("source", "col", "row", "width", "height", "valid_fraction", "acquisition_time"):
        assert parquet[column].tolist() == single[column].tolist(), column
    np.testing.assert_allclose(parquet.total_bounds, single.total_bounds)


@pytest.mark.slow
def test_either_layout_reuses_the_other(
    two_layouts: dict[str, Path], tiny_bundle: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    single, sharded = two_layouts["single"], two_layouts["sharded"]
    key = open_index(single).manifest["key"]
    assert is_current(sharded, key) and is_current(single, open_index(sharded).manifest["key"])
    inode = shard_paths(sharded, 0)[0].stat().st_ino
    capsys.readouterr()
    argv = ["index", str(two_layouts["raster"]), "--bundle", str(tiny_bundle), "--size", "64"]
    assert _cli(*argv, "-o", str(sharded)) == 0
    assert "up to date" in capsys.readouterr().out
    assert shard_paths(sharded, 0)[0].stat().st_ino == inode


def _truncate(path: Path) -> None:
    path.write_bytes(path.read_bytes()[:-2])


def _garble(path: Path) -> None:
    path.write_bytes(b"not a numpy file")


def _bad_list(folder: Path) -> None:
    manifest = json.loads((folder / "index.json").read_text())
    manifest["shards"] = [5, 1, 4]
    (folder / "index.json").write_text(json.dumps(manifest))


@pytest.mark.slow
@pytest.mark.parametrize(
    ("damage", "needle"),
    [
        (lambda f: shard_paths(f, 1)[0].unlink(), "shard shards/vectors-00001.f16 is missing"),
        (lambda f: _truncate(shard_paths(f, 3)[0]), "shard shards/vectors-00003.f16 is missing"),
        (lambda f: _garble(shard_paths(f, 2)[1]), "shards/tiles-00002.npy cannot be read"),
        (lambda f: shard_paths(f, 0)[1].unlink(), "shards/tiles-00000.npy cannot be read"),
        (_bad_list, "index.json lists no valid shards"),
    ],
)
def test_a_missing_or_damaged_shard_is_one_line_and_rebuilt(
    two_layouts: dict[str, Path],
    tiny_bundle: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    damage: object,
    needle: str,
) -> None:
    broken = Path(shutil.copytree(two_layouts["sharded"], tmp_path / "broken"))
    damage(broken)  # type: ignore[operator]
    capsys.readouterr()
    argv = ["search", str(broken), "sea", "--bundle", str(tiny_bundle), "-o"]
    assert _cli(*argv, str(tmp_path / "hits.gpkg")) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and needle in err[0], err
    assert not (tmp_path / "hits.gpkg").exists()
    with pytest.raises(InputError, match="build it again"):
        open_index(broken)
    # `sargeo index` sees the index is not complete, or does not open, and builds it again
    # (single-file, in one process)
    key = open_index(two_layouts["single"]).manifest["key"]
    argv = ["index", str(two_layouts["raster"]), "--bundle", str(tiny_bundle), "--size", "64"]
    assert _cli(*argv, "-o", str(broken)) == 0
    assert is_current(broken, key) and not (broken / "shards").exists()


@pytest.mark.slow
def test_format_versions(two_layouts: dict[str, Path], tmp_path: Path) -> None:
    """Version 1 (single file, as written before shards existed) and 2 (sharded) open; others not."""
    single = Path(shutil.copytree(two_layouts["single"], tmp_path / "single"))
    manifest = json.loads((single / "index.json").read_text())
    assert manifest["format_version"] == 1 and "layout" not in manifest
    del manifest["footprints"]  # an index written before this key existed
    (single / "index.json").write_text(json.dumps(manifest))
    assert len(open_index(single).tiles) == 12
    for version, layout in ((2, None), (1, "sharded"), (3, None)):
        changed = {**manifest, "format_version": version}
        if layout:
            changed["layout"] = layout
        (single / "index.json").write_text(json.dumps(changed))
        with pytest.raises(InputError, match="format version 1 or 2"):
            open_index(single)
