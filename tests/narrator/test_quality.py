"""The quality filters: contradictions with the ground truth, length, repetition, duplicates."""

from __future__ import annotations

from sargeo.narrator.quality import Checker, Truth, dedup
from sargeo.narrator.text import Candidate
from sargeo.narrator.vocab import load_vocab

CHECK = Checker(load_vocab())
TRUTH = Truth({"ship": 3, "storage tank": 1}, annotated=True, surfaces=frozenset({"water", "land"}))


def test_counts_and_absent_classes_are_contradictions() -> None:
    assert CHECK.problem("Three ships and a storage tank near the coast.", TRUTH) is None
    assert CHECK.problem("Two ships and a storage tank.", TRUTH) == "states 2-2 ship for 3"
    assert CHECK.problem("Three ships next to an aircraft.", TRUTH) == "names absent aircraft"
    assert (
        CHECK.problem("Three ships in a SAR image of an urban area.", TRUTH) == "names absent urban"
    )
    assert (
        CHECK.problem("More than ten vessels in the upper left.", TRUTH)
        == "states 11-19 ship for 3"
    )
    assert CHECK.stated_counts("A SAR image of three large cargo ships") == [("ship", 3, 3)]


def test_unannotated_objects_are_not_judged() -> None:
    loose = Truth({}, annotated=False, surfaces=None)
    assert CHECK.problem("Two bright ships near a pier.", loose) is None


def test_length_and_repetition() -> None:
    assert CHECK.problem("Ships.", TRUTH) == "too short"
    assert CHECK.problem(" ".join(["three ships"] * 30), TRUTH) == "too long"
    assert CHECK.problem("Three ships ships in the center.", TRUTH) == "repeated word"
    assert (
        CHECK.problem("Three ships near ships by ships and ships in the center.", TRUTH)
        == "repetitive"
    )
    assert CHECK.problem("A ship near 23.23°N, 117.19°E.", Truth({"ship": 1}, True, None)) is None


def test_dedup_exact_and_near() -> None:
    cands = [
        Candidate("Three ships in the upper left.", "a2c"),
        Candidate("three ships in the upper left", "a2c"),
        Candidate("Three ships in the top-left corner.", "a2c"),
    ]
    assert [c.text for c in dedup(cands)] == [cands[0].text, cands[2].text]
    assert dedup(cands[:1], kept=cands[1:2]) == []


def test_a_denied_class_must_be_labelled_and_absent() -> None:
    ships_only = Truth({}, annotated=True, surfaces=None, labelled=frozenset({"ship"}))
    assert CHECK.problem("No ships are visible in this image.", ships_only) is None
    assert (
        CHECK.problem("No buildings are visible in this image.", ships_only)
        == "states no building (not labelled)"
    )
    everything = Truth({}, True, None)  # the synthetic world: every class is labelled
    assert CHECK.problem("No buildings are visible in this image.", everything) is None
    assert CHECK.problem("No ships are visible in this image.", TRUTH) == "states 0-0 ship for 3"
    pier_pixels = Truth({}, True, frozenset({"pier", "water"}), frozenset({"pier"}))
    assert (
        CHECK.problem("No piers are visible in this image.", pier_pixels)
        == "states no pier for its pixels"
    )
