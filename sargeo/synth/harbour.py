"""Ships moored in harbours: crowded berths along both sides of each pier and along the quay front.

Berths are filled end to end: walking along a pier side (or the quay between piers) from its root,
each slot takes a ship with probability ``berth_fill`` (lengths from ``layout.json``, capped by the
room left) followed by a gap; so a harbour holds rows of ships a few metres apart, the inshore case
where ships are hardest to tell from the quays around them.
"""

from __future__ import annotations

import itertools
import math
from typing import Any, Protocol

import numpy as np
from shapely.geometry.base import BaseGeometry

from sargeo.synth import shapes
from sargeo.synth.layout import Harbour, Layout
from sargeo.synth.tables import LayoutTable


class ShipPlacer(Protocol):
    """What berths need of the object placer (`sargeo.synth.objects`)."""

    layout: Layout
    rng: np.random.Generator

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
