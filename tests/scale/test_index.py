"""``sargeo index`` on Dask: the single-process index, the bundle loaded once per worker process."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import geopandas
import pytest

from sargeo.cli import main
from sargeo.runtime.index import is_current, open_index
from sargeo.runtime.shards import ShardedVectors
from sargeo.scale.cluster import loads
from tests.bundles import write_scene
from tests.scale.conftest import assert_same_index

pytestmark = pytest.mark.slow


def _index(rasters: list[Path], bundle: Path, out: Path, *extra: str) -> int:
    argv = ["index", *map(str, rasters), "--bundle", str(bundle), "-o", str(out), "-q"]
    return main([*argv, "--size", "32", "--threads", "1", *extra])


def _assert_sharded(folder: Path, parts: int) -> None:
    """A Dask index: one shard per non-empty part, GeoParquet footprints, no parts folder left."""
    index = open_index(folder)
    manifest = index.manifest
    assert manifest["layout"] == "sharded" and manifest["format_version"] == 2
    assert 1 < len(manifest["shards"]) <= parts and sum(manifest["shards"]) == manifest["count"]
    assert isinstance(index.vectors, ShardedVectors) and not (folder / "vectors.f16").exists()
    assert sorted(p.name for p in (folder / "shards").iterdir()) == sorted(
        name
        for n in range(len(manifest["shards"]))
        for name in (f"vectors-{n:05d}.f16", f"tiles-{n:05d}.npy")
    )
    footprints = geopandas.read_parquet(folder / "tiles.parquet")
    assert len(footprints) == manifest["count"] and footprints.crs.to_epsg() == 32633
    assert footprints["tile_id"].tolist() == [index.tile_id(i) for i in range(len(index.tiles))]
    assert not list(folder.parent.glob(f".{folder.name}.parts-*"))


def test_index_on_dask_equals_the_single_process_index(
    tiny_bundle: Path, dask_client: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rasters = [
        write_scene(tmp_path / "a.tif", size=192, nodata_rows=40),
        write_scene(tmp_path / "b.tif", size=160, seed=2),
    ]
    assert _index(rasters, tiny_bundle, tmp_path / "one") == 0
    dask_client.wait_for_workers(2, timeout=120)  # a worker killed by another test is back
    before = dask_client.run(loads)
    address = dask_client.scheduler.address
    # Two inference threads: a model no other test loaded into these workers (cache key).
    remote = ["--scheduler", address, "--partition", "7", "--threads", "2"]
    assert _index(rasters, tiny_bundle, tmp_path / "two", *remote) == 0
    assert "10 partitions on 2 Dask worker(s)" in capsys.readouterr().out  # 36, 25 tiles by 7
    assert_same_index(tmp_path / "one", tmp_path / "two")
    _assert_sharded(tmp_path / "two", parts=10)
    after = dask_client.run(loads)
    loaded = {w: after[w].get("bundle", 0) - before.get(w, {}).get("bundle", 0) for w in after}
    assert all(n <= 1 for n in loaded.values()) and sum(loaded.values()) >= 1, loaded
    # Either run's index is current for the other's key, so each reuses the other's.
    assert is_current(tmp_path / "two", open_index(tmp_path / "one").manifest["key"])
    assert _index(rasters, tiny_bundle, tmp_path / "two") == 0
    assert "up to date" in capsys.readouterr().out
