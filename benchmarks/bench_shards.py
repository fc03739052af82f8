"""The sharded index layout against the single file, in one run: the Dask merge and exact search.

1. The merge of a Dask index's parts: ``--vectors`` float16 unit vectors in parts of ``--part-rows``
   rows (a Dask partition each), merged the former way (every part's vectors read on the client and
   written into one ``vectors.f16``, from ``.npz`` parts) and the sharded way (`merge_shards`: each
   part's files hard-linked as a shard; only the tile records are read). Both from a warm page cache.
2. The footprints of ``--footprints`` tiles written as GeoParquet (`write_geoparquet`) and as the
   GeoPackage (`write_footprints`), from the tile records of one raster's grid.
3. Exact numpy top-10 search of ``--queries`` queries over the single file and the shards of the same
   vectors, resident (one float32 copy) and streamed in `CHUNK_ROWS` chunks (as indexes over
   `RESIDENT_LIMIT` are); the rows found must be the same.

Usage::

    .venv/bin/python benchmarks/bench_shards.py --vectors 400000 --part-rows 256
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from sargeo.runtime import search as search_module  # noqa: E402
from sargeo.runtime.index import TILE_DTYPE, EmbeddingIndex, write_footprints  # noqa: E402
from sargeo.runtime.search import Searcher  # noqa: E402
from sargeo.runtime.shards import ShardedVectors, shard_paths  # noqa: E402
from sargeo.scale.footprints import write_geoparquet  # noqa: E402
from sargeo.scale.index import merge_shards, save_part  # noqa: E402

UTM33 = 'PROJCS["WGS 84 / UTM zone 33N",GEOGCS["WGS 84",DATUM["WGS_1984",SPHEROID["WGS 84",6378137,298.257223563]],PRIMEM["Greenwich",0],UNIT["degree",0.0174532925199433]],PROJECTION["Transverse_Mercator"],PARAMETER["latitude_of_origin",0],PARAMETER["central_meridian",15],PARAMETER["scale_factor",0.9996],PARAMETER["false_easting",500000],PARAMETER["false_northing",0],UNIT["metre",1],AUTHORITY["EPSG","32633"]]'


def _footprints(work: Path, count: int) -> tuple[float, float]:
    """Seconds to write ``count`` footprints (a grid of 256 px tiles) as GeoParquet and GeoPackage."""
    side = int(np.ceil(np.sqrt(count)))
    tiles = np.zeros(count, TILE_DTYPE)
    tiles["r"], tiles["c"] = np.divmod(np.arange(count), side)
    tiles["col"], tiles["row"] = tiles["c"] * 256, tiles["r"] * 256
    tiles["width"] = tiles["height"] = 256
    tiles["valid"], tiles["spacing_x"], tiles["spacing_y"] = 1.0, 10.0, 10.0
    source = {
        "name": "mosaic.vrt", "transform": [10.0, 0.0, 500_000.0, 0.0, -10.0, 6_000_000.0],
        "crs": {"code": "EPSG:32633", "wkt": UTM33}, "acquisition_time": None, "prefix": "",
    }  # fmt: skip
    index = EmbeddingIndex(work, {"sources": [source]}, np.zeros((count, 1), np.float16), tiles)
    started = time.perf_counter()
    write_geoparquet(index, work / "tiles.parquet")
    parquet = time.perf_counter() - started
    started = time.perf_counter()
    write_footprints(index)
    return parquet, time.perf_counter() - started


def _parts(work: Path, vectors: np.ndarray, rows: int) -> tuple[list[Path], list[Path]]:
    """The same vectors as former ``.npz`` parts and as part folders (tile records zero)."""
    npz, folders = [], []
    (work / "parts").mkdir()
    for number, start in enumerate(range(0, len(vectors), rows)):
        block = vectors[start : start + rows]
        tiles = np.zeros(len(block), TILE_DTYPE)
        path = work / "parts" / f"part-{number:05d}.npz"
        with path.open("wb") as handle:
            np.savez(handle, vectors=block, tiles=tiles)
        npz.append(path)
        folders.append(work / "parts" / f"part-{number:05d}.shard")
        save_part(folders[-1], block, tiles)
    return npz, folders


def _stream_merge(folder: Path, parts: list[Path]) -> None:
    """The former merge: every vector through the client into one file."""
    with (folder / "vectors.f16").open("wb") as handle:
        for part in parts:
            with np.load(part, allow_pickle=False) as data:
                handle.write(np.ascontiguousarray(data["vectors"], np.float16).tobytes())


def _search_ms(vectors: np.ndarray | ShardedVectors, queries: np.ndarray, repeats: int) -> float:
    best = np.inf
    searcher = Searcher(vectors)
    searcher.prepare()
    for _ in range(repeats):
        started = time.perf_counter()
        searcher.top_k(queries, 10)
        best = min(best, time.perf_counter() - started)
    return 1000 * best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--vectors", type=int, default=400_000)
    parser.add_argument("--dim", type=int, default=384)
    parser.add_argument("--part-rows", type=int, default=256, help="rows per part (Dask default)")
    parser.add_argument("--footprints", type=int, default=200_000, help="tiles (0: skip)")
    parser.add_argument("--queries", type=int, default=10)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    x = rng.standard_normal((args.vectors, args.dim), dtype=np.float32)
    vectors = (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float16)
    del x
    queries = rng.standard_normal((args.queries, args.dim), dtype=np.float32)
    queries /= np.linalg.norm(queries, axis=1, keepdims=True)
    print(f"load average at start {os.getloadavg()[0]:.2f}")
    with tempfile.TemporaryDirectory(dir=REPO) as tmp:
        work = Path(tmp)
        npz, folders = _parts(work, vectors, args.part_rows)
        (work / "single").mkdir()
        (work / "sharded").mkdir()
        started = time.perf_counter()
        _stream_merge(work / "single", npz)
        streamed = time.perf_counter() - started
        started = time.perf_counter()
        _, rows = merge_shards(work / "sharded", folders)
        linked = time.perf_counter() - started
        mb = vectors.nbytes / 2**20
        print(
            f"merge of {len(folders)} parts ({args.vectors:,} x {args.dim}, {mb:.0f} MiB):"
            f" streamed into one file {streamed:.2f} s, linked as shards {linked:.2f} s"
            f" ({streamed / linked:.1f}x)"
        )
        if args.footprints:
            parquet, gpkg = _footprints(work, args.footprints)
            print(
                f"footprints of {args.footprints:,} tiles: GeoParquet {parquet:.2f} s"
                f" ({(work / 'tiles.parquet').stat().st_size / 2**20:.1f} MiB), GeoPackage"
                f" {gpkg:.2f} s ({(work / 'tiles.gpkg').stat().st_size / 2**20:.1f} MiB)"
            )
        single = np.memmap(work / "single" / "vectors.f16", np.float16, "r", shape=vectors.shape)
        paths = [shard_paths(work / "sharded", n)[0] for n in range(len(rows))]
        sharded = ShardedVectors(paths, rows, args.dim)
        for mode in ("resident", "streamed"):
            if mode == "streamed":
                search_module.RESIDENT_LIMIT = 0
            a = Searcher(single).top_k(queries, 10)[1]
            b = Searcher(sharded).top_k(queries, 10)[1]
            assert np.array_equal(a, b), "the layouts found different rows"
            one, two = (_search_ms(v, queries, args.repeats) for v in (single, sharded))
            print(
                f"exact top-10 of {args.queries} queries, {mode}: single file {one:.0f} ms,"
                f" {len(rows)} shards {two:.0f} ms ({two / one:.2f}x)"
            )
    print(f"load average at end {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
