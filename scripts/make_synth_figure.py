"""Make the README picture of a synthetic scene: SAR (VV, dB) with its COCO boxes, the paired optical
image and the class mask, side by side.

The scene is made exactly as `sargeo synth` makes it (into a temporary folder), then read back.
Usage::

    .venv/bin/python scripts/make_synth_figure.py                 # docs/img/synth_scene.png
    .venv/bin/python scripts/make_synth_figure.py --seed 12 --out /tmp/scene.png
"""

from __future__ import annotations

import argparse
import io
import json
import sys
import tempfile
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import rasterio
from matplotlib.patches import Rectangle
from PIL import Image

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from sargeo.synth.scene import SynthOptions, generate  # noqa: E402

DEFAULT_OUT = REPO / "docs" / "img" / "synth_scene.png"
MAX_BYTES = 300_000


def figure(folder: Path, title: str) -> bytes:
    """PNG bytes of the three panels of the scene in ``folder``."""
    with rasterio.open(folder / "sar.tif") as ds:
        vv = ds.read(1)
    with rasterio.open(folder / "optical.tif") as ds:
        rgb = ds.read().transpose(1, 2, 0)
    with rasterio.open(folder / "mask.tif") as ds:
        mask = ds.read(1)
        cmap = ds.colormap(1)
    coco = json.loads((folder / "coco.json").read_text())
    names = {c["id"]: c["name"] for c in coco["categories"]}
    lut = np.zeros((256, 3), np.uint8)
    for value, colour in cmap.items():
        lut[value] = colour[:3]
    fig, axes = plt.subplots(1, 3, figsize=(12, 4.3), dpi=100)
    axes[0].imshow(vv, cmap="gray", vmin=-25, vmax=5, interpolation="antialiased")
    for ann in coco["annotations"]:
        x, y, w, h = ann["bbox"]
        colour = "yellow" if names[ann["category_id"]] == "ship" else "cyan"
        axes[0].add_patch(Rectangle((x - 0.5, y - 0.5), w, h, fill=False, lw=0.6, ec=colour))
    axes[0].set_title("SAR VV (dB) with COCO boxes", fontsize=9)
    axes[1].imshow(rgb, interpolation="antialiased")
    axes[1].set_title("paired optical image", fontsize=9)
    axes[2].imshow(lut[mask], interpolation="nearest")
    axes[2].set_title("class mask", fontsize=9)
    for ax in axes:
        ax.set_axis_off()
    fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    plt.close(fig)
    image = Image.open(io.BytesIO(buf.getvalue())).convert("RGB")
    out = io.BytesIO()
    image.quantize(colors=128, method=Image.Quantize.MEDIANCUT).save(
        out, format="PNG", optimize=True
    )
    return out.getvalue()


def main(argv: list[str] | None = None) -> int:
    """Generate the scene, draw the picture and write it (refusing pictures over 300 KB)."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--seed", type=int, default=3)
    parser.add_argument("--size", type=int, default=1024)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="sargeo-figure-") as tmp:
        run = Path(tmp) / "run"
        generate(run, 1, SynthOptions(size=args.size, seed=args.seed), progress=False)
        params = json.loads((run / "scene_0000" / "scene.json").read_text())
        title = (
            f"sargeo synth --seed {args.seed} --size {args.size}: {params['crs']}, "
            f"{params['pixel_spacing']:g} m pixels, {params['pass']} pass, incidence "
            f"{params['incidence']['near']:.1f}-{params['incidence']['far']:.1f} deg, "
            f"{sum(params['object_counts'].values())} objects"
        )
        data = figure(run / "scene_0000", title)
    if len(data) > MAX_BYTES:
        raise SystemExit(f"picture is {len(data)} bytes, over the {MAX_BYTES} byte limit")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_bytes(data)
    print(f"wrote {args.out} ({len(data) // 1000} KB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
