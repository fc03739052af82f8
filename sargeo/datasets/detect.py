"""Guess the format of a dataset folder (or annotation file) and read it with the right adapter.

Checked in this order, by files that each format is known by: a ``sargeo synth`` output (``synth.json``
or scene folders with ``coco.json``); OpenSARShip (``Patch_Cal/``); Sen1Floods11 (``*_S1Hand.tif``);
COCO (a JSON file with ``images``, under ``annotations/`` or at the top); Pascal VOC (``*.xml`` under
``Annotations/``); SAR-optical pairs (``sar/`` + ``opt/`` folders, or SEN1-2's ``s1_*``/``s2_*``).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from sargeo.datasets.base import AdapterResult
from sargeo.errors import SargeoError

FORMATS = ("synthetic", "opensarship", "sen1floods11", "coco", "voc", "pairs")
_IMAGE_DIRS = ("images", "JPEGImages", "Images", "JPEGImage", "imgs", "img")
_ANNOTATION_DIRS = ("Annotations", "annotations", "Annotation", "xml", "labels")
_OPTICAL_DIRS = ("opt", "optical", "OPT", "Optical")
_SAR_DIRS = ("sar", "SAR")


def detect_format(path: Path) -> str:
    """Name of the format of ``path`` (one of `FORMATS`).

    Raises:
        SargeoError: when the path is missing or matches no known format.
    """
    if not path.exists():
        raise SargeoError(f"{path}: no such file or folder")
    if path.is_file():
        if path.suffix.lower() == ".json" and _is_coco(path):
            return "coco"
        raise SargeoError(f"{path}: not a COCO annotation file (give a dataset folder instead)")
    for name, test in _TESTS:
        if test(path):
            return name
    raise SargeoError(
        f"{path}: cannot tell the dataset format; expected one of: synthetic scenes (synth.json), "
        "OpenSARShip (Patch_Cal/), Sen1Floods11 (*_S1Hand.tif), COCO (annotations/*.json), "
        "Pascal VOC (Annotations/*.xml), SAR-optical pairs (sar/ + opt/, or s1_*/ + s2_*/)"
    )


def load_dataset(path: Path, *, progress: bool = False) -> AdapterResult:
    """Read a dataset folder (or a COCO JSON file) in whatever known format it is in."""
    fmt = detect_format(path)
    if fmt == "synthetic":
        from sargeo.datasets.synthetic import load_synthetic

        return load_synthetic(path, progress=progress)
    if fmt == "opensarship":
        from sargeo.datasets.opensarship import load_opensarship

        return load_opensarship(path, progress=progress)
    if fmt == "sen1floods11":
        from sargeo.datasets.segmentation import load_sen1floods11

        return load_sen1floods11(path, progress=progress)
    if fmt == "coco":
        return _load_coco_folder(path, progress)
    if fmt == "voc":
        from sargeo.datasets.voc import load_voc

        annotations = _voc_dir(path)
        assert annotations is not None
        return load_voc(annotations, _images_dir(path, annotations), progress=progress)
    from sargeo.datasets.pairs import load_pairs

    sar, optical = _pair_dirs(path)
    return load_pairs(sar, optical, progress=progress)


def _load_coco_folder(path: Path, progress: bool) -> AdapterResult:
    from sargeo.datasets.coco import load_coco

    files = [path] if path.is_file() else _coco_files(path)
    root = (
        path.parent.parent if path.is_file() and path.parent.name.lower() == "annotations" else path
    )
    if path.is_file() and root == path:
        root = path.parent
    images = _images_dir(root, root)
    masks = root / "masks"
    result = AdapterResult()
    for file in files:
        split_images = images / file.stem  # SARDet-100K: JPEGImages/train/ for train.json
        one = load_coco(
            file,
            split_images if split_images.is_dir() else images,
            include_unlisted=len(files) == 1,
            masks=masks if masks.is_dir() else None,
            progress=progress,
        )
        if len(files) > 1:
            for sample in one.samples:
                sample.metadata["split"] = file.stem
        result.extend(one)
    return result


def _is_coco(path: Path) -> bool:
    """A JSON object with an ``images`` key, and not an RSICD-style caption file (whose image
    entries carry ``sentences``). A look at the start first; big files parse once."""
    try:
        with path.open(encoding="utf-8") as fh:
            head = fh.read(1 << 20)
        if '"sentences"' in head:
            return False
        if head.lstrip().startswith("{") and '"images"' in head:
            return True
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return False
    return isinstance(data, dict) and isinstance(data.get("images"), list)


def _coco_files(folder: Path) -> list[Path]:
    candidates = [
        p for name in ("annotations", "Annotations") for p in sorted((folder / name).glob("*.json"))
    ]
    candidates += sorted(folder.glob("*.json"))
    return [p for p in candidates if _is_coco(p)]


def _images_dir(root: Path, annotations: Path) -> Path:
    for name in _IMAGE_DIRS:
        if (root / name).is_dir():
            return root / name
    return annotations if annotations != root else root


def _voc_dir(folder: Path) -> Path | None:
    for name in _ANNOTATION_DIRS:
        if (folder / name).is_dir() and any((folder / name).glob("*.xml")):
            return folder / name
    if any(folder.glob("*.xml")):
        return folder
    return None


def _pair_dirs(folder: Path) -> tuple[Path, Path]:
    sar = next((folder / n for n in _SAR_DIRS if (folder / n).is_dir()), None)
    optical = next((folder / n for n in _OPTICAL_DIRS if (folder / n).is_dir()), None)
    if sar is not None and optical is not None:
        return sar, optical
    return folder, folder


def _is_synthetic(folder: Path) -> bool:
    from sargeo.synth import MANIFEST, SCENE_FILES

    if (folder / MANIFEST).is_file():
        return True
    scene_file, coco = SCENE_FILES["scene"], SCENE_FILES["coco"]
    if (folder / scene_file).is_file() and (folder / coco).is_file():
        return True
    return any((p / scene_file).is_file() and (p / coco).is_file() for p in folder.glob("scene_*"))


def _is_opensarship(folder: Path) -> bool:
    return (folder / "Patch_Cal").is_dir() or any(folder.glob("*/Patch_Cal"))


def _is_sen1floods11(folder: Path) -> bool:
    return any(folder.rglob("*_S1Hand.tif"))


def _is_pairs(folder: Path) -> bool:
    sar, _ = _pair_dirs(folder)
    if sar != folder:
        return True
    s1 = any(folder.glob("s1_*")) or any(folder.glob("*/s1_*"))
    s2 = any(folder.glob("s2_*")) or any(folder.glob("*/s2_*"))
    return s1 and s2


_TESTS: list[tuple[str, Callable[[Path], bool]]] = [
    ("synthetic", _is_synthetic),
    ("opensarship", _is_opensarship),
    ("sen1floods11", _is_sen1floods11),
    ("coco", lambda p: bool(_coco_files(p))),
    ("voc", lambda p: _voc_dir(p) is not None),
    ("pairs", _is_pairs),
]
