"""Splits by scene: no scene is cut, the shares follow the ratios, and the seed decides."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sargeo.errors import SargeoError
from sargeo.narrator.splits import assign_splits
from sargeo.records import Sample


def _samples(sizes: list[int]) -> list[Sample]:
    return [
        Sample(f"{i}_{j}", "x", 1, 1, scene=f"scene{i}")
        for i, n in enumerate(sizes)
        for j in range(n)
    ]


@given(st.lists(st.integers(1, 30), min_size=1, max_size=60), st.integers(0, 5))
def test_every_scene_in_exactly_one_split(sizes: list[int], seed: int) -> None:
    samples = _samples(sizes)
    split = assign_splits(samples, seed=seed)
    assert set(split) == {s.scene for s in samples}
    assert set(split.values()) <= {"train", "val", "test"}
    assert assign_splits(samples, seed=seed) == split


def test_shares_follow_the_ratios_with_many_scenes() -> None:
    samples = _samples([10] * 100)
    split = assign_splits(samples, (0.8, 0.1, 0.1), seed=1)
    counts = {k: sum(v == k for v in split.values()) for k in ("train", "val", "test")}
    assert counts == {"train": 80, "val": 10, "test": 10}
    assert assign_splits(samples, seed=2) != split


def test_bad_ratios_and_scene_fallback() -> None:
    with pytest.raises(SargeoError):
        assign_splits(_samples([1]), (1.0, -1.0, 0.0))
    lone = [Sample("a", "x", 1, 1), Sample("b", "x", 1, 1)]
    assert set(assign_splits(lone)) == {"a", "b"}
