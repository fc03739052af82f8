"""The runtime's speed, each figure against a baseline measured in the same run.

1. Image embedding: images per second of ONNX Runtime fp32 and int8 bundles against torch eager on
   the same model (the bundle's own checkpoint) and the same prepared images. Goals: fp32 at least
   1.5x torch, int8 at least 2.5x, with int8's mR within 1 point of fp32's (measured at export on the
   run's test split, read from ``bundle.json``). The torch baseline is the faster of 1 and 2 threads.
2. Text search: latency of one query over 1 million stored embeddings of the bundle's size (float16
   on disk, exact numpy search; FAISS's flat index beside it when installed). Goal: under 50 ms.
3. ``sargeo index`` on a 10000 x 10000 and a 5000 x 5000 raster (2 bands, float32 dB, tiled
   GeoTIFF): tiles per second, CPU use (user + system time over wall time: 2.0 is both cores busy)
   and peak RSS of the command. Goal: peak RSS independent of the raster's size.

Usage (bundles from ``make models``)::

    .venv/bin/python benchmarks/bench_runtime.py
    .venv/bin/python benchmarks/bench_runtime.py --bundle export/sar-rs-clip-lite \\
        --int8-bundle export/sar-rs-clip-lite-int8 --sizes 5000,10000 --vectors 1000000
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

os.environ.setdefault("HF_HUB_OFFLINE", "1")
REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def _rate(run: Any, images: np.ndarray, batch: int, repeats: int) -> float:
    """Images per second of ``run`` over ``images`` in batches (one warm-up pass first)."""
    for i in range(0, len(images), batch):
        run(images[i : i + batch])
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        for i in range(0, len(images), batch):
            run(images[i : i + batch])
        best = min(best, time.perf_counter() - start)
    return len(images) / best


def embedding_speed(bundle: Path, int8: Path | None, n: int, batch: int) -> dict[str, Any]:
    """Torch eager vs ONNX Runtime fp32 and int8 on the same prepared images."""
    import torch

    from sargeo.eval.run import load_clip
    from sargeo.exporting.evaluate import load_eval_set, synthetic_images
    from sargeo.runtime.bundle import load_bundle
    from sargeo.runtime.clip import ClipModel

    fp32 = load_bundle(bundle)
    model, _ = load_clip(Path(fp32.meta["training"]["checkpoint"]))
    csv = fp32.meta["metrics"]["export"].get("data")
    images = load_eval_set(Path(csv) if csv else None, fp32.preprocess, n).images
    if len(images) < n:
        images = np.concatenate([images, synthetic_images(fp32.preprocess, n - len(images))])
    out: dict[str, Any] = {"images": len(images), "batch": batch, "size": fp32.preprocess.size}
    with torch.no_grad():
        for threads in (1, 2):
            torch.set_num_threads(threads)
            out[f"torch_{threads}t"] = _rate(
                lambda x: model.encode_image(torch.from_numpy(x)), images, batch, 2
            )
    out["torch"] = max(out["torch_1t"], out["torch_2t"])
    out["onnx_fp32"] = _rate(ClipModel(fp32).embed_images, images, batch, 2)
    out["mR_fp32"] = fp32.meta["metrics"]["export"].get("mR_onnx_fp32")
    if int8 is not None:
        quant = load_bundle(int8)
        out["onnx_int8"] = _rate(ClipModel(quant).embed_images, images, batch, 2)
        out["mR_int8"] = quant.meta["metrics"]["export"].get("mR_onnx_int8")
        out["mR_change_int8"] = quant.meta["metrics"]["export"].get("mR_change_int8")
    return out


def search_speed(dim: int, rows: int, queries: int = 20) -> dict[str, Any]:
    """Latency of exact top-10 search over ``rows`` float16 unit vectors memory-mapped from disk."""
    from sargeo.runtime.search import Searcher

    rng = np.random.default_rng(0)
    out: dict[str, Any] = {"vectors": rows, "dim": dim}
    with tempfile.TemporaryDirectory(prefix="sargeo-bench-") as tmp:
        path = Path(tmp) / "vectors.f16"
        stored = np.memmap(path, dtype=np.float16, mode="w+", shape=(rows, dim))
        for start in range(0, rows, 100_000):
            block = rng.standard_normal((min(100_000, rows - start), dim)).astype(np.float32)
            stored[start : start + len(block)] = block / np.linalg.norm(
                block, axis=1, keepdims=True
            )
        stored.flush()
        vectors = np.memmap(path, dtype=np.float16, mode="r", shape=(rows, dim))
        q = rng.standard_normal((queries, dim)).astype(np.float32)
        q /= np.linalg.norm(q, axis=1, keepdims=True)
        backends = ["numpy"]
        try:
            import faiss  # noqa: F401

            backends.append("faiss")
        except ImportError:
            pass
        # baseline: the plain numpy way, a float32 copy in the stored (N, D) layout
        plain = np.asarray(vectors, dtype=np.float32)

        def plain_top(row: np.ndarray) -> np.ndarray:
            sims = row @ plain.T
            best = np.argpartition(-sims, 9)[:10]
            return best[np.argsort(-sims[best])]

        for backend in backends:
            searcher = Searcher(vectors, backend)
            start = time.perf_counter()
            searcher.prepare()
            out[f"{backend}_prepare_s"] = time.perf_counter() - start
            times, plain_times = [], []
            for row in q:  # interleaved with the baseline: the same load for both
                start = time.perf_counter()
                searcher.top_k(row, 10)
                times.append(time.perf_counter() - start)
                if backend == "numpy":
                    start = time.perf_counter()
                    plain_top(row)
                    plain_times.append(time.perf_counter() - start)
            out[f"{backend}_ms"] = 1000 * float(np.median(times))
            if plain_times:
                out["plain_ms"] = 1000 * float(np.median(plain_times))
            start = time.perf_counter()
            searcher.top_k(q[:10], 10)
            out[f"{backend}_ms_10_queries"] = 1000 * (time.perf_counter() - start)
            del searcher
    return out


def write_raster(path: Path, size: int) -> Path:
    """A 2-band float32 dB raster (tiled, 512 px blocks), written block row by block row."""
    import rasterio
    from affine import Affine
    from rasterio.windows import Window

    rng = np.random.default_rng(size)
    profile = {
        "driver": "GTiff", "width": size, "height": size, "count": 2, "dtype": "float32",
        "crs": "EPSG:32633", "transform": Affine(10.0, 0, 400_000.0, 0, -10.0, 5_200_000.0),
        "tiled": True, "blockxsize": 512, "blockysize": 512, "nodata": float("nan"),
    }  # fmt: skip
    with rasterio.open(path, "w", **profile) as dst:
        dst.descriptions = ("VV", "VH")
        dst.update_tags(units="dB")
        for row in range(0, size, 512):
            h = min(512, size - row)
            xx = np.arange(size)[None, :]
            base = np.where(xx < size // 3, -21.0, -11.0) + 3 * np.sin(
                (row + np.arange(h))[:, None] / 80
            )
            vv = (base + rng.normal(0, 2.0, (h, size))).astype(np.float32)
            dst.write(np.stack([vv, vv - 7.0]), window=Window(0, row, size, h))
    return path


_MEASURE = """
import json, resource, subprocess, sys, time
start = time.perf_counter()
code = subprocess.run(json.loads(sys.argv[1])).returncode
wall = time.perf_counter() - start
u = resource.getrusage(resource.RUSAGE_CHILDREN)
print(json.dumps({"wall": wall, "cpu": u.ru_utime + u.ru_stime, "maxrss_kb": u.ru_maxrss}))
sys.exit(code)
"""


def index_speed(bundle: Path, sizes: list[int], work: Path) -> list[dict[str, Any]]:
    """``sargeo index`` on each raster size in a child process: tiles/s, CPU use, peak RSS."""
    results = []
    for size in sizes:
        raster = write_raster(work / f"scene_{size}.tif", size)
        argv = [str(REPO / ".venv/bin/sargeo"), "index", str(raster), "--bundle", str(bundle)]
        argv += ["-o", str(work / f"index_{size}"), "-q"]
        # A fresh wrapper per size, so that each peak RSS is this command's own.
        done = subprocess.run(
            [sys.executable, "-c", _MEASURE, json.dumps(argv)], capture_output=True, text=True
        )
        if done.returncode:
            raise SystemExit(f"sargeo index failed: {done.stderr}")
        usage = json.loads(done.stdout.strip().splitlines()[-1])
        manifest = json.loads((work / f"index_{size}" / "index.json").read_text())
        results.append(
            {
                "size": size,
                "tiles": manifest["tiles_in_grid"],
                "seconds": usage["wall"],
                "tiles_per_s": manifest["tiles_in_grid"] / usage["wall"],
                "cpu_use": usage["cpu"] / usage["wall"],
                "peak_rss_mb": usage["maxrss_kb"] / 1024,
            }
        )
        raster.unlink()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bundle", default=str(REPO / "export/sar-rs-clip-lite"))
    parser.add_argument("--int8-bundle", default=str(REPO / "export/sar-rs-clip-lite-int8"))
    parser.add_argument("--images", type=int, default=128)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--vectors", type=int, default=1_000_000)
    parser.add_argument("--sizes", default="5000,10000")
    parser.add_argument("--skip", default="", help="comma-separated: embed, search, index")
    parser.add_argument(
        "--dim", type=int, default=0, help="search vectors' size (default: the bundle's)"
    )
    args = parser.parse_args()
    skip = set(args.skip.split(","))
    bundle, int8 = Path(args.bundle), Path(args.int8_bundle)
    search_only = {"embed", "index"} <= skip
    if not (bundle / "bundle.json").is_file() and not (search_only and args.dim):
        raise SystemExit(f"{bundle} is not a bundle: run `make models` or pass --bundle")
    dim = args.dim or json.loads((bundle / "bundle.json").read_text())["embedding_size"]
    print(f"bench_runtime: {bundle.name}, {os.cpu_count()} cores")
    if "embed" not in skip:
        e = embedding_speed(
            bundle, int8 if (int8 / "bundle.json").is_file() else None, args.images, args.batch
        )
        print(
            f"\nimage embedding, {e['images']} images of {e['size']} px, batch {e['batch']} (images/s):"
        )
        print(
            f"  torch eager   {e['torch']:8.1f}  (1 thread {e['torch_1t']:.1f}, 2 threads {e['torch_2t']:.1f})"
        )
        print(
            f"  onnx fp32     {e['onnx_fp32']:8.1f}  {e['onnx_fp32'] / e['torch']:.2f}x torch (goal 1.5x)"
        )
        if "onnx_int8" in e:
            print(
                f"  onnx int8     {e['onnx_int8']:8.1f}  {e['onnx_int8'] / e['torch']:.2f}x torch (goal 2.5x)"
            )
            print(
                f"  mR fp32 {e['mR_fp32']}, int8 {e['mR_int8']}: change {e['mR_change_int8']} (goal within 1)"
            )
    if "search" not in skip:
        s = search_speed(dim, args.vectors)
        print(f"\ntext search, top 10 of {s['vectors']:,} vectors of {s['dim']} (float16 on disk):")
        print(
            f"  baseline: plain numpy over a float32 (N, D) copy {s['plain_ms']:8.1f} ms a query;"
            f" ratio (baseline / project): {s['plain_ms'] / s['numpy_ms']:.2f}x"
        )
        for backend in ("numpy", "faiss"):
            if f"{backend}_ms" in s:
                print(
                    f"  {backend:<6} {s[f'{backend}_ms']:8.1f} ms a query (goal < 50 ms), 10 queries"
                    f" at once {s[f'{backend}_ms_10_queries']:.1f} ms; one-off preparation"
                    f" {s[f'{backend}_prepare_s']:.1f} s"
                )
    if "index" not in skip:
        sizes = [int(v) for v in args.sizes.split(",")]
        with tempfile.TemporaryDirectory(prefix="sargeo-bench-") as tmp:
            rows = index_speed(bundle, sorted(sizes), Path(tmp))
        print("\nsargeo index (256 px tiles):")
        for r in rows:
            print(
                f"  {r['size']:>6} px: {r['tiles']:5d} tiles in {r['seconds']:6.1f} s,"
                f" {r['tiles_per_s']:6.1f} tiles/s, CPU use {r['cpu_use']:.2f} cores,"
                f" peak RSS {r['peak_rss_mb']:.0f} MB"
            )
        if len(rows) > 1:
            print(
                f"  peak RSS ratio {rows[-1]['size']} / {rows[0]['size']} px: {rows[-1]['peak_rss_mb'] / rows[0]['peak_rss_mb']:.2f} (goal ~1.0)"
            )


if __name__ == "__main__":
    main()
