"""Reading what the metrics compare: predictions and references, as JSONL files or Python records.

Captions and answers name their image by a key field (``image`` by default, as the narrator and the
corpus write it; or ``sample_id``). Every problem with an input is an `InputError` that names the file,
the line and the field, so a bad prediction file stops with one clear line.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from sargeo.datasets.writers import read_jsonl
from sargeo.errors import InputError, SargeoError

KEYS = ("image", "sample_id")
Records = str | Path | Iterable[Mapping[str, Any]]
"""A JSONL file, or records (mappings) already in memory."""


def check_key(key: str) -> str:
    """The key field, checked."""
    if key not in KEYS:
        raise InputError(f"images are matched by {' or '.join(KEYS)}, not {key!r}")
    return key


def records(source: Records, what: str) -> list[tuple[str, Mapping[str, Any]]]:
    """(where, record) for each record of a JSONL file or an iterable, ``where`` naming its line."""
    if isinstance(source, str | Path):
        path = Path(source)
        if not path.is_file():
            raise InputError(f"{path}: no such {what} file")
        try:
            return [(f"{path}: record {i}", r) for i, r in enumerate(read_jsonl(path), start=1)]
        except SargeoError as exc:
            raise InputError(str(exc)) from exc
        except UnicodeDecodeError as exc:
            raise InputError(f"{path}: not a UTF-8 text file ({exc.reason})") from exc
    out = []
    for i, record in enumerate(source, start=1):
        if not isinstance(record, Mapping):
            raise InputError(f"{what} {i}: expected a mapping, got {type(record).__name__}")
        out.append((f"{what} {i}", record))
    return out


def text_field(record: Mapping[str, Any], name: str, where: str) -> str:
    """A required string field."""
    value = record.get(name)
    if not isinstance(value, str):
        found = "missing" if value is None else f"a {type(value).__name__}"
        raise InputError(f"{where}: the field '{name}' must be a string ({found})")
    return value


def in_split(record: Mapping[str, Any], split: str | None) -> bool:
    """Whether a record belongs to ``split`` (every record when ``split`` is None)."""
    return split is None or record.get("split") == split


def caption_predictions(source: Records | Mapping[str, str], key: str = "image") -> dict[str, str]:
    """Image -> generated caption, from records with ``key`` and ``caption`` (one per image), or a
    mapping already in that form."""
    check_key(key)
    if isinstance(source, Mapping):
        return {str(k): str(v) for k, v in source.items()}
    out: dict[str, str] = {}
    for where, record in records(source, "prediction"):
        image = text_field(record, key, where)
        if image in out:
            raise InputError(f"{where}: a second caption for {image!r} (one prediction per image)")
        out[image] = text_field(record, "caption", where)
    if not out:
        raise InputError("there are no predictions")
    return out


def caption_references(
    source: Records | Mapping[str, Sequence[str]], key: str = "image", split: str | None = None
) -> dict[str, list[str]]:
    """Image -> every reference caption, from the narrator's ``captions.jsonl`` records (only those
    of ``split`` when given), or a mapping already in that form."""
    check_key(key)
    out: dict[str, list[str]] = {}
    if isinstance(source, Mapping):
        for image, refs in source.items():
            if isinstance(refs, str) or not all(isinstance(r, str) for r in refs):
                raise InputError(f"references of {image!r} must be a list of strings")
            out[str(image)] = list(refs)
    else:
        for where, record in records(source, "reference"):
            if in_split(record, split):
                out.setdefault(text_field(record, key, where), []).append(
                    text_field(record, "caption", where)
                )
    out = {image: refs for image, refs in out.items() if refs}
    if not out:
        within = f" in the split {split!r}" if split else ""
        raise InputError(f"there are no reference captions{within}")
    return out


def qa_records(
    source: Records, what: str, fields: Sequence[str], key: str = "image", split: str | None = None
) -> list[dict[str, str]]:
    """Question-answer records with ``key``, ``question`` and ``fields`` as strings (only those of
    ``split`` when given); other fields are kept as they are."""
    check_key(key)
    out = []
    for where, record in records(source, what):
        if not in_split(record, split):
            continue
        row = dict(record)
        for name in (key, "question", *fields):
            row[name] = text_field(record, name, where)
        out.append(row)
    if not out:
        within = f" in the split {split!r}" if split else ""
        raise InputError(f"there are no {what}s{within}")
    return out


def example(names: Iterable[str], limit: int = 3) -> str:
    """A few names for a message: 'a.tif', 'b.tif' and 5 more."""
    items = sorted(names)
    shown = ", ".join(repr(n) for n in items[:limit])
    return shown + (f" and {len(items) - limit} more" if len(items) > limit else "")
