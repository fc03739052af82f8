"""Tiling throughput: sargeo against a plain rasterio loop and the machine's decode limit, in one run.

The input is a generated two-band float32 GeoTIFF (tiled 512 px, deflate) with SAR-like content:
gamma speckle (4 looks) over smooth parcels of different backscatter, so deflate behaves as on real
data. It is generated once into ``.cache/bench/`` and reused. Then, on the same file:

- limit: every compressed block decoded once, block rows spread over all cores (each thread its own
  GDAL handle): what the machine can do at best; also the same on one thread;
- plain loop: a single-threaded rasterio loop over the same windows that reads each window and writes
  it as an uncompressed GeoTIFF chip with its georeference (the job sargeo does, without extras);
- sargeo: ``tile_to_folder`` in a subprocess (chips, tile index, manifest), with its peak RSS, also
  on a raster of half the size to show that memory stays flat.

Throughput is MB of source pixels (width x height x bands x 4 bytes) per second. Outputs go to a
temporary folder and are deleted. Usage::

    .venv/bin/python benchmarks/bench_tiling.py            # 16384 px (generates 2 GiB once)
    .venv/bin/python benchmarks/bench_tiling.py --px 4096  # quick
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import numpy as np
import rasterio
from affine import Affine
from rasterio.windows import Window as RioWindow

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from sargeo.atomic import atomic_file  # noqa: E402
from sargeo.runtime.grid import Window, tile_windows  # noqa: E402

CACHE = REPO / ".cache" / "bench"
BLOCK = 512
BANDS = 2
GOAL_OF_LIMIT = 0.8
GOAL_RSS_MB = 1500.0

# Runs sargeo in a fresh interpreter so that its peak RSS is its own. The peak is the kernel's
# VmHWM: ru_maxrss would also count the parent's pages, since Linux carries it across fork+exec.
SARGEO_CHILD = """
import json, resource, sys, time
from pathlib import Path
from sargeo.geo.tiling import TilingOptions, tile_to_folder

def peak_mb():
    try:
        with open("/proc/self/status") as f:
            return next(int(l.split()[1]) for l in f if l.startswith("VmHWM")) / 1024
    except OSError:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

src, out, size, overlap = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
rss0 = peak_mb()
start, cpu0 = time.perf_counter(), time.process_time()
result = tile_to_folder(
    [Path(src)], Path(out), TilingOptions(size=size, overlap=overlap), progress=False
)
seconds, cpu = time.perf_counter() - start, time.process_time() - cpu0
print(json.dumps({"seconds": seconds, "cpu": cpu, "tiles": len(result.tiles),
                  "rss_import_mb": rss0, "rss_peak_mb": peak_mb()}))
"""


@dataclass
class Measure:
    """One timed run over the whole raster."""

    name: str
    seconds: float
    cpu: float
    megabytes: float
    note: str = ""

    @property
    def rate(self) -> float:
        """MB of source pixels per second."""
        return self.megabytes / self.seconds


# --- the input -------------------------------------------------------------------------------


def _sar_strip(px: int, row0: int, rows: int, seed: int) -> np.ndarray:
    """Rows ``row0:row0+rows`` of the scene: (2, rows, px) linear sigma0, VV and VH."""
    rng = np.random.default_rng([seed, row0])
    y = np.arange(row0, row0 + rows, dtype=np.float32)[:, None]
    x = np.arange(px, dtype=np.float32)[None, :]
    # Irregular parcels (fields), each with its own mean backscatter, over a smooth trend.
    u = np.floor((x + 60.0 * np.sin(y / 410.0)) / 290.0)
    v = np.floor((y + 60.0 * np.sin(x / 370.0)) / 240.0)
    parcel = np.sin(u * 12.9898 + v * 78.233) * 43758.5453
    mean_db = -17.0 + 9.0 * (parcel - np.floor(parcel)) + 2.0 * np.sin(x / 2900.0 + y / 3700.0)
    # A dark, meandering river.
    river = np.abs(x - px / 2 - 0.1 * px * np.sin(y / 1500.0)) < 40.0
    mean_db = np.where(river, -24.0, mean_db)
    mean = np.power(10.0, mean_db / 10.0).astype(np.float32)
    looks = 4.0
    vv = mean * rng.standard_gamma(looks, size=mean.shape, dtype=np.float32) / looks
    vh = 0.2 * mean * rng.standard_gamma(looks, size=mean.shape, dtype=np.float32) / looks
    return np.stack([vv, vh])


def make_input(px: int, seed: int = 0) -> Path:
    """The ``px`` x ``px`` benchmark raster in ``.cache/bench/``, written block row by block row."""
    path = CACHE / f"sar_{px}px_float32_deflate.tif"
    if path.exists():
        with rasterio.open(path) as ds:
            if (ds.width, ds.height, ds.count) == (px, px, BANDS):
                return path
    print(f"generating {path} ({px * px * BANDS * 4 / 1e6:.0f} MB of pixels, once)", flush=True)
    start = time.perf_counter()
    profile = {
        "driver": "GTiff",
        "width": px,
        "height": px,
        "count": BANDS,
        "dtype": "float32",
        "crs": "EPSG:32633",
        "transform": Affine(10.0, 0.0, 500_000.0, 0.0, -10.0, 5_400_000.0),
        "nodata": float("nan"),
        "tiled": True,
        "blockxsize": BLOCK,
        "blockysize": BLOCK,
        "compress": "deflate",
        "num_threads": "all_cpus",
        "bigtiff": "if_safer",
    }
    with atomic_file(path) as tmp, rasterio.open(tmp, "w", **profile) as dst:
        for row0 in range(0, px, BLOCK):
            rows = min(BLOCK, px - row0)
            dst.write(_sar_strip(px, row0, rows, seed), window=RioWindow(0, row0, px, rows))
        dst.descriptions = ("VV", "VH")
        dst.update_tags(units="linear")
    print(f"  written in {time.perf_counter() - start:.0f} s: {path.stat().st_size / 1e6:.0f} MB")
    return path


def source_megabytes(path: Path) -> float:
    """MB of source pixels."""
    with rasterio.open(path) as ds:
        return ds.width * ds.height * ds.count * np.dtype(ds.dtypes[0]).itemsize / 1e6


def warm_page_cache(path: Path) -> None:
    """Read the file's bytes once, so no measurement pays for the disk."""
    with path.open("rb") as f:
        while f.read(64 << 20):
            pass


# --- the measurements ------------------------------------------------------------------------


def decode_limit(path: Path, workers: int) -> Measure:
    """Decode every block once, contiguous block rows per thread, one GDAL handle per thread."""
    with rasterio.open(path) as ds:
        width, height = ds.width, ds.height
        block_h = ds.block_shapes[0][0]
    strips = [RioWindow(0, r, width, min(block_h, height - r)) for r in range(0, height, block_h)]
    per = math.ceil(len(strips) / workers)
    shares = [strips[i : i + per] for i in range(0, len(strips), per)]

    def work(share: list[RioWindow]) -> None:
        with rasterio.Env(), rasterio.open(path) as ds:
            for window in share:
                ds.read(window=window)

    start, cpu = time.perf_counter(), time.process_time()
    with ThreadPoolExecutor(max_workers=workers) as pool:
        list(pool.map(work, shares))
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    name = f"limit: decode all blocks, {workers} thread{'s' if workers > 1 else ''}"
    return Measure(name, seconds, cpu, source_megabytes(path))


def write_limit(path: Path, out: Path, size: int, overlap: int, workers: int) -> Measure:
    """Write as many chips as the tiling does, from memory, spread over all cores: the write cost.

    Chips are uncompressed GeoTIFFs, so this is mostly the kernel copying pages into the page
    cache plus GDAL creating each file; its CPU adds to the decoding in any tiler.
    """
    with rasterio.open(path) as src:
        windows = [w for row in tile_windows(src.width, src.height, size, overlap) for w in row]
        profile = {
            "driver": "GTiff",
            "count": src.count,
            "dtype": src.dtypes[0],
            "crs": src.crs,
            "nodata": src.nodata,
        }
        transform = src.transform
    pixels = np.ones((profile["count"], size, size), dtype=profile["dtype"])
    shares = [windows[i::workers] for i in range(workers)]
    out.mkdir(parents=True)

    def work(share: list[Window]) -> None:
        with rasterio.Env():
            for w in share:
                name = out / f"{w.col}_{w.row}.tif"
                tr = transform * Affine.translation(w.col, w.row)
                with rasterio.open(
                    name, "w", width=w.width, height=w.height, transform=tr, **profile
                ) as dst:
                    dst.write(pixels[:, : w.height, : w.width])

    start, cpu = time.perf_counter(), time.process_time()
    with ThreadPoolExecutor(max_workers=workers) as pool:
        list(pool.map(work, shares))
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    name = f"writes only: same chips, {workers} thread{'s' if workers > 1 else ''}"
    return Measure(name, seconds, cpu, source_megabytes(path), f"{len(windows)} chips")


def plain_loop(path: Path, out: Path, size: int, overlap: int) -> Measure:
    """One thread, one handle: read each window, write it as a georeferenced GeoTIFF chip."""
    out.mkdir(parents=True)
    start, cpu = time.perf_counter(), time.process_time()
    with rasterio.Env(), rasterio.open(path) as src:
        rows = tile_windows(src.width, src.height, size, overlap)
        for r, row in enumerate(rows):
            for c, w in enumerate(row):
                window = RioWindow(w.col, w.row, w.width, w.height)
                data = src.read(window=window)
                with rasterio.open(
                    out / f"r{r:04d}_c{c:04d}.tif",
                    "w",
                    driver="GTiff",
                    width=w.width,
                    height=w.height,
                    count=src.count,
                    dtype=src.dtypes[0],
                    crs=src.crs,
                    transform=src.window_transform(window),
                    nodata=src.nodata,
                ) as dst:
                    dst.write(data)
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    chips = sum(len(row) for row in rows)
    name = "plain rasterio loop, 1 thread"
    return Measure(name, seconds, cpu, source_megabytes(path), f"{chips} chips")


def run_sargeo(path: Path, out: Path, size: int, overlap: int) -> tuple[Measure, dict[str, float]]:
    """``tile_to_folder`` in a subprocess; returns its timing and its own peak RSS."""
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.run(
        [sys.executable, "-c", SARGEO_CHILD, str(path), str(out), str(size), str(overlap)],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        raise SystemExit(f"sargeo failed on {path}:\n{proc.stderr[-3000:]}")
    report = json.loads(proc.stdout.strip().splitlines()[-1])
    measure = Measure(
        f"sargeo tile_to_folder, {os.cpu_count()} cores",
        report["seconds"],
        report["cpu"],
        source_megabytes(path),
        f"{report['tiles']} chips + index",
    )
    return measure, report


# --- the report ------------------------------------------------------------------------------


def _table(measures: list[Measure], limit: Measure) -> str:
    head = (
        f"{'measurement (best of the repeats)':<42} {'seconds':>8} {'MB/s':>7} {'of limit':>8} "
        f"{'CPU s':>7} {'MB/CPU-s':>8}  note"
    )
    lines = [head, "-" * len(head)]
    for m in measures:
        lines.append(
            f"{m.name:<42} {m.seconds:>8.2f} {m.rate:>7.0f} {m.rate / limit.rate:>8.2f} "
            f"{m.cpu:>7.2f} {m.megabytes / m.cpu:>8.0f}  {m.note}"
        )
    return "\n".join(lines)


def _best(runs: list[Measure]) -> Measure:
    return min(runs, key=lambda m: m.seconds)


def main(argv: list[str] | None = None) -> int:
    """Generate the inputs (once), measure, and print a table and the ratios."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--px", type=int, default=16384, help="raster width and height (px)")
    parser.add_argument("--rss-px", type=int, default=None, help="second size for RSS (px/2)")
    parser.add_argument("--size", type=int, default=512, help="tile size (px)")
    parser.add_argument("--overlap", type=int, default=64, help="tile overlap (px)")
    parser.add_argument("--repeat", type=int, default=2, help="runs of each measurement (best)")
    args = parser.parse_args(argv)
    rss_px = args.rss_px or args.px // 2
    cores = os.cpu_count() or 1

    big = make_input(args.px)
    small = make_input(rss_px)
    for path in (big, small):
        warm_page_cache(path)
    megabytes = source_megabytes(big)
    print(
        f"\ninput: {big.name}, {args.px} x {args.px} x {BANDS} float32 = {megabytes:.0f} MB "
        f"of pixels, {big.stat().st_size / 1e6:.0f} MB on disk; tiles {args.size} px, "
        f"overlap {args.overlap} px; {cores} cores; GDAL_CACHEMAX={os.environ.get('GDAL_CACHEMAX')}"
        f"; load average before: {os.getloadavg()[0]:.2f}",
        flush=True,
    )

    runs: dict[str, list[Measure]] = {
        "limit": [],
        "one": [],
        "writes": [],
        "plain": [],
        "sargeo": [],
    }
    reports: list[dict[str, float]] = []
    with tempfile.TemporaryDirectory(prefix="sargeo-bench-") as tmp:
        work = Path(tmp)
        for rep in range(args.repeat):
            # Interleaved, so that other load on the machine hits every measurement alike.
            runs["limit"].append(decode_limit(big, cores))
            runs["one"].append(decode_limit(big, 1))
            runs["writes"].append(write_limit(big, work / "w", args.size, args.overlap, cores))
            shutil.rmtree(work / "w")
            runs["plain"].append(plain_loop(big, work / "plain", args.size, args.overlap))
            shutil.rmtree(work / "plain")
            measure, report = run_sargeo(big, work / "sargeo", args.size, args.overlap)
            shutil.rmtree(work / "sargeo")
            runs["sargeo"].append(measure)
            reports.append(report)
            line = ", ".join(f"{k} {v[-1].rate:.0f}" for k, v in runs.items())
            print(f"  run {rep + 1}/{args.repeat}: MB/s {line}", flush=True)
        _, small_report = run_sargeo(small, work / "sargeo-small", args.size, args.overlap)
        shutil.rmtree(work / "sargeo-small")

    limit, one, writes, plain, ours = (
        _best(runs[k]) for k in ("limit", "one", "writes", "plain", "sargeo")
    )
    # Decoding and writing both spread over all cores, one after the other: the best a tiler
    # that writes these chips can do.
    with_writes = Measure(
        "limit incl. chip writes (decode + write)",
        limit.seconds + writes.seconds,
        limit.cpu + writes.cpu,
        megabytes,
    )
    peak = max(r["rss_peak_mb"] for r in reports)
    print()
    print(_table([limit, one, writes, with_writes, plain, ours], limit))
    print()
    print(
        f"sargeo / limit               = {ours.rate / limit.rate:.2f}   (goal >= {GOAL_OF_LIMIT})"
    )
    print(f"sargeo / limit incl. writes  = {ours.rate / with_writes.rate:.2f}")
    print(f"sargeo / plain loop          = {ours.rate / plain.rate:.2f}")
    print(f"plain loop / 1-thread decode = {plain.rate / one.rate:.2f}")
    print(f"limit / 1-thread decode      = {limit.rate / one.rate:.2f}")
    print(
        f"sargeo CPU per MB / plain    = {(ours.cpu / ours.megabytes) / (plain.cpu / plain.megabytes):.2f}"
        "   (work done per byte; insensitive to other load)"
    )
    print(
        f"sargeo peak RSS: {peak:.0f} MB at {args.px} px, {small_report['rss_peak_mb']:.0f} MB at "
        f"{rss_px} px (after imports: {reports[0]['rss_import_mb']:.0f} MB; goal < "
        f"{GOAL_RSS_MB:.0f} MB and flat)"
    )
    print(
        f"load average after: {os.getloadavg()[0]:.2f}; {date.today().isoformat()}, "
        f"{platform.node()}, {platform.machine()}, Python {platform.python_version()}, "
        f"rasterio {rasterio.__version__}, GDAL {rasterio.__gdal_version__}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
