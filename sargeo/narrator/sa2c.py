"""Segmentation-to-caption (sa2c): the share of each class in a mask, the dominant class, and simple
spatial relations (water in the west, urban area along the coast).

The facts come from `sargeo.narrator.facts.cover`; this module only puts them into words.
"""

from __future__ import annotations

import random

from sargeo.narrator.a2c import octant
from sargeo.narrator.facts import UNIFORM, CoverFacts
from sargeo.narrator.georef import Frame
from sargeo.narrator.text import Candidate, capitalise, fill, pick, tidy
from sargeo.narrator.vocab import Vocab

BRANCH = "sa2c"


def percent(share: float) -> str:
    """'27%' (or 'less than 1%' / 'over 99%')."""
    if share < 0.005:
        return "less than 1%"
    if share > 0.995 and share < 1.0:
        return "over 99%"
    return f"{round(share * 100):d}%"


def region(
    offset: tuple[float, float] | None, frame: Frame, vocab: Vocab, rng: random.Random
) -> str:
    """'in the west' (compass when georeferenced), 'on the left side', or 'spread across the image'."""
    if offset is None:
        return pick(rng, vocab.templates["sa2c"]["spread"])
    if offset == (0.0, 0.0):
        return pick(rng, vocab.templates["sa2c"]["middle"])
    key = "compass_regions" if frame.georeferenced else "image_regions"
    regions: list[str] = vocab.words[key]
    return regions[octant(frame.bearing(*offset))]


def _share_word(share: float, vocab: Vocab, rng: random.Random) -> str:
    for entry in vocab.words["share_words"]:
        if share <= entry["max"]:
            return pick(rng, entry["phrases"])
    return "all"


def _values(
    key: str, cover: CoverFacts, frame: Frame, vocab: Vocab, rng: random.Random
) -> dict[str, str]:
    name = pick(rng, vocab.surface_names(key))
    sar = vocab.surface_sar(key)
    values = {
        "surface": name,
        "Surface": capitalise(name),
        "share": percent(cover.shares[key]),
        "Share_word": capitalise(_share_word(cover.shares[key], vocab, rng)),
        "where": region(cover.offsets.get(key), frame, vocab, rng),
    }
    if sar:
        values["sar"] = pick(rng, sar)
        values["Sar"] = capitalise(values["sar"])
    return values


def caption(cover: CoverFacts, frame: Frame, vocab: Vocab, rng: random.Random) -> Candidate | None:
    """One sa2c caption: the dominant class with the runner-up, or one class's share and side."""
    templates = vocab.templates["sa2c"]
    keys = list(cover.shares)
    if not keys:
        return None
    top = keys[0]
    if cover.shares[top] >= UNIFORM:
        text = fill(rng, templates["uniform"], _values(top, cover, frame, vocab, rng))
    elif len(keys) == 1 or rng.random() < 0.5:
        key = keys[0] if len(keys) == 1 else pick(rng, keys[:3])
        text = fill(rng, templates["single"], _values(key, cover, frame, vocab, rng))
    else:
        second = _values(keys[1], cover, frame, vocab, rng)
        values = _values(top, cover, frame, vocab, rng)
        values["rest"] = fill(rng, templates["rest"], second) or ""
        text = fill(rng, templates["dominant"], values)
    if text and cover.coast and rng.random() < 0.5:
        coast = _values(pick(rng, cover.coast), cover, frame, vocab, rng)
        text += " " + (fill(rng, templates["coast"], coast) or "")
    return Candidate(tidy(capitalise(text)), BRANCH) if text else None


def captions(
    cover: CoverFacts, frame: Frame, vocab: Vocab, rng: random.Random, n: int
) -> list[Candidate]:
    """``n`` sa2c candidates (fewer when the mask names no class)."""
    out = [caption(cover, frame, vocab, rng) for _ in range(n)]
    return [c for c in out if c is not None]
