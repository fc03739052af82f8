"""A local Dask cluster of two worker processes shared by the scale-out tests, and their helpers."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pyogrio
import pytest

from sargeo.geo.index import read_tile_index
from sargeo.runtime.index import open_index
from sargeo.scale.cluster import local_cluster


@pytest.fixture(scope="session")
def dask_client() -> Iterator[Any]:
    """A client of a `LocalCluster` of two single-threaded worker processes (with nannies)."""
    distributed = pytest.importorskip("distributed")
    with local_cluster(2) as cluster, distributed.Client(cluster) as client:
        client.run(lambda: __import__("sargeo.scale.index"))  # the imports, once, before any timing
        yield client


def assert_same_tiling(a: Path, b: Path) -> None:
    """Two `sargeo tile` outputs hold the same tiles, chips (byte for byte) and manifest."""
    assert read_tile_index(a / "tiles.gpkg") == read_tile_index(b / "tiles.gpkg")
    info_a, info_b = pyogrio.read_info(a / "tiles.gpkg"), pyogrio.read_info(b / "tiles.gpkg")
    assert list(info_a["fields"]) == list(info_b["fields"]) and info_a["crs"] == info_b["crs"]
    chips_a = sorted(p.name for p in (a / "chips").iterdir())
    assert chips_a == sorted(p.name for p in (b / "chips").iterdir())
    for name in chips_a:
        assert (a / "chips" / name).read_bytes() == (b / "chips" / name).read_bytes()
    assert (a / "tiling.json").read_text() == (b / "tiling.json").read_text()


def assert_same_index(a: Path, b: Path) -> None:
    """Two embedding indexes hold the same tiles in the same order, embeddings to float16 tolerance."""
    one, two = open_index(a), open_index(b)
    assert one.manifest["key"] == two.manifest["key"]
    assert one.manifest["count"] == two.manifest["count"]
    np.testing.assert_array_equal(one.tiles, two.tiles)
    np.testing.assert_allclose(
        one.vectors.astype(np.float32), two.vectors.astype(np.float32), atol=2e-3
    )
    assert [one.tile_id(i) for i in range(len(one.tiles))] == [
        two.tile_id(i) for i in range(len(two.tiles))
    ]
    footprints = pyogrio.read_dataframe(b / "tiles.gpkg")
    assert len(footprints) == len(one.tiles) and footprints["tile_id"].is_unique
