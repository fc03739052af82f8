"""Captions of a synthetic scene's optical image, phrased like optical remote-sensing caption datasets.

The SAR-TEXT paper's optical-to-SAR branch rewrites the human captions of the optical half of
SAR-optical pairs (RSICD, UCM-captions) into SAR language. A synthetic scene has an optical image but no
human to caption it, so this module writes those captions from the scene's exact ground truth: colours
and optical appearance ("blue sea", "red-roofed houses", "white ships"), object counts and 3x3-grid
positions from the COCO annotations, land-cover classes from the mask's pixel counts. The wording lives
in ``optical_vocab.json``; choices are seeded by the scene's (seed, index), so a scene always gets the
same captions. Nothing here is SAR language: that is the narrator's job (`sargeo.narrator.o2s`).
"""

from __future__ import annotations

import json
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from sargeo.errors import SargeoError
from sargeo.synth import SCENE_FILES

VOCAB_PATH = Path(__file__).resolve().parent / "optical_vocab.json"
MAX_CAPTIONS = 2
"""Captions per scene (RSICD has five per image, by five people; two generated ones vary enough)."""


@dataclass
class ObjectGroup:
    """The annotated objects of one class in a scene.

    Attributes:
        cls: Class name (``ship``...).
        cells: (row, col) of each object's centre in the image's 3x3 grid.
        statuses: Each object's status (ships: moored, anchored, under_way; aircraft: parked or
            not); empty strings where the class has none.
        wakes: Whether each object leaves a wake.
    """

    cls: str
    cells: list[tuple[int, int]] = field(default_factory=list)
    statuses: list[str] = field(default_factory=list)
    wakes: list[bool] = field(default_factory=list)

    @property
    def count(self) -> int:
        """Number of objects."""
        return len(self.cells)


@lru_cache(maxsize=4)
def load_vocab(path: str | None = None) -> dict[str, Any]:
    """The optical caption vocabulary (``optical_vocab.json`` unless ``path`` is given), read once."""
    file = Path(path) if path else VOCAB_PATH
    try:
        data = json.loads(file.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise SargeoError(f"{file}: cannot read the optical caption vocabulary ({exc})") from exc
    for key in ("numbers", "one", "bands", "cells", "colours", "surfaces", "objects", "details"):
        if key not in data:
            raise SargeoError(f"{file}: optical caption vocabulary lacks the key {key!r}")
    return dict(data)


def cell_of(x: float, y: float, width: int, height: int) -> tuple[int, int]:
    """(row, col) of a pixel position in the image's 3x3 grid."""
    row = min(2, max(0, int(3.0 * y / height)))
    col = min(2, max(0, int(3.0 * x / width)))
    return row, col


def _status(cls: str, attributes: dict[str, Any]) -> str:
    if cls == "ship":
        return str(attributes.get("status") or "")
    if cls == "aircraft" and "parked" in attributes:
        return "parked" if attributes["parked"] else "taxiing"
    return ""


def object_groups(annotations: Sequence[dict[str, Any]], size: int) -> dict[str, ObjectGroup]:
    """Class name -> its objects, from the COCO annotations ``sargeo synth`` writes."""
    groups: dict[str, ObjectGroup] = {}
    for ann in annotations:
        attributes = ann.get("attributes") or {}
        cls = str(attributes.get("class") or "")
        if not cls:
            continue
        obox = ann.get("obox")
        if obox:
            x, y = float(obox[0]), float(obox[1])
        else:
            bx, by, bw, bh = (float(v) for v in ann["bbox"])
            x, y = bx + bw / 2, by + bh / 2
        group = groups.setdefault(cls, ObjectGroup(cls))
        group.cells.append(cell_of(x, y, size, size))
        group.statuses.append(_status(cls, attributes))
        group.wakes.append(bool(attributes.get("wake")))
    return groups


def _article(word: str) -> str:
    return "an" if word[:1].lower() in "aeio" else "a"


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:]


def _join(items: Sequence[str]) -> str:
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


class _Writer:
    """The choices for one scene: its colours, present classes and layout counts."""

    def __init__(self, scene: dict[str, Any], vocab: dict[str, Any]) -> None:
        self.vocab = vocab
        self.rng = random.Random(f"optical:{scene.get('seed', 0)}:{scene.get('index', 0)}")
        names = {str(k): str(v) for k, v in (scene.get("classes") or {}).items()}
        pixels = {names.get(str(k), str(k)): int(v) for k, v in scene["class_pixels"].items()}
        self.pixels = {k: v for k, v in pixels.items() if v > 0}
        self.total = sum(self.pixels.values())
        self.layout: dict[str, int] = {
            str(k): int(v) for k, v in (scene.get("layout_counts") or {}).items()
        }
        self.colour = {cls: self.pick(words) for cls, words in vocab["colours"].items()}

    def pick(self, options: Sequence[Any]) -> Any:
        """One option, chosen by the scene's generator."""
        return options[self.rng.randrange(len(options))]

    def usable(self, option: dict[str, Any]) -> bool:
        """Whether every class the option names has pixels and its layout bounds hold."""
        if any(c not in self.pixels for c in option.get("needs", ())):
            return False
        low = option.get("min_layout", {})
        high = option.get("max_layout", {})
        return all(self.layout.get(k, 0) >= v for k, v in low.items()) and all(
            self.layout.get(k, 0) <= v for k, v in high.items()
        )

    def fill(self, text: str, **extra: str) -> str:
        """Fill a template's colour placeholders (and ``extra`` ones)."""
        return text.format(**self.colour, **extra)

    def count_phrase(self, n: int) -> str:
        """Exact count words up to ten, then the vocabulary's bands ('more than ten')."""
        numbers: list[str] = self.vocab["numbers"]
        if n == 1:
            return str(self.pick(self.vocab["one"]))
        if n < len(numbers):
            return numbers[n]
        for band in self.vocab["bands"]:
            if band["min"] <= n <= band["max"]:
                return str(self.pick(band["phrases"]))
        return str(n)

    def noun_phrase(self, group: ObjectGroup) -> str:
        """'three white ships', 'a single white oil tank'."""
        singular, plural = self.pick(self.vocab["objects"]["nouns"][group.cls])
        noun = singular if group.count == 1 else plural
        count = self.count_phrase(group.count)
        colour = self.colour[group.cls]
        if count == "a":
            count = _article(colour)
        return f"{count} {colour} {noun}"

    def where(self, group: ObjectGroup) -> str:
        """' in the lower left' when every object of the group lies in one grid cell, else ''."""
        cells = set(group.cells)
        if len(cells) != 1:
            return ""
        (row, col) = cells.pop()
        return " " + str(self.pick(self.vocab["cells"][f"{row},{col}"]))

    def verb(self, group: ObjectGroup) -> str | None:
        """A verb phrase true of every object of the group, or None when none applies."""
        verbs: dict[str, list[dict[str, Any]]] = self.vocab["objects"]["verbs"].get(group.cls, {})
        statuses = set(group.statuses)
        if len(statuses) == 1:
            key = next(iter(statuses)) or "any"
        elif group.cls == "ship":
            key = "harbour_and_sea" if "moored" in statuses else "at_sea"
        else:
            key = "mixed"
        found = verbs.get(key) or verbs.get("mixed") or verbs.get("any") or []
        options = [o for o in found if self.usable(o)]
        if not options:
            return None
        be = "is" if group.count == 1 else "are"
        return self.fill(self.pick(options)["text"], be=be)

    def wake(self, group: ObjectGroup) -> str:
        """', leaving white wakes behind' when every object of the group is under way with a wake."""
        if set(group.statuses) != {"under_way"} or not all(group.wakes):
            return ""
        return ", " + str(
            self.pick(self.vocab["objects"]["wake_one" if group.count == 1 else "wake"])
        )

    def clause(self, group: ObjectGroup) -> str:
        """One group as a clause: its noun phrase, a verb phrase, its position and its wakes."""
        np_, where, verb = self.noun_phrase(group), self.where(group), self.verb(group)
        if verb is None:
            be = "is" if group.count == 1 else "are"
            return str(self.pick(self.vocab["objects"]["there"])).format(be=be, np=np_, where=where)
        return f"{np_} {verb}{where}{self.wake(group)}"

    def objects_sentence(self, groups: dict[str, ObjectGroup]) -> str | None:
        """The objects of (at most ``max_classes``) classes in one sentence."""
        spec = self.vocab["objects"]
        order = [c for c in spec["order"] if c in groups] + sorted(set(groups) - set(spec["order"]))
        chosen = [groups[c] for c in order if c in spec["nouns"]][: int(spec["max_classes"])]
        if not chosen:
            return None
        return _cap(", and ".join(self.clause(g) for g in chosen)) + "."

    def surface_phrase(self, cls: str) -> str | None:
        """A land-cover noun phrase ('a blue sea', 'towns with red-roofed houses')."""
        spec = self.vocab["surfaces"]
        layout_key = spec["layout"].get(cls)
        many = layout_key is not None and self.layout.get(layout_key, 0) > 1
        options = spec["many"].get(cls) if many else None
        options = options or spec["one"].get(cls)
        if not options:
            return None
        return self.fill(self.pick(options), c=self.colour.get(cls, ""))

    def cover_sentence(self) -> str | None:
        """The largest land-cover classes in one sentence, the dominant one first."""
        spec = self.vocab["surfaces"]
        ranked = sorted(self.pixels.items(), key=lambda kv: (-kv[1], kv[0]))
        shares = [
            (cls, n / self.total)
            for cls, n in ranked
            if cls in spec["one"] and n / self.total >= float(spec["min_share"])
        ][: int(spec["most"])]
        phrases = [p for p in (self.surface_phrase(c) for c, _ in shares) if p]
        if not phrases:
            return None
        if len(phrases) > 1 and shares[0][1] >= float(spec["dominant_share"]):
            template = self.pick(spec["dominant"])
            return _cap(template.format(first=phrases[0], rest=_join(phrases[1:])))
        template = self.pick(spec["templates"])
        return _cap(template.format(list=_join(phrases), List=_cap(_join(phrases))))

    def detail_sentence(self) -> str | None:
        """A sentence about a river, a bridge, a harbour, an airport or roads, when the scene has one."""
        options = [o for o in self.vocab["details"] if self.usable(o)]
        return self.fill(self.pick(options)["text"]) if options else None


def optical_captions(
    scene: dict[str, Any],
    annotations: Sequence[dict[str, Any]],
    vocab: dict[str, Any] | None = None,
) -> list[str]:
    """One or two captions of a scene's optical image, from its ``scene.json`` content and COCO
    annotations.

    With objects, the first caption counts and places them and the second describes the land cover;
    without, the first describes the land cover and the second a river, harbour, airport or road.

    Args:
        scene: The scene parameters (``seed``, ``index``, ``size``, ``classes``, ``class_pixels``,
            ``layout_counts``), as written to ``scene.json``.
        annotations: The scene's COCO annotations (with ``attributes.class``).
        vocab: The vocabulary (default: ``optical_vocab.json``).
    """
    vocab = vocab or load_vocab()
    writer = _Writer(scene, vocab)
    groups = object_groups(annotations, int(scene["size"]))
    order = (
        [writer.objects_sentence(groups), writer.cover_sentence()]
        if groups
        else [writer.cover_sentence(), writer.detail_sentence()]
    )
    return [s for s in order if s][:MAX_CAPTIONS]


def scene_folder_captions(folder: Path) -> list[str]:
    """The optical captions of a scene folder, computed from its ``scene.json`` and ``coco.json``.

    Raises:
        SargeoError: when either file is missing or not the JSON ``sargeo synth`` writes.
    """
    docs: list[dict[str, Any]] = []
    for key in ("scene", "coco"):
        path = folder / SCENE_FILES[key]
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            raise SargeoError(f"{path}: cannot read ({exc})") from exc
        if not isinstance(data, dict):
            raise SargeoError(f"{path}: not a JSON object")
        docs.append(data)
    scene, coco = docs
    try:
        return optical_captions(scene, coco.get("annotations") or [])
    except (KeyError, TypeError, ValueError) as exc:
        raise SargeoError(
            f"{folder}: scene.json or coco.json lacks what captions need ({exc})"
        ) from exc
