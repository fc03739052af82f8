"""The vocabulary files: they load, and their phrases cannot be confused with one another."""

from __future__ import annotations

import itertools

from sargeo.narrator.text import fields
from sargeo.narrator.vocab import load_vocab


def test_cell_phrases_are_not_substrings_of_other_cells() -> None:
    words = load_vocab().words
    phrases = [(cell, p) for cell, ps in words["cells"].items() for p in ps]
    for (c1, p1), (c2, p2) in itertools.permutations(phrases, 2):
        if c1 != c2:
            assert p1 not in p2, f"{p1!r} ({c1}) is inside {p2!r} ({c2})"


def test_count_words_exact_then_banded() -> None:
    vocab = load_vocab()
    assert vocab.count_phrases(3) == ["three"]
    assert "a" in vocab.count_phrases(1)
    assert "more than ten" in vocab.count_phrases(12)
    assert vocab.count_phrases(20) == vocab.count_phrases(49)
    assert "over a hundred" in vocab.count_phrases(5000)
    bands = vocab.words["bands"]
    for lo, hi in itertools.pairwise(bands):
        assert lo["max"] + 1 == hi["min"], "bands must tile the counts without gaps or overlaps"


def test_aliases_resolve_dataset_names() -> None:
    vocab = load_vocab()
    assert vocab.object_class("Ship").key == "ship"
    assert vocab.object_class("oil_tank").key == "storage tank"
    assert vocab.object_class("harbour").key == "harbor"
    unknown = vocab.object_class("wind_mill")
    assert unknown.singular == ("wind mill",) and unknown.plural == ("wind mills",)
    assert vocab.surface("not water") == "land"
    assert vocab.surface("background") is None
    assert vocab.surface("ship") is None  # objects in a mask are a2c's business
    assert vocab.surface("pier") == "pier"
    assert vocab.surface("sea") == "water"


def test_templates_use_only_known_placeholders() -> None:
    templates = load_vocab().templates
    allowed = {"np", "NP", "be"}
    for t in templates["a2c"]["sentence"]:
        assert fields(t) <= allowed, t
    for t in templates["sa2c"]["single"] + templates["sa2c"]["dominant"]:
        assert fields(t) <= {
            "surface",
            "Surface",
            "share",
            "Share_word",
            "where",
            "sar",
            "Sar",
            "rest",
        }
