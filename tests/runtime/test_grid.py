"""The tile grid: coverage, flush edges, blocks, and window transforms/bounds equal to `affine`'s."""

from __future__ import annotations

import numpy as np
from affine import Affine
from hypothesis import given
from hypothesis import strategies as st

from sargeo.records import Window as RecordWindow
from sargeo.runtime.grid import (
    Window,
    array_slices,
    blocks,
    grid_offsets,
    intersection,
    pixel_to_xy,
    tile_windows,
    window_bounds,
    window_transform,
)


@given(
    length=st.integers(1, 5000),
    size=st.integers(16, 1024),
    overlap_share=st.floats(0, 0.9),
)
def test_grid_covers_every_pixel(length: int, size: int, overlap_share: float) -> None:
    overlap = int(size * overlap_share)
    offsets = grid_offsets(length, size, overlap)
    covered = np.zeros(length, dtype=bool)
    for off in offsets:
        covered[off : off + size] = True
        assert off + min(size, length) <= length  # never past the edge
    assert covered.all()
    assert offsets == sorted(set(offsets))


def test_windows_are_full_size_and_flush() -> None:
    rows = tile_windows(1000, 700, 256, 32)
    assert rows[0][-1].col + rows[0][-1].width == 1000
    assert rows[-1][0].row + rows[-1][0].height == 700
    assert {w.width for r in rows for w in r} == {256}


@given(width=st.integers(1, 700), height=st.integers(1, 700), block=st.integers(8, 300))
def test_blocks_cover_the_grid_once(width: int, height: int, block: int) -> None:
    cover = np.zeros((height, width), np.int64)
    for w in blocks(width, height, block):
        assert 0 < w.width <= block and 0 < w.height <= block
        cover[w.row : w.row + w.height, w.col : w.col + w.width] += 1
    assert (cover == 1).all()


finite = st.floats(-1e7, 1e7, allow_nan=False, allow_infinity=False)


@given(
    coeffs=st.tuples(finite, finite, finite, finite, finite, finite),
    col=st.integers(-5000, 5000),
    row=st.integers(-5000, 5000),
    size=st.tuples(st.integers(0, 5000), st.integers(0, 5000)),
)
def test_window_maths_is_affines_to_the_bit(
    coeffs: tuple[float, float, float, float, float, float],
    col: int,
    row: int,
    size: tuple[int, int],
) -> None:
    affine = Affine(*coeffs)
    window = Window(col, row, *size)
    assert window_transform(coeffs, window) == tuple(affine @ Affine.translation(col, row))[:6]
    assert window_transform(affine, window) == window_transform(coeffs, window)
    corners = [affine @ (c, r) for c in (col, col + size[0]) for r in (row, row + size[1])]
    xs, ys = zip(*corners, strict=True)
    assert window_bounds(affine, window) == (min(xs), min(ys), max(xs), max(ys))
    assert pixel_to_xy(coeffs, col, row) == affine @ (col, row)


def test_records_window_is_the_grid_window() -> None:
    assert RecordWindow is Window


@given(
    a=st.tuples(st.integers(-50, 50), st.integers(-50, 50), st.integers(0, 60), st.integers(0, 60)),
    b=st.tuples(st.integers(-50, 50), st.integers(-50, 50), st.integers(0, 60), st.integers(0, 60)),
)
def test_intersection_and_slices_match_pixel_sets(
    a: tuple[int, int, int, int], b: tuple[int, int, int, int]
) -> None:
    wa, wb = Window(*a), Window(*b)
    origin = Window(-60, -60, 200, 200)
    cover = np.zeros((200, 200), np.int64)
    cover[array_slices(wa, origin)] += 1
    cover[array_slices(wb, origin)] += 1
    inner = intersection(wa, wb)
    if inner is None:
        assert not (cover == 2).any()
        return
    shared = np.zeros_like(cover)
    shared[array_slices(inner, origin)] = 2
    np.testing.assert_array_equal(np.where(cover == 2, 2, 0), shared)
    # the shared pixels, addressed in each window's own array
    rows, cols = array_slices(inner, wa)
    assert 0 <= rows.start <= rows.stop <= wa.height and 0 <= cols.start <= cols.stop <= wa.width
