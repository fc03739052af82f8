"""SAR-Narrator throughput: captions per second against a single fixed template, in one run.

The input is 10000 synthetic samples made in memory, shaped like ``sargeo synth`` scenes: a
georeferenced UTM tile (10 m pixels, each tile its own transform), 0-30 objects of four classes with
oriented boxes and attributes (length, ship type, moored), for half of them a 256 px class mask
(land, sea, urban, forest) handed over in memory, so that file reading is not what is measured, and
for a fifth of them the caption of a paired optical image (two sentences, made up per sample, so that
no caption repeats across samples).

- baseline: one fixed template per caption ("A SAR image with 3 ships."), the same number of
  captions per image as the narrator writes: the cheapest captioner there is;
- narrator: `sargeo.narrator.fusion.Narrator` with every branch (a2c, sa2c, geo; o2s on the samples
  that have an optical caption), the quality filters and deduplication, on one core.

It prints captions per second of CPU time for both (and the wall time: on a shared machine, CPU time
is the fair measure of one core) and their ratio; the goal is over 2000 captions per second, so that
narration is never the bottleneck of building a dataset. Usage::

    .venv/bin/python benchmarks/bench_narrator.py              # 10000 samples
    .venv/bin/python benchmarks/bench_narrator.py --samples 2000
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import sys
import time
from collections import Counter
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from sargeo.narrator.fusion import Narrator  # noqa: E402
from sargeo.records import Box, Sample, Tile, Window  # noqa: E402

GOAL = 2000.0
SIZE = 512
CLASSES = ("ship", "storage_tank", "aircraft", "wind_turbine")
MASK_CLASSES = {0: "land", 1: "sea", 2: "urban", 3: "forest"}
COUNTS = ("two", "three", "four", "five", "six", "seven", "eight", "nine", "ten")
COLOURS = ("white", "red", "grey", "blue", "green", "brown")
OBJECTS = ("ships", "boats", "buildings", "storage tanks", "cars")
PLACES = ("park", "lake", "road", "field", "forest", "beach")


def masks(rng: np.random.Generator, n: int = 16) -> list[np.ndarray]:
    """A few 256 px land-cover masks: a coastline, a town and fields."""
    out = []
    for _ in range(n):
        mask = np.zeros((256, 256), dtype=np.uint8)
        coast = int(rng.integers(40, 200))
        mask[:, :coast] = 1
        r, c = (int(v) for v in rng.integers(0, 200, 2))
        mask[r : r + 50, c : c + 50] = 2
        mask[rng.random((256, 256)) < 0.05] = 3
        out.append(mask)
    return out


def optical_caption(rng: random.Random) -> str:
    """A made-up caption of a paired optical image: colours, counts, objects and places."""
    c = rng.choice
    return (
        f"{c(COUNTS).capitalize()} {c(COLOURS)} {c(OBJECTS)} are near a {c(COLOURS)} {c(PLACES)}. "
        f"A {c(COLOURS)} {c(PLACES)} lies beside {c(COUNTS)} {c(COLOURS)} {c(OBJECTS)}."
    )


def make_samples(n: int, seed: int = 0) -> list[Sample]:
    """Synthetic-scene-like samples: georeference, boxes, attributes, masks and optical captions."""
    rng, optical_rng = random.Random(seed), random.Random(seed + 1)
    out = []
    for i in range(n):
        x0, y0 = (
            400_000.0 + rng.randrange(0, 200) * 5120.0,
            5_000_000.0 + rng.randrange(0, 200) * 5120,
        )
        tile = Tile(
            id=f"t{i}",
            source="synthetic",
            window=Window(0, 0, SIZE, SIZE),
            crs=f"EPSG:{32629 + rng.randrange(5)}",
            transform=(10.0, 0.0, x0, 0.0, -10.0, y0),
            bounds=(x0, y0 - SIZE * 10, x0 + SIZE * 10, y0),
            pixel_spacing=(10.0, 10.0),
            polarisations=("VV", "VH"),
            units="dB",
        )
        boxes = []
        for k in range(rng.randrange(0, 31)):
            cls = rng.choice(CLASSES)
            cx, cy = rng.uniform(0, SIZE), rng.uniform(0, SIZE)
            length = rng.uniform(3, 35)
            attrs = {"moored": rng.random() < 0.3, "ship_type": rng.choice(["cargo", "tanker"])}
            bbox = (cx - length / 2, cy - length / 2, cx + length / 2, cy + length / 2)
            obox = (cx, cy, length, length / 5, rng.uniform(0, 360))
            boxes.append(Box(cls, bbox, obox, attrs if cls == "ship" else {}, str(k)))
        with_mask = i % 2 == 0
        out.append(
            Sample(
                id=f"scene_{i:05d}",
                image=f"scene_{i:05d}/sar.tif",
                width=SIZE,
                height=SIZE,
                boxes=boxes,
                mask=str(i % 16) if with_mask else None,
                mask_classes=MASK_CLASSES if with_mask else {},
                optical_caption=optical_caption(optical_rng) if i % 5 == 0 else None,
                tile=tile,
                scene=f"scene_{i:05d}",
                metadata={"sensor": "Sentinel-1"},
            )
        )
    return out


def baseline(samples: list[Sample], per_image: int) -> int:
    """The cheapest captioner: one fixed template with the commonest class and its count."""
    n = 0
    for sample in samples:
        counts = Counter(b.cls for b in sample.boxes)
        cls, count = counts.most_common(1)[0] if counts else ("object", 0)
        text = f"A SAR image with {count} {cls}s."
        n += len([text] * per_image)
    return n


def main() -> None:
    """Time both captioners on the same samples and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--samples", type=int, default=10_000)
    args = parser.parse_args()

    samples = make_samples(args.samples)
    mask_list = masks(np.random.default_rng(0))
    narrator = Narrator(mask_reader=lambda key: mask_list[int(key)])
    per_image = narrator.config.per_image

    wall, cpu = time.perf_counter(), time.process_time()
    base_n = baseline(samples, per_image)
    base_wall, base_cpu = time.perf_counter() - wall, time.process_time() - cpu

    wall, cpu = time.perf_counter(), time.process_time()
    made = 0
    branches: Counter[str] = Counter()
    for sample in samples:
        for cand in narrator.caption(sample).captions:
            made += 1
            branches[cand.branch] += 1
    nar_wall, nar_cpu = time.perf_counter() - wall, time.process_time() - cpu

    base_rate, nar_rate = base_n / max(base_cpu, 1e-9), made / nar_cpu
    print(f"SAR-Narrator benchmark: {len(samples)} synthetic samples, one core")
    print(
        f"python {platform.python_version()}, {platform.machine()}, load {os.getloadavg()[0]:.1f}"
    )
    print(f"{'captioner':<28}{'captions':>10}{'cpu s':>8}{'wall s':>8}{'captions/s (cpu)':>18}")
    print(
        f"{'fixed template (baseline)':<28}{base_n:>10}{base_cpu:>8.2f}{base_wall:>8.2f}{base_rate:>18.0f}"
    )
    print(
        f"{'narrator (all branches)':<28}{made:>10}{nar_cpu:>8.2f}{nar_wall:>8.2f}{nar_rate:>18.0f}"
    )
    print(f"narrator / baseline: {nar_rate / base_rate:.4f} of the fixed template's speed")
    share = ", ".join(f"{b} {c / max(made, 1):.0%}" for b, c in branches.most_common())
    print(f"branches: {share}")
    verdict = "met" if nar_rate > GOAL else "NOT met"
    print(f"goal > {GOAL:.0f} captions/s on one core: {verdict} ({nar_rate:.0f})")


if __name__ == "__main__":
    main()
