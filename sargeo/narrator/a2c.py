"""Annotation-to-caption (a2c): object classes, counts, sizes, positions, arrangement and headings.

Every caption states each mentioned class with its count (exact up to ten, banded above), so a caption
never contradicts the boxes it came from; one extra detail per class (position, arrangement, size,
heading, SAR appearance) varies the wording. All words come from the vocabulary files.
"""

from __future__ import annotations

import random
import re

from sargeo.narrator.facts import GroupFact, ObjectFact, SceneFacts, objects_known
from sargeo.narrator.text import Candidate, article, capitalise, fill, join_list, pick, tidy
from sargeo.narrator.vocab import Vocab

BRANCH = "a2c"
MAX_CLASSES = 3
"""Classes named in one caption, largest count first (keeps captions short, as in the paper)."""
MAX_KINDS = 2
"""Object types named in one clause; more become 'and other types'."""
DETAILS = ("position", "arrangement", "size", "heading", "sar", "plain")
_PARENS = re.compile(r"\([^)]*\)")


def octant(bearing: float) -> int:
    """Index 0..7 of the compass point (N, NE, ... NW) nearest a bearing."""
    return int(((bearing + 22.5) % 360.0) // 45.0)


def direction(bearing: float, georeferenced: bool, vocab: Vocab) -> str:
    """A bearing in words: compass terms when georeferenced, image terms otherwise."""
    key = "compass" if georeferenced else "image_directions"
    words: list[str] = vocab.words[key]
    return words[octant(bearing)]


def place_phrases(place: tuple[object, ...], vocab: Vocab) -> list[str]:
    """The position phrases of a grid place (`sargeo.narrator.facts.grid_place`)."""
    words = vocab.words
    match place:
        case ("cell", (row, col)):
            return list(words["cells"][f"{row},{col}"])
        case ("row", row):
            return list(words["rows"][str(row)])
        case ("col", col):
            return list(words["cols"][str(col)])
    return list(words["scattered"])


def where(group: GroupFact, vocab: Vocab, rng: random.Random) -> str:
    """Position of a group in the 3x3 grid: one cell, one row, one column, or scattered."""
    return pick(rng, place_phrases(group.place, vocab))


def _comma_outside_parentheses(clause: str) -> bool:
    """Whether a clause has a comma that is not in a parenthesised type list."""
    return "," in clause and "," in _PARENS.sub("", clause)


def length_text(metres: float) -> str:
    """'about 190 m long' (rounded to 5 m, or 10 m above 100 m)."""
    step = 10 if metres >= 100 else 5
    return f"about {max(step, round(metres / step) * step):d} m long"


def count_np(group: GroupFact, vocab: Vocab, rng: random.Random, adjectives: list[str]) -> str:
    """Count phrase, adjectives and noun: 'three large ships', 'a cargo ship', 'over ten vessels'."""
    oc = vocab.object_class(group.cls)
    n = group.count
    noun = pick(rng, oc.singular if n == 1 else oc.plural)
    rest = " ".join([*adjectives, noun])
    count = pick(rng, vocab.count_phrases(n))
    if count == "a":
        count = article(rest)
    return f"{count} {rest}"


def _kind_words(group: GroupFact) -> tuple[list[str], str]:
    """Type adjective when all objects share one type; else a suffix naming the mixed types."""
    kinds = group.kinds()
    if not kinds:
        return [], ""
    complete = all(o.kind for o in group.objects)
    if len(kinds) == 1 and complete:
        return [kinds[0]], ""
    named = (
        kinds[:MAX_KINDS] if complete and len(kinds) <= MAX_KINDS else [*kinds[:MAX_KINDS], "other"]
    )
    return [], f" ({join_list(named)} types)"


def _same_heading(objects: tuple[ObjectFact, ...]) -> float | None:
    headings = [o.heading for o in objects]
    if not headings or any(h is None for h in headings):
        return None
    if len({o.heading_compass for o in objects}) > 1:
        return None
    first = octant(headings[0])  # type: ignore[arg-type]
    if all(octant(h) == first for h in headings):  # type: ignore[arg-type]
        return headings[0]
    return None


def group_clause(
    group: GroupFact, facts: SceneFacts, vocab: Vocab, rng: random.Random, detail: str
) -> str:
    """One class's noun phrase with its count and one detail."""
    words = vocab.words
    adjectives, kind_suffix = _kind_words(group)
    pos = where(group, vocab, rng)
    if detail == "arrangement" and group.arrangement:
        arr = group.arrangement
        piers = facts.group("pier")
        if arr == "pier" and piers is not None and piers.count > 1:
            arr = "piers"
        if group.count == 1:
            phrase = pick(rng, words["moored_single"][arr])
        else:
            phrase = pick(rng, words["arrangements"][arr])
        if arr == "scattered":
            return f"{count_np(group, vocab, rng, adjectives)}{kind_suffix}, {phrase}"
        return f"{count_np(group, vocab, rng, adjectives)}{kind_suffix} {phrase} {pos}"
    if detail == "size":
        sizes = {o.size for o in group.objects}
        measured = [o.length_m for o in group.objects if o.length_m is not None]
        if len(sizes) == 1:
            size = pick(rng, words["sizes"][next(iter(sizes))])
            np_ = count_np(group, vocab, rng, [size, *adjectives])
            tail = ""
        else:
            np_ = count_np(group, vocab, rng, adjectives)
            tail = " of different sizes"
        if measured:
            if group.count == 1:
                tail += f", {length_text(measured[0])},"
            else:
                tail += f", the largest {length_text(max(measured))},"
        return f"{np_}{kind_suffix}{tail} {pos}"
    if detail == "heading":
        heading = _same_heading(group.objects)
        if heading is not None:
            dir_ = direction(heading, group.objects[0].heading_compass, vocab)
            np_ = count_np(group, vocab, rng, adjectives)
            if group.count == 1:
                return f"{np_}{kind_suffix} heading {dir_} {pos}"
            return f"{np_}{kind_suffix} {pos}, all heading {dir_}"
    if detail == "sar":
        oc = vocab.object_class(group.cls)
        if oc.sar:
            np_ = count_np(group, vocab, rng, [pick(rng, oc.sar), *adjectives])
            return f"{np_}{kind_suffix} {pos}"
    if detail == "plain":
        return f"{count_np(group, vocab, rng, adjectives)}{kind_suffix}"
    return f"{count_np(group, vocab, rng, adjectives)}{kind_suffix} {pos}"


def noun_phrase(
    facts: SceneFacts, vocab: Vocab, rng: random.Random, detail: str | None = None
) -> tuple[str, str, tuple[str, ...]]:
    """The caption's noun phrase over all classes, its verb ('is'/'are') and the annotation ids."""
    groups = facts.groups[:MAX_CLASSES]
    first = detail or pick(rng, vocab.templates["a2c"]["details"])
    used = {groups[0].place} if groups else set()
    clauses = [group_clause(groups[0], facts, vocab, rng, first)] if groups else []
    for g in groups[1:]:
        # other classes get a position only where it adds something: not 'scattered', not a repeat
        key = g.place
        fresh = key not in used and key != ("scattered",) and first != "plain"
        used.add(key)
        clauses.append(
            group_clause(
                g, facts, vocab, rng, "position" if fresh and rng.random() < 0.7 else "plain"
            )
        )
    be = "is" if len(groups) == 1 and groups[0].count == 1 else "are"
    ids = tuple(i for g in groups for i in g.source_ids)
    if len(clauses) > 1 and any(_comma_outside_parentheses(c) for c in clauses):
        return "; ".join(clauses[:-1]) + "; and " + clauses[-1], be, ids
    return join_list(clauses), be, ids


def empty_caption(facts: SceneFacts, vocab: Vocab, rng: random.Random) -> Candidate | None:
    """A scene without objects: 'no distinct targets' where every class is labelled, else the
    labelled classes it lacks by name ('No ships are visible'); None when no class is labelled."""
    templates = vocab.templates["a2c"]
    if facts.labelled is None:
        return Candidate(pick(rng, templates["empty"]), BRANCH)
    keys = list(facts.absent)
    if not keys:
        return None
    if len(keys) > MAX_CLASSES:
        keys = sorted(rng.sample(keys, MAX_CLASSES))
    absent = join_list([f"no {vocab.object_class(k).plural[0]}" for k in keys])
    text = fill(rng, templates["empty_labelled"], {"absent": absent, "Absent": capitalise(absent)})
    return Candidate(tidy(capitalise(text)), BRANCH) if text else None


def caption(
    facts: SceneFacts, vocab: Vocab, rng: random.Random, detail: str | None = None
) -> Candidate | None:
    """One a2c caption (`empty_caption` when the sample has no boxes)."""
    templates = vocab.templates["a2c"]
    if not facts.groups:
        return empty_caption(facts, vocab, rng)
    np_, be, ids = noun_phrase(facts, vocab, rng, detail)
    text = fill(rng, templates["sentence"], {"np": np_, "NP": capitalise(np_), "be": be})
    return Candidate(tidy(capitalise(text or np_)), BRANCH, ids)


def captions(facts: SceneFacts, vocab: Vocab, rng: random.Random, n: int) -> list[Candidate]:
    """``n`` a2c candidates with varied details (the fusion step removes duplicates)."""
    if not facts.groups:
        if not objects_known(facts.sample):
            return []
        empties = (empty_caption(facts, vocab, rng) for _ in range(min(n, 3)))
        return [c for c in empties if c is not None]
    details = list(DETAILS)
    rng.shuffle(details)
    out = (caption(facts, vocab, rng, details[i % len(details)]) for i in range(n))
    return [c for c in out if c is not None]
