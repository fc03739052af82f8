"""Small text helpers shared by the branches: the caption candidate record, articles, templates."""

from __future__ import annotations

import random
import re
import string
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

_FIELDS = string.Formatter()
_VOWEL_SOUND = re.compile(r"^(?:[aeio]|u(?!ni|s[eu])|hour|honest|8|11|18)", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class Candidate:
    """One caption candidate: its text, the branch that wrote it, and the annotations it states."""

    text: str
    branch: str
    source_ids: tuple[str, ...] = ()


def article(word: str) -> str:
    """'a' or 'an' for the word that follows."""
    return "an" if _VOWEL_SOUND.match(word) else "a"


def capitalise(text: str) -> str:
    """Upper-case the first character only (keeps 'SAR', 'VV' and numbers as they are)."""
    return text[:1].upper() + text[1:]


def pick(rng: random.Random, options: Sequence[str]) -> str:
    """One option, chosen by the seeded generator (a single option draws nothing)."""
    return options[0] if len(options) == 1 else rng.choice(options)


@lru_cache(maxsize=4096)
def fields(template: str) -> frozenset[str]:
    """Placeholder names of a template."""
    return frozenset(name for _, name, _, _ in _FIELDS.parse(template) if name)


@lru_cache(maxsize=4096)
def _usable(templates: tuple[str, ...], names: frozenset[str]) -> tuple[str, ...]:
    """The templates whose placeholders are all among ``names``."""
    return tuple(t for t in templates if fields(t) <= names)


def fill(rng: random.Random, templates: Sequence[str], values: dict[str, str]) -> str | None:
    """A random template among those whose placeholders all have values, filled; None if none fits."""
    usable = _usable(tuple(templates), frozenset(values))
    if not usable:
        return None
    return pick(rng, usable).format(**values)


def join_list(items: Sequence[str]) -> str:
    """'a', 'a and b', 'a, b and c'."""
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


_SPACE_BEFORE = re.compile(r" (?=[,.;:)])")
_DOUBLE = re.compile(r",(?=,)|;(?=;)")  # all but the last of a run of commas or semicolons
_COMMA_STOP = re.compile(r",\s*\.")


def tidy(text: str) -> str:
    """Collapse doubled spaces and spaces before punctuation."""
    text = " ".join(text.split())  # every run of whitespace becomes one space
    text = _SPACE_BEFORE.sub("", text)
    text = _DOUBLE.sub("", text)
    return _COMMA_STOP.sub(".", text)
