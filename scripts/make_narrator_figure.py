"""Draw docs/img/narrator_examples.png: SAR-Narrator captions beside their image, for the README.

Two rows: a real HRSID image (from ``../shared/data/hrsid_mini``, with its COCO boxes) and a synthetic
scene made by ``sargeo synth`` (with its oriented boxes); each with the five captions the narrator writes.
Usage: ``.venv/bin/python scripts/make_narrator_figure.py [-o PNG]``.
"""

from __future__ import annotations

import argparse
import math
import sys
import tempfile
import textwrap
import warnings
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import rasterio
from matplotlib.axes import Axes
from PIL import Image
from rasterio.errors import NotGeoreferencedWarning

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from sargeo.datasets.detect import load_dataset  # noqa: E402
from sargeo.narrator.fusion import Narrator  # noqa: E402
from sargeo.records import Sample  # noqa: E402
from sargeo.runtime.preprocess import normalise  # noqa: E402

HRSID = REPO.parent / "shared" / "data" / "hrsid_mini"
OUT = REPO / "docs" / "img" / "narrator_examples.png"


def image_of(sample: Sample) -> np.ndarray:
    """Band 1 of the sample's image for display: dB over a fixed range, 8-bit to its 99.5th percentile."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NotGeoreferencedWarning)  # HRSID JPGs have no CRS
        with rasterio.open(sample.image) as src:
            band = src.read(1).astype(np.float32)
    if sample.tile is not None and sample.tile.units == "dB":
        return normalise(band, -25.0, 5.0)
    return np.clip(band / max(float(np.percentile(band, 99.5)), 1.0), 0.0, 1.0)


def draw_boxes(ax: Axes, sample: Sample) -> None:
    """Oriented boxes where known, else axis-aligned boxes."""
    for box in sample.boxes:
        if box.obox is not None:
            cx, cy, length, width, angle = box.obox
            a = math.radians(angle)
            ux, uy = math.sin(a), -math.cos(a)  # along the heading
            vx, vy = -uy, ux
            pts = [
                (
                    cx + s * ux * length / 2 + t * vx * width / 2,
                    cy + s * uy * length / 2 + t * vy * width / 2,
                )
                for s, t in ((1, 1), (1, -1), (-1, -1), (-1, 1), (1, 1))
            ]
            ax.plot(*zip(*pts, strict=True), color="orange", linewidth=0.8)
        else:
            x0, y0, x1, y1 = box.bbox
            ax.plot([x0, x1, x1, x0, x0], [y0, y0, y1, y1, y0], color="orange", linewidth=0.8)


def figure(rows: list[tuple[str, Sample, list[str]]]) -> plt.Figure:
    """One row per sample: the image with its boxes, then its captions."""
    fig, axes = plt.subplots(len(rows), 2, figsize=(10, 3.4 * len(rows)), width_ratios=[1, 1.6])
    for (title, sample, captions), (img_ax, text_ax) in zip(rows, np.atleast_2d(axes), strict=True):
        img_ax.imshow(image_of(sample), cmap="gray", vmin=0, vmax=1)
        draw_boxes(img_ax, sample)
        img_ax.set_title(title, fontsize=9)
        img_ax.set_axis_off()
        text = "\n".join(
            textwrap.fill(f"{i}. {c}", 62, subsequent_indent="    ")
            for i, c in enumerate(captions, 1)
        )
        text_ax.text(0.0, 0.95, text, va="top", ha="left", fontsize=8.5, family="DejaVu Sans")
        text_ax.set_axis_off()
    fig.tight_layout()
    return fig


def rows(tmp: Path) -> list[tuple[str, Sample, list[str]]]:
    """The HRSID image with the most ships and a synthetic harbour scene, with their captions."""
    from sargeo.datasets.synthetic import load_synthetic
    from sargeo.synth.scene import SynthOptions, generate

    narrator = Narrator()
    out = []
    if HRSID.is_dir():
        hrsid = max(load_dataset(HRSID).samples, key=lambda s: (len(s.boxes), s.id))
        captions = [c.text for c in narrator.caption(hrsid).captions]
        out.append((f"HRSID {hrsid.id} (real, {len(hrsid.boxes)} ships)", hrsid, captions))
    generate(tmp / "synth", 1, SynthOptions(size=512, seed=3, workers=1), progress=False)
    (scene,) = load_synthetic(tmp / "synth").samples
    captions = [c.text for c in narrator.caption(scene).captions]
    out.append(
        (f"synthetic scene (sargeo synth, seed 3, {len(scene.boxes)} objects)", scene, captions)
    )
    return out


def main() -> None:
    """Draw and save the figure."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("-o", "--output", type=Path, default=OUT)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        found = rows(Path(tmp))
        fig = figure(found)
        args.output.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(args.output, dpi=80)
    # a 64-colour palette keeps the PNG small (grey images, orange boxes, black text)
    Image.open(args.output).convert("RGB").quantize(64, method=Image.Quantize.FASTOCTREE).save(
        args.output, optimize=True
    )
    for title, _, captions in found:
        print(title)
        for c in captions:
            print("  ", c)
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
