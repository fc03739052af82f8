"""Property tests on generated scenes: no caption names a class the ground truth lacks, every stated
count is right, every stated position is right, and count answers equal the ground truth.

Scenes are random `Sample` records (boxes of several classes, oriented boxes, attributes, an optional
georeference and an optional class mask), run through the whole narrator (all branches, fusion and
filters). Real synthetic scenes from `sargeo synth` are narrated in test_synthetic.py.
"""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from sargeo.narrator.fusion import Narrator
from sargeo.narrator.vocab import load_vocab
from sargeo.records import Box, Sample

from .helpers import assert_grounded, utm_tile

VOCAB = load_vocab()
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


@settings(max_examples=150, deadline=None)
@given(scenes())
def test_captions_are_grounded(scene: tuple[Sample, np.ndarray | None]) -> None:
    sample, mask = scene
    narrator = Narrator(mask_reader=lambda _: mask)
    result = narrator.caption(sample)
    assert result.captions or not (sample.boxes or (result.cover and result.cover.shares))
    assert_grounded(result)
