"""Geometric primitives of the synthetic world, in metres of the scene CRS (x east, y north).

Headings are degrees clockwise from north, so that on a north-up grid they equal the image angle
clockwise from up (the convention of `sargeo.records.Box.obox`).
"""

from __future__ import annotations

import math

import numpy as np
import shapely
from shapely.geometry import LineString, Polygon


def direction(heading_deg: float) -> tuple[float, float]:
    """Unit vector (dx, dy) of a heading."""
    h = math.radians(heading_deg)
    return math.sin(h), math.cos(h)


def heading(dx: float, dy: float) -> float:
    """Heading (deg clockwise from north) of a vector."""
    return math.degrees(math.atan2(dx, dy)) % 360.0


def _place(local: list[tuple[float, float]], cx: float, cy: float, heading_deg: float) -> Polygon:
    """Polygon from points in a local frame (a: along the heading, b: to starboard)."""
    dx, dy = direction(heading_deg)
    # starboard (right of the heading) is (dy, -dx)
    pts = [(cx + a * dx + b * dy, cy + a * dy - b * dx) for a, b in local]
    return Polygon(pts)


def oriented_rect(cx: float, cy: float, length: float, width: float, heading_deg: float) -> Polygon:
    """Rectangle of ``length`` along the heading and ``width`` across it, centred on (cx, cy)."""
    a, b = length / 2, width / 2
    return _place([(a, -b), (a, b), (-a, b), (-a, -b)], cx, cy, heading_deg)


def ship_hull(cx: float, cy: float, length: float, width: float, heading_deg: float) -> Polygon:
    """A hull: a rectangle with a pointed bow (the last 15 % of the length) at the heading side."""
    a, b = length / 2, width / 2
    bow = a - 0.15 * length
    return _place([(a, 0.0), (bow, b), (-a, b), (-a, -b), (bow, -b)], cx, cy, heading_deg)


def aircraft(cx: float, cy: float, length: float, heading_deg: float) -> Polygon:
    """An aircraft planform: fuselage, swept wings and a tailplane (span about the length)."""
    f = length / 2
    fw = max(length * 0.06, 2.0)
    span = length * 0.95
    chord = length * 0.16
    tail_span = length * 0.35
    parts = [
        [(f, 0.0), (f - fw, fw), (-f, fw), (-f, -fw), (f - fw, -fw)],
        [(0.08 * length, fw), (-0.12 * length, span / 2), (-0.12 * length - chord, span / 2),
         (-chord, fw), (-chord, -fw), (-0.12 * length - chord, -span / 2),
         (-0.12 * length, -span / 2), (0.08 * length, -fw)],
        [(-f + 0.12 * length, tail_span / 2), (-f, tail_span / 2), (-f, -tail_span / 2),
         (-f + 0.12 * length, -tail_span / 2)],
    ]  # fmt: skip
    return _union([_place(p, cx, cy, heading_deg) for p in parts])


def _union(polys: list[Polygon]) -> Polygon:
    merged = shapely.union_all(polys)
    if isinstance(merged, Polygon):
        return merged
    return Polygon(merged.convex_hull)


def disc(cx: float, cy: float, radius: float, n: int = 32) -> Polygon:
    """A regular n-gon approximating a circle."""
    t = np.linspace(0.0, 2 * np.pi, n, endpoint=False)
    return Polygon(np.column_stack([cx + radius * np.cos(t), cy + radius * np.sin(t)]))


def blob(
    cx: float,
    cy: float,
    radius: float,
    rng: np.random.Generator,
    roughness: float = 0.25,
    elongation: float = 1.0,
    heading_deg: float = 0.0,
    n: int = 96,
) -> Polygon:
    """An irregular closed shape: a polar radius with random low harmonics, optionally stretched."""
    t = np.linspace(0.0, 2 * np.pi, n, endpoint=False)
    r = np.ones(n)
    for k in range(2, 8):
        r += roughness / k * rng.normal() * np.cos(k * t + rng.uniform(0, 2 * np.pi))
    r = radius * np.clip(r, 0.35, None)
    a = r * np.cos(t) * elongation
    b = r * np.sin(t)
    dx, dy = direction(heading_deg)
    pts = np.column_stack([cx + a * dx + b * dy, cy + a * dy - b * dx])
    poly = Polygon(pts)
    return poly if poly.is_valid else Polygon(shapely.make_valid(poly).convex_hull)


def wavy_offsets(n: int, step: float, amplitude: float, rng: np.random.Generator) -> np.ndarray:
    """Offsets of a fractal curve: a sum of sinusoids with a 1/k spectrum, from the curve length down
    to a few steps."""
    t = np.arange(n) * step
    total = max(n * step, step)
    out = np.zeros(n)
    wavelengths = np.geomspace(total * 1.5, 4 * step, num=48)
    for wl in wavelengths:
        amp = amplitude * (wl / wavelengths[0]) ** 0.8 * rng.normal()
        out += amp * np.sin(2 * np.pi * t / wl + rng.uniform(0, 2 * np.pi))
    return out


def meander(
    start: tuple[float, float],
    end: tuple[float, float],
    step: float,
    wiggle: float,
    rng: np.random.Generator,
) -> LineString:
    """A meandering line from ``start`` to ``end``: the straight line plus fractal side offsets."""
    sx, sy = start
    ex, ey = end
    length = math.hypot(ex - sx, ey - sy)
    n = max(int(length / step) + 1, 3)
    t = np.linspace(0.0, 1.0, n)
    off = wavy_offsets(n, length / (n - 1), wiggle, rng)
    off *= np.sin(np.pi * t) ** 0.5  # pinned at both ends
    nx, ny = -(ey - sy) / max(length, 1e-9), (ex - sx) / max(length, 1e-9)
    return LineString(
        np.column_stack([sx + t * (ex - sx) + off * nx, sy + t * (ey - sy) + off * ny])
    )
