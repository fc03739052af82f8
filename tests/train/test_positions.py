"""Captions follow their image through flips and quarter turns."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from sargeo.train.augment import dihedral
from sargeo.train.positions import rewrite_positions, transform_vector

CELLS = {
    "upper left": (0, 0), "upper right": (0, 2), "lower left": (2, 0), "lower right": (2, 2),
    "top": (0, 1), "bottom": (2, 1), "left": (1, 0), "right": (1, 2),
}  # fmt: skip


def _cell_of(image: np.ndarray) -> tuple[int, int]:
    r, c = np.unravel_index(np.argmax(image[0]), image.shape[1:])
    return int(r * 3 // image.shape[1]), int(c * 3 // image.shape[2])


@pytest.mark.parametrize(("flip", "k"), list(itertools.product([False, True], range(4))))
def test_words_move_with_the_pixels(flip: bool, k: int) -> None:
    for phrase, (row, col) in CELLS.items():
        image = np.zeros((1, 9, 9), np.float32)
        image[0, row * 3 + 1, col * 3 + 1] = 1.0
        moved = _cell_of(dihedral(image, flip, k))
        caption = rewrite_positions(f"a ship in the {phrase}", flip, k)
        said = caption.removeprefix("a ship in the ")
        assert CELLS[said] == moved, (phrase, flip, k, caption)


def test_families_hyphens_case_and_non_positions() -> None:
    c = "North-east of a lake; Top-left corner; on the left-hand side; a vertical band; northern hemisphere, 36.2°N"
    out = rewrite_positions(c, False, 1)
    assert out == (
        "North-west of a lake; Bottom-left corner; on the bottom side; a horizontal band;"
        " northern hemisphere, 36.2°N"
    )
    assert rewrite_positions(c, False, 0) == c
    assert (
        rewrite_positions("bright ships, a brighter town", True, 2)
        == "bright ships, a brighter town"
    )
    assert rewrite_positions("in the east", True, 0) == "in the west"


def test_vector_group_laws() -> None:
    for v in [(1, 0), (0, 1), (1, 1), (-1, 1)]:
        assert transform_vector(v, False, 4) == v
        assert transform_vector(transform_vector(v, True, 0), True, 0) == v
        assert transform_vector(v, False, 1) == (-v[1], v[0])
