"""Writers (and their readers) for the record files later stages use: JSONL and open_clip CSV.

Every writer goes through `sargeo.atomic.atomic_file`, so a crash leaves either the old file or the
new one, never half of one.
"""

from __future__ import annotations

import csv
import dataclasses
import json
import math
from collections.abc import Iterable, Iterator, Mapping
from datetime import date, datetime
from pathlib import Path
from typing import Any, TextIO

from sargeo.atomic import atomic_file
from sargeo.errors import SargeoError
from sargeo.records import Box, Sample, Tile

OPENCLIP_COLUMNS = ("filepath", "title")


def _default(value: Any) -> Any:
    """JSON encoding of what records hold besides plain JSON types."""
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, set | frozenset):
        return sorted(value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    if hasattr(value, "item"):  # numpy scalars
        return value.item()
    if hasattr(value, "tolist"):  # numpy arrays
        return value.tolist()
    raise TypeError(f"cannot write {type(value).__name__} to JSON")


def _as_mapping(record: Any) -> Any:
    if hasattr(record, "to_dict"):
        return record.to_dict()
    if dataclasses.is_dataclass(record) and not isinstance(record, type):
        return dataclasses.asdict(record)
    return record


def write_jsonl(records: Iterable[Any], path: Path) -> int:
    """Write one JSON object per line (mappings, dataclasses or objects with ``to_dict``).

    Returns:
        The number of records written.
    """
    count = 0
    with atomic_file(path) as tmp, tmp.open("w", encoding="utf-8") as fh:
        for record in records:
            fh.write(json.dumps(_as_mapping(record), ensure_ascii=False, default=_default))
            fh.write("\n")
            count += 1
    return count


def read_jsonl(path: Path) -> Iterator[dict[str, Any]]:
    """The objects of a JSONL file, one per non-empty line.

    Raises:
        SargeoError: naming the file and line of the first line that is not a JSON object.
    """
    if not path.is_file():
        raise SargeoError(f"{path}: no such file")
    with path.open(encoding="utf-8") as fh:
        for number, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            try:
                value = json.loads(line)
            except json.JSONDecodeError as exc:
                raise SargeoError(f"{path}: line {number}: not valid JSON ({exc.msg})") from exc
            if not isinstance(value, dict):
                raise SargeoError(f"{path}: line {number}: expected a JSON object")
            yield value


class OpenClipWriter:
    """Rows of an open_clip training CSV (columns ``filepath``, ``title``) on an open text file.

    The header goes first. Fields are quoted where needed (commas, quotes, line breaks), so any
    caption survives a round trip through ``csv`` or pandas; open_clip's ``--csv-separator`` must
    match ``sep``. `write_openclip_csv` writes a whole file with it; a caller that streams into
    several CSVs at once (the narrator's per-split files) opens them itself (with ``newline=""``).
    """

    def __init__(self, fh: TextIO, *, sep: str = ",") -> None:
        """Write the header to ``fh``."""
        self._writer = csv.writer(fh, delimiter=sep, quoting=csv.QUOTE_MINIMAL, lineterminator="\n")
        self._writer.writerow(OPENCLIP_COLUMNS)
        self.rows = 0

    def write(self, filepath: str, title: str) -> None:
        """Write one row."""
        self._writer.writerow([str(filepath), str(title)])
        self.rows += 1


def write_openclip_csv(
    rows: Iterable[tuple[str, str] | Mapping[str, Any]], path: Path, *, sep: str = ","
) -> int:
    """Write an open_clip training CSV (see `OpenClipWriter`), atomically.

    Returns:
        The number of rows written.
    """
    with atomic_file(path) as tmp, tmp.open("w", encoding="utf-8", newline="") as fh:
        writer = OpenClipWriter(fh, sep=sep)
        for row in rows:
            if isinstance(row, Mapping):
                writer.write(row["filepath"], row["title"])
            else:
                writer.write(*row)
    return writer.rows


def read_openclip_csv(path: Path, *, sep: str = ",") -> list[tuple[str, str]]:
    """The (filepath, title) rows of an open_clip CSV written by `write_openclip_csv`."""
    with path.open(encoding="utf-8", newline="") as fh:
        reader = csv.reader(fh, delimiter=sep)
        header = next(reader, None)
        if header is None or tuple(header) != OPENCLIP_COLUMNS:
            raise SargeoError(f"{path}: expected the header {','.join(OPENCLIP_COLUMNS)}")
        return [(r[0], r[1]) for r in reader if r]


def samples_to_jsonl(samples: Iterable[Sample], path: Path) -> int:
    """Write samples (``Sample.to_dict``) as JSONL; returns the number written."""
    return write_jsonl((s.to_dict() for s in samples), path)


def sample_from_dict(data: Mapping[str, Any]) -> Sample:
    """Inverse of ``Sample.to_dict`` (as read back from JSON)."""
    boxes = [
        Box(
            cls=str(b["cls"]),
            bbox=_tuple4(b["bbox"]),
            obox=tuple(float(v) for v in b["obox"]) if b.get("obox") else None,  # type: ignore[arg-type]
            attributes=dict(b.get("attributes") or {}),
            source_id=str(b.get("source_id", "")),
        )
        for b in data.get("boxes", [])
    ]
    tile = data.get("tile")
    return Sample(
        id=str(data["id"]),
        image=str(data["image"]),
        width=int(data["width"]),
        height=int(data["height"]),
        boxes=boxes,
        mask=data.get("mask"),
        mask_classes={int(k): str(v) for k, v in (data.get("mask_classes") or {}).items()},
        optical=data.get("optical"),
        optical_caption=data.get("optical_caption"),
        tile=Tile.from_properties(tile) if tile else None,
        scene=str(data.get("scene", "")),
        metadata=dict(data.get("metadata") or {}),
        labels=None if data.get("labels") is None else tuple(str(v) for v in data["labels"]),
    )


def samples_from_jsonl(path: Path) -> list[Sample]:
    """Samples written by `samples_to_jsonl`."""
    out = []
    for number, data in enumerate(read_jsonl(path), start=1):
        try:
            out.append(sample_from_dict(data))
        except (KeyError, TypeError, ValueError) as exc:
            raise SargeoError(f"{path}: record {number}: not a sample ({exc})") from exc
    return out


def _tuple4(values: Iterable[Any]) -> tuple[float, float, float, float]:
    a, b, c, d = (float(v) for v in values)
    if not all(math.isfinite(v) for v in (a, b, c, d)):
        raise ValueError("box with a non-finite coordinate")
    return a, b, c, d
