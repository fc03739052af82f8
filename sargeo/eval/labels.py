"""Zero-shot label sets from real SAR samples (``../shared/data``), written as ``filepath,label`` CSVs.

- OpenSARShip: each calibrated ship chip labelled cargo, tanker or other (the `ship_type` prompt set);
  its polarisations (VH, VV) go into a ``polarisations`` column, since the chips do not name them.
- Sen1Floods11: the Sentinel-1 chip cut into tiles, each labelled water or land by the majority of its
  hand-labelled valid pixels (the `water` prompt set); tiles written as dB GeoTIFFs (VV, VH).
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from sargeo.atomic import atomic_file
from sargeo.errors import InputError

SHIP_CLASSES = {"Cargo": "cargo", "Tanker": "tanker"}
"""OpenSARShip's AIS types -> prompt classes; every other type is ``other``."""


def write_labels(path: Path, rows: Iterable[tuple[str, str, str]]) -> Path:
    """Write ``filepath,label,polarisations`` rows atomically."""
    with atomic_file(path) as tmp, tmp.open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["filepath", "label", "polarisations"])
        writer.writerows(rows)
    return path


def opensarship_labels(root: Path, out: Path) -> Path:
    """Ship-type labels of every OpenSARShip chip under ``root``."""
    from sargeo.datasets.opensarship import load_opensarship

    rows = []
    for sample in load_opensarship(root).samples:
        kinds = {b.attributes.get("ship_type") for b in sample.boxes}
        if len(kinds) != 1:
            continue
        label = SHIP_CLASSES.get(str(kinds.pop()), "other")
        rows.append(
            (str(sample.image), label, ",".join(sample.metadata.get("polarisations") or ()))
        )
    if not rows:
        raise InputError(f"no OpenSARShip chips with a ship type under {root}")
    return write_labels(out, rows)


def sen1floods11_tile_labels(
    root: Path, out_dir: Path, tile: int = 128, min_valid: float = 0.5
) -> Path:
    """Cut each ``*_S1Hand.tif`` into ``tile`` px tiles labelled water/land; returns the labels CSV."""
    import rasterio
    from rasterio.windows import Window

    out_dir.mkdir(parents=True, exist_ok=True)
    rows = []
    for image in sorted(root.glob("*_S1Hand.tif")):
        label_file = image.with_name(image.name.replace("_S1Hand", "_LabelHand"))
        with rasterio.open(image) as src, rasterio.open(label_file) as lab:
            for row in range(0, src.height - tile + 1, tile):
                for col in range(0, src.width - tile + 1, tile):
                    window = Window(col, row, tile, tile)
                    truth = lab.read(1, window=window)
                    valid = truth >= 0
                    if valid.mean() < min_valid:
                        continue
                    label = "water" if (truth[valid] == 1).mean() > 0.5 else "land"
                    path = out_dir / f"{image.stem}_r{row}_c{col}.tif"
                    profile = {
                        **src.profile,
                        "width": tile,
                        "height": tile,
                        "transform": src.window_transform(window),
                    }
                    with atomic_file(path) as tmp, rasterio.open(tmp, "w", **profile) as dst:
                        dst.write(src.read(window=window))
                        dst.descriptions = ("VV", "VH")
                        dst.update_tags(units="dB")
                    rows.append((str(path), label, "VV,VH"))
    if not rows:
        raise InputError(f"no Sen1Floods11 chips (*_S1Hand.tif) under {root}")
    return write_labels(out_dir / "labels.csv", rows)


def label_counts(path: Path) -> dict[str, int]:
    """How many images each label has."""
    with path.open(newline="") as fh:
        labels = [r["label"] for r in csv.DictReader(fh)]
    names, counts = np.unique(labels, return_counts=True)
    return {str(n): int(c) for n, c in zip(names, counts, strict=True)}
