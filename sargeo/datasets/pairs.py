"""SAR-optical pair folders (SEN1-2, OSdataset) to `Sample` records with a paired optical image.

Pairs are found by name. A file's pairing key is its path relative to its folder with the
sensor tokens masked: ``s1``/``s2`` (SEN1-2: ``ROIs1158_spring/s1_1/ROIs1158_spring_s1_1_p30.png``
pairs with ``ROIs1158_spring/s2_1/ROIs1158_spring_s2_1_p30.png``) and ``sar``/``opt``/``optical``
(OSdataset: ``sar/`` and ``opt/`` folders with equal file names, or ``sar12.png``/``opt12.png``).
So one function reads both layouts, whether the two folders are separate or the same root.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from sargeo.datasets.base import AdapterResult, find_images, image_size, progress_bar
from sargeo.records import Sample

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
    one, two files with one key, or a size mismatch are reported as skipped.
    """
    result = AdapterResult()
    same = sar_dir.resolve() == optical_dir.resolve()
    sar_files = _side(sar_dir, sar=True, filter_tokens=same)
    opt_files = _side(optical_dir, sar=False, filter_tokens=same)
    sar_index = _index(sar_files, sar_dir, True, result)
    opt_index = _index(opt_files, optical_dir, False, result)

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
        result.samples.append(
            Sample(
                id=str(Path(rel).with_suffix("")),
                image=str(sar_path),
                width=size[0],
                height=size[1],
                optical=str(optical),
                scene=_scene(stem),
                metadata=_metadata(stem),
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
