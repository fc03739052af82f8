"""Question-answer pairs for SAR-GPT, answered from the ground truth only, and LLaVA-style dialogues.

Types: presence, count, position, size, length, heading, type, arrangement, landcover (share,
dominant class, presence), compare (which half holds more objects) and describe (a caption). Each pair
says whether its answer is yes/no, a number or open text. Counts are exact here (never banded): a
question deserves the true number. `sample_qa` is the entry point: one captioned sample's pairs and
dialogue, seeded like its captions.
"""

from __future__ import annotations

import random
from dataclasses import asdict, dataclass
from typing import Any

from sargeo.narrator.a2c import direction, place_phrases
from sargeo.narrator.facts import CoverFacts, GroupFact, SceneFacts
from sargeo.narrator.fusion import Narrator, SampleCaptions, image_path
from sargeo.narrator.sa2c import percent
from sargeo.narrator.text import Candidate, article, pick
from sargeo.narrator.vocab import Vocab

YES, NO = "yes", "no"
MAX_TURNS = 6


@dataclass(frozen=True)
class QAPair:
    """One question with its ground-truth answer."""

    question: str
    answer: str
    type: str
    answer_kind: str  # "yes/no" | "number" | "open"

    def to_dict(self) -> dict[str, str]:
        """JSON form."""
        return asdict(self)


@dataclass(frozen=True)
class SampleQA:
    """The question-answer pairs of one sample and its dialogue (None when there is no pair)."""

    pairs: list[QAPair]
    dialogue: dict[str, Any] | None


def _where(group: GroupFact, vocab: Vocab) -> str:
    """Canonical (first) position phrase of a group."""
    return place_phrases(group.place, vocab)[0]


def _nouns(group_cls: str, vocab: Vocab) -> tuple[str, str]:
    oc = vocab.object_class(group_cls)
    return oc.singular[0], oc.plural[0]


def _ask(rng: random.Random, vocab: Vocab, kind: str, **values: str) -> str:
    if "noun" in values:
        values["a_noun"] = f"{article(values['noun'])} {values['noun']}"
    return pick(rng, vocab.qa[kind]).format(**values)


def _object_pairs(
    group: GroupFact, facts: SceneFacts, vocab: Vocab, rng: random.Random
) -> list[QAPair]:
    noun, nouns = _nouns(group.cls, vocab)
    out = [
        QAPair(_ask(rng, vocab, "presence", noun=noun, nouns=nouns), YES, "presence", "yes/no"),
        QAPair(
            _ask(rng, vocab, "count", noun=noun, nouns=nouns), str(group.count), "count", "number"
        ),
    ]
    single = group.count == 1
    kind = "position" if single else "position_group"
    out.append(
        QAPair(
            _ask(rng, vocab, kind, noun=noun, nouns=nouns), _where(group, vocab), "position", "open"
        )
    )
    sizes = {o.size for o in group.objects}
    size_word = vocab.words["sizes"]
    if single or len(sizes) == 1:
        largest = max(group.objects, key=lambda o: o.length_m or o.extent_px)
        answer = str(size_word[largest.size][0])
        if largest.length_m is not None:
            answer += f", about {round(largest.length_m):d} m long"
        kind = "size" if single else "size_largest"
        out.append(QAPair(_ask(rng, vocab, kind, noun=noun, nouns=nouns), answer, "size", "open"))
    obj = group.objects[0]
    if single and obj.length_m is not None:
        q = _ask(rng, vocab, "length", noun=noun, nouns=nouns)
        out.append(QAPair(q, f"about {round(obj.length_m):d} m", "length", "number"))
    if single and obj.heading is not None:
        q = _ask(rng, vocab, "heading", noun=noun, nouns=nouns)
        answer = direction(obj.heading, obj.heading_compass, vocab)
        out.append(QAPair(q, answer, "heading", "open"))
    if single and obj.kind:
        out.append(
            QAPair(_ask(rng, vocab, "type", noun=noun, nouns=nouns), obj.kind, "type", "open")
        )
    if not single and group.arrangement:
        phrase = vocab.words["arrangements"][group.arrangement][0]
        q = _ask(rng, vocab, "arrangement", noun=noun, nouns=nouns)
        out.append(QAPair(q, str(phrase), "arrangement", "open"))
    if group.count >= 2:
        out += _compare(group, facts, vocab, rng, nouns)
    return out


def _compare(
    group: GroupFact, facts: SceneFacts, vocab: Vocab, rng: random.Random, nouns: str
) -> list[QAPair]:
    north, south, east, west = facts.halves(group)
    geo = facts.frame.georeferenced
    names = (
        (("north", "south"), ("east", "west")) if geo else (("top", "bottom"), ("right", "left"))
    )
    kinds = ("compare_ns", "compare_ew") if geo else ("compare_tb", "compare_lr")
    out = []
    for (first, second), (a, b), kind in zip(
        names, ((north, south), (east, west)), kinds, strict=True
    ):
        answer = first if a > b else second if b > a else str(vocab.qa["compare_equal"])
        out.append(QAPair(_ask(rng, vocab, kind, nouns=nouns), answer, "compare", "open"))
    return out


def _cover_pairs(cover: CoverFacts, vocab: Vocab, rng: random.Random) -> list[QAPair]:
    out = []
    for key, share in cover.shares.items():
        name = vocab.surface_names(key)[0]
        q = _ask(rng, vocab, "landcover", surface=name)
        out.append(QAPair(q, percent(share), "landcover", "number"))
        q = _ask(rng, vocab, "landcover_presence", surface=name)
        out.append(QAPair(q, YES, "landcover", "yes/no"))
    if cover.shares:
        top = vocab.surface_names(next(iter(cover.shares)))[0]
        out.append(QAPair(pick(rng, vocab.qa["dominant"]), top, "landcover", "open"))
    if cover.absent:
        name = vocab.surface_names(pick(rng, cover.absent))[0]
        q = _ask(rng, vocab, "landcover_presence", surface=name)
        out.append(QAPair(q, NO, "landcover", "yes/no"))
    return out


def pairs(
    facts: SceneFacts,
    cover: CoverFacts | None,
    vocab: Vocab,
    rng: random.Random,
    captions: list[Candidate] | None = None,
) -> list[QAPair]:
    """Every question the ground truth of one sample answers."""
    out: list[QAPair] = []
    if captions:
        out.append(QAPair(pick(rng, vocab.qa["describe"]), captions[0].text, "describe", "open"))
    for group in facts.groups:
        out += _object_pairs(group, facts, vocab, rng)
    if facts.absent:  # only a labelled class can be absent; others are unknown, not absent
        noun, nouns = _nouns(pick(rng, facts.absent), vocab)
        q = _ask(rng, vocab, "presence", noun=noun, nouns=nouns)
        out.append(QAPair(q, NO, "presence", "yes/no"))
        if rng.random() < 0.5:
            q = _ask(rng, vocab, "count", noun=noun, nouns=nouns)
            out.append(QAPair(q, "0", "count", "number"))
    if cover is not None:
        out += _cover_pairs(cover, vocab, rng)
    return out


def conversation(
    sample_id: str, image: str, qa: list[QAPair], vocab: Vocab, rng: random.Random
) -> dict[str, Any]:
    """A LLaVA-style multi-turn dialogue: the image token in the first question, up to MAX_TURNS."""
    first = [p for p in qa if p.type == "describe"]
    rest = [p for p in qa if p.type != "describe"]
    rng.shuffle(rest)
    turns = (first + rest)[:MAX_TURNS]
    messages: list[dict[str, str]] = []
    for i, pair in enumerate(turns):
        question = f"{vocab.qa['image_token']}\n{pair.question}" if i == 0 else pair.question
        messages.append({"from": "human", "value": question})
        messages.append({"from": "gpt", "value": pair.answer})
    return {"id": sample_id, "image": image, "conversations": messages}


def sample_qa(result: SampleCaptions, narrator: Narrator) -> SampleQA:
    """Every pair one captioned sample's ground truth answers, and its LLaVA-style dialogue.

    Seeded per sample (the narrator's seed, the salt ``qa`` and the sample id), so a run is
    reproducible and independent of the order samples come in.
    """
    sample, vocab = result.sample, narrator.vocab
    rng = narrator.rng(sample, "qa")
    found = pairs(result.facts, result.cover, vocab, rng, result.captions)
    dialogue = conversation(sample.id, image_path(sample), found, vocab, rng) if found else None
    return SampleQA(found, dialogue)
