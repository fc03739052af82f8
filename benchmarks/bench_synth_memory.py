"""Peak memory of `sargeo synth` on large mosaics, against the memory a naive in-memory generator needs.

Each size is generated in a fresh interpreter (one scene, default options: 1024 px blocks, two worker
threads) into a temporary folder that is deleted afterwards. The child reports its peak RSS (the
kernel's VmHWM, which counts only its own pages), its RSS right after the imports, and the wall time.

The baseline is measured in the same run by arithmetic, not by running it: a generator that holds a
whole scene in memory needs at least its output arrays, size^2 x (2 x 4 bytes of float32 SAR + 3 bytes
of RGB + 1 byte of mask); the float32 SAR alone is size^2 x 8 bytes. The ratio peak / baseline shows
that memory stays bounded (flat in the size) while the naive need grows with the square.

Usage::

    .venv/bin/python benchmarks/bench_synth_memory.py                   # 4096 and 20000 px
    .venv/bin/python benchmarks/bench_synth_memory.py --sizes 2048 8192  # quicker

Measured on this project's 2-core machine (shared with other work, load average 2 to 6), 2026-11-28:
4096 px in 15.9 s with a peak RSS of 417 MB (192 MB of whole-scene arrays); 20000 px in 461 s with a
peak of 551 MB against 4578 MB of whole-scene arrays (ratio 0.12; the float32 SAR alone is 3052 MB).
About 150 MB of each peak are the imports.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
from datetime import date
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
BYTES_PER_PIXEL = 2 * 4 + 3 + 1

CHILD = """
import json, sys, time
from pathlib import Path

def rss_mb(key):
    with open("/proc/self/status") as f:
        return next(int(l.split()[1]) for l in f if l.startswith(key)) / 1024

from sargeo.synth.scene import SynthOptions, generate
after_imports = rss_mb("VmRSS")
size, workers, out = int(sys.argv[1]), int(sys.argv[2]), Path(sys.argv[3])
t0 = time.perf_counter()
result = generate(out, 1, SynthOptions(size=size, seed=0, workers=workers), progress=False)
seconds = time.perf_counter() - t0
print(json.dumps({"seconds": seconds, "peak_mb": rss_mb("VmHWM"), "import_mb": after_imports,
                  "objects": sum(result.scenes[0]["object_counts"].values())}))
"""


def run_child(size: int, workers: int, work: Path) -> dict[str, float]:
    """Generate one scene of ``size`` px in a fresh interpreter; returns its measurements."""
    out = work / f"synth-{size}"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.run(
        [sys.executable, "-c", CHILD, str(size), str(workers), str(out)],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    shutil.rmtree(out, ignore_errors=True)
    if proc.returncode != 0:
        raise SystemExit(f"child failed for {size} px:\n{proc.stderr[-2000:]}")
    report: dict[str, float] = json.loads(proc.stdout.strip().splitlines()[-1])
    return report


def main(argv: list[str] | None = None) -> int:
    """Measure each size and print peak RSS against the naive baseline."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument(
        "--sizes", type=int, nargs="+", default=[4096, 20000], help="scene sizes (px)"
    )
    parser.add_argument("--workers", type=int, default=2, help="render threads")
    args = parser.parse_args(argv)
    need_gb = max(args.sizes) ** 2 * BYTES_PER_PIXEL / 1e9 * 0.8
    with tempfile.TemporaryDirectory(prefix="sargeo-bench-synth-") as tmp:
        free_gb = shutil.disk_usage(tmp).free / 1e9
        if free_gb < need_gb:
            raise SystemExit(f"needs about {need_gb:.1f} GB free in {tmp}, has {free_gb:.1f} GB")
        print(f"load average before: {os.getloadavg()[0]:.2f}; workers {args.workers}", flush=True)
        header = (
            f"{'size px':>8} {'seconds':>8} {'Mpx/s':>6} {'peak MB':>8} {'imports MB':>10} "
            f"{'naive MB':>9} {'SAR-only MB':>11} {'peak/naive':>10} {'objects':>8}"
        )
        print(header)
        for size in args.sizes:
            r = run_child(size, args.workers, Path(tmp))
            naive = size**2 * BYTES_PER_PIXEL / 2**20
            sar_only = size**2 * 8 / 2**20
            print(
                f"{size:>8} {r['seconds']:>8.1f} {size**2 / 1e6 / r['seconds']:>6.2f} "
                f"{r['peak_mb']:>8.0f} {r['import_mb']:>10.0f} {naive:>9.0f} {sar_only:>11.0f} "
                f"{r['peak_mb'] / naive:>10.3f} {int(r['objects']):>8}",
                flush=True,
            )
    print(
        f"load average after: {os.getloadavg()[0]:.2f}; {date.today().isoformat()}, "
        f"{platform.node()}, Python {platform.python_version()}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
