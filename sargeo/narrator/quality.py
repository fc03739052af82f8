"""Caption quality: length and repetition filters, a contradiction check against the ground truth, and
deduplication.

The contradiction check reads a caption the way a user would: every object class it names must be in
the annotations, every count it states ("three ships", "over ten vessels") must match them, a class it
denies ("no ships") must be one the dataset labels, and every surface it names must have pixels in
the mask. It is independent of how the caption was written, so it also guards the o2s rewrites and
any model-written text.
"""

from __future__ import annotations

import operator
import re
from collections import Counter
from dataclasses import dataclass
from functools import lru_cache

from sargeo.narrator.facts import CoverFacts, SceneFacts, objects_known
from sargeo.narrator.text import Candidate
from sargeo.narrator.vocab import Vocab

MIN_WORDS = 3
MAX_WORDS = 50
MAX_REPEAT = 3
"""A content word (longer than three letters) may appear at most this many times."""
NEAR_DUPLICATE = 0.9
"""Captions whose word sets overlap this much (Jaccard) are duplicates."""
FILLER_STOP = ("and", "of", "in", "on", "with", "the", "at", "near", "by")
_WORD = re.compile(r"\d+(?:\.\d+)?°?[a-z%]*|[a-z]+(?:['-][a-z]+)*")


@dataclass(frozen=True)
class Truth:
    """What a caption may claim about one sample.

    Attributes:
        counts: Object class key -> number of annotated objects.
        annotated: True when the sample's objects are annotated (then unnamed classes are absent).
        surfaces: Surface keys with pixels in the mask, or None without a mask.
        labelled: Object classes the dataset labels (only these can be denied); None: every class.
    """

    counts: dict[str, int]
    annotated: bool
    surfaces: frozenset[str] | None
    labelled: frozenset[str] | None = None


def truth_of(facts: SceneFacts, cover: CoverFacts | None) -> Truth:
    """The ground truth a caption of this sample is checked against."""
    counts = {g.cls: g.count for g in facts.groups}
    surfaces = cover.present if cover is not None else None
    return Truth(counts, objects_known(facts.sample), surfaces, facts.labelled)


class Checker:
    """Compiled patterns for the contradiction check and the filters of one vocabulary."""

    def __init__(self, vocab: Vocab, min_words: int = MIN_WORDS, max_words: int = MAX_WORDS):
        """Build the noun and count patterns from the vocabulary."""
        self.vocab = vocab
        self.min_words, self.max_words = min_words, max_words
        self.noun_class: dict[str, str] = {}
        for key in vocab.classes["objects"]:
            oc = vocab.object_class(key)
            for noun in (*oc.singular, *oc.plural):
                self.noun_class[noun.lower()] = key
        self.surface_word: dict[str, str] = {}
        for key in vocab.classes["surfaces"]:
            for name in vocab.surface_names(key):
                self.surface_word[name.lower()] = key
        self.count_of: dict[str, tuple[int, int]] = {}
        numbers: list[str] = vocab.words["numbers"]
        for n, word in enumerate(numbers):
            self.count_of[word] = (n, n)
        for word in vocab.words["one"]:
            self.count_of[word] = (1, 1)
        self.count_of["an"] = (1, 1)
        for band in vocab.words["bands"]:
            for phrase in band["phrases"]:
                self.count_of[phrase] = (int(band["min"]), int(band["max"]))
        nouns = _alternation(self.noun_class)
        counts = _alternation(self.count_of)
        stop = _alternation([*self.count_of, *FILLER_STOP])
        self.nouns_re = re.compile(rf"\b({nouns})\b")
        self.surfaces_re = re.compile(rf"\b({_alternation(self.surface_word)})\b")
        self.count_re = re.compile(
            rf"\b(?P<count>{counts}|\d+)\s+(?:(?!(?:{stop})\b)[\w'-]+,?\s+){{0,5}}?(?P<noun>{nouns})\b"
        )

    def stated_counts(self, text: str) -> list[tuple[str, int, int]]:
        """(class, low, high) for every count the caption states."""
        out = []
        for m in self.count_re.finditer(text.lower()):
            word = m.group("count")
            lo, hi = (int(word), int(word)) if word.isdigit() else self.count_of[word]
            out.append((self.noun_class[m.group("noun")], lo, hi))
        return out

    def named_classes(self, text: str) -> set[str]:
        """Object class keys the caption names."""
        return {self.noun_class[m] for m in self.nouns_re.findall(text.lower())}

    def named_surfaces(self, text: str) -> set[str]:
        """Surface keys the caption names."""
        return {self.surface_word[m] for m in self.surfaces_re.findall(text.lower())}

    def contradiction(self, text: str, truth: Truth) -> str | None:
        """Why the caption contradicts the ground truth, or None."""
        if truth.annotated:
            named = self.named_classes(text)
            # a stated count needs a class noun: without one there is no count to check
            stated = self.stated_counts(text) if named else []
            denied = {cls for cls, _, hi in stated if hi == 0}  # 'no ships'
            absent = named - truth.counts.keys() - denied
            if truth.surfaces is not None:
                absent -= truth.surfaces
            if absent:
                return f"names absent {', '.join(sorted(absent))}"
            unknown = denied - truth.labelled if truth.labelled is not None else set()
            if unknown:
                return f"states no {', '.join(sorted(unknown))} (not labelled)"
            for cls, lo, hi in stated:
                if cls not in truth.counts and truth.surfaces and cls in truth.surfaces:
                    if hi == 0:
                        return f"states no {cls} for its pixels"
                    continue  # a mask class (a pier in the mask) has no count to contradict
                n = truth.counts.get(cls, 0)
                if not lo <= n <= hi:
                    return f"states {lo}-{hi} {cls} for {n}"
        if truth.surfaces is not None:
            absent = self.named_surfaces(text) - truth.surfaces - truth.counts.keys()
            if absent:
                return f"names absent {', '.join(sorted(absent))}"
        return None

    def problem(self, text: str, truth: Truth) -> str | None:
        """The first reason to drop a caption (length, repetition, contradiction), or None."""
        toks = words(text)
        if len(toks) < self.min_words:
            return "too short"
        if len(toks) > self.max_words:
            return "too long"
        if any(map(operator.eq, toks, toks[1:])):
            return "repeated word"
        content = [w for w in toks if len(w) > 3]
        # a word said more than MAX_REPEAT times leaves at least MAX_REPEAT repeats: count only then
        repeats = len(content) - len(set(content))
        if repeats >= MAX_REPEAT and max(Counter(content).values()) > MAX_REPEAT:
            return "repetitive"
        return self.contradiction(text, truth)


def _alternation(words: object) -> str:
    items = sorted({str(w).lower() for w in words}, key=lambda w: (-len(w), w))  # type: ignore[attr-defined]
    return "|".join(re.escape(w) for w in items)


@lru_cache(maxsize=64)
def words(text: str) -> tuple[str, ...]:
    """A caption's lower-case words (cached: the filters, then the deduplicator, read each caption)."""
    return tuple(_WORD.findall(text.lower()))


def normalise(text: str) -> str:
    """Lower-case words only: the key used for exact deduplication."""
    return " ".join(words(text))


class Deduplicator:
    """Remembers the captions kept so far and tells whether a new one repeats them."""

    def __init__(self) -> None:
        """Start empty."""
        self.keys: set[str] = set()
        self.sets: list[set[str]] = []

    def add(self, text: str) -> bool:
        """Keep ``text`` unless it is an exact or near duplicate; True when kept."""
        key = normalise(text)
        if key in self.keys:
            return False
        new = set(words(text))
        for old in self.sets:
            shared = len(new & old)  # Jaccard: shared words over all words of the two
            if shared / max(1, len(new) + len(old) - shared) >= NEAR_DUPLICATE:
                return False
        self.keys.add(key)
        self.sets.append(new)
        return True


def dedup(candidates: list[Candidate], kept: list[Candidate] | None = None) -> list[Candidate]:
    """Drop exact and near duplicates (of each other and of ``kept``), keeping the first."""
    seen = Deduplicator()
    for cand in kept or []:
        seen.add(cand.text)
    return [cand for cand in candidates if seen.add(cand.text)]
