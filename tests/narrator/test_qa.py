"""Question-answer pairs come from the ground truth only, with their types."""

from __future__ import annotations

import random

import numpy as np

from sargeo.narrator import qa
from sargeo.narrator.facts import cover_facts, scene_facts
from sargeo.narrator.vocab import load_vocab

from .helpers import sample, ship, utm_tile

VOCAB = load_vocab()


def _pairs(s, cover=None) -> list[qa.QAPair]:  # type: ignore[no-untyped-def]
    return qa.pairs(scene_facts(s, VOCAB), cover, VOCAB, random.Random(0))


def test_count_presence_position_and_compare() -> None:
    boxes = [ship(100, 60), ship(300, 80), ship(400, 400)]  # two in the north half, one south
    pairs = _pairs(sample(boxes, tile=utm_tile()))
    by_type: dict[str, list[qa.QAPair]] = {}
    for p in pairs:
        by_type.setdefault(p.type, []).append(p)
    assert [p.answer for p in by_type["count"] if "ship" in p.question] == ["3"]
    assert any(p.answer == "yes" and "ship" in p.question for p in by_type["presence"])
    absent = [p for p in by_type["presence"] if p.answer == "no"]
    assert absent and all("ship" not in p.question for p in absent)
    answers = {p.question: p.answer for p in by_type["compare"]}
    north_south = [a for q, a in answers.items() if "north" in q]
    assert north_south == ["north"]
    assert all(p.answer_kind in ("yes/no", "number", "open") for p in pairs)


def test_single_object_questions_without_crs() -> None:
    s = sample([ship(256, 256, length=30, angle=90, ship_type="Cargo", length_m=180.0)])
    answers = {p.type: p.answer for p in _pairs(s)}
    assert answers["position"] == "in the center"
    assert answers["type"] == "cargo"
    assert answers["size"] == "large, about 180 m long"
    assert answers["heading"] == "towards the right of the image"
    assert answers["count"] == "1"


def test_landcover_answers_and_dialogue() -> None:
    mask = np.zeros((100, 100), dtype=np.uint8)
    mask[:, :25] = 1
    cover = cover_facts(mask, {0: "land", 1: "water"}, VOCAB)
    s = sample([], size=100, mask="m.tif", mask_classes={0: "land", 1: "water"})
    pairs = _pairs(s, cover)
    land = {p.question: p.answer for p in pairs if p.type == "landcover"}
    assert "25%" in land.values() and "75%" in land.values() and "land" in land.values()
    # both of the mask's classes are there: nothing it does not name may be denied
    assert not any(a == "no" for a in land.values())
    classes = {0: "land", 1: "water", 2: "forest"}  # forest is a class of the mask, with no pixel
    absent = cover_facts(mask, classes, VOCAB)
    assert absent.absent == ("forest",)
    s3 = sample([], size=100, mask="m.tif", mask_classes=classes)
    denied = {p.question: p.answer for p in _pairs(s3, absent) if p.type == "landcover"}
    assert any(a == "no" and "forest" in q for q, a in denied.items())
    assert not any(
        p.type in ("count", "presence") for p in pairs
    )  # objects unknown with a mask only
    dialogue = qa.conversation("s", "img.tif", pairs, VOCAB, random.Random(0))
    turns = dialogue["conversations"]
    assert turns[0]["from"] == "human" and turns[0]["value"].startswith("<image>\n")
    assert [t["from"] for t in turns] == ["human", "gpt"] * (len(turns) // 2)
    assert sum("<image>" in t["value"] for t in turns) == 1


def test_sample_qa_is_seeded_per_sample_and_has_no_dialogue_without_pairs() -> None:
    from sargeo.narrator.fusion import Narrator

    narrator = Narrator()
    ships = narrator.caption(sample([ship(100, 60), ship(400, 400)], id="a"))
    first, again = qa.sample_qa(ships, narrator), qa.sample_qa(ships, narrator)
    assert first == again and first.pairs and first.dialogue is not None
    assert first.dialogue["id"] == "a" and first.dialogue["image"].endswith("img.tif")
    assert first.dialogue["conversations"][1]["value"] == ships.captions[0].text  # describe first
    unknown = narrator.caption(sample([], id="b", metadata={"listed": False}))
    assert qa.sample_qa(unknown, narrator) == qa.SampleQA([], None)
