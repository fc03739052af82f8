"""Ground-truth facts of a sample's objects: what every caption and answer is derived from.

One pass over a sample's boxes gives, per object, its class, 3x3 grid cell, length and size word,
heading and type; per class, the count and the arrangement (clustered, in a line, moored along a pier);
and the classes known to be absent, which only a dataset's own labels can tell (HRSID annotates ships,
so an HRSID image without boxes has no ships, while its harbours are simply not annotated).
Captions, question-answer pairs and the contradiction filter all read these facts, so they agree.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from sargeo.narrator.georef import Frame, frame_for
from sargeo.narrator.vocab import Vocab
from sargeo.records import Box, Sample

LENGTH_KEYS = ("length_m", "length", "ais_length", "length_overall")
TYPE_KEYS = ("ship_type", "type", "elaborated_type", "category", "subclass")
RELATIVE_SIZE = (0.05, 0.15)
"""Without a pixel spacing: object extent / image side below which it is small, resp. medium."""
LINE_RATIO = 0.12
"""A group is 'in a line' when its minor spread is below this share of its major spread."""
CLUSTER_RADIUS = 0.12
"""A group is 'clustered' when its RMS radius is below this share of the image diagonal."""
SCATTER_RADIUS = 0.3
CLOSE_PAIR = 0.2


class ObjectFact(NamedTuple):
    """One object as the captions see it (a named tuple: light to make, and a scene has many)."""

    cls: str
    cx: float
    cy: float
    cell: tuple[int, int]
    extent_px: float
    length_m: float | None
    measured: bool
    size: str
    heading: float | None
    heading_compass: bool
    kind: str | None
    moored: bool
    source_id: str


@dataclass(frozen=True, slots=True)
class GroupFact:
    """All objects of one class in one image, with the sets every caption reads (made once)."""

    cls: str
    objects: tuple[ObjectFact, ...]
    arrangement: str | None
    cells: frozenset[tuple[int, int]] = field(init=False, repr=False, compare=False)
    """Grid cells the objects' centres fall in."""
    source_ids: tuple[str, ...] = field(init=False, repr=False, compare=False)
    """Annotation ids of the objects (those that have one)."""
    place: tuple[object, ...] = field(init=False, repr=False, compare=False)
    """Where the objects lie on the grid (see `grid_place`)."""
    _kinds: tuple[str, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        """Derive the cells, ids and types once (the class is frozen, hence ``object.__setattr__``)."""
        objs = self.objects
        object.__setattr__(self, "cells", frozenset(o.cell for o in objs))
        object.__setattr__(self, "place", grid_place(self.cells))
        object.__setattr__(self, "source_ids", tuple(o.source_id for o in objs if o.source_id))
        object.__setattr__(self, "_kinds", tuple(dict.fromkeys(o.kind for o in objs if o.kind)))

    @property
    def count(self) -> int:
        """Number of objects."""
        return len(self.objects)

    def kinds(self) -> list[str]:
        """Distinct object types (ship types...), in order of first appearance."""
        return list(self._kinds)


@dataclass(frozen=True, slots=True)
class SceneFacts:
    """The facts of one sample: its frame, its class groups (largest count first) and what is absent."""

    sample: Sample
    frame: Frame
    groups: tuple[GroupFact, ...]
    has_pier: bool
    labelled: frozenset[str] | None = None
    """Object classes the dataset annotates, as vocabulary keys; None: every class (synthetic)."""
    absent: tuple[str, ...] = ()
    """Labelled classes known not to be in the image (no box, no pier pixels), sorted; empty when
    the sample's objects are unknown."""

    def group(self, cls: str) -> GroupFact | None:
        """The group of a canonical class key, if present."""
        for g in self.groups:
            if g.cls == cls:
                return g
        return None

    def halves(self, group: GroupFact) -> tuple[int, int, int, int]:
        """Objects in the (north, south, east, west) halves (top/bottom/right/left without a CRS)."""
        w2, h2 = self.sample.width / 2.0, self.sample.height / 2.0
        n = s = e = w = 0
        for o in group.objects:
            east, north = self.frame.ground(o.cx - w2, o.cy - h2)
            n += north > 0
            s += north < 0
            e += east > 0
            w += east < 0
        return n, s, e, w


def cell_of(x: float, y: float, width: int, height: int) -> tuple[int, int]:
    """(row, col) of a point in the image's 3x3 grid."""
    row = min(2, max(0, int(3.0 * y / height)))
    col = min(2, max(0, int(3.0 * x / width)))
    return row, col


def grid_place(cells: frozenset[tuple[int, int]]) -> tuple[object, ...]:
    """Where grid cells lie: ("cell", (row, col)), ("row", row), ("col", col) or ("scattered",)."""
    if len(cells) == 1:
        return ("cell", next(iter(cells)))
    rows = {r for r, _ in cells}
    cols = {c for _, c in cells}
    if len(rows) == 1:
        return ("row", next(iter(rows)))
    if len(cols) == 1:
        return ("col", next(iter(cols)))
    return ("scattered",)


def _number(value: Any, positive: bool = True) -> float | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        out = float(value)
    except (TypeError, ValueError):
        return None
    return out if math.isfinite(out) and (out > 0 or not positive) else None


def _kind(attributes: dict[str, Any], vocab: Vocab) -> str | None:
    if not attributes:
        return None
    ignored = vocab.classes["ignored_types"]
    for key in TYPE_KEYS:
        value = attributes.get(key)
        if isinstance(value, str):
            text = " ".join(value.replace("_", " ").split()).lower()
            if text not in ignored:
                return text
    return None


def _truthy(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "yes", "y")
    return bool(value)


def _size_word(
    length_m: float | None, extent_px: float, bounds: tuple[float, float] | None, side: int
) -> str:
    if length_m is not None and bounds is not None:
        lo, hi = bounds
    else:
        length_m, (lo, hi) = extent_px / max(side, 1), RELATIVE_SIZE
    if length_m < lo:
        return "small"
    return "medium" if length_m < hi else "large"


def object_fact(box: Box, sample: Sample, frame: Frame, vocab: Vocab) -> ObjectFact:
    """Facts of one box (canonical class, cell, size, heading, type)."""
    oc = vocab.object_class(box.cls)
    x0, y0, x1, y1 = box.bbox
    heading: float | None = None
    compass = frame.georeferenced
    if box.obox is not None:
        cx, cy, length, width, angle = box.obox
        rad = math.radians(angle)
        length_m = frame.length_m(length * math.sin(rad), -length * math.cos(rad))
        extent = max(length, width)
        if oc.heading:
            heading = frame.heading(angle)
    else:
        cx, cy = (x0 + x1) / 2.0, (y0 + y1) / 2.0
        w, h = x1 - x0, y1 - y0
        extent = max(w, h)
        # The longer side of an axis-aligned box: a coarse length, used for the size word only.
        lw, lh = frame.length_m(w, 0.0), frame.length_m(0.0, h)
        length_m = max(lw, lh) if lw is not None and lh is not None else None
    # A heading attribute is a true compass heading (AIS True_Head in OpenSARShip, the synthetic
    # world's heading on its north-up grid); it wins over an oriented box of an image without a CRS.
    attr_heading = (
        _number(box.attributes.get("heading_deg"), positive=False) if oc.heading else None
    )
    if oc.heading and attr_heading is not None and not frame.georeferenced:
        heading, compass = attr_heading % 360.0, True
    measured = box.obox is not None and length_m is not None
    attrs = box.attributes
    for key in LENGTH_KEYS:
        value = _number(attrs[key]) if key in attrs else None
        if value is not None:
            length_m, measured = value, True
            break
    size = _size_word(length_m, extent, oc.size_m, max(sample.width, sample.height))
    return ObjectFact(
        cls=oc.key,
        cx=cx,
        cy=cy,
        cell=cell_of(cx, cy, sample.width, sample.height),
        extent_px=extent,
        length_m=length_m if measured else None,
        measured=measured,
        size=size,
        heading=heading,
        heading_compass=compass,
        kind=_kind(box.attributes, vocab),
        moored=_truthy(box.attributes.get("moored", False)),
        source_id=box.source_id,
    )


def arrangement(
    objects: tuple[ObjectFact, ...], diag: float, has_pier: bool, moors: bool = True
) -> str | None:
    """How a class group is laid out: pier, moored, line, clustered, close, scattered or None.

    ``moors`` says the class can be moored (ships); for other classes a moored flag is ignored.
    """
    n = len(objects)
    if n == 0:
        return None
    if moors and sum(o.moored for o in objects) * 2 >= n and any(o.moored for o in objects):
        return "pier" if has_pier else "moored"
    if n == 1:
        return None
    mx = sum(o.cx for o in objects) / n
    my = sum(o.cy for o in objects) / n
    if n == 2:
        a, b = objects
        dist = math.hypot(a.cx - b.cx, a.cy - b.cy)
        if dist < CLOSE_PAIR * diag:
            return "close"
        return "scattered" if dist > 2 * SCATTER_RADIUS * diag else None
    sxx = sum((o.cx - mx) ** 2 for o in objects) / n
    syy = sum((o.cy - my) ** 2 for o in objects) / n
    sxy = sum((o.cx - mx) * (o.cy - my) for o in objects) / n
    half_trace, det = (sxx + syy) / 2.0, sxx * syy - sxy * sxy
    root = math.sqrt(max(half_trace * half_trace - det, 0.0))
    major, minor = half_trace + root, max(half_trace - root, 0.0)
    extent = max(o.extent_px for o in objects)
    if math.sqrt(minor) < LINE_RATIO * math.sqrt(major) and math.sqrt(major) > extent:
        return "line"
    radius = math.sqrt(sxx + syy)
    if radius < CLUSTER_RADIUS * diag:
        return "clustered"
    return "scattered" if radius > SCATTER_RADIUS * diag else None


def objects_known(sample: Sample) -> bool:
    """Whether the sample's objects are annotated, so that a class without boxes is truly absent.

    False for images a detection file does not list (``metadata["listed"] is False``) and for
    samples that come with a mask or an optical image but no boxes (segmentation, SAR-optical pairs).
    """
    if sample.boxes or sample.metadata.get("listed") is True:
        return True
    if sample.metadata.get("listed") is False:
        return False
    return not (sample.mask or sample.optical or sample.optical_caption)


def labelled_objects(sample: Sample, vocab: Vocab) -> frozenset[str] | None:
    """The vocabulary's object classes among the sample's labels (None: every class is labelled).

    A label the vocabulary does not know as an object (a mask's ``water``) is left out.
    """
    if sample.labels is None:
        return None
    objects = vocab.classes["objects"]
    keys = (vocab.object_class(name).key for name in sample.labels)
    return frozenset(key for key in keys if key in objects)


def scene_facts(
    sample: Sample, vocab: Vocab, frame: Frame | None = None, in_mask: frozenset[str] = frozenset()
) -> SceneFacts:
    """All object facts of a sample, grouped by class (largest group first).

    ``in_mask`` holds the classes the sample's mask shows (a pier: moored ships are then 'along a
    pier'), or may show where it was not read: a harbour drawn in a mask is there without any box, so
    it is never absent.
    """
    frame = frame or frame_for(sample)
    by_class: dict[str, list[ObjectFact]] = {}
    for box in sample.boxes:
        fact = object_fact(box, sample, frame, vocab)
        by_class.setdefault(fact.cls, []).append(fact)
    has_pier = "pier" in by_class or "pier" in in_mask
    diag = math.hypot(sample.width, sample.height)
    groups = tuple(
        GroupFact(
            cls,
            tuple(objs),
            arrangement(tuple(objs), diag, has_pier, vocab.object_class(cls).moors),
        )
        for cls, objs in sorted(by_class.items(), key=lambda kv: (-len(kv[1]), kv[0]))
    )
    labelled = labelled_objects(sample, vocab)
    absent: tuple[str, ...] = ()
    if objects_known(sample):
        known = vocab.classes["objects"] if labelled is None else labelled
        absent = tuple(k for k in sorted(known) if k not in by_class and k not in in_mask)
    return SceneFacts(sample, frame, groups, has_pier, labelled, absent)
