"""Scale-out on Dask: tiles per second with 1 and 2 worker processes on the same mosaic, in one run.

1. ``sargeo index`` of one mosaic: single process (all cores), then a warm local Dask cluster of 1
   worker (all cores) and of 2 workers (the cores shared out), the same partitions. The three are
   interleaved ``--repeats`` times and the best of each kept, so that a change of load on a shared
   machine does not favour one of them. The scaling ratio
   is 2 workers' tiles/s over 1 worker's (goal: at least 1.7x on two free cores). With
   ``--threads-per-worker 1`` each worker has one inference thread, so the ratio is what a second
   worker core adds; by default one worker uses every core, and the ratio is Dask's over threads.
2. ``sargeo tile`` of the same mosaic, the same three ways.
3. The scheduler's overhead per task: wall time per empty task over many, on the warm cluster, beside
   the compute time of one index partition on a worker (Dask's task stream).
4. Search past memory: ``--ann-vectors`` unit vectors (clustered, varying along a few directions, as
   tile embeddings do; queries held out): build time, latency per query and recall@10 of the
   approximate FAISS backends (HNSW, IVF) against exact search, beside exact numpy and FAISS.

Clusters are started and warmed (bundle loaded, rasters opened on each worker) before any timing, so
the figures are steady-state throughput; startup is reported apart. The machine's load average is
printed at the start and the end: on a shared machine the figures say as much about the neighbours.

Usage::

    .venv/bin/python benchmarks/bench_scale.py                       # random-weight lite bundle
    .venv/bin/python benchmarks/bench_scale.py --bundle export/sar-rs-clip-lite --px 4096
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("HF_HUB_OFFLINE", "1")
REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def _random_bundle(folder: Path, model: str) -> Path:
    """A bundle of ``model`` with random weights: its speed is the trained model's."""
    import torch

    from sargeo.exporting.clip import export_clip
    from sargeo.models.clip.factory import create_model

    torch.manual_seed(0)
    checkpoint = folder / "random.pt"
    torch.save(create_model(model, pretrained=False).net.state_dict(), checkpoint)
    export_clip(checkpoint, folder / "bundle", model_name=model)
    return folder / "bundle"


def _mosaic(path: Path, px: int) -> Path:
    """A 2-band dB GeoTIFF (tiled, deflate) of ``px`` x ``px``: sea, land and bright blocks."""
    import numpy as np
    import rasterio
    from affine import Affine

    rng = np.random.default_rng(0)
    profile = {
        "driver": "GTiff", "width": px, "height": px, "count": 2, "dtype": "float32",
        "crs": "EPSG:32633", "transform": Affine(10.0, 0, 500_000.0, 0, -10.0, 5_000_000.0),
        "tiled": True, "blockxsize": 256, "blockysize": 256, "compress": "deflate",
    }  # fmt: skip
    with rasterio.open(path, "w", **profile) as dst:
        for row in range(0, px, 256):
            h = min(256, px - row)
            block = rng.normal(-14.0, 3.0, (2, h, px)).astype(np.float32)
            block[:, :, : px // 3] -= 8.0
            block[1] -= 7.0
            dst.write(block, window=rasterio.windows.Window(0, row, px, h))
        dst.descriptions = ("VV", "VH")
        dst.update_tags(units="dB")
    return path


def _cluster(workers: int) -> tuple[Any, Any, float]:
    import distributed

    from sargeo.scale.cluster import local_cluster

    started = time.perf_counter()
    cluster = local_cluster(workers)
    client = distributed.Client(cluster)
    client.run(lambda: __import__("sargeo.scale.index"))
    return cluster, client, time.perf_counter() - started


def _noop(i: int) -> int:
    return i


def _overhead(client: Any, tasks: int) -> float:
    """Seconds of scheduling per task: ``tasks`` empty tasks submitted at once, all awaited."""
    client.gather(client.map(_noop, range(50), pure=False))  # warm
    started = time.perf_counter()
    client.gather(client.map(_noop, range(tasks), pure=False))
    return (time.perf_counter() - started) / tasks


def ann_recall(rows: int, dim: int, queries: int, k: int = 10) -> dict[str, dict[str, float]]:
    """Build seconds, ms per query and recall@k of each search backend against exact numpy."""
    import numpy as np

    from sargeo.runtime.search import Searcher

    rng = np.random.default_rng(0)
    centres = rng.standard_normal((max(8, rows // 2000), dim)).astype(np.float32)
    basis = rng.standard_normal((16, dim)).astype(np.float32)
    n = rows + queries
    x = centres[rng.integers(0, len(centres), n)] + 0.5 * rng.standard_normal((n, 16)) @ basis
    x = (x + 0.1 * rng.standard_normal((n, dim))).astype(np.float32)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    vectors, q = x[:rows].astype(np.float16), x[rows:]
    out: dict[str, dict[str, float]] = {}
    exact = None
    for backend in ("numpy", "faiss", "faiss-hnsw", "faiss-ivf"):
        searcher = Searcher(vectors, backend)
        started = time.perf_counter()
        searcher.prepare()
        built = time.perf_counter() - started
        started = time.perf_counter()
        found = np.concatenate([searcher.top_k(q[i : i + 1], k)[1] for i in range(len(q))])
        per_query = (time.perf_counter() - started) / len(q)
        exact = found if exact is None else exact
        recall = np.mean([len(set(a) & set(b)) / k for a, b in zip(found, exact, strict=True)])
        out[backend] = {"build_s": built, "ms_per_query": 1000 * per_query, "recall": float(recall)}
    return out


def run(args: argparse.Namespace) -> dict[str, Any]:
    """Every measurement; returns them as a dict."""
    from distributed import get_task_stream

    from sargeo.geo.tiling import TilingOptions, tile_to_folder
    from sargeo.inference.commands import Reading
    from sargeo.inference.geo_source import open_rasters
    from sargeo.runtime.bundle import load_bundle
    from sargeo.runtime.clip import ClipModel
    from sargeo.runtime.index import IndexOptions, build_index
    from sargeo.scale.cluster import Cluster
    from sargeo.scale.index import index_on_dask
    from sargeo.scale.tile import tile_on_dask

    cores = os.cpu_count() or 1
    out: dict[str, Any] = {"cores": cores, "load_start": os.getloadavg(), "px": args.px}
    with tempfile.TemporaryDirectory(prefix="bench-scale-") as scratch:
        work = Path(scratch)
        bundle = args.bundle or _random_bundle(work, args.model)
        mosaic = _mosaic(work / "mosaic.tif", args.px)
        warm = _mosaic(work / "warm.tif", args.size * 2)
        out["bundle"] = str(args.bundle or f"{args.model} (random weights)")
        reading = Reading()

        def index_options(threads: int) -> IndexOptions:
            return IndexOptions(size=args.size, batch=args.batch, readers=1, threads=threads)

        model = ClipModel(load_bundle(bundle), cores)
        sources = open_rasters([mosaic])
        options = TilingOptions(size=args.size)
        clusters = {}
        try:
            for workers in (1, 2):
                cluster, client, startup = _cluster(workers)
                clusters[workers] = (cluster, client)
                out[f"startup_{workers}_s"] = startup
                spec = Cluster(scheduler=client.scheduler.address, partition=args.partition)
                iopts = index_options(args.threads_per_worker or max(1, cores // workers))
                index_on_dask([warm], bundle, work / f"warm-{workers}", iopts, reading, spec)
                out[f"overhead_{workers}w_ms_per_task"] = 1000 * _overhead(client, args.tasks)
            best: dict[str, float] = {}

            def keep(name: str, seconds: float) -> None:
                best[name] = min(best.get(name, float("inf")), seconds)

            for rep in range(args.repeats):  # interleaved, so that a change of load hits all alike
                started = time.perf_counter()
                index, _ = build_index(work / f"single-{rep}", sources, model, index_options(cores))
                keep("index_single", time.perf_counter() - started)
                started = time.perf_counter()
                tile_to_folder([mosaic], work / f"tiles-single-{rep}", options, progress=False)
                keep("tile_single", time.perf_counter() - started)
                for workers, (_, client) in clusters.items():
                    spec = Cluster(scheduler=client.scheduler.address, partition=args.partition)
                    iopts = index_options(args.threads_per_worker or max(1, cores // workers))
                    target = work / f"index-{workers}-{rep}"
                    with get_task_stream(client) as stream:
                        started = time.perf_counter()
                        _, ran = index_on_dask([mosaic], bundle, target, iopts, reading, spec)
                        seconds = time.perf_counter() - started
                    keep(f"index_{workers}w", seconds)
                    compute = sum(
                        s["stop"] - s["start"]
                        for task in stream.data
                        for s in task["startstops"]
                        if s["action"] == "compute"
                    )
                    out[f"index_{workers}w_compute_s_per_partition"] = compute / ran.partitions
                    started = time.perf_counter()
                    tile_on_dask([mosaic], work / f"tiles-{workers}-{rep}", options, spec)
                    keep(f"tile_{workers}w", time.perf_counter() - started)
        finally:
            for cluster, client in clusters.values():
                client.close()
                cluster.close()
        tiles = int(index.manifest["tiles_in_grid"])
        out["tiles"] = tiles
        for name, seconds in best.items():
            out[f"{name}_tiles_per_s"] = tiles / seconds
    out["index_scaling"] = out["index_2w_tiles_per_s"] / out["index_1w_tiles_per_s"]
    out["tile_scaling"] = out["tile_2w_tiles_per_s"] / out["tile_1w_tiles_per_s"]
    if args.ann_vectors:
        out["ann"] = ann_recall(args.ann_vectors, args.ann_dim, args.ann_queries)
    out["load_end"] = os.getloadavg()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument(
        "--bundle", type=Path, default=None, help="a CLIP bundle (default: random lite)"
    )
    parser.add_argument("--model", default="sar-rs-clip-lite", help="model of the random bundle")
    parser.add_argument("--px", type=int, default=3072, help="mosaic side in pixels (3072)")
    parser.add_argument("--size", type=int, default=256, help="tile side in pixels (256)")
    parser.add_argument("--partition", type=int, default=16, help="tiles per task (16)")
    parser.add_argument(
        "--threads-per-worker",
        type=int,
        default=0,
        help="inference threads per worker (0: the cores shared out, 1 worker using all of them);"
        " 1 measures scaling per worker core: 1 worker on one core against 2 on two",
    )
    parser.add_argument("--batch", type=int, default=16, help="tiles per inference call (16)")
    parser.add_argument("--tasks", type=int, default=500, help="empty tasks for the overhead (500)")
    parser.add_argument(
        "--repeats", type=int, default=3, help="interleaved repetitions, best kept (3)"
    )
    parser.add_argument(
        "--ann-vectors", type=int, default=50_000, help="vectors searched (0: skip)"
    )
    parser.add_argument("--ann-dim", type=int, default=256, help="their size (256)")
    parser.add_argument("--ann-queries", type=int, default=50, help="queries (50)")
    parser.add_argument("--json", type=Path, default=None, help="also write the figures here")
    args = parser.parse_args()
    out = run(args)
    print(
        f"mosaic {args.px} px, {out['tiles']} tiles of {args.size} px; {out['bundle']}; {out['cores']} cores"
    )
    print(f"load average at start {out['load_start'][0]:.2f}, at end {out['load_end'][0]:.2f}")
    per = args.threads_per_worker
    print(
        f"inference threads: single {out['cores']}, per worker "
        + (f"{per}" if per else "cores / workers")
    )
    print(f"{'':24}{'single':>10}{'1 worker':>10}{'2 workers':>10}{'2w / 1w':>9}  (tiles/s)")
    for job in ("index", "tile"):
        row = [
            out[f"{job}_single_tiles_per_s"],
            out[f"{job}_1w_tiles_per_s"],
            out[f"{job}_2w_tiles_per_s"],
        ]
        print(
            f"{'sargeo ' + job:24}"
            + "".join(f"{v:10.2f}" for v in row)
            + f"{out[job + '_scaling']:8.2f}x"
        )
    for w in (1, 2):
        print(
            f"{w} worker(s): startup {out[f'startup_{w}_s']:.1f} s, scheduler overhead "
            f"{out[f'overhead_{w}w_ms_per_task']:.2f} ms/task (empty tasks); index partition of "
            f"{args.partition} tiles: {1000 * out[f'index_{w}w_compute_s_per_partition']:.0f} ms on the worker"
        )
    for backend, row in out.get("ann", {}).items():
        print(
            f"search {args.ann_vectors} x {args.ann_dim}: {backend:10} build {row['build_s']:6.1f} s,"
            f" {row['ms_per_query']:7.2f} ms/query, recall@10 {row['recall']:.3f}"
        )
    if args.json:
        args.json.write_text(json.dumps(out, indent=2) + "\n")


if __name__ == "__main__":
    main()
