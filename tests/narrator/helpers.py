"""Independent readers of caption text for the narrator tests, and small Sample builders.

The count reader is written here, apart from the narrator's own checker, so that a test does not
trust the code it tests: it knows the English count words and the bands the vocabulary promises.
"""

from __future__ import annotations

import random
import re
from collections import Counter

from sargeo.narrator import qa
from sargeo.narrator.facts import cell_of
from sargeo.narrator.fusion import SampleCaptions
from sargeo.narrator.vocab import load_vocab
from sargeo.records import Box, Sample, Tile, Window

EXACT = {
    "a": 1,
    "an": 1,
    "one": 1,
    "a single": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
}
BANDS = {
    "more than ten": (11, 19),
    "over ten": (11, 19),
    "between ten and twenty": (11, 19),
    "more than twenty": (20, 49),
    "over twenty": (20, 49),
    "several dozen": (20, 49),
    "more than fifty": (50, 99),
    "over fifty": (50, 99),
    "more than a hundred": (100, 10**9),
    "over a hundred": (100, 10**9),
}
CELLS = {
    (0, 0): ("in the upper left", "in the top-left corner"),
    (0, 1): ("at the top", "at the top center"),
    (0, 2): ("in the upper right", "in the top-right corner"),
    (1, 0): ("on the left", "on the left-hand side"),
    (1, 1): ("in the center", "in the middle of the image"),
    (1, 2): ("on the right", "on the right-hand side"),
    (2, 0): ("in the lower left", "in the bottom-left corner"),
    (2, 1): ("at the bottom", "at the bottom center"),
    (2, 2): ("in the lower right", "in the bottom-right corner"),
}


def class_nouns() -> dict[str, str]:
    """Every noun (singular and plural) the vocabulary may use for an object class -> class key."""
    vocab = load_vocab()
    out: dict[str, str] = {}
    for key in vocab.classes["objects"]:
        oc = vocab.object_class(key)
        for noun in (*oc.singular, *oc.plural):
            out[noun] = key
    return out


def _alt(words: object) -> str:
    return "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True))  # type: ignore[call-overload]


def stated_counts(caption: str, nouns: dict[str, str] | None = None) -> list[tuple[str, int, int]]:
    """(class, low, high) for each 'COUNT [up to five words] NOUN' in the caption."""
    nouns = nouns or class_nouns()
    counts = {**{k: (v, v) for k, v in EXACT.items()}, **BANDS}
    stop = _alt([*counts, "and", "of", "in", "on", "with", "the", "at"])
    pattern = re.compile(
        rf"\b(?P<c>{_alt(counts)})\s+(?:(?!(?:{stop})\b)[\w'-]+,?\s+){{0,5}}?(?P<n>{_alt(nouns)})\b"
    )
    return [(nouns[m["n"]], *counts[m["c"]]) for m in pattern.finditer(caption.lower())]


def named_classes(caption: str, nouns: dict[str, str] | None = None) -> set[str]:
    """Object classes a caption names."""
    nouns = nouns or class_nouns()
    found = re.findall(rf"\b({_alt(nouns)})\b", caption.lower())
    return {nouns[n] for n in found}


def label_nouns() -> dict[str, str]:
    """Every word that names a class (object nouns, surface names, and the dataset spellings the
    vocabulary maps: 'harbour', 'sea', 'boat') -> the class key it names."""
    vocab = load_vocab()
    out = dict(class_nouns())
    for key in vocab.classes["surfaces"]:
        out.update((name, key) for name in vocab.surface_names(key))
    for kind in ("object_aliases", "surface_aliases"):
        for alias, key in vocab.classes[kind].items():
            for word in {alias.replace("_", " "), f"{alias.replace('_', ' ')}s"}:
                if key is not None:
                    out.setdefault(word, key)
    return out


def named_labels(text: str, nouns: dict[str, str] | None = None) -> set[str]:
    """Class keys (objects and surfaces) a text names."""
    nouns = nouns or label_nouns()
    return {nouns[n] for n in re.findall(rf"\b({_alt(nouns)})\b", text.lower())}


def cell_phrases(caption: str) -> set[tuple[int, int]]:
    """Grid cells whose phrases appear in the caption."""
    low = caption.lower()
    return {cell for cell, phrases in CELLS.items() if any(p in low for p in phrases)}


def utm_tile(
    size: int = 512, spacing: float = 10.0, epsg: int = 32631, x0: float = 500_000.0
) -> Tile:
    """A north-up UTM tile."""
    transform = (spacing, 0.0, x0, 0.0, -spacing, 5_000_000.0)
    return Tile(
        id="t",
        source="synthetic",
        window=Window(0, 0, size, size),
        crs=f"EPSG:{epsg}",
        transform=transform,
        bounds=(x0, 5_000_000.0 - size * spacing, x0 + size * spacing, 5_000_000.0),
        pixel_spacing=(spacing, spacing),
        polarisations=("VV", "VH"),
        units="dB",
    )


def ship(
    cx: float, cy: float, length: float = 20.0, angle: float = 0.0, sid: str = "", **attrs: object
) -> Box:
    """A ship box with an oriented box along ``angle``."""
    half = length / 2
    return Box(
        "ship",
        (cx - half, cy - half, cx + half, cy + half),
        (cx, cy, length, length / 5, angle),
        dict(attrs),
        sid,
    )


def sample(boxes: list[Box], size: int = 512, tile: Tile | None = None, **kw: object) -> Sample:
    """A sample with the given boxes."""
    return Sample(
        id=str(kw.pop("id", "s")),
        image="img.tif",
        width=size,
        height=size,
        boxes=boxes,
        tile=tile,
        **kw,
    )  # type: ignore[arg-type]


PIER_PHRASES = re.compile(r"(?:moored|berthed) (?:along|at) (?:a pier|(?:one of )?the piers|piers)")


def segments(text: str, nouns: dict[str, str] | None = None) -> list[tuple[str, str]]:
    """(class, text up to the next class noun) for each class noun in a caption."""
    nouns = nouns or class_nouns()
    low = PIER_PHRASES.sub("moored", text.lower())
    matches = list(re.finditer(rf"\b({_alt(nouns)})\b", low))
    ends = [m.start() for m in matches[1:]] + [len(low)] if matches else []
    return [(nouns[m.group(1)], low[m.end() : end]) for m, end in zip(matches, ends, strict=True)]


def assert_grounded(result: SampleCaptions) -> None:
    """Every caption names only present classes, states true counts and true positions, and the
    count answers equal the ground truth."""
    vocab = load_vocab()
    sample = result.sample
    nouns = class_nouns()
    truth = Counter(vocab.object_class(b.cls).key for b in sample.boxes)
    surfaces = result.cover.present if result.cover else frozenset()
    cells: dict[str, set[tuple[int, int]]] = {}
    for b in sample.boxes:
        if b.obox:
            x, y = b.obox[0], b.obox[1]
        else:
            x, y = (b.bbox[0] + b.bbox[2]) / 2, (b.bbox[1] + b.bbox[3]) / 2
        key = vocab.object_class(b.cls).key
        cells.setdefault(key, set()).add(cell_of(x, y, sample.width, sample.height))
    for cand in result.captions:
        text = cand.text
        assert named_classes(text, nouns) <= set(truth) | surfaces, text
        for cls, lo, hi in stated_counts(text, nouns):
            if cls in surfaces and cls not in truth:
                continue  # a pier in the mask only: 'along a pier' has no count to check
            assert lo <= truth[cls] <= hi, (text, dict(truth))
        if cand.branch != "a2c":
            continue
        for cls, segment in segments(text, nouns):
            said = {cell for cell, phrases in CELLS.items() if any(p in segment for p in phrases)}
            if len(cells.get(cls, ())) == 1:
                assert said <= cells[cls], (text, cls, cells[cls])
            else:
                assert not said, (text, cls, cells.get(cls))
    pairs = qa.pairs(result.facts, result.cover, vocab, random.Random(0))
    for group in result.facts.groups:
        noun = vocab.object_class(group.cls).plural[0]
        answers = [
            p.answer for p in pairs if p.type == "count" and f" {noun} " in f" {p.question} "
        ]
        assert answers == [str(truth[group.cls])], (group.cls, answers)
