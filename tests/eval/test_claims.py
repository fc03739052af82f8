"""The caption claim parser on wordings the narrator writes and a model might write instead."""

from __future__ import annotations

import pytest

from sargeo.eval.claims import UNBOUNDED, CaptionParser, claim_words
from sargeo.narrator.vocab import load_vocab

PARSER = CaptionParser()


def counts(text: str) -> list[tuple[str, int, int]]:
    return [(c.cls, c.low, c.high) for c in PARSER.parse(text).counts]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("A SAR image of one fishing ship in the upper left.", [("ship", 1, 1)]),
        ("Three large general cargo ships, moored.", [("ship", 3, 3)]),
        ("12 vessels and an aircraft", [("ship", 12, 12), ("aircraft", 1, 1)]),
        ("Over ten ships; several dozen oil tanks.", [("ship", 11, 19), ("storage tank", 20, 49)]),
        ("More than a hundred cars.", [("vehicle", 100, UNBOUNDED)]),
        ("Several boats near the harbour.", [("ship", 3, 9)]),
        ("A few planes and dozens of ships.", [("aircraft", 2, 5), ("ship", 20, 99)]),
        ("Twelve wind turbines in a line.", [("wind turbine", 12, 12)]),
        ("a pair of bright, strongly reflecting vessels", [("ship", 2, 2)]),
        ("The largest about 190 m long, heading north.", []),  # no noun: no count
        ("A SAR scene at 10 m pixel spacing, 27% water.", []),
    ],
)
def test_stated_counts(text: str, expected: list[tuple[str, int, int]]) -> None:
    assert counts(text) == expected


def test_the_narrators_count_words_are_read_back_exactly() -> None:
    vocab = load_vocab()
    for n in range(1, 120):
        for phrase in vocab.count_phrases(n):
            noun = vocab.object_class("ship").singular[0] if n == 1 else "ships"
            ((cls, low, high),) = counts(f"{phrase} {noun} in the center.")
            assert cls == "ship" and low <= n <= high, (n, phrase)
            assert (low == high) == (phrase in vocab.words["numbers"] or n == 1)


def test_denials_carry_over_a_list() -> None:
    claims = PARSER.parse("There are no ships or large aircraft, but a harbor.")
    assert claims.denied == {"ship", "aircraft"} and claims.named == {"harbor"}
    claims = PARSER.parse("No ships and two aircraft.")
    assert claims.denied == {"ship"} and claims.named == {"aircraft"}
    assert PARSER.parse("A port without any vessels.").denied == {"ship"}


def test_surfaces_shares_and_dominance() -> None:
    cases = {
        "Water dominates the image (72%), with land (28%) in the east.": (
            "water",
            {"water": 0.72, "land": 0.28},
        ),
        "About 44% of the scene is farmland, in the east.": (None, {"farmland": 0.44}),
        "Smooth, dark water takes up 52% of the image, in the west.": ("water", {"water": 0.52}),
        "Mostly dark, smooth sea with a few ships.": ("water", {}),
        "The whole image is forest.": ("forest", {}),
        "Most of the image is cropland (70%).": ("farmland", {"farmland": 0.7}),
        "Urban area covers less than 1% of the image.": (None, {"urban": 0.005}),
        "A uniform scene of bright, rough sea ice.": ("ice", {}),
    }
    for text, (dominant, shares) in cases.items():
        claims = PARSER.parse(text)
        assert claims.dominant == dominant, text
        assert claims.shares == pytest.approx(shares), text
    assert PARSER.parse("Farmland lines the shore along the water's edge.").surfaces == (
        "farmland",
        "water",
    )


def test_words_that_are_not_class_names() -> None:
    assert PARSER.parse("A dry, bare scene; the airport apron.").surfaces == ("airport", "apron")
    assert PARSER.parse("Landcover of farmland.").surfaces == ("farmland",)  # not 'land'
    ignored = set(claim_words()["ignored_aliases"])
    assert not ignored & set(PARSER.noun_class) and not ignored & set(PARSER.surface_word)
