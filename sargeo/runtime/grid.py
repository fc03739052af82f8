"""The tile grid: pixel windows over a raster, and their transforms and bounds. Standard library only.

One implementation for the toolkit (tiling, segmentation samples, the synthetic world) and the QGIS
plugin, so both cut a raster into the same tiles with the same georeference.

An affine transform is a plain 6-tuple ``(a, b, c, d, e, f)`` in GDAL/`affine` order, mapping pixel
(col, row) to map (x, y) as ``x = a*col + b*row + c`` and ``y = d*col + e*row + f``; ``tuple(affine)[:6]``
and ``affine.Affine(*t)`` convert both ways. The arithmetic is the same as `affine`'s, so results agree
to the bit.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePath

Transform = tuple[float, float, float, float, float, float]
"""Affine transform (a, b, c, d, e, f) in GDAL/`affine` order."""

TransformLike = Iterable[float]
"""A `Transform`, or anything whose first six items are one (an `affine.Affine`)."""

Bounds = tuple[float, float, float, float]
"""(minx, miny, maxx, maxy)."""


@dataclass(frozen=True)
class Window:
    """A pixel window of a raster: column and row offsets, width and height."""

    col: int
    row: int
    width: int
    height: int


def grid_offsets(length: int, size: int, overlap: int) -> list[int]:
    """Tile offsets along one axis: a regular stride, plus a last tile flush with the far edge."""
    if length <= size:
        return [0]
    stride = size - overlap
    offsets = list(range(0, length - size + 1, stride))
    if offsets[-1] + size < length:
        offsets.append(length - size)
    return offsets


def tile_windows(width: int, height: int, size: int, overlap: int) -> list[list[Window]]:
    """Rows of windows covering a ``width`` x ``height`` grid, right and bottom edges included.

    Tiles all have the same size (clamped to the grid); the last row and column are flush with the
    far edges, so they overlap their neighbours more than ``overlap`` when the stride does not fit.
    """
    cols = grid_offsets(width, size, overlap)
    rows = grid_offsets(height, size, overlap)
    return [[Window(c, r, min(size, width), min(size, height)) for c in cols] for r in rows]


def blocks(width: int, height: int, block: int) -> list[Window]:
    """Windows of ``block`` px covering the grid once, row by row (edge blocks are smaller)."""
    return [
        Window(c, r, min(block, width - c), min(block, height - r))
        for r in range(0, height, block)
        for c in range(0, width, block)
    ]


def intersection(a: Window, b: Window) -> Window | None:
    """The pixels two windows (on one grid) share, or None when they do not overlap."""
    col, row = max(a.col, b.col), max(a.row, b.row)
    width = min(a.col + a.width, b.col + b.width) - col
    height = min(a.row + a.height, b.row + b.height) - row
    return Window(col, row, width, height) if width > 0 and height > 0 else None


def array_slices(window: Window, within: Window) -> tuple[slice, slice]:
    """(rows, cols) of ``window`` in the pixel array of ``within`` (both windows of one grid)."""
    row, col = window.row - within.row, window.col - within.col
    return slice(row, row + window.height), slice(col, col + window.width)


def pixel_to_xy(transform: TransformLike, col: float, row: float) -> tuple[float, float]:
    """Map coordinates of a pixel position (corner convention: (0, 0) is the top-left corner)."""
    a, b, c, d, e, f = tuple(transform)[:6]
    return col * a + row * b + c, col * d + row * e + f


def window_transform(transform: TransformLike, window: Window) -> Transform:
    """Transform of a window's own pixel grid (its origin moved to the window's top-left corner)."""
    a, b, _, d, e, _ = tuple(transform)[:6]
    x, y = pixel_to_xy(transform, window.col, window.row)
    return a, b, x, d, e, y


def window_bounds(transform: TransformLike, window: Window) -> Bounds:
    """Bounds of a window: the transform applied to its four corners (exact on rotated grids too)."""
    corners = [
        pixel_to_xy(transform, col, row)
        for col in (window.col, window.col + window.width)
        for row in (window.row, window.row + window.height)
    ]
    xs = [x for x, _ in corners]
    ys = [y for _, y in corners]
    return min(xs), min(ys), max(xs), max(ys)


def tile_id_prefixes(paths: Sequence[str | PurePath]) -> list[str]:
    """A distinct tile-id prefix per raster: its file stem, lengthened by parent folder names where
    two stems agree (``a/scene.tif`` and ``b/scene.tif`` give ``a_scene_`` and ``b_scene_``), numbered
    where even that cannot tell them apart. `sargeo tile` and the embedding index name tiles alike."""
    parts = [[x for x in Path(p).resolve().with_suffix("").parts if x != "/"] for p in paths]
    for depth in range(1, max(len(x) for x in parts) + 1):
        names = ["_".join(x[-depth:]) for x in parts]
        if len(set(names)) == len(names):
            return [f"{n}_" for n in names]
    return [f"{x[-1]}_{i}_" for i, x in enumerate(parts)]
