"""Zero-shot label sets from the real samples, and the evaluation command over them."""

from __future__ import annotations

from pathlib import Path

import pytest

from sargeo.eval.labels import label_counts, opensarship_labels, sen1floods11_tile_labels
from sargeo.eval.run import read_labels

pytestmark = [pytest.mark.shared_data, pytest.mark.filterwarnings("ignore::UserWarning")]


def test_label_sets_from_real_samples(shared_data: Path, tmp_path: Path) -> None:
    ships = opensarship_labels(shared_data / "opensarship", tmp_path / "ships.csv")
    assert label_counts(ships) == {"cargo": 80, "other": 26, "tanker": 27}
    images, labels, pols = read_labels(ships)
    assert pols[0] == ("VH", "VV") and Path(images[0]).is_file() and labels[0] == "cargo"
    water = sen1floods11_tile_labels(shared_data / "sen1floods11", tmp_path / "s1tiles")
    counts = label_counts(water)
    assert set(counts) == {"land", "water"} and sum(counts.values()) <= 16
    # the chip is 26.7 % water, so land tiles are the majority
    assert counts["land"] > counts["water"] > 0
