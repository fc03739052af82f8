"""The narrator's vocabularies and templates, loaded once from the JSON data files in ``vocab/``.

Wording lives in data files so that it can be extended or translated without touching code; this module
only parses them into lookup tables (class aliases, plural forms, count words) the branches use.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

from sargeo.errors import SargeoError

VOCAB_DIR = Path(str(resources.files("sargeo.narrator") / "vocab"))


def _load(name: str, folder: Path) -> dict[str, Any]:
    path = folder / name
    try:
        data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise SargeoError(f"{path}: cannot read narrator vocabulary ({exc})") from exc
    return data


def _plural(noun: str) -> str:
    """Naive English plural for class names the vocabulary does not know."""
    if noun.endswith(("s", "x", "ch", "sh")):
        return noun + "es"
    if noun.endswith("y") and noun[-2:-1] not in "aeiou":
        return noun[:-1] + "ies"
    return noun + "s"


def _key(name: str) -> str:
    return re.sub(r"\s+", " ", name.replace("_", " ").replace("-", " ").strip().lower())


@dataclass(frozen=True)
class ObjectClass:
    """Nouns and size bounds of one object class."""

    key: str
    singular: tuple[str, ...]
    plural: tuple[str, ...]
    size_m: tuple[float, float] | None
    sar: tuple[str, ...]
    heading: bool = False
    moors: bool = False


@dataclass(frozen=True, eq=False)
class Vocab:
    """Every table the narrator reads, parsed from the JSON files.

    Compared and hashed by identity: a vocabulary is loaded once and keys the caches built from it.
    """

    classes: dict[str, Any]
    words: dict[str, Any]
    templates: dict[str, Any]
    o2s: dict[str, Any]
    qa: dict[str, Any]
    _objects: dict[str, ObjectClass] = field(default_factory=dict, repr=False, compare=False)
    _aliases: dict[str, dict[str, str | None]] = field(
        default_factory=dict, repr=False, compare=False
    )
    _numbers: dict[str, int] = field(default_factory=dict, repr=False, compare=False)
    _o2s_nouns: dict[str, str] = field(default_factory=dict, repr=False, compare=False)

    def aliases(self, kind: str) -> dict[str, str | None]:
        """``object_aliases`` or ``surface_aliases`` with normalised keys (case, '_', '-')."""
        found = self._aliases.get(kind)
        if found is None:
            found = self._aliases[kind] = {_key(k): v for k, v in self.classes[kind].items()}
        return found

    def object_class(self, name: str) -> ObjectClass:
        """The class entry for a dataset class name (aliases resolved; unknown names get defaults)."""
        found = self._objects.get(name)
        if found is None:
            found = self._objects[name] = _object_class(self, name)
        return found

    def surface(self, name: str) -> str | None:
        """Canonical surface key of a mask class name.

        None for background/nodata classes and for object classes (ships drawn into a mask are
        described from their boxes by a2c, not as land cover).
        """
        key = _key(name)
        aliases = self.aliases("surface_aliases")
        if key in aliases:
            return aliases[key]
        if (
            key not in self.classes["surfaces"]
            and self.object_class(key).key in self.classes["objects"]
        ):
            return None
        return key

    def surface_names(self, key: str) -> list[str]:
        """Names a surface class may be called by."""
        entry = self.classes["surfaces"].get(key)
        return list(entry["names"]) if entry else [key]

    def surface_sar(self, key: str) -> list[str]:
        """SAR appearance words for a surface class (empty when unknown)."""
        entry = self.classes["surfaces"].get(key)
        return list(entry["sar"]) if entry else []

    def number_words(self) -> dict[str, int]:
        """Count word -> the number it names ('no' 0, 'one' 1 ... 'ten' 10)."""
        if not self._numbers:
            for n, word in enumerate(self.words["numbers"]):
                self._numbers.setdefault(word, n)
        return self._numbers

    def o2s_nouns(self) -> dict[str, str]:
        """Object noun of the o2s rules (one or two words) -> the object class it names."""
        if not self._o2s_nouns:
            objects: dict[str, list[str]] = self.o2s["objects"]
            self._o2s_nouns.update((w, cls) for cls, words in objects.items() for w in words)
        return self._o2s_nouns

    def count_phrases(self, n: int) -> list[str]:
        """Ways of writing ``n`` before a noun: exact words up to ten, bands above."""
        numbers: list[str] = self.words["numbers"]
        if n == 1:
            return list(self.words["one"])
        if n < len(numbers):
            return [numbers[n]]
        for band in self.words["bands"]:
            if band["min"] <= n <= band["max"]:
                return list(band["phrases"])
        return [str(n)]


def _object_class(vocab: Vocab, name: str) -> ObjectClass:
    key = _key(name)
    key = vocab.aliases("object_aliases").get(key) or key
    entry = vocab.classes["objects"].get(key)
    if entry is None:
        return ObjectClass(key, (key,), (_plural(key),), None, ())
    bounds = entry.get("size_m")
    return ObjectClass(
        key=key,
        singular=tuple(entry["singular"]),
        plural=tuple(entry["plural"]),
        size_m=(float(bounds[0]), float(bounds[1])) if bounds else None,
        sar=tuple(entry.get("sar", ())),
        heading=bool(entry.get("heading", False)),
        moors=bool(entry.get("moors", False)),
    )


@lru_cache(maxsize=8)
def load_vocab(folder: str | None = None) -> Vocab:
    """Load (once) the vocabulary from ``folder`` (default: the package's ``vocab/``)."""
    base = Path(folder) if folder else VOCAB_DIR
    return Vocab(
        classes=_load("classes.json", base),
        words=_load("words.json", base),
        templates=_load("templates.json", base),
        o2s=_load("o2s.json", base),
        qa=_load("qa.json", base),
    )
