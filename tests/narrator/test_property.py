"""Property tests on generated scenes: no caption names a class the ground truth lacks, every stated
count is right, every stated position is right, and count answers equal the ground truth.

Scenes are random `Sample` records (boxes of several classes, oriented boxes, attributes, an optional
georeference and an optional class mask), run through the whole narrator (all branches, fusion and
filters). Real synthetic scenes from `sargeo synth` are narrated in test_synthetic.py.
"""

from __future__ import annotations

import random
import re
from collections import Counter

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from sargeo.narrator import qa
from sargeo.narrator.facts import cell_of
from sargeo.narrator.fusion import Narrator
from sargeo.narrator.vocab import load_vocab
from sargeo.records import Box, Sample

from .helpers import CELLS, class_nouns, named_classes, stated_counts, utm_tile

VOCAB = load_vocab()
NOUNS = class_nouns()
CLASSES = [
    "ship",
    "aircraft",
    "storage_tank",
    "oil_tank",
    "wind_turbine",
    "pier",
    "offshore_platform",
]
MASK_CLASSES = {0: "land", 1: "sea", 2: "urban", 3: "forest", 4: "pier", 20: "ship"}
PIER_PHRASES = re.compile(r"(?:moored|berthed) (?:along|at) (?:a pier|(?:one of )?the piers|piers)")


@st.composite
def scenes(draw: st.DrawFn) -> tuple[Sample, np.ndarray | None]:
    size = draw(st.sampled_from([64, 256, 800]))
    boxes = []
    for cls in draw(st.lists(st.sampled_from(CLASSES), min_size=0, max_size=4, unique=True)):
        for i in range(draw(st.integers(1, 24))):
            cx = draw(st.floats(0, size - 1))
            cy = draw(st.floats(0, size - 1))
            length = draw(st.floats(2, size / 4))
            angle = draw(st.floats(0, 359.9))
            attrs: dict[str, object] = {"moored": draw(st.booleans())}
            if cls == "ship" and draw(st.booleans()):
                attrs["ship_type"] = draw(st.sampled_from(["Cargo", "Tanker", "Other Type"]))
            half = length / 2
            bbox = (
                max(0, cx - half),
                max(0, cy - half),
                min(size, cx + half),
                min(size, cy + half),
            )
            obox = (cx, cy, length, length / 4, angle) if draw(st.booleans()) else None
            boxes.append(Box(cls, bbox, obox, attrs, f"{cls}{i}"))
    tile = (
        utm_tile(size, spacing=draw(st.sampled_from([1.0, 10.0, 30.0])))
        if draw(st.booleans())
        else None
    )
    mask = None
    extra: dict[str, object] = {}
    if draw(st.booleans()):
        values = draw(
            st.lists(st.sampled_from(sorted(MASK_CLASSES)), min_size=1, max_size=4, unique=True)
        )
        grid = np.asarray(
            draw(st.lists(st.sampled_from(values), min_size=16, max_size=16))
        ).reshape(4, 4)
        mask = np.kron(grid, np.ones((16, 16), dtype=np.int64))
        extra = {"mask": "mask.tif", "mask_classes": MASK_CLASSES}
    s = Sample(
        "p",
        "img.tif",
        size,
        size,
        boxes=boxes,
        tile=tile,
        metadata={"sensor": "Sentinel-1"},
        **extra,
    )  # type: ignore[arg-type]
    return s, mask


def _segments(text: str) -> list[tuple[str, str]]:
    """(class, text up to the next class noun) for each class noun in a caption."""
    low = PIER_PHRASES.sub("moored", text.lower())
    alt = "|".join(re.escape(n) for n in sorted(NOUNS, key=len, reverse=True))
    matches = list(re.finditer(rf"\b({alt})\b", low))
    ends = [m.start() for m in matches[1:]] + [len(low)] if matches else []
    return [(NOUNS[m.group(1)], low[m.end() : end]) for m, end in zip(matches, ends, strict=True)]


@settings(max_examples=150, deadline=None)
@given(scenes())
def test_captions_are_grounded(scene: tuple[Sample, np.ndarray | None]) -> None:
    sample, mask = scene
    narrator = Narrator(mask_reader=lambda _: mask)
    result = narrator.caption(sample)
    truth = Counter(VOCAB.object_class(b.cls).key for b in sample.boxes)
    surfaces = result.cover.present if result.cover else frozenset()
    cells: dict[str, set[tuple[int, int]]] = {}
    for b in sample.boxes:
        x, y = (
            (b.obox[0], b.obox[1])
            if b.obox
            else ((b.bbox[0] + b.bbox[2]) / 2, (b.bbox[1] + b.bbox[3]) / 2)
        )
        cells.setdefault(VOCAB.object_class(b.cls).key, set()).add(
            cell_of(x, y, sample.width, sample.height)
        )
    assert result.captions or not (sample.boxes or (result.cover and result.cover.shares))
    for cand in result.captions:
        text = cand.text
        assert named_classes(text) <= set(truth) | surfaces, text
        for cls, lo, hi in stated_counts(text):
            if cls in surfaces and cls not in truth:
                continue  # a pier in the mask only: 'along a pier' has no count to check
            assert lo <= truth[cls] <= hi, (text, dict(truth))
        if cand.branch != "a2c":
            continue
        for cls, segment in _segments(text):
            said = {cell for cell, phrases in CELLS.items() if any(p in segment for p in phrases)}
            if len(cells.get(cls, ())) == 1:
                assert said <= cells[cls], (text, cls, cells[cls])
            else:
                assert not said, (text, cls, cells.get(cls))
    pairs = qa.pairs(result.facts, result.cover, VOCAB, random.Random(0))
    for group in result.facts.groups:
        noun = VOCAB.object_class(group.cls).plural[0]
        answers = [
            p.answer for p in pairs if p.type == "count" and f" {noun} " in f" {p.question} "
        ]
        assert answers == [str(truth[group.cls])], (group.cls, answers)
