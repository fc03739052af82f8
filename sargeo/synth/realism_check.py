"""The realism check: the same statistics on real references and synthetic scenes, against tolerances.

Each statistic is measured the same way on both sides (`sargeo.synth.realism`): class levels against
the Sen1Floods11 chip (hand-labelled water mask), sea clutter and ship-to-sea contrast against
OpenSARShip's calibrated Sentinel-1 GRD ship chips (synthetic ships are cut into chips the same way,
ship at the centre), the ENL of homogeneous areas against both, and the ship contrast of an 8-bit
amplitude display against HRSID (its stretch is unknown, so only an intensity ratio is compared and the
synthetic scene is rendered with a fixed gain). Every tolerance states why its width is reasonable.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from sargeo.errors import SargeoError
from sargeo.runtime.preprocess import to_db, to_linear_power
from sargeo.synth import realism as R
from sargeo.synth import realism_refs as F

FloatArray = npt.NDArray[np.float32]
BoolArray = npt.NDArray[np.bool_]


@dataclass(frozen=True)
class Tolerance:
    """How far a synthetic statistic may be from the real one.

    Attributes:
        label: What is measured, for tables.
        unit: ``x`` for a ratio allowed either way; otherwise the unit of an absolute difference
            (``dB``, or empty for a pure number).
        limit: The allowed difference or factor.
        why: Why this width is reasonable.
    """

    label: str
    unit: str
    limit: float
    why: str

    def passes(self, real: float, synth: float) -> bool:
        """Whether ``synth`` is within the tolerance of ``real``."""
        if not (np.isfinite(real) and np.isfinite(synth)):
            return False
        if self.unit == "x":
            return real > 0 and synth > 0 and max(real / synth, synth / real) <= self.limit
        return abs(synth - real) <= self.limit


# Each tolerance is a named constant; its reason is the ``why`` of its `Tolerance`.
LEVEL_DB = 3.0
SEA_LEVEL_DB = 4.0
ENL_FACTOR = 1.6
CLUTTER_SHAPE_DB = 1.5
CORRELATION = 0.2
CONTRAST_DB = 5.0
SPREAD_DB = 3.0

_WHY_LEVEL = (
    "a class's median varies about 3 dB between Sentinel-1 scenes (wind, moisture, incidence "
    "29-46 deg), well under the 8 dB between real water and land: a swapped class or 10 dB off fails"
)
_WHY_SEA = (
    "sea sigma0 follows the wind (CMOD5 spans about 8 dB for 3-8 m/s at one incidence) and the three "
    "OpenSARShip GRD scenes alone span 6.6 dB; 4 dB around their median still fails a sea 10 dB off"
)
_WHY_ENL = (
    "1.6x separates single-look (ENL about 1) from GRD (about 4.4) and GRD from speckle-filtered "
    "data (over 10); the estimate scatters about 1.3x between real chips"
)
_WHY_CORRELATION = (
    "GRD neighbours share speckle (resolution about 20 m at 10 m pixels: lag-1 correlation about "
    "0.6); 0.2 tells correlated from white speckle (0)"
)
_WHY_SHAPE = (
    "1.5 dB is less than the gap between the tails of 1-look (6.4 dB) and 4-look (3.3 dB) speckle: "
    "the wrong number of looks, or no speckle, fails"
)
_WHY_CONTRAST = (
    "real ships span about 15 dB (size, material, aspect); 5 dB around the median of many ships "
    "keeps a ship as dark as the sea, or 10 dB too bright, out"
)

_WHY_SPREAD = (
    "the dim end of the ship contrasts (small boats): real 13 dB at the 10th percentile against a "
    "median of 23 dB; 3 dB keeps a world whose ships all shine alike (19 dB before) out, and is "
    "about the scatter of a 10th percentile of about 100 chips"
)

TOLERANCES: dict[str, Tolerance] = {
    "water_vv_db": Tolerance("water VV median (dB), Sen1Floods11", "dB", LEVEL_DB, _WHY_LEVEL),
    "water_vh_db": Tolerance("water VH median (dB), Sen1Floods11", "dB", LEVEL_DB, _WHY_LEVEL),
    "land_vv_db": Tolerance("land VV median (dB), Sen1Floods11", "dB", LEVEL_DB, _WHY_LEVEL),
    "land_vh_db": Tolerance("land VH median (dB), Sen1Floods11", "dB", LEVEL_DB, _WHY_LEVEL),
    "land_enl": Tolerance("ENL of homogeneous land, Sen1Floods11", "x", ENL_FACTOR, _WHY_ENL),
    "sea_vv_db": Tolerance("sea VV median (dB), OpenSARShip GRD", "dB", SEA_LEVEL_DB, _WHY_SEA),
    "sea_vh_db": Tolerance("sea VH median (dB), OpenSARShip GRD", "dB", SEA_LEVEL_DB, _WHY_SEA),
    "sea_enl": Tolerance("ENL of homogeneous sea, OpenSARShip GRD", "x", ENL_FACTOR, _WHY_ENL),
    "speckle_corr": Tolerance(
        "speckle lag-1 correlation (sea), OpenSARShip GRD", "", CORRELATION, _WHY_CORRELATION
    ),
    "sea_tail_db": Tolerance(
        "sea clutter p95/p50 (dB), OpenSARShip GRD", "dB", CLUTTER_SHAPE_DB, _WHY_SHAPE
    ),
    "ship_peak_db": Tolerance(
        "ship peak / sea (dB), OpenSARShip GRD", "dB", CONTRAST_DB, _WHY_CONTRAST
    ),
    "ship_top_db": Tolerance(
        "ship top-10 mean / sea (dB), OpenSARShip GRD", "dB", CONTRAST_DB, _WHY_CONTRAST
    ),
    "ship_peak_p10_db": Tolerance(
        "ship peak / sea, 10th percentile (dB), OpenSARShip GRD", "dB", SPREAD_DB, _WHY_SPREAD
    ),
    "display_ship_db": Tolerance(
        "ship mean / sea, 8-bit display (dB), HRSID", "dB", CONTRAST_DB, _WHY_CONTRAST
    ),
}
"""Every statistic of the check and its tolerance."""


# --- synthetic scenes --------------------------------------------------------------------------


@dataclass
class SynthScene:
    """One synthetic scene in memory: linear sigma0, class mask and the objects' oriented boxes.

    Attributes:
        name: Scene folder name.
        vv: VV sigma0 (linear power).
        vh: VH sigma0 (linear power).
        classes: Class value per pixel.
        kinds: Class value -> kind (``water``, ``land`` or ``object``).
        names: Class value -> class name.
        ships: Oriented boxes (cx, cy, length, width, angle_deg) of the ships, in pixels.
    """

    name: str
    vv: FloatArray
    vh: FloatArray
    classes: npt.NDArray[np.uint8]
    kinds: dict[int, str]
    names: dict[int, str]
    ships: list[tuple[float, float, float, float, float]] = field(default_factory=list)

    def mask(self, *, kind: str | None = None, name: str | None = None) -> BoolArray:
        """Pixels whose class has the given kind or name."""
        values = [
            v
            for v in self.names
            if (kind is None or self.kinds.get(v) == kind)
            and (name is None or self.names[v] == name)
        ]
        return np.isin(self.classes, values)


def load_synth_scene(folder: Path) -> SynthScene:
    """Read a ``sargeo synth`` scene folder (``sar.tif``, ``mask.tif``, ``scene.json``, ``coco.json``)."""
    from sargeo.synth.tables import load_classes

    for name in ("sar.tif", "mask.tif", "scene.json", "coco.json"):
        if not (folder / name).is_file():
            raise SargeoError(f"{folder}: missing {name} (not a sargeo synth scene folder)")
    sar = F.read_raster(folder / "sar.tif").astype(np.float32)
    mask = F.read_raster(folder / "mask.tif")[0].astype(np.uint8)
    try:
        info = json.loads((folder / "scene.json").read_text())
        coco = json.loads((folder / "coco.json").read_text())
    except (OSError, ValueError) as exc:
        raise SargeoError(f"{folder}: unreadable scene.json or coco.json ({exc})") from exc
    units = str(info.get("units", "dB"))
    vv, vh = (to_linear_power(band, units) for band in sar[:2])
    raw = info.get("classes", {})
    names = {int(k): str(v["name"] if isinstance(v, dict) else v) for k, v in raw.items()}
    table = load_classes()
    kinds = {v: (table[n].kind if n in table.names.values() else "land") for v, n in names.items()}
    ship_ids = {c["id"] for c in coco.get("categories", []) if c.get("name") == "ship"}
    ships = [
        tuple(float(x) for x in a["obox"])
        for a in coco.get("annotations", [])
        if a.get("category_id") in ship_ids and a.get("obox")
    ]
    return SynthScene(folder.name, vv, vh, mask, kinds, names, ships)  # type: ignore[arg-type]


def load_synth_scenes(root: Path) -> list[SynthScene]:
    """Every scene folder under a ``sargeo synth`` output folder (or ``root`` itself)."""
    if (root / "sar.tif").is_file():
        return [load_synth_scene(root)]
    folders = sorted(p for p in root.iterdir() if (p / "sar.tif").is_file())
    if not folders:
        raise SargeoError(f"{root}: no synthetic scene folder (with sar.tif) found")
    return [load_synth_scene(p) for p in folders]


# --- statistics on each side -------------------------------------------------------------------


CHIP_MIN = 32
"""Smallest side (px) of a chip cut around a synthetic ship (OpenSARShip chips: about 25-120 px)."""

CHIP_SHIP_LENGTHS = 4.0
"""Chip side in ship lengths, as OpenSARShip's chips (a 200 m ship sits in a 60-90 px chip at 10 m)."""

CHIP_SEA_SHARE = 0.9
"""Share of a synthetic chip's border ring that must be open sea (ships off the coast, as the real)."""


def ship_chips(scene: SynthScene) -> list[tuple[FloatArray, FloatArray]]:
    """(VV, VH) chips cut around the scene's ships at sea, ship at the centre (OpenSARShip style)."""
    sea = scene.mask(name="sea")
    h, w = scene.classes.shape
    out = []
    for cx, cy, length, _, _ in scene.ships:
        side = max(CHIP_MIN, round(CHIP_SHIP_LENGTHS * length))
        r0, c0 = round(cy) - side // 2, round(cx) - side // 2
        if r0 < 0 or c0 < 0 or r0 + side > h or c0 + side > w:
            continue
        win = (slice(r0, r0 + side), slice(c0, c0 + side))
        b = max(1, round(R.CHIP_BORDER * side))
        ring = np.ones((side, side), dtype=bool)
        ring[b:-b, b:-b] = False
        if sea[win][ring].mean() < CHIP_SEA_SHARE:
            continue
        out.append((scene.vv[win], scene.vh[win]))
    return out


def _ring(shape: tuple[int, ...]) -> BoolArray:
    """Border ring of a chip (the sea of `sargeo.synth.realism.chip_contrast`)."""
    h, w = shape
    b = max(1, round(R.CHIP_BORDER * min(h, w)))
    ring = np.ones((h, w), dtype=bool)
    ring[b : h - b, b : w - b] = False
    return ring


def _chip_stats(chips: Sequence[tuple[FloatArray, FloatArray | None]]) -> dict[str, list[float]]:
    """Per-chip sea levels, ENL, clutter tail and ship contrasts (VV), the same for real and synthetic."""
    out: dict[str, list[float]] = {
        k: [] for k in ("vv", "vh", "enl", "corr", "tail", "peak", "top")
    }
    for vv, vh in chips:
        ring = _ring(vv.shape)
        clutter = R.clutter_stats(vv, ring)
        out["vv"].append(clutter.median_db)
        out["tail"].append(clutter.high_db)
        if vh is not None:
            out["vh"].append(R.clutter_stats(vh, ring).median_db)
        out["enl"].append(R.homogeneous_enl(vv, rank_by=vh))
        out["corr"].append(R.speckle_correlation(vv, rank_by=vh))
        contrast = R.chip_contrast(vv)
        out["peak"].append(contrast.peak_db)
        out["top"].append(contrast.mean_db)
    return out


def _median(values: Iterable[float]) -> float:
    return _percentile(values, 50.0)


def _percentile(values: Iterable[float], q: float) -> float:
    v = list(values)
    return float(np.percentile(v, q)) if v else float("nan")


SPREAD_PERCENTILE = 10.0
"""Percentile of the ship contrasts compared besides the median: the dim, small boats."""


def reference_stats(shared_data: Path) -> dict[str, float]:
    """The real values of every statistic in `TOLERANCES`, from the samples in ``shared_data``."""
    flood = F.load_sen1floods11(shared_data / "sen1floods11")
    out = {
        "water_vv_db": R.class_levels_db(flood.vv_db, flood.water).median_db,
        "water_vh_db": R.class_levels_db(flood.vh_db, flood.water).median_db,
        "land_vv_db": R.class_levels_db(flood.vv_db, flood.land).median_db,
        "land_vh_db": R.class_levels_db(flood.vh_db, flood.land).median_db,
        "land_enl": R.homogeneous_enl(
            to_linear_power(flood.vv_db, "dB"),
            flood.land,
            rank_by=to_linear_power(flood.vh_db, "dB"),
        ),
    }
    grd = [c for c in F.load_opensarship(shared_data / "opensarship") if c.product == "GRD"]
    by_scene: dict[str, list[tuple[FloatArray, FloatArray | None]]] = {}
    for c in grd:
        by_scene.setdefault(c.scene, []).append((c.vv, c.vh))
    per_scene = [_chip_stats(chips) for chips in by_scene.values()]
    # levels: median of the scenes' medians (one windy scene must not outvote the others)
    out["sea_vv_db"] = _median(_median(s["vv"]) for s in per_scene)
    out["sea_vh_db"] = _median(_median(s["vh"]) for s in per_scene)
    pooled = _chip_stats([(c.vv, c.vh) for c in grd])
    out["sea_enl"] = _median(pooled["enl"])
    out["speckle_corr"] = _median(pooled["corr"])
    out["sea_tail_db"] = _median(pooled["tail"])
    out["ship_peak_db"] = _median(pooled["peak"])
    out["ship_top_db"] = _median(pooled["top"])
    out["ship_peak_p10_db"] = _percentile(pooled["peak"], SPREAD_PERCENTILE)
    hrsid = F.load_hrsid(shared_data / "hrsid_mini")
    out["display_ship_db"] = _median(
        R.ship_contrast(R.display_intensity(im.pixels), im.ship, ~im.ship).mean_db for im in hrsid
    )
    return out


def synthetic_stats(scenes: Sequence[SynthScene]) -> dict[str, float]:
    """The synthetic values of every statistic in `TOLERANCES`, measured as on the real side."""
    if not scenes:
        raise ValueError("synthetic statistics: no scene")
    vv_db = [to_db(s.vv, "linear") for s in scenes]
    vh_db = [to_db(s.vh, "linear") for s in scenes]
    water = [s.mask(kind="water") for s in scenes]
    land = [s.mask(kind="land") for s in scenes]

    def pooled_median(images: list[FloatArray], masks: list[BoolArray]) -> float:
        values = np.concatenate([im[m] for im, m in zip(images, masks, strict=True)])
        return float(np.median(values)) if values.size else float("nan")

    out = {
        "water_vv_db": pooled_median(vv_db, water),
        "water_vh_db": pooled_median(vh_db, water),
        "land_vv_db": pooled_median(vv_db, land),
        "land_vh_db": pooled_median(vh_db, land),
        "land_enl": _median(
            R.homogeneous_enl(s.vv, m, rank_by=s.vh)
            for s, m in zip(scenes, land, strict=True)
            if m.sum()
        ),
    }
    chips = [c for s in scenes for c in ship_chips(s)]
    stats = _chip_stats(list(chips))
    out.update(
        sea_vv_db=_median(stats["vv"]),
        sea_vh_db=_median(stats["vh"]),
        sea_enl=_median(stats["enl"]),
        speckle_corr=_median(stats["corr"]),
        sea_tail_db=_median(stats["tail"]),
        ship_peak_db=_median(stats["peak"]),
        ship_top_db=_median(stats["top"]),
        ship_peak_p10_db=_percentile(stats["peak"], SPREAD_PERCENTILE),
    )
    display = []
    for s in scenes:
        ship, sea = s.mask(name="ship"), s.mask(name="sea")
        if ship.any() and sea.sum() >= R.MIN_PIXELS:
            px = R.to_display_uint8(s.vv)
            display.append(R.ship_contrast(R.display_intensity(px), ship, sea).mean_db)
    out["display_ship_db"] = _median(display)
    return out


# --- comparison --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Check:
    """One statistic compared: real value, synthetic value, its tolerance and the verdict."""

    key: str
    real: float
    synth: float
    tolerance: Tolerance

    @property
    def passed(self) -> bool:
        """Whether the synthetic value is within tolerance of the real one."""
        return self.tolerance.passes(self.real, self.synth)

    def row(self) -> dict[str, Any]:
        """Flat row for a table."""
        t = self.tolerance
        return {
            "statistic": t.label,
            "real": round(self.real, 2),
            "synthetic": round(self.synth, 2),
            "tolerance": f"×{t.limit:g}" if t.unit == "x" else f"±{t.limit:g} {t.unit}".strip(),
            "pass": self.passed,
        }


def compare(
    real: dict[str, float], synth: dict[str, float], tolerances: dict[str, Tolerance] | None = None
) -> list[Check]:
    """Check every statistic of ``tolerances`` (default `TOLERANCES`); a missing value fails."""
    return [
        Check(k, real.get(k, float("nan")), synth.get(k, float("nan")), t)
        for k, t in (TOLERANCES if tolerances is None else tolerances).items()
    ]


def markdown_table(checks: Sequence[Check]) -> str:
    """The checks as a Markdown table (README, notebook)."""
    lines = [
        "| statistic | real | synthetic | tolerance | pass |",
        "| --- | --- | --- | --- | --- |",
    ]
    for c in checks:
        r = c.row()
        verdict = "yes" if r["pass"] else "**no**"
        lines.append(
            f"| {r['statistic']} | {r['real']:.2f} | {r['synthetic']:.2f} | {r['tolerance']} "
            f"| {verdict} |"
        )
    return "\n".join(lines)
