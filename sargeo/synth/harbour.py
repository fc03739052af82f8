"""Harbours: their layout (quay zone, piers, breakwater) and the ships moored in them, in crowded
berths along both sides of each pier and along the quay front.

Berths are filled end to end: walking along a pier side (or the quay between piers) from its root,
each slot takes a ship with probability ``berth_fill`` (lengths from ``layout.json``, capped by the
room left) followed by a gap; so a harbour holds rows of ships a few metres apart, the inshore case
where ships are hardest to tell from the quays around them.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np
from shapely.geometry import Point, Polygon, box
from shapely.geometry.base import BaseGeometry

from sargeo.synth import shapes
from sargeo.synth.grid import Grid
from sargeo.synth.tables import LayoutTable


class HarbourLayout(Protocol):
    """What berths need of the scene layout (`sargeo.synth.layout.Layout`): no import of it here,
    since the layout places harbours with this module."""

    @property
    def open_sea(self) -> BaseGeometry:
        """Sea away from the coast, where ships under way go."""
        ...

    @property
    def sizes(self) -> LayoutTable:
        """The layout table (berth spacing and fill, ship lengths)."""
        ...

    @property
    def harbours(self) -> list[Harbour]:
        """The scene's harbours."""
        ...


@dataclass
class Harbour:
    """A harbour: its quay zone on land, piers into the sea, and the seaward direction."""

    zone: Polygon
    piers: list[Polygon]
    seaward: tuple[float, float]
    pier_length: float
    pier_width: float
    quay: tuple[float, float, float]
    """The quay front: its centre (x, y) and length along the coast (m)."""
    breakwaters: list[Polygon] = field(default_factory=list)


def make_harbour(
    rng: np.random.Generator,
    grid: Grid,
    sea: BaseGeometry,
    coast: BaseGeometry,
    seaward: tuple[float, float],
    sizes: LayoutTable,
) -> Harbour | None:
    """A harbour at a random point of the coast: quay zone, 2-5 piers reaching the sea and, often, a
    breakwater beyond the pier heads; None where the coast inside the scene is too short."""
    coast = coast.intersection(box(*grid.bounds).buffer(-0.2 * grid.extent_m))
    if coast.is_empty or coast.length < 200.0:
        return None
    p = coast.interpolate(rng.uniform(0.0, coast.length))
    nx, ny = seaward
    tx, ty = -ny, nx
    depth = rng.uniform(250.0, 600.0)
    width = min(rng.uniform(500.0, 1400.0), 0.5 * grid.extent_m)
    quay = rng.uniform(20.0, 80.0)
    along = shapes.heading(tx, ty)
    qx, qy = p.x + nx * quay, p.y + ny * quay
    zone = shapes.oriented_rect(qx - nx * depth / 2, qy - ny * depth / 2, width, depth, along)
    piers: list[Polygon] = []
    k = int(rng.integers(2, 6))
    pier_length = rng.uniform(150.0, 450.0)
    pier_width = rng.uniform(15.0, 40.0)
    for i in range(k):
        o = -width / 2 + (i + 1) * width / (k + 1)
        cx = qx + tx * o + nx * pier_length / 2
        cy = qy + ty * o + ny * pier_length / 2
        pier = shapes.oriented_rect(cx, cy, pier_length, pier_width, shapes.heading(nx, ny))
        tip = Point(qx + tx * o + nx * pier_length, qy + ty * o + ny * pier_length)
        if sea.contains(tip):
            piers.append(pier)
    if not piers:
        return None
    harbour = Harbour(zone, piers, (nx, ny), pier_length, pier_width, (qx, qy, width))
    if rng.uniform() < sizes.breakwater_probability:
        out = pier_length + rng.uniform(*sizes.breakwater_offset_m)
        wall = shapes.oriented_rect(
            qx + nx * out, qy + ny * out, 0.8 * width, rng.uniform(*sizes.breakwater_width_m), along
        )
        if sea.contains(wall):
            harbour.breakwaters.append(wall)
    return harbour


class ShipPlacer(Protocol):
    """What berths need of the object placer (`sargeo.synth.objects`)."""

    rng: np.random.Generator

    @property
    def layout(self) -> HarbourLayout:
        """The scene layout."""
        ...

    @property
    def gap(self) -> float:
        """Smallest distance (m) between two objects."""
        ...

    def ship(self, cx: float, cy: float, length: float, heading: float, status: str) -> Any:
        """A ship object (with ``width_m`` and ``footprint``)."""
        ...

    def try_add(self, obj: Any, within: BaseGeometry) -> bool:
        """Add ``obj`` if it fits inside ``within`` and apart from the others."""
        ...


def _berth_row(
    p: ShipPlacer,
    start: tuple[float, float],
    along: tuple[float, float],
    out: tuple[float, float],
    room: float,
    standoff: float,
    sizes: LayoutTable,
) -> None:
    """Moor ships end to end from ``start`` along ``along`` over ``room`` metres, their sides
    ``standoff`` metres out (direction ``out``) from the structure's face."""
    ax, ay = along
    ox, oy = out
    heading = math.degrees(math.atan2(ax, ay)) % 360.0
    lo, hi = sizes.moored_length_m
    s = float(p.rng.uniform(0.0, sizes.berth_gap_m[1]))
    while room - s > lo:
        length = float(p.rng.uniform(lo, min(hi, room - s)))
        if p.rng.uniform() < sizes.berth_fill:
            obj = p.ship(0.0, 0.0, length, heading + float(p.rng.choice([0.0, 180.0])), "moored")
            off = standoff + obj.width_m / 2 + p.gap
            cx = start[0] + ax * (s + length / 2) + ox * off
            cy = start[1] + ay * (s + length / 2) + oy * off
            obj.footprint = shapes.ship_hull(cx, cy, length, obj.width_m, obj.heading_deg)
            p.try_add(obj, p.layout.open_sea)
        s += length + float(p.rng.uniform(*sizes.berth_gap_m))


def _pier_berths(p: ShipPlacer, h: Harbour, sizes: LayoutTable) -> None:
    nx, ny = h.seaward
    for pier in h.piers:
        c = pier.centroid
        root = (c.x - nx * h.pier_length / 2, c.y - ny * h.pier_length / 2)
        for side in (-1.0, 1.0):
            out = (side * ny, -side * nx)
            _berth_row(p, root, (nx, ny), out, h.pier_length, h.pier_width / 2, sizes)


def _quay_berths(p: ShipPlacer, h: Harbour, sizes: LayoutTable) -> None:
    """Ships alongside the quay front, in the stretches between the piers."""
    nx, ny = h.seaward
    tx, ty = -ny, nx
    qx, qy, width = h.quay
    offsets = sorted(
        (pc.x - qx) * tx + (pc.y - qy) * ty for pc in (pier.centroid for pier in h.piers)
    )
    edges = [-width / 2, *offsets, width / 2]
    for a, b in itertools.pairwise(edges):
        lo = a + (h.pier_width / 2 if a > -width / 2 else 0.0)
        hi = b - (h.pier_width / 2 if b < width / 2 else 0.0)
        if hi - lo > sizes.moored_length_m[0]:
            start = (qx + tx * lo, qy + ty * lo)
            _berth_row(p, start, (tx, ty), (nx, ny), hi - lo, 0.0, sizes)


def moored_ships(p: ShipPlacer) -> None:
    """Fill the berths of every harbour of the layout."""
    sizes = p.layout.sizes
    for h in p.layout.harbours:
        _pier_berths(p, h, sizes)
        if sizes.quay_berths:
            _quay_berths(p, h, sizes)
