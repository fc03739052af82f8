"""Optical-to-SAR (o2s): rule-guided rewriting of a paired optical image's caption into SAR language.

Colour and spectral words are dropped, surfaces get backscatter words (calm water dark, buildings and
ships bright, vegetation moderately bright and textured), and every rewrite, from the rules or from
an optional local language model (`sargeo.narrator.llm`), must pass the same consistency check: it
names no object the optical caption does not name, and keeps every stated count.
"""

from __future__ import annotations

import random
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Protocol

from sargeo.narrator.text import Candidate, pick, tidy
from sargeo.narrator.vocab import Vocab

BRANCH = "o2s"
_TOKEN = re.compile(r"[A-Za-z0-9'°%]+(?:-[A-Za-z0-9']+)*|[^\w\s]")
ONE = frozenset({"a", "an", "one", "single"})
TONE = frozenset({"bright", "dark", "light", "pale", "deep", "vivid"})
"""Optical tone words, dropped with the colour word they qualify ('bright green')."""
STOP = frozenset({".", ";", "and", "or", "of", "with", "near", "beside"})


class Rewriter(Protocol):
    """Turns one optical caption into SAR language."""

    name: str

    def rewrite(self, caption: str, rng: random.Random) -> str:
        """The rewritten caption."""
        ...


def tokens(text: str) -> list[str]:
    """Words (with hyphens) and punctuation marks."""
    return _TOKEN.findall(text)


def detokenise(toks: list[str]) -> str:
    """Join tokens with spaces, then tidy the spaces before punctuation."""
    return tidy(" ".join(toks))


def _fix_articles(toks: list[str]) -> list[str]:
    from sargeo.narrator.text import article

    out = list(toks)
    for i, tok in enumerate(out[:-1]):
        if tok.lower() in ("a", "an"):
            fixed = article(out[i + 1])
            out[i] = fixed.capitalize() if tok[0].isupper() else fixed
    return out


@dataclass
class RuleRewriter:
    """The default rewriter: vocabulary-driven word rules, no model.

    The rules rewrite each caption once (the fusion step asks for several rewrites of the same
    sentences, which differ only by the prefix drawn for them).
    """

    vocab: Vocab
    name: str = "rules"
    _drop: frozenset[str] = field(init=False, repr=False)
    _phrases: list[tuple[re.Pattern[str], str]] = field(init=False, repr=False)
    _surfaces: dict[str, str] = field(init=False, repr=False)
    _sar_words: frozenset[str] = field(init=False, repr=False)
    _boundary: frozenset[str] = field(init=False, repr=False)
    _body: Callable[[str], str] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        rules = self.vocab.o2s
        self._drop = frozenset(w.lower() for w in rules["drop"])
        self._surfaces = rules["surfaces"]
        self._sar_words = frozenset(rules["sar_adjectives"])
        self._boundary = frozenset(rules["boundary"])
        ordered = sorted(rules["phrases"].items(), key=lambda kv: -len(kv[0]))
        self._phrases = [(re.compile(rf"\b{re.escape(k)}\b", re.IGNORECASE), v) for k, v in ordered]
        self._body = lru_cache(maxsize=256)(self._sar_body)

    def _dropped(self, tok: str) -> bool:
        low = tok.lower()
        return low in self._drop or ("-" in low and any(p in self._drop for p in low.split("-")))

    def _kept_tokens(self, caption: str) -> list[str]:
        """Tokens after the phrase rules, without colour/spectral words (and their tone words)."""
        text = caption
        for pattern, repl in self._phrases:
            text = pattern.sub(repl, text)
        raw = tokens(text)
        return [
            t
            for i, t in enumerate(raw)
            if not self._dropped(t)
            and not (t.lower() in TONE and i + 1 < len(raw) and self._dropped(raw[i + 1]))
        ]

    def strip_colours(self, text: str) -> str:
        """Only drop colour and spectral words (used on a model's rewrite)."""
        return _sentence_case(detokenise(_fix_articles(self._kept_tokens(text))))

    def rewrite(self, caption: str, rng: random.Random) -> str:
        """Drop colour/spectral words, add backscatter words to surfaces, fix articles."""
        body = self._body(caption)
        prefix = pick(rng, self.vocab.templates["o2s"]["prefix"])
        if prefix and "sar" not in body.lower():  # 'In SAR, ' unless it names SAR already
            first = body.split(" ", 1)[0]
            acronym = len(first) > 1 and first.isupper()
            body = prefix + (body if acronym else body[:1].lower() + body[1:])
        return _sentence_case(tidy(body))

    def _sar_body(self, caption: str) -> str:
        """The rewrite of ``caption`` without a prefix."""
        surfaces, sar_words, boundary = self._surfaces, self._sar_words, self._boundary
        toks = self._kept_tokens(caption)
        out: list[str] = []
        seen: set[str] = set()
        for i, tok in enumerate(toks):
            low = tok.lower()
            pair = f"{toks[i - 1].lower()} {low}" if i else ""
            key = pair if pair in surfaces else low
            if key in surfaces and key not in seen:
                seen.add(key)
                # Insert right before the noun, after its other modifiers ("two large bright
                # ships", "dozens of bright ships"): grammatical whatever precedes the noun
                # phrase, unlike a guess at where the phrase starts. Skip when one of the
                # modifiers (up to the last boundary word, 3 back at most) is a SAR word already.
                start = len(out) - (1 if key == pair else 0)
                j = start
                while j > 0 and start - j < 3 and out[j - 1].lower() not in boundary:
                    j -= 1
                phrase = {w.strip(",").lower() for w in out[j:start]}
                if not phrase & sar_words:
                    out[start:start] = surfaces[key].split()
            out.append(tok)
        return detokenise(_fix_articles(out))


def _sentence_case(text: str) -> str:
    """Capitalise the first letter of every sentence."""
    return re.sub(r"(^|[.!?]\s+)([a-z])", lambda m: m.group(1) + m.group(2).upper(), text)


def mentions(text: str, vocab: Vocab) -> Counter[tuple[str, int | None]]:
    """(object class, stated count or None) for every object noun in a caption."""
    return Counter(_mentions(text, vocab))


@lru_cache(maxsize=256)
def _mentions(text: str, vocab: Vocab) -> Counter[tuple[str, int | None]]:
    """`mentions`, cached (read only): the check reads an optical caption once per rewrite of it."""
    word_of, numbers = vocab.o2s_nouns(), vocab.number_words()
    toks = [t.lower() for t in tokens(text)]
    found: Counter[tuple[str, int | None]] = Counter()
    for i, tok in enumerate(toks):
        pair = f"{toks[i - 1]} {tok}" if i else ""
        cls = word_of.get(pair) or word_of.get(tok)
        if cls is None or (i + 1 < len(toks) and f"{tok} {toks[i + 1]}" in word_of):
            continue
        count: int | None = None
        for back in range(1, 7):
            if i - back < 0 or toks[i - back] in STOP or toks[i - back] in word_of:
                break
            prev = toks[i - back]
            if prev in numbers:
                count = numbers[prev]
                break
            if prev.isdigit():
                count = int(prev)
                break
            if prev in ONE:
                count = 1
                break
        found[(cls, count)] += 1
    return found


def consistent(original: str, rewrite: str, vocab: Vocab) -> tuple[bool, str]:
    """True when the rewrite names no new object and keeps every stated count; else the reason."""
    before, after = _mentions(original, vocab), _mentions(rewrite, vocab)
    new = {c for c, _ in after} - {c for c, _ in before}
    if new:
        return False, f"invents {', '.join(sorted(new))}"
    stated = sorted({(c, n) for c, n in before if n is not None})
    missing = [f"{n} {c}" for c, n in stated if (c, n) not in after]
    if missing:
        return False, f"changes the count of {', '.join(missing)}"
    lost = {c for c, _ in before} - {c for c, _ in after}
    if lost:
        return False, f"drops {', '.join(sorted(lost))}"
    return True, ""


def rewrite_checked(
    rewriter: Rewriter, caption: str, vocab: Vocab, rng: random.Random
) -> tuple[str | None, str]:
    """Rewrite and check; (None, reason) when the rewrite fails the consistency check."""
    text = rewriter.rewrite(caption, rng)
    ok, reason = consistent(caption, text, vocab)
    return (text, "") if ok else (None, reason)


_RULES: dict[int, RuleRewriter] = {}


def rules_for(vocab: Vocab) -> RuleRewriter:
    """The rule rewriter of a vocabulary (built once: it compiles the phrase patterns)."""
    found = _RULES.get(id(vocab))
    if found is None or found.vocab is not vocab:
        found = _RULES[id(vocab)] = RuleRewriter(vocab)
    return found


def captions(
    optical_caption: str,
    vocab: Vocab,
    rng: random.Random,
    n: int,
    rewriter: Rewriter | None = None,
) -> list[Candidate]:
    """Up to ``n`` checked rewrites of the caption (and of its sentences, when it has several).

    A model ``rewriter`` writes the first candidate (models are slow); when its rewrite fails the
    consistency check, the rules write it instead. The rules write the others.
    """
    rules = rules_for(vocab)
    sentences = [s for s in re.split(r"(?<=[.!?])\s+", optical_caption.strip()) if s]
    out: list[Candidate] = []
    for i in range(n):
        source = optical_caption if i == 0 or len(sentences) < 2 else sentences[i % len(sentences)]
        text: str | None = None
        if i == 0 and rewriter is not None and rewriter.name != rules.name:
            text, _ = rewrite_checked(rewriter, source, vocab, rng)
        if text is None:
            text, _ = rewrite_checked(rules, source, vocab, rng)
        if text:
            out.append(Candidate(text, BRANCH))
    return out
