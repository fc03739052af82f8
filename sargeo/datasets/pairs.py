"""SAR-optical pair folders (SEN1-2, OSdataset) to `Sample` records with a paired optical image.

Pairs are found by name. A file's pairing key is its path relative to its folder with the
sensor tokens masked: ``s1``/``s2`` (SEN1-2: ``ROIs1158_spring/s1_1/ROIs1158_spring_s1_1_p30.png``
pairs with ``ROIs1158_spring/s2_1/ROIs1158_spring_s2_1_p30.png``) and ``sar``/``opt``/``optical``
(OSdataset: ``sar/`` and ``opt/`` folders with equal file names, or ``sar12.png``/``opt12.png``).
So one function reads both layouts, whether the two folders are separate or the same root.

Captions of the optical images (the human captions the SAR-TEXT paper's o2s branch rewrites into SAR
language) are read when present, in the optical folder or beside it: an RSICD / UCM-captions style JSON
(``dataset_rsicd.json`` or any ``*.json`` shaped ``{"images": [{"filename", "sentences": [{"raw"}]}]}``)
or a ``captions.csv`` with the columns ``filename,caption``. A caption names its image by path relative
to the optical folder or by file name. The first caption of an image becomes `Sample.optical_caption`,
all of them ``metadata["optical_captions"]``; a caption of an image that is not there is reported as
skipped.
"""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path
from typing import Any

from sargeo.datasets.base import AdapterResult, find_images, image_size, progress_bar
from sargeo.errors import SargeoError
from sargeo.records import Sample

CAPTIONS_CSV = "captions.csv"
"""Name of the CSV caption file (columns ``filename,caption``)."""

_SAR_TOKEN = re.compile(r"(?i)(?<![a-z0-9])(s1)(?![a-z0-9])|(?<![a-z])(sar)(?![a-z])")
_OPT_TOKEN = re.compile(r"(?i)(?<![a-z0-9])(s2)(?![a-z0-9])|(?<![a-z])(optical|opt)(?![a-z])")
_SEN12_SCENE = re.compile(r"(?i)^(?P<season>ROIs\d+_[a-z]+)_s1_(?P<roi>\d+)_p\d+$")


def pair_key(relative: str, sar: bool) -> str:
    """The path with sensor tokens masked and the suffix dropped (what a pair has in common)."""
    pattern = _SAR_TOKEN if sar else _OPT_TOKEN
    return pattern.sub("*", str(Path(relative).with_suffix(""))).lower()


def load_pairs(sar_dir: Path, optical_dir: Path, *, progress: bool = False) -> AdapterResult:
    """Pair every SAR image under ``sar_dir`` with its optical image under ``optical_dir``.

    When both folders are the same root (SEN1-2), files with a SAR token are the SAR side and files
    with an optical token the optical side. A SAR image without a partner, an optical image without
    one, two files with one key, a size mismatch, or a caption of a missing image are reported as
    skipped.

    Raises:
        SargeoError: when a ``captions.csv`` or ``dataset_*.json`` caption file cannot be read at all.
    """
    result = AdapterResult()
    same = sar_dir.resolve() == optical_dir.resolve()
    sar_files = _side(sar_dir, sar=True, filter_tokens=same)
    opt_files = _side(optical_dir, sar=False, filter_tokens=same)
    sar_index = _index(sar_files, sar_dir, True, result)
    opt_index = _index(opt_files, optical_dir, False, result)
    captions = read_captions(optical_dir, opt_files, result, beside=not same)

    for key, sar_path in progress_bar(sorted(sar_index.items()), progress, "pairs"):
        rel = sar_path.relative_to(sar_dir).as_posix()
        optical = opt_index.get(key)
        if optical is None:
            result.skip(rel, f"missing file: no optical image for {rel}", "missing file")
            continue
        try:
            size = image_size(sar_path)
            opt_size = image_size(optical)
        except OSError as exc:
            result.skip(rel, f"unreadable image ({exc})", "unreadable image")
            continue
        if size != opt_size:
            result.skip(
                rel,
                f"size mismatch: SAR {size[0]}x{size[1]}, optical {opt_size[0]}x{opt_size[1]}",
                "size mismatch",
            )
            continue
        stem = sar_path.stem
        metadata = _metadata(stem)
        texts = captions.get(optical, [])
        if texts:
            metadata["optical_captions"] = texts
        result.samples.append(
            Sample(
                id=str(Path(rel).with_suffix("")),
                image=str(sar_path),
                width=size[0],
                height=size[1],
                optical=str(optical),
                optical_caption=texts[0] if texts else None,
                scene=_scene(stem),
                metadata=metadata,
                labels=(),  # nothing is annotated: no class is known to be absent
            )
        )
    for key in sorted(set(opt_index) - set(sar_index)):
        rel = opt_index[key].relative_to(optical_dir).as_posix()
        result.skip(rel, f"missing file: no SAR image for {rel}", "missing file")
    return result


def _side(folder: Path, *, sar: bool, filter_tokens: bool) -> list[Path]:
    files = find_images(folder) if folder.is_dir() else []
    if not filter_tokens:
        return files
    own, other = (_SAR_TOKEN, _OPT_TOKEN) if sar else (_OPT_TOKEN, _SAR_TOKEN)
    return [
        p
        for p in files
        if own.search(p.relative_to(folder).as_posix())
        and not other.search(p.relative_to(folder).as_posix())
    ]


def _index(files: list[Path], root: Path, sar: bool, result: AdapterResult) -> dict[str, Path]:
    index: dict[str, Path] = {}
    for path in files:
        key = pair_key(path.relative_to(root).as_posix(), sar)
        if key in index:
            rel = path.relative_to(root).as_posix()
            other = index[key].relative_to(root).as_posix()
            result.skip(rel, f"ambiguous pair: {rel} and {other} share a name", "ambiguous pair")
            continue
        index[key] = path
    return index


def _scene(stem: str) -> str:
    """SEN1-2: the season and ROI (``ROIs1158_spring_1``), whose patches overlap; else the stem."""
    match = _SEN12_SCENE.match(stem)
    return f"{match['season']}_{match['roi']}" if match else stem


def _metadata(stem: str) -> dict[str, Any]:
    """What the naming convention tells about the sensors (SEN1-2 only; OSdataset names say nothing)."""
    if _SEN12_SCENE.match(stem):
        return {
            "dataset": "SEN1-2",
            "sensor": "Sentinel-1",
            "optical_sensor": "Sentinel-2",
            "polarisations": ["VV"],
        }
    return {}


def read_captions(
    optical_dir: Path, images: list[Path], result: AdapterResult, *, beside: bool = True
) -> dict[Path, list[str]]:
    """Captions of the optical ``images``, from the caption files in ``optical_dir`` (and, with
    ``beside``, in its parent folder); each image's captions in file order, without repeats.

    Raises:
        SargeoError: when a ``captions.csv`` or ``dataset_*.json`` cannot be read at all.
    """
    by_path = {p.relative_to(optical_dir).as_posix(): p for p in images}
    by_name: dict[str, list[Path]] = {}
    for p in images:
        by_name.setdefault(p.name, []).append(p)
    found: dict[Path, list[str]] = {}
    for file in _caption_files(optical_dir, beside):
        entries = (
            _read_csv(file, result) if file.suffix.lower() == ".csv" else _read_json(file, result)
        )
        for location, name, texts in entries:
            target = by_path.get(name.removeprefix("./")) or _unique(
                by_name.get(Path(name).name, [])
            )
            if target is None:
                ambiguous = len(by_name.get(Path(name).name, [])) > 1
                reason = (
                    "ambiguous caption file name" if ambiguous else "caption names a missing file"
                )
                result.skip(location, f"{reason} {name}", reason)
                continue
            kept = found.setdefault(target, [])
            kept.extend(t for t in texts if t not in kept)
    return found


def _unique(paths: list[Path]) -> Path | None:
    return paths[0] if len(paths) == 1 else None


def _caption_files(optical_dir: Path, beside: bool) -> list[Path]:
    folders = [optical_dir] + ([optical_dir.parent] if beside else [])
    files: list[Path] = []
    for folder in folders:
        if not folder.is_dir():
            continue
        files += [p for p in [folder / CAPTIONS_CSV] if p.is_file()]
        files += sorted(p for p in folder.glob("*.json") if p.is_file())
    return files


def _required(file: Path) -> bool:
    """Caption files by name, that must be readable (others are only used when they fit)."""
    return file.name == CAPTIONS_CSV or file.name.startswith("dataset_")


def _read_json(file: Path, result: AdapterResult) -> list[tuple[str, str, list[str]]]:
    """(location, image name, captions) of an RSICD-style JSON; [] for a JSON of another kind."""
    try:
        data = json.loads(file.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        if _required(file):
            raise SargeoError(f"{file}: not a readable caption JSON ({exc})") from exc
        return []
    images = data.get("images") if isinstance(data, dict) else None
    if not isinstance(images, list) or not any(
        isinstance(e, dict) and "sentences" in e for e in images
    ):
        if _required(file):
            raise SargeoError(
                f'{file}: not an RSICD-style caption file (no "images" with "sentences")'
            )
        return []
    out: list[tuple[str, str, list[str]]] = []
    for i, entry in enumerate(images):
        location = f"{file.name}: image {i}"
        name = entry.get("filename") if isinstance(entry, dict) else None
        if not isinstance(name, str) or not name.strip():
            result.skip(
                location, "malformed caption entry (no filename)", "malformed caption entry"
            )
            continue
        folder = entry.get("filepath")
        if isinstance(folder, str) and folder.strip():
            name = f"{folder.strip().rstrip('/')}/{name}"
        sentences = entry.get("sentences")
        texts = [
            s["raw"].strip()
            for s in (sentences if isinstance(sentences, list) else [])
            if isinstance(s, dict) and isinstance(s.get("raw"), str) and s["raw"].strip()
        ]
        if not texts:
            result.skip(f"{file.name}: {name}", "caption entry without text", "no caption text")
            continue
        out.append((f"{file.name}: {name}", name, texts))
    return out


def _read_csv(file: Path, result: AdapterResult) -> list[tuple[str, str, list[str]]]:
    """(location, image name, [caption]) for each row of a ``filename,caption`` CSV."""
    try:
        with file.open(encoding="utf-8-sig", newline="") as handle:
            reader = csv.DictReader(handle)
            fields = {(f or "").strip().lower(): f for f in reader.fieldnames or []}
            if "filename" not in fields or "caption" not in fields:
                raise SargeoError(
                    f"{file}: caption CSV needs the columns filename,caption "
                    f"(found {', '.join(fields) or 'none'})"
                )
            rows = [
                (reader.line_num, row.get(fields["filename"]), row.get(fields["caption"]))
                for row in reader
            ]
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise SargeoError(f"{file}: not a readable caption CSV ({exc})") from exc
    out: list[tuple[str, str, list[str]]] = []
    for line, name, text in rows:
        location = f"{file.name}: line {line}"
        if not name or not name.strip() or not text or not text.strip():
            result.skip(
                location,
                "malformed caption row (empty filename or caption)",
                "malformed caption row",
            )
            continue
        out.append((location, name.strip(), [text.strip()]))
    return out
