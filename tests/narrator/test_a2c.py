"""Annotation-to-caption: counts, sizes, positions, arrangement, headings and types."""

from __future__ import annotations

import random
import re

import pytest

from sargeo.narrator import a2c
from sargeo.narrator.facts import arrangement, cell_of, scene_facts
from sargeo.narrator.vocab import load_vocab
from sargeo.records import Box

from .helpers import cell_phrases, named_classes, sample, ship, stated_counts, utm_tile

VOCAB = load_vocab()


def _captions(s, detail: str | None = None, n: int = 12) -> list[str]:  # type: ignore[no-untyped-def]
    facts = scene_facts(s, VOCAB)
    rng = random.Random(1)
    return [a2c.caption(facts, VOCAB, rng, detail).text for _ in range(n)]


@pytest.mark.parametrize("n", [1, 2, 5, 10, 11, 19, 20, 49, 50, 120])
def test_every_caption_states_the_count(n: int) -> None:
    boxes = [ship(20 + (i % 20) * 24, 20 + (i // 20) * 24, length=8, sid=str(i)) for i in range(n)]
    for text in _captions(sample(boxes)):
        counts = [c for c in stated_counts(text) if c[0] == "ship"]
        assert counts, text
        for _, lo, hi in counts:
            assert lo <= n <= hi, text
        if n <= 10:
            assert all(lo == hi == n for _, lo, hi in counts), text


def test_a_300_m_ship_is_large_and_measured() -> None:
    s = sample([ship(256, 256, length=30, angle=0)], tile=utm_tile(512, spacing=10.0))
    texts = _captions(s, "size")
    assert all(("large" in t or "big" in t) and "about 300 m long" in t for t in texts), texts
    small = sample([ship(256, 256, length=3, angle=0)], tile=utm_tile(512, spacing=10.0))
    assert all("small" in t for t in _captions(small, "size"))


def test_length_attribute_wins_and_relative_sizes_without_spacing() -> None:
    s = sample([ship(256, 256, length=30, length_m=120.0)])
    assert all("medium" in t or "mid-sized" in t for t in _captions(s, "size"))
    assert all("about 120 m long" in t for t in _captions(s, "size"))
    tiny = sample([Box("ship", (250, 250, 260, 256))])  # no spacing, 10 px of 512
    facts = scene_facts(tiny, VOCAB)
    assert facts.groups[0].objects[0].size == "small"
    assert facts.groups[0].objects[0].length_m is None
    assert not any(" m long" in t for t in _captions(tiny, "size"))


@pytest.mark.parametrize(
    ("x", "y"),
    [
        (30, 30),
        (256, 40),
        (480, 30),
        (30, 256),
        (256, 256),
        (500, 300),
        (40, 480),
        (256, 500),
        (470, 470),
    ],
)
def test_position_in_the_3x3_grid(x: float, y: float) -> None:
    s = sample([ship(x, y, length=10)])
    expected = cell_of(x, y, 512, 512)
    seen = set()
    for text in _captions(s, "position"):
        cells = cell_phrases(text)
        assert cells == {expected}, text
        seen.add(text)
    assert len(seen) > 3, "wording varies"


def test_heading_in_compass_terms_when_georeferenced() -> None:
    s = sample([ship(256, 256, angle=90.0)], tile=utm_tile())
    assert all("heading east" in t for t in _captions(s, "heading"))
    s = sample([ship(256, 256, angle=135.0)])
    assert all("heading towards the lower right of the image" in t for t in _captions(s, "heading"))
    # a heading attribute (AIS true heading) is a compass heading even without a CRS
    s = sample([ship(256, 256, angle=135.0, heading_deg=0.0)])
    assert all("heading north " in t for t in _captions(s, "heading"))


def test_arrangements() -> None:
    diag = 512 * 2**0.5
    line = scene_facts(sample([ship(50 + 60 * i, 100 + 2 * i) for i in range(6)]), VOCAB)
    assert line.groups[0].arrangement == "line"
    cluster = scene_facts(
        sample([ship(200 + 15 * (i % 3), 200 + 15 * (i // 3)) for i in range(6)]), VOCAB
    )
    assert cluster.groups[0].arrangement == "clustered"
    far = [ship(20, 20), ship(490, 490), ship(20, 490), ship(490, 20)]
    assert (
        arrangement(scene_facts(sample(far), VOCAB).groups[0].objects, diag, False) == "scattered"
    )
    moored = [ship(100 + 30 * i, 300, moored=True) for i in range(4)]
    pier = Box("pier", (90, 310, 250, 320))
    facts = scene_facts(sample([*moored, pier]), VOCAB)
    assert facts.group("ship").arrangement == "pier"  # type: ignore[union-attr]
    texts = _captions(sample([*moored, pier]), "arrangement")
    assert all("along a pier" in t for t in texts), texts
    no_pier = _captions(sample(moored), "arrangement")
    assert not any("pier" in t for t in no_pier), no_pier


def test_type_appears_and_classes_are_grounded() -> None:
    s = sample([ship(100, 100, ship_type="Tanker"), Box("oil_tank", (300, 300, 320, 320))])
    for text in _captions(s):
        assert "tanker" in text.lower(), text
        assert named_classes(text) <= {"ship", "storage tank"}, text
        assert {c for c, _, _ in stated_counts(text)} == {"ship", "storage tank"}, text


def test_empty_scene_names_no_class() -> None:
    facts = scene_facts(sample([]), VOCAB)
    texts = [c.text for c in a2c.captions(facts, VOCAB, random.Random(0), 5)]
    assert texts and not any(named_classes(t) for t in texts)
    unknown = scene_facts(sample([], metadata={"listed": False}), VOCAB)
    assert a2c.captions(unknown, VOCAB, random.Random(0), 5) == []


def test_an_empty_scene_denies_labelled_classes_only() -> None:
    rng = random.Random(0)
    everything = a2c.empty_caption(scene_facts(sample([]), VOCAB), VOCAB, rng)
    assert everything is not None and everything.text in VOCAB.templates["a2c"]["empty"]
    labels = ("ship", "aircraft", "building", "harbor", "iceberg")  # iceberg: not in the vocabulary
    facts = scene_facts(sample([], labels=labels), VOCAB)
    for _ in range(10):
        cand = a2c.empty_caption(facts, VOCAB, rng)
        assert cand is not None
        denied = re.findall(r"\bno (\w+)", cand.text.lower())
        assert len(denied) == a2c.MAX_CLASSES, cand.text
        assert set(denied) <= {"ships", "aircraft", "buildings", "harbors"}, cand.text
    assert a2c.empty_caption(scene_facts(sample([], labels=()), VOCAB), VOCAB, rng) is None
