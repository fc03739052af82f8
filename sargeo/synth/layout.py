"""The layout of a scene as vector geometry, drawn from its seed: coastline and sea, islands, rivers,
lakes, urban areas, harbours with piers, airports with runways, and roads.

Everything here is scene-level and small (polygons and lines, not pixels); `landcover` rasterises it
block by block. Farmland parcels, forest, bare soil and the urban street grid are implicit fields whose
parameters (`Fields`) are drawn here too.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import numpy as np
import shapely
from scipy.sparse.csgraph import minimum_spanning_tree
from scipy.special import ndtri
from shapely.geometry import LineString, Point, Polygon, box
from shapely.geometry.base import BaseGeometry
from shapely.ops import nearest_points

from sargeo.synth import shapes
from sargeo.synth.grid import Grid
from sargeo.synth.harbour import Harbour, make_harbour
from sargeo.synth.tables import Backscatter, ClassTable, LayoutTable, load_layout_table

EMPTY = Polygon()


@dataclass(frozen=True)
class Acquisition:
    """Radar geometry and time of a scene (Sentinel-1 IW-like, right-looking)."""

    pass_direction: str
    look_sign: int
    incidence_near: float
    incidence_far: float
    start_time: datetime

    def incidence(self, cols: np.ndarray, size: int) -> np.ndarray:
        """Incidence angle (deg) at pixel columns: it grows from near to far range across the image.

        Ascending passes look east (near range on the left), descending passes look west.
        """
        frac = (cols.astype(np.float64) + 0.5) / size
        if self.look_sign < 0:
            frac = 1.0 - frac
        return self.incidence_near + (self.incidence_far - self.incidence_near) * frac


@dataclass(frozen=True)
class Fields:
    """Parameters of the implicit (noise and grid) parts of the land cover, in pixels."""

    zone_cell_px: float
    forest_threshold: float
    bare_threshold: float
    parcel_angle_deg: float
    parcel_size_px: tuple[float, float]
    urban_angle_deg: float
    urban_block_px: float
    urban_street_px: float
    swell_heading_deg: float
    swell_wavelength_px: float
    swell_phase: float


@dataclass
class Airport:
    """An airport: its grass zone, runway, taxiway and apron, and the runway heading."""

    zone: Polygon
    runway: Polygon
    taxiway: Polygon
    apron: Polygon
    heading_deg: float
    apron_to_taxiway_deg: float
    apron_length: float


@dataclass
class Layout:
    """A scene's vector layout and implicit-field parameters."""

    grid: Grid
    acquisition: Acquisition
    fields: Fields
    field_seed: int
    sizes: LayoutTable = field(default_factory=load_layout_table)
    layers: list[tuple[int, BaseGeometry]] = field(default_factory=list)
    roads: BaseGeometry = EMPTY
    sea: BaseGeometry = EMPTY
    land: BaseGeometry = EMPTY
    open_sea: BaseGeometry = EMPTY
    harbours: list[Harbour] = field(default_factory=list)
    airports: list[Airport] = field(default_factory=list)
    urban: list[Polygon] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)


def stratified_count(rate: float, amount: float, rng: np.random.Generator) -> int:
    """Stratified count: floor(rate * amount + U), so the expectation is exact and small scenes vary."""
    return math.floor(rate * amount + rng.uniform())


def capped_uniform(rng: np.random.Generator, low: float, high: float, cap: float) -> float:
    """Uniform in [low, high] with both ends capped at ``cap``, so a small scene draws small features.

    Where ``cap >= high`` it is ``rng.uniform(low, high)`` (one draw, the same value).
    """
    return float(rng.uniform(min(low, cap), min(high, cap)))


UTM_EASTING_M = (200_000.0, 800_000.0)
"""Eastings a scene lies between: the width of a UTM zone at mid latitudes."""
UTM_NORTHING_M = (3_900_000.0, 6_600_000.0)
"""Northings a scene lies between (35-59 deg N)."""
MAX_EXTENT_M = UTM_EASTING_M[1] - UTM_EASTING_M[0]
"""Largest scene side (m): one UTM zone wide."""


def make_grid(rng: np.random.Generator, size: int, spacing: float) -> Grid:
    """A grid in a northern UTM zone (29N-37N: Europe and the Mediterranean), snapped to the spacing."""
    zone = int(rng.integers(29, 38))
    extent = size * spacing
    (e0, e1), (n0, n1) = UTM_EASTING_M, UTM_NORTHING_M
    west = rng.uniform(e0, max(e0, e1 - extent))
    north = rng.uniform(min(n0 + extent, n1), n1)
    return Grid(
        size=size,
        spacing=spacing,
        x0=float(round(west / spacing) * spacing),
        y0=float(round(north / spacing) * spacing),
        epsg=32600 + zone,
    )


def make_acquisition(rng: np.random.Generator, grid: Grid, table: Backscatter) -> Acquisition:
    """Pass, incidence span across the scene (a part of the 250 km IW swath) and a plausible time."""
    lo, hi = table.incidence_range_deg
    span = min((hi - lo) * grid.extent_m / (table.swath_km * 1000.0), hi - lo)
    near = rng.uniform(lo, hi - span)
    ascending = bool(rng.uniform() < 0.5)
    day = datetime(2019, 1, 1, tzinfo=UTC) + timedelta(days=int(rng.integers(0, 5 * 365)))
    hour = 17.5 if ascending else 5.8
    start = day + timedelta(hours=hour + rng.uniform(-0.4, 0.4))
    return Acquisition(
        pass_direction="ascending" if ascending else "descending",
        look_sign=1 if ascending else -1,
        incidence_near=float(near),
        incidence_far=float(near + span),
        start_time=start.replace(microsecond=0),
    )


def make_fields(rng: np.random.Generator, grid: Grid, table: Backscatter) -> Fields:
    """Implicit land-cover parameters: zone thresholds from target shares, parcel and street grids."""
    s = grid.spacing
    forest_share = rng.uniform(0.12, 0.4)
    bare_share = rng.uniform(0.04, 0.15)
    lo, hi = table.swell_wavelength_m
    return Fields(
        zone_cell_px=rng.uniform(2500.0, 6000.0) / s,
        forest_threshold=float(ndtri(1.0 - forest_share)),
        bare_threshold=float(ndtri(1.0 - bare_share)),
        parcel_angle_deg=rng.uniform(0.0, 90.0),
        parcel_size_px=(rng.uniform(150.0, 500.0) / s, rng.uniform(100.0, 350.0) / s),
        urban_angle_deg=rng.choice([0.0, rng.uniform(0.0, 90.0)]),
        urban_block_px=max(rng.uniform(70.0, 140.0) / s, 4.0),
        urban_street_px=max(rng.uniform(12.0, 22.0) / s, 1.0),
        swell_heading_deg=rng.uniform(0.0, 360.0),
        swell_wavelength_px=max(rng.uniform(lo, hi) / s, 4.0),
        swell_phase=rng.uniform(0.0, 2 * math.pi),
    )


def _random_point(rng: np.random.Generator, grid: Grid, margin: float = 0.0) -> Point:
    x0, y0, x1, y1 = grid.bounds
    m = margin * grid.extent_m
    return Point(rng.uniform(x0 + m, x1 - m), rng.uniform(y0 + m, y1 - m))


def _point_in(
    rng: np.random.Generator, grid: Grid, region: BaseGeometry, margin: float = 0.0, tries: int = 40
) -> Point | None:
    """A random point of the scene that lies in ``region`` (None if none found)."""
    if region.is_empty:
        return None
    for _ in range(tries):
        p = _random_point(rng, grid, margin)
        if region.contains(p):
            return p
    return None


def _coast(
    rng: np.random.Generator, grid: Grid, sizes: LayoutTable
) -> tuple[BaseGeometry, tuple[float, float]]:
    """Sea polygon bounded by a fractal coastline, and the seaward unit normal."""
    e = grid.extent_m
    x0, y0, x1, y1 = grid.bounds
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    phi = rng.uniform(0.0, 2 * math.pi)
    nx, ny = math.cos(phi), math.sin(phi)
    tx, ty = -ny, nx
    d = rng.uniform(*sizes.coast_offset_share) * max(e, sizes.coast_reference_extent_m)
    step = max(2.0 * grid.spacing, e / 6000.0)
    half = 0.8 * e
    n = int(2 * half / step) + 1
    s = np.linspace(-half, half, n)
    off = shapes.wavy_offsets(n, step, min(0.05 * e, 3000.0), rng)
    px = cx + nx * d + tx * s + nx * off
    py = cy + ny * d + ty * s + ny * off
    far = 3.0 * e
    ring = np.column_stack(
        [
            np.concatenate([px, [px[-1] + nx * far, px[0] + nx * far]]),
            np.concatenate([py, [py[-1] + ny * far, py[0] + ny * far]]),
        ]
    )
    pad = 0.05 * e
    sea = shapely.clip_by_rect(
        shapely.make_valid(Polygon(ring)), x0 - pad, y0 - pad, x1 + pad, y1 + pad
    )
    return sea, (nx, ny)


def _edge_point(
    rng: np.random.Generator, grid: Grid, land: BaseGeometry, away: BaseGeometry
) -> Point | None:
    """A point on the scene boundary, on land, as far from ``away`` as a few samples allow."""
    ring = box(*grid.bounds).exterior
    best: tuple[float, Point] | None = None
    for _ in range(24):
        p = ring.interpolate(rng.uniform(0.0, ring.length))
        if not land.covers(p):
            continue
        dist = p.distance(away) if not away.is_empty else rng.uniform()
        if best is None or dist > best[0]:
            best = (dist, p)
    return None if best is None else best[1]


def _rivers(
    rng: np.random.Generator,
    grid: Grid,
    land: BaseGeometry,
    sea: BaseGeometry,
    coast: BaseGeometry,
) -> list[BaseGeometry]:
    out: list[BaseGeometry] = []
    for _ in range(stratified_count(1 / 12.0, grid.extent_m / 1000.0, rng)):
        start = _edge_point(rng, grid, land, sea)
        if start is None:
            continue
        if coast.is_empty:
            end = _edge_point(rng, grid, land, start)
        else:
            near = coast.project(nearest_points(coast, start)[0])
            end = coast.interpolate(near + rng.uniform(-0.2, 0.2) * grid.extent_m)
            dx, dy = end.x - start.x, end.y - start.y
            end = Point(end.x + 0.02 * dx, end.y + 0.02 * dy)  # run into the sea
        if end is None or start.distance(end) < 10 * grid.spacing:
            continue
        line = shapes.meander(
            (start.x, start.y), (end.x, end.y), max(2 * grid.spacing, 25.0),
            0.07 * start.distance(end), rng,
        )  # fmt: skip
        width = rng.uniform(25.0, 60.0) + min(start.distance(end) / 200.0, 140.0) * rng.uniform()
        river = line.buffer(width / 2, cap_style="flat").difference(sea)
        if not river.is_empty:
            out.append(river)
    return out


def _airport(
    rng: np.random.Generator,
    grid: Grid,
    dry: BaseGeometry,
    taken: BaseGeometry,
    others: list[Airport],
) -> Airport | None:
    """An airport on dry land, at least 150 m from water, towns, harbours and other airports."""
    length = rng.uniform(1800.0, 3200.0)
    if length + 800.0 > 0.8 * grid.extent_m:
        return None
    heading = rng.uniform(0.0, 180.0)
    zone_width = rng.uniform(550.0, 800.0)
    inner = box(*grid.bounds).buffer(-grid.spacing)
    for _ in range(30):
        c = _point_in(rng, grid, dry, margin=0.05)
        if c is None:
            return None
        zone = shapes.oriented_rect(c.x, c.y, length + 600.0, zone_width, heading)
        around = zone.buffer(150.0)
        if not inner.contains(zone) or around.intersects(taken):
            continue
        if any(around.intersects(o.zone) for o in others):
            continue
        dx, dy = shapes.direction(heading)
        sx, sy = dy, -dx  # starboard of the runway heading
        side = 1.0 if rng.uniform() < 0.5 else -1.0
        runway = shapes.oriented_rect(c.x, c.y, length, rng.uniform(45.0, 60.0), heading)
        t_off = side * rng.uniform(150.0, 200.0)
        taxiway = shapes.oriented_rect(
            c.x + sx * t_off, c.y + sy * t_off, 0.9 * length, 23.0, heading
        )
        apron_depth = rng.uniform(120.0, 180.0)
        apron_len = rng.uniform(300.0, min(700.0, 0.6 * length))
        a_off = t_off + side * (11.5 + apron_depth / 2)
        along = rng.uniform(-0.25, 0.25) * length
        apron = shapes.oriented_rect(
            c.x + sx * a_off + dx * along,
            c.y + sy * a_off + dy * along,
            apron_len,
            apron_depth,
            heading,
        )
        to_taxiway = shapes.heading(-side * sx, -side * sy)
        return Airport(zone, runway, taxiway, apron, heading, to_taxiway, apron_len)
    return None


def _roads(
    rng: np.random.Generator, grid: Grid, pois: list[Point], land: BaseGeometry, sea: BaseGeometry
) -> list[LineString]:
    """Roads joining the points of interest (a minimum spanning tree) plus long through-roads."""
    lines: list[LineString] = []
    for _ in range(stratified_count(1 / 25.0, grid.extent_m / 1000.0, rng)):
        a = _edge_point(rng, grid, land, EMPTY)
        b = _edge_point(rng, grid, land, a) if a is not None else None
        if a is not None and b is not None:
            pois = [*pois, a, b]
    if len(pois) < 2:
        return lines
    xy = np.array([(p.x, p.y) for p in pois])
    dist = np.hypot(xy[:, None, 0] - xy[None, :, 0], xy[:, None, 1] - xy[None, :, 1])
    tree = minimum_spanning_tree(dist).tocoo()
    for i, j in zip(tree.row.tolist(), tree.col.tolist(), strict=True):
        a, b = pois[i], pois[j]
        if a.distance(b) > 2 * grid.spacing:
            lines.append(shapes.meander((a.x, a.y), (b.x, b.y), 50.0, 0.03 * a.distance(b), rng))
    return lines


def make_layout(
    rng: np.random.Generator,
    grid: Grid,
    table: Backscatter,
    classes: ClassTable,
    sizes: LayoutTable | None = None,
) -> Layout:
    """Draw a scene's layout (geometry and field parameters) from ``rng``; ``sizes`` defaults to
    ``layout.json``."""
    sizes = sizes or load_layout_table()
    acq = make_acquisition(rng, grid, table)
    fields = make_fields(rng, grid, table)
    lay = Layout(grid, acq, fields, field_seed=int(rng.integers(0, 2**31 - 1)), sizes=sizes)
    area_km2 = (grid.extent_m / 1000.0) ** 2
    scene = box(*grid.bounds)
    v = classes.value

    sea: BaseGeometry = EMPTY
    seaward = (1.0, 0.0)
    if rng.uniform() < 0.85:
        sea, seaward = _coast(rng, grid, sizes)
        shapely.prepare(sea)
        for _ in range(stratified_count(1 / 1500.0, sea.area / 1e6, rng)):
            p = _point_in(rng, grid, sea)
            if p is not None and sea.boundary.distance(p) > 1000.0:
                r = capped_uniform(rng, 150.0, 1500.0, 0.1 * grid.extent_m)
                sea = sea.difference(shapes.blob(p.x, p.y, r, rng, 0.35))
    land = scene.difference(sea)
    coast = sea.boundary.intersection(scene.buffer(-grid.spacing)) if not sea.is_empty else EMPTY
    rivers = _rivers(rng, grid, land, sea, coast)
    water = shapely.union_all([sea, *rivers])
    lakes: list[Polygon] = []
    for _ in range(stratified_count(1 / 150.0, area_km2, rng) + int(sea.is_empty)):
        p = _point_in(rng, grid, land)
        if p is None:
            continue
        r = capped_uniform(rng, 150.0, 1200.0, grid.extent_m / 8)
        lake = shapes.blob(p.x, p.y, r, rng, 0.4)
        if lake.buffer(200.0).disjoint(sea) and all(lake.disjoint(o) for o in lakes):
            lakes.append(lake)
    water = shapely.union_all([water, *lakes])
    dry = land.difference(water)
    shapely.prepare(dry)

    harbours: list[Harbour] = []
    if not sea.is_empty:
        for _ in range(stratified_count(1 / 15.0, coast.length / 1000.0, rng)):
            h = make_harbour(rng, grid, sea, coast, seaward, sizes)
            if h is not None and all(h.zone.disjoint(o.zone.buffer(300.0)) for o in harbours):
                harbours.append(h)
    urban: list[Polygon] = []
    for h in harbours:
        c = h.zone.centroid
        r = rng.uniform(600.0, 1500.0)
        urban.append(shapes.blob(c.x - h.seaward[0] * r, c.y - h.seaward[1] * r, r, rng, 0.3))
    for _ in range(stratified_count(1 / 60.0, dry.area / 1e6, rng)):
        p = _point_in(rng, grid, dry)
        if p is not None:
            r = capped_uniform(rng, 400.0, 2500.0, grid.extent_m / 5)
            urban.append(shapes.blob(p.x, p.y, r, rng, 0.3))
    taken = shapely.union_all([water, *urban, *(h.zone for h in harbours)])
    shapely.prepare(taken)
    airports: list[Airport] = []
    for _ in range(stratified_count(1 / 200.0, dry.area / 1e6, rng)):
        a = _airport(rng, grid, dry, taken, airports)
        if a is not None:
            airports.append(a)

    pois = [u.centroid for u in urban] + [h.zone.centroid for h in harbours]
    pois += [Point(a.zone.exterior.coords[0]) for a in airports]
    blocked = shapely.union_all([sea, *lakes, *(a.zone for a in airports)])
    road_lines = _roads(rng, grid, pois, land, sea)
    road_geoms = [ln.buffer(rng.uniform(5.0, 11.0), cap_style="flat") for ln in road_lines]
    roads = shapely.union_all(road_geoms).difference(blocked) if road_geoms else EMPTY

    layers: list[tuple[int, BaseGeometry]] = [(v("urban"), u) for u in urban]
    for a in airports:
        layers += [(v("airport"), a.zone), (v("runway"), a.runway), (v("runway"), a.taxiway)]
        layers.append((v("apron"), a.apron))
    layers += [(v("lake"), lake) for lake in lakes] + [(v("river"), r) for r in rivers]
    if not sea.is_empty:
        layers.append((v("sea"), sea))
    layers += [(v("harbour"), h.zone) for h in harbours]
    structures = [p for h in harbours for p in (*h.piers, *h.breakwaters)]
    layers += [(v("pier"), p) for p in structures]

    built = shapely.union_all([*(h.zone for h in harbours), *structures])
    lay.layers = layers
    lay.roads = roads
    lay.sea = sea
    lay.land = land
    lay.open_sea = sea.difference(built) if not sea.is_empty else EMPTY
    lay.harbours = harbours
    lay.airports = airports
    lay.urban = urban
    lay.counts = {
        "rivers": len(rivers),
        "lakes": len(lakes),
        "urban_areas": len(urban),
        "harbours": len(harbours),
        "piers": sum(len(h.piers) for h in harbours),
        "breakwaters": sum(len(h.breakwaters) for h in harbours),
        "airports": len(airports),
        "roads": len(road_lines),
    }
    return lay
