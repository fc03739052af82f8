"""The two data tables of the synthetic world: classes (``classes.json``) and radar physics
(``backscatter.json``), loaded and checked into typed records.

Keeping them as data lets the realism work tune sigma0 levels without touching code; every number the
simulator uses is read from here.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from sargeo.errors import SargeoError

HERE = Path(__file__).resolve().parent
CLASSES_PATH = HERE / "classes.json"
BACKSCATTER_PATH = HERE / "backscatter.json"
LAYOUT_PATH = HERE / "layout.json"
POLS: tuple[str, str] = ("VV", "VH")
MAX_LOOKS_CEILING = 1000.0
"""No table may allow more looks than this: each look is a complex noise field per block."""


@dataclass(frozen=True)
class ClassInfo:
    """One class of the mask: its value, name, kind, optical colour and (objects) COCO category."""

    value: int
    name: str
    kind: str
    rgb: tuple[int, int, int]
    texture: float = 0.08
    palette: tuple[tuple[int, int, int], ...] = ()
    category_id: int | None = None
    supercategory: str = ""


@dataclass(frozen=True)
class ClassTable:
    """All classes, looked up by name or value."""

    classes: tuple[ClassInfo, ...]

    def __getitem__(self, name: str) -> ClassInfo:
        for info in self.classes:
            if info.name == name:
                return info
        raise KeyError(name)

    def value(self, name: str) -> int:
        """Mask value of class ``name``."""
        return self[name].value

    @property
    def names(self) -> dict[int, str]:
        """Mask value -> class name."""
        return {c.value: c.name for c in self.classes}

    @property
    def objects(self) -> tuple[ClassInfo, ...]:
        """The object classes (those with a COCO category), by category id."""
        found = [c for c in self.classes if c.category_id is not None]
        return tuple(sorted(found, key=lambda c: c.category_id or 0))

    def coco_categories(self) -> list[dict[str, Any]]:
        """COCO ``categories`` list (fixed ids, the same for every scene)."""
        return [
            {"id": c.category_id, "name": c.name, "supercategory": c.supercategory}
            for c in self.objects
        ]


@dataclass(frozen=True)
class ClassBackscatter:
    """Backscatter of one class (see the description in backscatter.json)."""

    mean_db: tuple[float, float]
    slope_db_per_deg: tuple[float, float]
    region: str | None = None
    region_std_db: float = 0.0
    texture_std_db: float = 0.0
    texture_cell_m: float = 100.0
    pixel_std_db: float = 0.0
    k_texture: bool = False


@dataclass(frozen=True)
class PointTarget:
    """A bright point scatterer with sidelobe crosses (per object class)."""

    db: tuple[float, float]


@dataclass(frozen=True)
class WakeModel:
    """Ship wakes: a dark turbulent wake behind the stern and two bright Kelvin arms."""

    probability: float
    turbulent_db: float
    kelvin_db: float
    kelvin_half_angle_deg: float
    kelvin_width_m: float
    length_ship_lengths: tuple[float, float]


@dataclass(frozen=True)
class ShipRadar:
    """Per-ship brightness and point scatterers (see `sargeo.synth.ships`)."""

    reference_length_m: float
    rcs_dbsm: tuple[float, float]
    db_per_decade: float
    spread_db: float
    superstructure_along: float
    secondary_per_100m: float
    secondary_db: tuple[float, float]


@dataclass(frozen=True)
class Backscatter:
    """The whole radar model: per-class levels plus the scene-wide physics parameters."""

    classes: dict[str, ClassBackscatter]
    reference_incidence_deg: float
    incidence_range_deg: tuple[float, float]
    swath_km: float
    looks: float
    max_looks: float
    nesz_db: float | None
    k_shape: float
    swell_db: float
    swell_wavelength_m: tuple[float, float]
    double_bounce_db: tuple[float, float]
    cardinal_exponent: float
    yard_db: float
    pslr_db: float
    resolution_m: float
    max_extent_px: int
    point_targets: dict[str, PointTarget]
    wake: WakeModel
    ship: ShipRadar
    references: dict[str, str]
    sha256: str

    def luts(self, table: ClassTable) -> dict[str, npt.NDArray[np.float32]]:
        """Per-class parameters as 256-entry lookup tables indexed by mask value.

        Keys: ``mean_VV``, ``mean_VH``, ``slope_VV``, ``slope_VH``, ``region_std``,
        ``texture_std``, ``pixel_std``, ``k_texture`` (0/1).
        """
        names = ("mean_VV", "mean_VH", "slope_VV", "slope_VH")
        out = {k: np.zeros(256, np.float32) for k in (*names, "region_std", "texture_std")}
        out["pixel_std"] = np.zeros(256, np.float32)
        out["k_texture"] = np.zeros(256, np.float32)
        for info in table.classes:
            b = self.classes[info.name]
            v = info.value
            out["mean_VV"][v], out["mean_VH"][v] = b.mean_db
            out["slope_VV"][v], out["slope_VH"][v] = b.slope_db_per_deg
            out["region_std"][v] = b.region_std_db
            out["texture_std"][v] = b.texture_std_db
            out["pixel_std"][v] = b.pixel_std_db
            out["k_texture"][v] = float(b.k_texture)
        return out


def read_json(path: Path) -> dict[str, Any]:
    """A JSON object from ``path``; SargeoError naming the file when unreadable or not an object."""
    try:
        data = json.loads(path.read_text())
    except OSError as exc:
        raise SargeoError(f"{path}: cannot read ({exc.strerror})") from exc
    except json.JSONDecodeError as exc:
        raise SargeoError(f"{path}: not valid JSON (line {exc.lineno}: {exc.msg})") from exc
    if not isinstance(data, dict):
        raise SargeoError(f"{path}: expected a JSON object at the top")
    return data


def num(d: dict[str, Any], key: str, where: str, default: float | None = None) -> float:
    """``d[key]`` as a number; SargeoError naming ``where`` when it is missing or not a number."""
    value = d.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise SargeoError(f"{where}: '{key}' must be a number, got {value!r}")
    return float(value)


def pair(d: dict[str, Any], key: str, where: str) -> tuple[float, float]:
    """``d[key]`` as a list of two numbers; SargeoError naming ``where`` otherwise."""
    value = d.get(key)
    if not (isinstance(value, list) and len(value) == 2):
        raise SargeoError(f"{where}: '{key}' must be a list of two numbers, got {value!r}")
    return num({"v": value[0]}, "v", f"{where}.{key}"), num({"v": value[1]}, "v", f"{where}.{key}")


def _rgb(value: Any, where: str) -> tuple[int, int, int]:
    if not (isinstance(value, list) and len(value) == 3 and all(isinstance(v, int) for v in value)):
        raise SargeoError(f"{where}: expected an [R, G, B] list of integers, got {value!r}")
    r, g, b = (int(np.clip(v, 0, 255)) for v in value)
    return r, g, b


def load_classes(path: Path = CLASSES_PATH) -> ClassTable:
    """Load and check the class table."""
    data = read_json(path)
    infos: list[ClassInfo] = []
    for i, item in enumerate(data.get("classes", [])):
        where = f"{path}: classes[{i}]"
        value = int(num(item, "value", where))
        if not 1 <= value <= 255:
            raise SargeoError(f"{where}: value {value} outside 1..255")
        category = item.get("category_id")
        infos.append(
            ClassInfo(
                value=value,
                name=str(item.get("name", "")),
                kind=str(item.get("kind", "land")),
                rgb=_rgb(item.get("rgb"), where),
                texture=num(item, "texture", where, 0.08),
                palette=tuple(_rgb(p, where) for p in item.get("palette", [])),
                category_id=None if category is None else int(category),
                supercategory=str(item.get("supercategory", "")),
            )
        )
    names = [c.name for c in infos]
    values = [c.value for c in infos]
    if not infos or len(set(names)) != len(names) or len(set(values)) != len(values):
        raise SargeoError(f"{path}: classes must be non-empty with unique names and values")
    return ClassTable(tuple(infos))


def load_backscatter(path: Path = BACKSCATTER_PATH, table: ClassTable | None = None) -> Backscatter:
    """Load and check the backscatter table; every class of ``table`` must have an entry."""
    data = read_json(path)
    table = table or load_classes()
    where = str(path)
    classes: dict[str, ClassBackscatter] = {}
    entries = data.get("classes", {})
    for info in table.classes:
        if info.name not in entries:
            raise SargeoError(f"{path}: no entry for class '{info.name}' under 'classes'")
        e = entries[info.name]
        w = f"{path}: classes.{info.name}"
        classes[info.name] = ClassBackscatter(
            mean_db=(num(e, "vv_db", w), num(e, "vh_db", w)),
            slope_db_per_deg=(num(e, "vv_slope", w, 0.0), num(e, "vh_slope", w, 0.0)),
            region=e.get("region"),
            region_std_db=num(e, "region_std_db", w, 0.0),
            texture_std_db=num(e, "texture_std_db", w, 0.0),
            texture_cell_m=num(e, "texture_cell_m", w, 100.0),
            pixel_std_db=num(e, "pixel_std_db", w, 0.0),
            k_texture=bool(e.get("k_texture", False)),
        )
    inc = data.get("incidence", {})
    sea = data.get("sea_clutter", {})
    db = data.get("double_bounce", {})
    pt = data.get("point_target", {})
    wk = data.get("wake", {})
    sr = data.get("ship_radar", {})
    ws = f"{where}: ship_radar"
    looks = num(data, "looks", where)
    max_looks = num(data, "max_looks", where)
    k_shape = num(sea, "k_shape", f"{where}: sea_clutter")
    if looks <= 0 or k_shape <= 0:
        raise SargeoError(f"{path}: 'looks' and 'sea_clutter.k_shape' must be positive")
    if not looks <= max_looks <= MAX_LOOKS_CEILING:
        raise SargeoError(
            f"{path}: 'max_looks' must lie between 'looks' and {MAX_LOOKS_CEILING:g}, "
            f"got {max_looks:g}"
        )
    nesz = data.get("nesz_db")
    return Backscatter(
        classes=classes,
        reference_incidence_deg=num(data, "reference_incidence_deg", where),
        incidence_range_deg=(
            num(inc, "near_min_deg", f"{where}: incidence"),
            num(inc, "far_max_deg", f"{where}: incidence"),
        ),
        swath_km=num(inc, "swath_km", f"{where}: incidence"),
        looks=looks,
        max_looks=max_looks,
        nesz_db=None if nesz is None else num(data, "nesz_db", where),
        k_shape=k_shape,
        swell_db=num(sea, "swell_db", f"{where}: sea_clutter", 0.0),
        swell_wavelength_m=pair(sea, "swell_wavelength_m", f"{where}: sea_clutter"),
        double_bounce_db=(
            num(db, "vv_db", f"{where}: double_bounce"),
            num(db, "vh_db", f"{where}: double_bounce"),
        ),
        cardinal_exponent=num(db, "cardinal_exponent", f"{where}: double_bounce"),
        yard_db=num(db, "yard_db", f"{where}: double_bounce"),
        pslr_db=num(pt, "pslr_db", f"{where}: point_target"),
        resolution_m=num(pt, "resolution_m", f"{where}: point_target"),
        max_extent_px=int(num(pt, "max_extent_px", f"{where}: point_target")),
        point_targets={
            name: PointTarget(
                db=(num(v, "vv_db", f"{where}: point_target.{name}"), num(v, "vh_db", name)),
            )
            for name, v in pt.get("classes", {}).items()
        },
        wake=WakeModel(
            probability=num(wk, "probability", f"{where}: wake"),
            turbulent_db=num(wk, "turbulent_db", f"{where}: wake"),
            kelvin_db=num(wk, "kelvin_db", f"{where}: wake"),
            kelvin_half_angle_deg=num(wk, "kelvin_half_angle_deg", f"{where}: wake"),
            kelvin_width_m=num(wk, "kelvin_width_m", f"{where}: wake"),
            length_ship_lengths=pair(wk, "length_ship_lengths", f"{where}: wake"),
        ),
        ship=ShipRadar(
            reference_length_m=num(sr, "reference_length_m", ws),
            rcs_dbsm=pair(sr, "rcs_dbsm", ws),
            db_per_decade=num(sr, "db_per_decade", ws),
            spread_db=num(sr, "spread_db", ws),
            superstructure_along=num(sr, "superstructure_along", ws),
            secondary_per_100m=num(sr, "secondary_per_100m", ws),
            secondary_db=pair(sr, "secondary_db", ws),
        ),
        references=dict(data.get("references", {})),
        sha256=hashlib.sha256(path.read_bytes()).hexdigest(),
    )


@dataclass(frozen=True)
class LayoutTable:
    """Sizes (m) and densities of ships, harbour berths and buildings (``layout.json``)."""

    coast_offset_share: tuple[float, float]
    coast_reference_extent_m: float
    traffic_per_km2: tuple[float, float]
    ship_length_median_m: float
    ship_length_log_sigma: float
    ship_length_m: tuple[float, float]
    under_way_share: float
    moored_length_m: tuple[float, float]
    berth_fill: float
    berth_gap_m: tuple[float, float]
    quay_berths: bool
    breakwater_probability: float
    breakwater_width_m: tuple[float, float]
    breakwater_offset_m: tuple[float, float]
    building_m: tuple[float, float]
    yard_m: tuple[float, float]


def load_layout_table(path: Path = LAYOUT_PATH) -> LayoutTable:
    """Load and check the layout table: every range positive and increasing."""
    data = read_json(path)
    sections = ("coast", "ships", "harbour", "buildings")
    coast, ships, harbour, buildings = (data.get(k, {}) for k in sections)
    w = {k: f"{path}: {k}" for k in sections}
    table = LayoutTable(
        coast_offset_share=pair(coast, "offset_share", w["coast"]),
        coast_reference_extent_m=num(coast, "reference_extent_m", w["coast"]),
        traffic_per_km2=pair(ships, "traffic_per_km2", w["ships"]),
        ship_length_median_m=num(ships, "length_median_m", w["ships"]),
        ship_length_log_sigma=num(ships, "length_log_sigma", w["ships"]),
        ship_length_m=pair(ships, "length_m", w["ships"]),
        under_way_share=num(ships, "under_way_share", w["ships"]),
        moored_length_m=pair(harbour, "moored_length_m", w["harbour"]),
        berth_fill=num(harbour, "berth_fill", w["harbour"]),
        berth_gap_m=pair(harbour, "berth_gap_m", w["harbour"]),
        quay_berths=bool(harbour.get("quay_berths", True)),
        breakwater_probability=num(harbour, "breakwater_probability", w["harbour"]),
        breakwater_width_m=pair(harbour, "breakwater_width_m", w["harbour"]),
        breakwater_offset_m=pair(harbour, "breakwater_offset_m", w["harbour"]),
        building_m=pair(buildings, "footprint_m", w["buildings"]),
        yard_m=pair(buildings, "yard_m", w["buildings"]),
    )
    for name in ("traffic_per_km2", "ship_length_m", "moored_length_m", "berth_gap_m",
                 "breakwater_width_m", "breakwater_offset_m", "building_m", "yard_m"):  # fmt: skip
        lo, hi = getattr(table, name)
        if not 0 < lo <= hi:
            raise SargeoError(f"{path}: {name} must be a range 0 < low <= high, got {[lo, hi]}")
    return table
