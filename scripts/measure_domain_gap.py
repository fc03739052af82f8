"""Measure the domain gap between real SAR and the synthetic world: a classifier two-sample test.

Two classifiers learn to tell real patches from synthetic ones of the same resolution and rendering,
with 5-fold cross-validation that keeps each image's patches in one fold; the script prints their ROC
AUC (0.5: indistinguishable, 1.0: always told apart; `sargeo.synth.domain_gap`):

- ``logistic``: logistic regression on texture statistics of each patch (`texture_features`);
- ``cnn``: a small convolutional network (three conv layers, about 15k weights) on the pixels.

Two comparisons:

- HRSID-like: the 18 real ``hrsid_mini`` JPEGs (800 px) against synthetic 800 px scenes as 8-bit
  amplitude (``sar_8bit.tif`` of ``--render hrsid``; a scene without it is rendered from ``sar.tif``
  with the same stretch and JPEG quality), 64 px patches;
- Sentinel-1-like: the real Sen1Floods11 chip and OpenSARShip GRD chips against synthetic 10 m scenes,
  VV in dB mapped from [-30, 5] dB to 0-255, 32 px patches.

Without ``--hrsid-scenes`` / ``--s1-scenes`` the scenes are generated with the current code
(``--sensor terrasar-x-stripmap --render hrsid`` and the default sensor). Usage::

    .venv/bin/python scripts/measure_domain_gap.py --json docs/realism_gap_after.json
    .venv/bin/python scripts/measure_domain_gap.py --hrsid-scenes OLD/hrsid --s1-scenes OLD/s1
"""

from __future__ import annotations

import argparse
import io
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import rasterio
import torch
from PIL import Image

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from sargeo.runtime.preprocess import to_linear_power  # noqa: E402
from sargeo.synth import domain_gap as G  # noqa: E402
from sargeo.synth import realism_refs as F  # noqa: E402
from sargeo.synth.scene import SynthOptions, generate  # noqa: E402
from sargeo.synth.sensors import amplitude_u8, load_presets  # noqa: E402

SHARED = REPO.parent / "shared" / "data"
HRSID_PATCH = 64
S1_PATCH = 32
S1_RANGE_DB = (-30.0, 5.0)
FOLDS = 5


def _read(path: Path, band: int = 1) -> np.ndarray:
    with rasterio.open(path) as ds:
        return ds.read(band)


def jpeg_roundtrip(grey: np.ndarray, quality: int) -> np.ndarray:
    """Grey levels after JPEG compression at ``quality`` (as HRSID's files)."""
    buf = io.BytesIO()
    Image.fromarray(grey).save(buf, format="JPEG", quality=quality)
    return np.asarray(Image.open(io.BytesIO(buf.getvalue())))


def synthetic_hrsid(folder: Path) -> list[np.ndarray]:
    """8-bit amplitude images of the scenes under ``folder`` (rendered from sar.tif if needed)."""
    render = load_presets().render("hrsid")
    out = []
    for scene in sorted(p for p in folder.iterdir() if (p / "sar.tif").is_file()):
        if (scene / "sar_8bit.tif").is_file():
            out.append(_read(scene / "sar_8bit.tif"))
            continue
        units = json.loads((scene / "scene.json").read_text()).get("units", "dB")
        grey = amplitude_u8(to_linear_power(_read(scene / "sar.tif"), units), render.saturation_db)
        out.append(jpeg_roundtrip(grey, render.jpeg_quality))
    return out


def db_grey(vv_db: np.ndarray) -> np.ndarray:
    """VV in dB mapped linearly from `S1_RANGE_DB` to 0-255 (NaN stays NaN)."""
    lo, hi = S1_RANGE_DB
    return np.clip((vv_db - lo) / (hi - lo), 0.0, 1.0) * 255.0


def real_s1() -> list[tuple[str, np.ndarray]]:
    """(group, image) of the real Sentinel-1 side: Sen1Floods11 in quadrants, OpenSARShip GRD chips."""
    flood = F.load_sen1floods11(SHARED / "sen1floods11")
    h, w = flood.vv_db.shape
    out = [
        (
            f"flood{i}{j}",
            db_grey(flood.vv_db[i * h // 2 : (i + 1) * h // 2, j * w // 2 : (j + 1) * w // 2]),
        )
        for i in range(2)
        for j in range(2)
    ]
    for chip in F.load_opensarship(SHARED / "opensarship"):
        if chip.product == "GRD":
            with np.errstate(divide="ignore"):
                out.append((chip.name, db_grey(10 * np.log10(chip.vv))))
    return out


def synthetic_s1(folder: Path) -> list[tuple[str, np.ndarray]]:
    """(group, image) of the synthetic Sentinel-1 side: VV of each scene, in dB, mapped to 0-255."""
    out = []
    for scene in sorted(p for p in folder.iterdir() if (p / "sar.tif").is_file()):
        units = json.loads((scene / "scene.json").read_text()).get("units", "dB")
        vv = to_linear_power(_read(scene / "sar.tif"), units)
        with np.errstate(divide="ignore"):
            out.append((scene.name, db_grey(10 * np.log10(vv))))
    return out


def dataset(
    real: list[tuple[str, np.ndarray]], synth: list[tuple[str, np.ndarray]], side: int, seed: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Balanced patches (n, side, side), labels (1 = synthetic) and groups (source image)."""
    rng = np.random.default_rng(seed)
    sides = []
    for label, images in ((0, real), (1, synth)):
        items = [(f"{label}:{g}", p) for g, im in images for p in G.patches(im, side)]
        sides.append((label, items))
    n = min(len(items) for _, items in sides)
    x, y, groups = [], [], []
    for label, items in sides:
        for i in rng.choice(len(items), n, replace=False):
            groups.append(items[i][0])
            x.append(items[i][1])
            y.append(label)
    return np.stack(x), np.array(y, np.int64), np.array(groups)


class SmallCNN(torch.nn.Module):
    """Three 3x3 conv layers (16, 32, 32 channels) with pooling, global average, one logit."""

    def __init__(self) -> None:
        super().__init__()
        c = torch.nn
        self.net = c.Sequential(
            c.Conv2d(1, 16, 3, padding=1), c.ReLU(), c.MaxPool2d(2),
            c.Conv2d(16, 32, 3, padding=1), c.ReLU(), c.MaxPool2d(2),
            c.Conv2d(32, 32, 3, padding=1), c.ReLU(), c.AdaptiveAvgPool2d(1), c.Flatten(),
            c.Linear(32, 1),
        )  # fmt: skip

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logit of 'synthetic' per patch."""
        return self.net(x).squeeze(1)


def fit_cnn(epochs: int, seed: int):  # type: ignore[no-untyped-def]
    """A `cross_validated_aucs` fitter that trains `SmallCNN` on grey patches scaled to 0-1."""

    def fit(x: np.ndarray, y: np.ndarray):  # type: ignore[no-untyped-def]
        torch.manual_seed(seed)
        model = SmallCNN()
        opt = torch.optim.Adam(model.parameters(), lr=2e-3)
        xt = torch.from_numpy((x / 255.0).astype(np.float32)).unsqueeze(1)
        yt = torch.from_numpy(y.astype(np.float32))
        gen = torch.Generator().manual_seed(seed)
        for _ in range(epochs):
            for idx in torch.randperm(len(xt), generator=gen).split(64):
                opt.zero_grad()
                loss = torch.nn.functional.binary_cross_entropy_with_logits(model(xt[idx]), yt[idx])
                loss.backward()
                opt.step()

        def score(xnew: np.ndarray) -> np.ndarray:
            with torch.no_grad():
                xn = torch.from_numpy((xnew / 255.0).astype(np.float32)).unsqueeze(1)
                return model(xn).numpy().astype(np.float64)

        return score

    return fit


def measure(x: np.ndarray, y: np.ndarray, groups: np.ndarray, epochs: int, seed: int) -> dict:
    """Both classifiers' cross-validated AUC on one comparison."""
    feats = np.stack([G.texture_features(p) for p in x])
    t0 = time.perf_counter()
    logistic = G.cross_validated_aucs(feats, y, groups, FOLDS, seed=seed)
    cnn = G.cross_validated_aucs(x, y, groups, FOLDS, fit=fit_cnn(epochs, seed), seed=seed)
    return {
        "patches_per_side": int((y == 0).sum()),
        "real_images": len(set(groups[y == 0])),
        "synthetic_images": len(set(groups[y == 1])),
        "auc_logistic": round(logistic[0], 3),
        "auc_logistic_fold_mean": round(logistic[1], 3),
        "auc_cnn": round(cnn[0], 3),
        "auc_cnn_fold_mean": round(cnn[1], 3),
        "seconds": round(time.perf_counter() - t0, 1),
    }


def main(argv: list[str] | None = None) -> int:
    """Generate (or read) the synthetic scenes, build both comparisons and print the AUCs."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--hrsid-scenes", type=Path, help="folder of 3 m 800 px synthetic scenes")
    parser.add_argument("--s1-scenes", type=Path, help="folder of 10 m synthetic scenes")
    parser.add_argument("--scenes", type=int, default=18, help="scenes to generate per side")
    parser.add_argument("--epochs", type=int, default=6)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--label", default="current code")
    parser.add_argument("--json", type=Path, help="also write the results here")
    parser.add_argument(
        "--parts", default="hrsid,sentinel1", help="comparisons to run (hrsid, sentinel1)"
    )
    args = parser.parse_args(argv)
    torch.set_num_threads(2)
    with tempfile.TemporaryDirectory(prefix="sargeo-gap-") as tmp:
        hrsid_dir, s1_dir = args.hrsid_scenes, args.s1_scenes
        parts = set(args.parts.split(","))
        results: dict[str, object] = {"label": args.label}
        if "hrsid" in parts:
            if hrsid_dir is None:
                hrsid_dir = Path(tmp) / "hrsid"
                opts = SynthOptions(
                    size=800, seed=100, sensor="terrasar-x-stripmap", render="hrsid"
                )
                generate(hrsid_dir, args.scenes, opts, progress=False)
            real_h = [(im.name, im.pixels) for im in F.load_hrsid(SHARED / "hrsid_mini")]
            synth_h = [(f"s{i}", im) for i, im in enumerate(synthetic_hrsid(hrsid_dir))]
            data = dataset(real_h, synth_h, HRSID_PATCH, args.seed)
            results["hrsid"] = measure(*data, args.epochs, args.seed)
        if "sentinel1" in parts:
            if s1_dir is None:
                s1_dir = Path(tmp) / "s1"
                generate(s1_dir, args.scenes, SynthOptions(size=512, seed=100), progress=False)
            data = dataset(real_s1(), synthetic_s1(s1_dir), S1_PATCH, args.seed)
            results["sentinel1"] = measure(*data, args.epochs, args.seed)
    text = json.dumps(results, indent=1)
    print(text)
    if args.json:
        args.json.write_text(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
