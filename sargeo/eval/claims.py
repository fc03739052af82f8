"""What a caption claims: the object classes it names or denies, the counts it states, the surfaces it
names, the share it gives each and the one it says dominates.

The parser reads captions over the narrator's vocabulary, so a generated caption is read the way the
narrator's references were written: class nouns and the narrator's count words come from
`sargeo.narrator.vocab` (its count table is the inverse of how `sargeo.narrator.a2c` words counts, as
the narrator's own contradiction check builds it); what a model may write beyond them (vague
quantifiers such as 'several' or 'dozens of', negations, dominance phrases) is data, in
``claims.json``. `sargeo.eval.facts` judges these claims against a sample's ground truth.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from typing import Any

from sargeo.narrator.quality import FILLER_STOP, Checker
from sargeo.narrator.vocab import Vocab, load_vocab

UNBOUNDED = 10**9
"""Upper end of an open band ('many', 'over a hundred'), as the narrator's vocabulary writes it."""
MAX_ADJECTIVES = 5
"""Words that may stand between a count and its noun ('three large general cargo ships')."""
_PERCENT = r"(?P<v>less than 1|over 99|\d+(?:\.\d+)?)\s*%"


@dataclass(frozen=True)
class CountClaim:
    """A count a caption states for a class: exactly ``low`` when ``low == high``, else a band."""

    cls: str
    low: int
    high: int
    phrase: str

    @property
    def exact(self) -> bool:
        """Whether the caption states one number (a digit or an exact count word)."""
        return self.low == self.high

    def band(self) -> str:
        """The stated count as text: '3', '11-19', '100+'."""
        if self.exact:
            return str(self.low)
        return f"{self.low}+" if self.high >= UNBOUNDED else f"{self.low}-{self.high}"


@dataclass(frozen=True)
class Mention:
    """One object class noun in a caption, with the count stated for it (if any)."""

    cls: str
    denied: bool
    count: CountClaim | None = None


@dataclass(frozen=True)
class Claims:
    """Everything one caption claims, in the order it says it.

    Attributes:
        mentions: Object class nouns, each with its count or denial.
        surfaces: Surface keys named (without repeats).
        shares: Surface key -> the share (0..1) the caption first states for it.
        dominant: The surface the caption says dominates, or None.
    """

    mentions: tuple[Mention, ...] = ()
    surfaces: tuple[str, ...] = ()
    shares: dict[str, float] = field(default_factory=dict)
    dominant: str | None = None

    @property
    def named(self) -> set[str]:
        """Object classes the caption says are there (named other than in a denial)."""
        return {m.cls for m in self.mentions if not m.denied}

    @property
    def denied(self) -> set[str]:
        """Object classes the caption says are not there ('no ships')."""
        return {m.cls for m in self.mentions if m.denied}

    @property
    def counts(self) -> tuple[CountClaim, ...]:
        """Every count the caption states (a denial is a count of 0)."""
        return tuple(m.count for m in self.mentions if m.count is not None)


@lru_cache(maxsize=1)
def claim_words() -> dict[str, Any]:
    """The parser's own word tables (``claims.json``)."""
    text = (resources.files("sargeo.eval") / "claims.json").read_text(encoding="utf-8")
    data: dict[str, Any] = json.loads(text)
    return data


def _alternation(words: Iterable[str]) -> str:
    """A regex alternation, longest first (so 'several dozen' wins over 'several')."""
    items = sorted({w.lower() for w in words}, key=lambda w: (-len(w), w))
    return "|".join(re.escape(w) for w in items)


def _plural(noun: str) -> str:
    if noun.endswith("y") and noun[-2:-1] not in "aeiou":
        return noun[:-1] + "ies"
    return noun + ("es" if noun.endswith(("x", "ch", "sh")) else "s")


def _alias_words(aliases: dict[str, str | None], skip: set[str], plurals: bool) -> dict[str, str]:
    """Dataset spellings that read as nouns in free text ('harbour', 'boat'), with the plurals of
    the singular ones for countable (object) classes; words in ``skip`` are left out."""
    out: dict[str, str] = {}
    for alias, key in aliases.items():
        word = alias.replace("_", " ").lower()
        if key is None or word in skip or not re.fullmatch(r"[a-z][a-z -]*", word):
            continue
        out.setdefault(word, key)
        if plurals and not word.endswith("s"):
            out.setdefault(_plural(word), key)
    return out


class CaptionParser:
    """Reads the claims of captions, with patterns compiled once from the vocabulary and the tables."""

    def __init__(self, vocab: Vocab | None = None, words: dict[str, Any] | None = None) -> None:
        """Build the noun, count, surface, share and dominance patterns."""
        self.vocab = vocab or load_vocab()
        table = words or claim_words()
        narrator = Checker(self.vocab)  # the narrator's nouns and its inverted count words
        ignored = {w.lower() for w in table["ignored_aliases"]}
        self.noun_class = dict(narrator.noun_class)
        skip = ignored | set(self.noun_class)
        for word, key in _alias_words(self.vocab.classes["object_aliases"], skip, True).items():
            self.noun_class.setdefault(word, self.vocab.object_class(key).key)
        self.surface_word = {
            w: k for w, k in narrator.surface_word.items() if w not in self.noun_class
        }
        for word, key in _alias_words(
            self.vocab.classes["surface_aliases"], ignored, False
        ).items():
            if word not in self.noun_class:
                self.surface_word.setdefault(word, key)
        self.count_of: dict[str, tuple[int, int]] = {
            w: (lo, min(hi, UNBOUNDED)) for w, (lo, hi) in narrator.count_of.items()
        }
        self.count_of.update((w, (int(n), int(n))) for w, n in table["exact"].items())
        for band in table["bands"]:
            high = UNBOUNDED if band["max"] is None else int(band["max"])
            self.count_of.update((p, (int(band["min"]), high)) for p in band["phrases"])
        self.count_of.update((w, (0, 0)) for w in table["negations"])
        self.dominant_share = float(table["dominant_share"])
        self._compile(table)

    def _compile(self, table: dict[str, Any]) -> None:
        nouns, surfaces = _alternation(self.noun_class), _alternation(self.surface_word)
        stop = _alternation([*self.count_of, *FILLER_STOP])
        adjectives = rf"(?:(?!(?:{stop})\b)[\w'-]+,?\s+)"
        self.nouns_re = re.compile(rf"\b(?:{nouns})\b")
        self.count_re = re.compile(
            rf"\b(?P<c>{_alternation(self.count_of)}|\d+)\s+{adjectives}{{0,{MAX_ADJECTIVES}}}?"
            rf"(?P<n>{nouns})\b"
        )
        self.join_re = re.compile(
            rf"\s*,?\s*(?:{_alternation(table['list_joins'])})\s+(?:[\w'-]+,?\s+){{0,3}}"
        )
        self.surfaces_re = re.compile(rf"\b(?:{surfaces})\b")
        cues = table["dominance"]
        self.dominant_res = (
            re.compile(
                rf"\b(?:{_alternation(cues['before'])})\s+{adjectives}{{0,3}}?(?P<s>{surfaces})\b"
            ),
            re.compile(
                rf"\b(?P<s>{surfaces})\s*(?:\([^)]*\)\s*)?(?:{_alternation(cues['after'])})\b"
            ),
        )
        verbs = _alternation(table["share_verbs"])
        about = r"(?:(?:about|roughly|around|approximately|nearly|almost|some)\s+)?"
        self.share_res = (
            # 'water (72%)', 'water dominates the image (72%)': the nearest surface before the share
            re.compile(
                rf"\b(?P<s>{surfaces})\b(?:(?!\b(?:{surfaces})\b)[^.;()])*\(\s*{_PERCENT}\s*\)"
            ),
            re.compile(rf"\b(?P<s>{surfaces}),?\s+(?:is\s+)?(?:{verbs})\s+{about}{_PERCENT}"),
            re.compile(
                rf"{about}{_PERCENT}\s+of\s+the\s+(?:image|scene)\s+(?:is|are)\s+"
                rf"(?:covered\s+by\s+)?{adjectives}{{0,3}}?(?P<s>{surfaces})\b"
            ),
        )

    def parse(self, text: str) -> Claims:
        """The claims of one caption."""
        low = " ".join(text.lower().split())
        shares = self._shares(low)
        return Claims(
            mentions=self._mentions(low),
            surfaces=tuple(
                dict.fromkeys(self.surface_word[m] for m in self.surfaces_re.findall(low))
            ),
            shares=shares,
            dominant=self._dominant(low, shares),
        )

    def _mentions(self, low: str) -> tuple[Mention, ...]:
        counted: dict[int, CountClaim] = {}
        for m in self.count_re.finditer(low):
            word = m.group("c")
            lo, hi = (int(word), int(word)) if word.isdigit() else self.count_of[word]
            counted[m.start("n")] = CountClaim(self.noun_class[m.group("n")], lo, hi, word)
        out: list[Mention] = []
        previous_end = -1
        for m in self.nouns_re.finditer(low):
            claim = counted.get(m.start())
            denied = claim is not None and claim.high == 0
            if claim is None and out and out[-1].denied:  # 'no ships or aircraft'
                denied = self.join_re.fullmatch(low, previous_end, m.start()) is not None
                if denied:
                    claim = CountClaim(self.noun_class[m.group()], 0, 0, "no")
            out.append(Mention(self.noun_class[m.group()], denied, claim))
            previous_end = m.end()
        return tuple(out)

    def _shares(self, low: str) -> dict[str, float]:
        found: list[tuple[int, str, float]] = []
        for pattern in self.share_res:
            for m in pattern.finditer(low):
                value = m.group("v")
                share = {"less than 1": 0.005, "over 99": 0.995}.get(value)
                found.append(
                    (m.start(), self.surface_word[m.group("s")], share or float(value) / 100)
                )
        shares: dict[str, float] = {}
        for _, key, share in sorted(found):
            shares.setdefault(key, share)
        return shares

    def _dominant(self, low: str, shares: dict[str, float]) -> str | None:
        hits = sorted(
            (m.start(), self.surface_word[m.group("s")])
            for pattern in self.dominant_res
            for m in pattern.finditer(low)
        )
        if hits:
            return hits[0][1]
        top = max(shares, key=lambda k: shares[k], default=None)
        return top if top is not None and shares[top] > self.dominant_share else None
