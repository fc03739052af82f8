"""Make the realism figure: real HRSID chips beside synthetic HRSID-like chips (8-bit amplitude, 3 m).

Top row: three real ``hrsid_mini`` images (offshore, with their COCO boxes). Bottom row: two offshore
and one inshore synthetic chip made exactly as ``sargeo synth --sensor terrasar-x-stripmap --render
hrsid`` makes them (``sar_8bit.tif``, with the ship boxes of ``coco.json``). Usage::

    .venv/bin/python scripts/make_realism_figure.py          # docs/img/hrsid_real_vs_synth.png
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
from matplotlib.patches import Rectangle
from PIL import Image

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from sargeo.synth import DISPLAY_FILE  # noqa: E402
from sargeo.synth import realism_refs as F  # noqa: E402
from sargeo.synth.scene import SynthOptions, generate  # noqa: E402
from sargeo.synth.tables import load_classes  # noqa: E402

DEFAULT_OUT = REPO / "docs" / "img" / "hrsid_real_vs_synth.png"
SHARED = REPO.parent / "shared" / "data" / "hrsid_mini"
REAL = ("P0007_3000_3800_1800_2600", "P0013_4560_5360_6000_6800", "P0005_2400_3200_5400_6200")
MAX_BYTES = 300_000


def pick_scenes(root: Path) -> list[tuple[str, Path]]:
    """Two offshore chips with ships and one inshore chip (with a harbour) among the scenes."""
    table = load_classes()
    sea, harbour, ship = (table.value(n) for n in ("sea", "harbour", "ship"))
    offshore, inshore = [], []
    for folder in sorted(p for p in root.iterdir() if (p / DISPLAY_FILE).is_file()):
        mask = F.read_raster(folder / "mask.tif")[0]
        if (mask == harbour).any() and (mask == ship).any():
            inshore.append(("synthetic, inshore", folder))
        elif (mask == sea).mean() > 0.5 and (mask == ship).any():
            offshore.append(("synthetic, offshore", folder))
    return offshore[:2] + inshore[:1]


def _panel(ax: plt.Axes, grey: np.ndarray, boxes: list, title: str) -> None:
    ax.imshow(grey, cmap="gray", vmin=0, vmax=255, interpolation="antialiased")
    for x, y, w, h in boxes:
        ax.add_patch(Rectangle((x - 0.5, y - 0.5), w, h, fill=False, lw=0.6, ec="yellow"))
    ax.set_title(title, fontsize=8)
    ax.set_axis_off()


def figure(synth_root: Path) -> bytes:
    """PNG bytes of the two rows (real on top, synthetic below)."""
    real = {im.name: im for im in F.load_hrsid(SHARED)}
    ship_id = load_classes()["ship"].category_id
    fig, axes = plt.subplots(2, 3, figsize=(9, 6.3), dpi=100)
    for ax, name in zip(axes[0], REAL, strict=True):
        im = real[name]
        _panel(ax, im.pixels, im.boxes, f"real HRSID {name.split('_')[0]}")
    for ax, (title, folder) in zip(axes[1], pick_scenes(synth_root), strict=False):
        grey = F.read_raster(folder / DISPLAY_FILE)[0]
        coco = json.loads((folder / "coco.json").read_text())
        boxes = [a["bbox"] for a in coco["annotations"] if a["category_id"] == ship_id]
        _panel(ax, grey, boxes, f"{title} ({folder.name})")
    fig.suptitle(
        "800 px 8-bit chips with ship boxes: real HRSID (top) and sargeo synth "
        "--sensor terrasar-x-stripmap --render hrsid (bottom)",
        fontsize=8,
    )
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    plt.close(fig)
    out = io.BytesIO()
    Image.open(io.BytesIO(buf.getvalue())).convert("L").save(out, format="PNG", optimize=True)
    return out.getvalue()


def main(argv: list[str] | None = None) -> int:
    """Generate the synthetic chips, draw the figure and write it (refusing over 300 KB)."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="sargeo-figure-") as tmp:
        for seed in (7, 1):
            opts = SynthOptions(size=800, seed=seed, sensor="terrasar-x-stripmap", render="hrsid")
            generate(Path(tmp) / f"seed{seed}", 12, opts, progress=False)
        root = Path(tmp) / "all"
        root.mkdir()
        for scene in sorted(Path(tmp).glob("seed*/scene_*")):
            (root / f"{scene.parent.name}-{scene.name}").symlink_to(scene)
        data = figure(root)
    if len(data) > MAX_BYTES:
        raise SystemExit(f"picture is {len(data)} bytes, over the {MAX_BYTES} byte limit")
    args.out.write_bytes(data)
    print(f"wrote {args.out} ({len(data) // 1000} KB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
