"""Objects of a scene with exact ground truth: ships (moored at piers, anchored or under way, with
wakes), aircraft on aprons, storage tanks, offshore platforms, wind turbines and oil slicks.

Each object is a footprint polygon in the scene CRS. Its pixels are that polygon rasterised once
(all touched) into a small patch; the mask is painted from the same patch, so an object's pixel box is
exactly where its pixels are. Objects keep a gap of 1.5 pixels between footprints, so no pixel belongs
to two objects.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
import shapely
from affine import Affine
from rasterio.features import rasterize
from shapely.geometry import LineString, Point, Polygon, box
from shapely.geometry.base import BaseGeometry

from sargeo.records import Window
from sargeo.synth import shapes
from sargeo.synth.grid import Grid
from sargeo.synth.harbour import moored_ships
from sargeo.synth.layout import Layout
from sargeo.synth.layout import stratified_count as _count
from sargeo.synth.ships import (
    Scatterer,
    peak_sigma0_db,
    ship_brightness_db,
    ship_scatterers,
)
from sargeo.synth.tables import Backscatter

WAKE_TURBULENT = 1
WAKE_KELVIN = 2
KNOT = 0.514444


@dataclass
class SceneObject:
    """One annotated object: footprint, dimensions, attributes and its rasterised pixels."""

    cls: str
    footprint: Polygon
    length_m: float
    width_m: float
    heading_deg: float
    attributes: dict[str, Any] = field(default_factory=dict)
    wakes: list[tuple[BaseGeometry, int]] = field(default_factory=list)
    point_target: bool = False
    brightness_db: float = 0.0
    scatterers: list[Scatterer] = field(default_factory=list)
    id: int = 0
    row0: int = 0
    col0: int = 0
    patch: npt.NDArray[np.bool_] = field(default_factory=lambda: np.zeros((0, 0), bool))
    peaks: list[tuple[int, int, float, float]] = field(default_factory=list)
    """Point scatterers in pixels: (row, col, VV peak sigma0 dB, VH peak sigma0 dB)."""
    coverage: npt.NDArray[np.float32] | None = None
    """Share of each pixel of ``patch`` the footprint covers (ships: their hull's partial pixels)."""

    @property
    def peak(self) -> tuple[int, int] | None:
        """Pixel of the dominant point scatterer (None without one)."""
        return (self.peaks[0][0], self.peaks[0][1]) if self.peaks else None

    @property
    def bbox(self) -> tuple[int, int, int, int]:
        """COCO box (x, y, w, h) in pixels: the exact extent of the object's pixels."""
        return self.col0, self.row0, self.patch.shape[1], self.patch.shape[0]

    @property
    def area(self) -> int:
        """Number of the object's pixels."""
        return int(self.patch.sum())

    def obox(self, grid: Grid) -> tuple[float, float, float, float, float]:
        """Oriented box (cx, cy, length, width, angle_deg) in pixels, angle clockwise from up."""
        c = self.footprint.centroid
        cx, cy = grid.to_pixel(c.x, c.y)
        s = grid.spacing
        return (cx, cy, self.length_m / s, self.width_m / s, self.heading_deg % 360.0)


class Occupancy:
    """Footprints placed so far, hashed on a coarse grid, to keep new objects apart from them."""

    def __init__(self, cell: float) -> None:
        self.cell = cell
        self.cells: dict[tuple[int, int], list[BaseGeometry]] = {}

    def _keys(self, bounds: tuple[float, float, float, float]) -> list[tuple[int, int]]:
        x0, y0, x1, y1 = (math.floor(v / self.cell) for v in bounds)
        return [(i, j) for i in range(x0, x1 + 1) for j in range(y0, y1 + 1)]

    def free(self, geom: BaseGeometry, gap: float) -> bool:
        """Whether ``geom`` is farther than ``gap`` from every footprint placed so far."""
        x0, y0, x1, y1 = geom.bounds
        for key in self._keys((x0 - gap, y0 - gap, x1 + gap, y1 + gap)):
            for other in self.cells.get(key, ()):
                if other.distance(geom) <= gap:
                    return False
        return True

    def add(self, geom: BaseGeometry) -> None:
        """Register a footprint."""
        for key in self._keys(geom.bounds):
            self.cells.setdefault(key, []).append(geom)


def rasterise_patch(grid: Grid, geom: BaseGeometry) -> tuple[int, int, npt.NDArray[np.bool_]]:
    """Pixels touched by ``geom``: (row0, col0, boolean patch) cropped to them; empty if none."""
    x0, y0, x1, y1 = geom.bounds
    c0, r0 = grid.to_pixel(x0, y1)
    c1, r1 = grid.to_pixel(x1, y0)
    col0, row0 = max(math.floor(c0) - 1, 0), max(math.floor(r0) - 1, 0)
    col1, row1 = min(math.ceil(c1) + 1, grid.size), min(math.ceil(r1) + 1, grid.size)
    if col1 <= col0 or row1 <= row0:
        return 0, 0, np.zeros((0, 0), bool)
    transform = grid.window_transform(Window(col0, row0, col1 - col0, row1 - row0))
    pix = rasterize(
        [(geom, 1)], out_shape=(row1 - row0, col1 - col0), transform=transform,
        all_touched=True, dtype="uint8",
    ).astype(bool)  # fmt: skip
    rows = np.flatnonzero(pix.any(axis=1))
    cols = np.flatnonzero(pix.any(axis=0))
    if rows.size == 0:
        return 0, 0, np.zeros((0, 0), bool)
    patch = pix[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]
    return row0 + int(rows[0]), col0 + int(cols[0]), patch


COVERAGE_SUBPIXELS = 4
"""Sub-pixels per side that a hull's pixel coverage is counted on."""


def coverage_patch(grid: Grid, obj: SceneObject) -> npt.NDArray[np.float32]:
    """Share of each pixel of ``obj.patch`` covered by its footprint (4 x 4 sub-pixels each)."""
    k = COVERAGE_SUBPIXELS
    h, w = obj.patch.shape
    transform = grid.transform @ Affine.translation(obj.col0, obj.row0) @ Affine.scale(1.0 / k)
    fine = rasterize([(obj.footprint, 1)], out_shape=(h * k, w * k), transform=transform)
    share = fine.reshape(h, k, w, k).mean(axis=(1, 3), dtype=np.float32)
    return np.where(obj.patch, share, np.float32(0.0)).astype(np.float32)


def _ship_type(length: float, rng: np.random.Generator) -> str:
    if length < 35:
        return str(rng.choice(["fishing", "tug", "pleasure"]))
    if length < 120:
        return str(rng.choice(["general_cargo", "passenger", "fishing", "dredger"]))
    if length < 250:
        return str(rng.choice(["bulk_carrier", "container", "tanker", "general_cargo"]))
    return str(rng.choice(["container", "tanker", "bulk_carrier"]))


def _wakes(
    obj: SceneObject, rng: np.random.Generator, model: Backscatter
) -> list[tuple[BaseGeometry, int]]:
    """Turbulent wake (a widening strip behind the stern) and the two Kelvin arms."""
    w = model.wake
    c = obj.footprint.centroid
    dx, dy = shapes.direction(obj.heading_deg)
    sx, sy = c.x - dx * obj.length_m / 2, c.y - dy * obj.length_m / 2
    length = obj.length_m * rng.uniform(*w.length_ship_lengths)
    half = obj.width_m / 2
    px, py = dy, -dx
    ex, ey = sx - dx * length, sy - dy * length
    turbulent = Polygon(
        [(sx + px * half, sy + py * half), (ex + px * 2 * half, ey + py * 2 * half),
         (ex - px * 2 * half, ey - py * 2 * half), (sx - px * half, sy - py * half)]
    )  # fmt: skip
    out: list[tuple[BaseGeometry, int]] = [(turbulent, WAKE_TURBULENT)]
    for sign in (-1.0, 1.0):
        h = obj.heading_deg + 180.0 + sign * w.kelvin_half_angle_deg
        kx, ky = shapes.direction(h)
        arm = LineString([(sx, sy), (sx + kx * length, sy + ky * length)])
        out.append((arm.buffer(w.kelvin_width_m / 2, cap_style="flat"), WAKE_KELVIN))
    return out


@dataclass
class _Placer:
    """Shared state while placing objects: grid, sea, occupancy and the objects so far."""

    grid: Grid
    layout: Layout
    rng: np.random.Generator
    model: Backscatter
    inner: Polygon
    occupancy: Occupancy
    wakes: Occupancy
    built: shapely.STRtree
    objects: list[SceneObject] = field(default_factory=list)

    @property
    def gap(self) -> float:
        return 1.5 * self.grid.spacing

    def try_add(
        self, obj: SceneObject, within: BaseGeometry, margin: float = 0.0, avoid_built: bool = False
    ) -> bool:
        """Add ``obj`` if it lies in ``within`` (by ``margin``), in the scene and apart from others;
        ``avoid_built`` also keeps it off every layout layer and road."""
        fp = obj.footprint
        if not self.inner.contains(fp):
            return False
        if not within.contains(fp.buffer(margin) if margin else fp):
            return False
        if avoid_built and self.built.query(fp, predicate="intersects").size:
            return False
        if not self.occupancy.free(fp, self.gap):
            return False
        if obj.cls == "oil_slick" and not self.wakes.free(fp, self.gap):
            return False
        self.occupancy.add(fp)
        for geom, _ in obj.wakes:
            self.wakes.add(geom)
        self.objects.append(obj)
        return True

    def ship(self, cx: float, cy: float, length: float, heading: float, status: str) -> SceneObject:
        width = max(length / self.rng.uniform(5.5, 7.5), 4.0)
        speed = self.rng.uniform(3.0, 22.0) if status == "under_way" else 0.0
        obj = SceneObject(
            "ship", shapes.ship_hull(cx, cy, length, width, heading), length, width, heading,
            {"ship_type": _ship_type(length, self.rng), "status": status,
             "moored": status == "moored", "under_way": status == "under_way",
             "speed_kn": round(speed, 1), "wake": False},
        )  # fmt: skip
        obj.brightness_db = ship_brightness_db(self.model.ship, self.rng)
        obj.scatterers = ship_scatterers(
            self.model.ship, length, width, obj.brightness_db, self.rng
        )
        obj.point_target = True
        if status == "under_way" and self.rng.uniform() < self.model.wake.probability:
            obj.wakes = _wakes(obj, self.rng, self.model)
            obj.attributes["wake"] = True
        return obj


def _log_uniform(rng: np.random.Generator, low: float, high: float) -> float:
    """A draw uniform in log between ``low`` and ``high``."""
    return float(np.exp(rng.uniform(math.log(low), math.log(high))))


def _free_ships(p: _Placer, open_sea: BaseGeometry) -> None:
    """Ships under way or anchored: a scene's traffic (per km2) drawn log-uniform from the table."""
    area = open_sea.area / 1e6
    sizes = p.layout.sizes
    for _ in range(_count(_log_uniform(p.rng, *sizes.traffic_per_km2), area, p.rng)):
        lognormal = p.rng.lognormal(
            math.log(sizes.ship_length_median_m), sizes.ship_length_log_sigma
        )
        length = float(np.clip(lognormal, *sizes.ship_length_m))
        status = "under_way" if p.rng.uniform() < sizes.under_way_share else "anchored"
        for _try in range(8):
            x0, y0, x1, y1 = open_sea.bounds
            cx, cy = p.rng.uniform(x0, x1), p.rng.uniform(y0, y1)
            obj = p.ship(cx, cy, length, p.rng.uniform(0.0, 360.0), status)
            if p.try_add(obj, open_sea, margin=2 * p.grid.spacing):
                break


def _aircraft(p: _Placer) -> None:
    for a in p.layout.airports:
        dx, dy = shapes.direction(a.heading_deg)
        c = a.apron.centroid
        slot = p.rng.uniform(55.0, 90.0)
        n = int(a.apron_length // slot)
        fill = p.rng.uniform(0.3, 0.9)
        for i in range(n):
            if p.rng.uniform() > fill:
                continue
            o = -a.apron_length / 2 + (i + 0.5) * slot
            length = p.rng.uniform(25.0, max(min(70.0, slot - 3 * p.grid.spacing), 25.0))
            fp = shapes.aircraft(c.x + dx * o, c.y + dy * o, length, a.apron_to_taxiway_deg)
            obj = SceneObject("aircraft", fp, length, 0.95 * length, a.apron_to_taxiway_deg,
                              {"parked": True})  # fmt: skip
            p.try_add(obj, a.apron)
        if p.rng.uniform() < 0.4:
            rc = a.runway.centroid
            o = p.rng.uniform(-0.3, 0.3) * a.apron_length
            length = p.rng.uniform(30.0, 70.0)
            heading = a.heading_deg + p.rng.choice([0.0, 180.0])
            fp = shapes.aircraft(rc.x + dx * o, rc.y + dy * o, length, heading)
            obj = SceneObject("aircraft", fp, length, 0.95 * length, heading, {"parked": False})
            p.try_add(obj, a.zone)


def _tank_farm(
    p: _Placer, cx: float, cy: float, angle: float, within: BaseGeometry, avoid_built: bool = False
) -> None:
    d = p.rng.uniform(20.0, 60.0)
    rows, cols = int(p.rng.integers(1, 4)), int(p.rng.integers(2, 6))
    step = d * p.rng.uniform(1.4, 1.8) + p.gap
    dx, dy = shapes.direction(angle)
    for i in range(rows):
        for j in range(cols):
            u, v = (j - (cols - 1) / 2) * step, (i - (rows - 1) / 2) * step
            x, y = cx + dx * u + dy * v, cy + dy * u - dx * v
            obj = SceneObject("storage_tank", shapes.disc(x, y, d / 2), d, d, 0.0,
                              {"diameter_m": round(d, 1)})  # fmt: skip
            p.try_add(obj, within, avoid_built=avoid_built)


def _tanks(p: _Placer) -> None:
    for h in p.layout.harbours:
        if p.rng.uniform() < 0.75:
            c = h.zone.centroid
            depth = math.sqrt(h.zone.area) / 3
            angle = math.degrees(math.atan2(-h.seaward[1], h.seaward[0]))
            _tank_farm(p, c.x - h.seaward[0] * depth, c.y - h.seaward[1] * depth, angle, h.zone)
    land = p.layout.land
    for _ in range(_count(1 / 150.0, land.area / 1e6, p.rng)):
        x0, y0, x1, y1 = p.grid.bounds
        cx, cy = p.rng.uniform(x0, x1), p.rng.uniform(y0, y1)
        if land.contains(Point(cx, cy)):
            _tank_farm(p, cx, cy, p.rng.uniform(0.0, 90.0), land, avoid_built=True)


def _offshore(p: _Placer, open_sea: BaseGeometry) -> None:
    """Oil and gas platforms (1.5 km or more offshore) or a wind farm on a grid."""
    mode = p.rng.choice(["none", "platforms", "wind_farm"], p=[0.4, 0.3, 0.3])
    x0, y0, x1, y1 = open_sea.bounds
    if mode == "platforms":
        for _ in range(max(_count(1 / 200.0, open_sea.area / 1e6, p.rng), 1)):
            side = p.rng.uniform(40.0, 100.0)
            heading = p.rng.uniform(0.0, 90.0)
            for _try in range(8):
                cx, cy = p.rng.uniform(x0, x1), p.rng.uniform(y0, y1)
                fp = shapes.oriented_rect(cx, cy, side, side, heading)
                obj = SceneObject("offshore_platform", fp, side, side, heading, {"kind": "oil_gas"})
                obj.point_target = "offshore_platform" in p.model.point_targets
                if p.try_add(obj, open_sea, margin=1500.0):
                    break
    elif mode == "wind_farm":
        spacing = p.rng.uniform(500.0, 900.0)
        rows, cols = int(p.rng.integers(2, 6)), int(p.rng.integers(2, 7))
        angle = p.rng.uniform(0.0, 90.0)
        cx, cy = p.rng.uniform(x0, x1), p.rng.uniform(y0, y1)
        dx, dy = shapes.direction(angle)
        radius = p.rng.uniform(5.0, 9.0)
        for i in range(rows):
            for j in range(cols):
                u, v = (j - (cols - 1) / 2) * spacing, (i - (rows - 1) / 2) * spacing
                fp = shapes.disc(cx + dx * u + dy * v, cy + dy * u - dx * v, radius, 16)
                obj = SceneObject("wind_turbine", fp, 2 * radius, 2 * radius, 0.0,
                                  {"farm_rows": rows, "farm_cols": cols})  # fmt: skip
                obj.point_target = "wind_turbine" in p.model.point_targets
                p.try_add(obj, open_sea, margin=300.0)


def _slicks(p: _Placer, open_sea: BaseGeometry) -> None:
    ships = [o for o in p.objects if o.attributes.get("under_way")]
    for _ in range(_count(1 / 250.0, open_sea.area / 1e6, p.rng)):
        r = p.rng.uniform(100.0, 500.0)
        elong = p.rng.uniform(2.0, 6.0)
        heading = p.rng.uniform(0.0, 360.0)
        source = "natural"
        x0, y0, x1, y1 = open_sea.bounds
        cx, cy = p.rng.uniform(x0, x1), p.rng.uniform(y0, y1)
        if ships and p.rng.uniform() < 0.4:
            ship = ships[int(p.rng.integers(len(ships)))]
            c = ship.footprint.centroid
            dx, dy = shapes.direction(ship.heading_deg)
            back = ship.length_m * 14 + r * elong
            cx, cy, heading, source = c.x - dx * back, c.y - dy * back, ship.heading_deg, "ship"
        fp = shapes.blob(cx, cy, r, p.rng, 0.3, elong, heading)
        obj = SceneObject("oil_slick", fp, 2 * r * elong, 2 * r, heading % 180.0,
                          {"source": source, "area_km2": round(fp.area / 1e6, 3)})  # fmt: skip
        p.try_add(obj, open_sea, margin=2 * p.grid.spacing)


def place_objects(
    layout: Layout, rng: np.random.Generator, model: Backscatter
) -> list[SceneObject]:
    """Place every object of a scene and rasterise their pixel patches; ids run from 1."""
    grid = layout.grid
    inner = box(*grid.bounds).buffer(-grid.spacing, join_style="mitre")
    built = shapely.STRtree([g for _, g in layout.layers] + [layout.roads])
    occupancy, wakes = Occupancy(1000.0), Occupancy(1000.0)
    p = _Placer(grid, layout, rng, model, inner, occupancy, wakes, built)
    open_sea = layout.open_sea
    shapely.prepare(open_sea)
    shapely.prepare(layout.land)
    moored_ships(p)
    _aircraft(p)
    _tanks(p)
    if not open_sea.is_empty:
        _offshore(p, open_sea)
        _free_ships(p, open_sea)
        _slicks(p, open_sea)
    kept: list[SceneObject] = []
    for obj in p.objects:
        obj.row0, obj.col0, obj.patch = rasterise_patch(grid, obj.footprint)
        if obj.patch.size == 0:
            continue
        obj.id = len(kept) + 1
        obj.peaks = _peaks(obj, grid, model)
        if obj.cls == "ship":
            obj.coverage = coverage_patch(grid, obj)
        kept.append(obj)
    return kept


def _peaks(obj: SceneObject, grid: Grid, model: Backscatter) -> list[tuple[int, int, float, float]]:
    """The object's point scatterers at their nearest pixels of the object, with peak sigma0 (dB).

    A ship's come from its scatterers (cross-sections over the resolution cell); a platform's or a
    turbine's from the table's ``point_target`` sigma0 at its centre.
    """
    if obj.scatterers:
        res = model.resolution_m
        points = [
            (s.along_m, s.across_m, peak_sigma0_db(s.rcs_dbsm[0], res),
             peak_sigma0_db(s.rcs_dbsm[1], res))
            for s in obj.scatterers
        ]  # fmt: skip
    elif obj.point_target and obj.cls in model.point_targets:
        vv, vh = model.point_targets[obj.cls].db
        points = [(0.0, 0.0, vv, vh)]
    else:
        return []
    c = obj.footprint.centroid
    dx, dy = shapes.direction(obj.heading_deg)
    rr, cc = np.nonzero(obj.patch)
    out = []
    for along, across, vv, vh in points:
        x, y = c.x + dx * along + dy * across, c.y + dy * along - dx * across
        col, row = grid.to_pixel(x, y)
        k = int(np.argmin((rr + obj.row0 + 0.5 - row) ** 2 + (cc + obj.col0 + 0.5 - col) ** 2))
        out.append((int(rr[k]) + obj.row0, int(cc[k]) + obj.col0, vv, vh))
    return out
