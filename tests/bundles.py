"""Tiny trained CLIP models and their bundles for the export and runtime tests, built once a session.

A few training steps of the tiny recipe on narrated synthetic scenes (real weights, real captions),
then ``sargeo export`` as a user runs it. With pytest-xdist the workers share one copy: the first
builds it under a file lock, the others wait and reuse it.
"""

from __future__ import annotations

import fcntl
import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import rasterio
from affine import Affine

from sargeo.cli import main

TINY_STEPS = 12


def shared(root: Path, name: str, build: Callable[[Path], None]) -> Path:
    """``root/name``, built by ``build(path)`` once across processes (a lock and a done marker)."""
    target = root / name
    with (root / f"{name}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (root / f"{name}.done").exists():
            build(target)
            (root / f"{name}.done").touch()
    return target


def build_tiny_run(folder: Path) -> None:
    """Synthetic scenes, their captions, and a tiny CLIP trained for `TINY_STEPS` steps."""
    folder.mkdir(parents=True)
    assert main(["synth", "-o", str(folder / "synth"), "--size", "256", "--scenes", "6", "-q"]) == 0
    narrated = folder / "narrated"
    code = main(
        ["narrate", str(folder / "synth"), "-o", str(narrated), "-q", "--splits", "0.5,0.17,0.33"]
    )
    assert code == 0
    recipe = {
        "name": "test-export",
        "task": "clip",
        "model": "sar-rs-clip-tiny",
        "seed": 1,
        "threads": 1,
        "checkpoint_every": 0,
        "log_every": 4,
        "eval": {"data": "{corpus}/captions_val.csv", "max_images": 20, "batch_size": 8},
        "stages": [
            {
                "name": "sar",
                "data": "{corpus}/captions_train.csv",
                "lr": 0.001,
                "warmup": 2,
                "batch_size": 8,
                "steps": TINY_STEPS,
            }
        ],
    }
    (folder / "recipe.json").write_text(json.dumps(recipe))
    argv = ["train", "clip", "--recipe", str(folder / "recipe.json"), "--corpus", str(narrated)]
    assert main([*argv, "-o", str(folder / "run"), "-q"]) == 0


def export(run: Path, target: Path, *extra: str) -> None:
    """``sargeo export clip RUN -o TARGET`` with extra options."""
    assert main(["export", "clip", str(run), "-o", str(target), "-q", *extra]) == 0


def write_scene(
    path: Path,
    *,
    size: int = 192,
    bands: tuple[str, ...] = ("VV", "VH"),
    nodata_rows: int = 0,
    seed: int = 0,
    epsg: int = 32633,
) -> Path:
    """A dB raster: dark sea on the left, brighter land with a bright square on the right."""
    rng = np.random.default_rng(seed)
    db = np.full((len(bands), size, size), -12.0, dtype=np.float32)
    db[:, :, : size // 2] = -22.0  # sea
    db[:, size // 4 : size // 4 + 24, 3 * size // 4 : 3 * size // 4 + 24] = 2.0  # a bright block
    db += rng.normal(0, 1.5, db.shape).astype(np.float32)
    if len(bands) > 1:
        db[1] -= 7.0
    if nodata_rows:
        db[:, :nodata_rows] = np.nan
    with rasterio.open(
        path,
        "w",
        driver="GTiff",
        width=size,
        height=size,
        count=len(bands),
        dtype="float32",
        crs=f"EPSG:{epsg}",
        transform=Affine(10.0, 0, 500_000.0, 0, -10.0, 5_000_000.0),
        nodata=float("nan"),
    ) as dst:
        dst.write(db)
        dst.descriptions = bands
        dst.update_tags(units="dB", ACQUISITION_START_TIME="2021-06-01T05:30:00")
    return path
