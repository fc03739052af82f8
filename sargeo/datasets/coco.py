"""COCO detection annotations (HRSID, SSDD, SARDet-100K) to `Sample` records.

One JSON file lists images, categories and annotations (``bbox`` = x, y, width, height in pixels).
Images without annotations are kept as samples with zero boxes. The categories are each sample's
labels: the classes whose absence the file can tell (HRSID's images show harbours it does not
annotate). HRSID names its images
``P<scene>_<y0>_<y1>_<x0>_<x1>``: the scene (``P0001``) and the crop window in the source scene are
read from the name, so that splits never cut a scene.
"""

from __future__ import annotations

import json
import math
import re
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sargeo.datasets.base import (
    AdapterResult,
    Skipped,
    check_box,
    checked_image_size,
    find_images,
    progress_bar,
)
from sargeo.errors import SargeoError
from sargeo.records import Box, Sample

_HRSID_NAME = re.compile(r"^(?P<scene>P\d+)_(?P<y0>\d+)_(?P<y1>\d+)_(?P<x0>\d+)_(?P<x1>\d+)$")

MASK_RGB_SHIP = (0, 255, 0)
"""Colour of ship pixels in HRSID's RGB masks."""


def hrsid_scene(name: str) -> str:
    """Scene of an image from its file name: HRSID's ``P0001`` prefix, else the file stem."""
    stem = Path(name).stem
    match = _HRSID_NAME.match(stem)
    return match["scene"] if match else stem


def hrsid_window(name: str) -> dict[str, int] | None:
    """Crop window (col, row, width, height) in the source scene from an HRSID file name."""
    match = _HRSID_NAME.match(Path(name).stem)
    if match is None:
        return None
    x0, x1, y0, y1 = (int(match[k]) for k in ("x0", "x1", "y0", "y1"))
    return {"col": x0, "row": y0, "width": x1 - x0, "height": y1 - y0}


def load_coco(
    annotations: Path,
    images: Path,
    *,
    scene_from_name: Callable[[str], str] | None = None,
    include_unlisted: bool = False,
    masks: Path | None = None,
    progress: bool = False,
) -> AdapterResult:
    """Read a COCO detection file into samples.

    Args:
        annotations: The COCO JSON file.
        images: Folder that ``file_name`` entries are relative to.
        scene_from_name: Maps an image file name to its scene; default `hrsid_scene`.
        include_unlisted: Also keep images found in ``images`` that the JSON does not list, as
            samples with zero boxes (``metadata["listed"] = False``: their objects are unknown).
        masks: Folder of RGB masks named like the images (``.png``); a mask's path goes into
            ``metadata["mask_rgb"]`` (ship pixels `MASK_RGB_SHIP`).
        progress: Show a progress bar.

    Raises:
        SargeoError: when the JSON file itself is missing or unreadable (nothing can be read).
    """
    scene_of = scene_from_name or hrsid_scene
    data = _read_json(annotations)
    where = annotations.name
    result = AdapterResult()

    categories: dict[Any, str] = {}
    for i, cat in enumerate(_list(data, "categories", annotations)):
        if not isinstance(cat, dict) or "id" not in cat or "name" not in cat:
            result.skip(f"{where}: category {i}", "malformed category", "malformed category")
            continue
        categories[cat["id"]] = str(cat["name"])

    samples: dict[Any, Sample] = {}
    skipped_images: dict[Any, Skipped] = {}
    listed: set[str] = set()
    for i, entry in enumerate(progress_bar(_list(data, "images", annotations), progress, "images")):
        if isinstance(entry, dict) and entry.get("file_name"):
            listed.add((images / str(entry["file_name"])).resolve().as_posix())
            listed.add((images / Path(str(entry["file_name"])).name).resolve().as_posix())
        sample = _image_sample(entry, i, images, where, scene_of, samples, result)
        if sample is None:
            if isinstance(entry, dict) and "id" in entry and entry["id"] not in samples:
                skipped_images[entry["id"]] = result.skipped[-1]
            continue
        samples[entry["id"]] = sample

    dropped: Counter[Any] = Counter()
    first_of: dict[Any, tuple[Any, Any, Any]] = {}
    for i, ann in enumerate(_list(data, "annotations", annotations)):
        if isinstance(ann, dict) and ann.get("image_id") in skipped_images:
            dropped[ann["image_id"]] += 1  # its image was skipped and reported already
            continue
        if isinstance(ann, dict) and "id" in ann and _repeated(ann, where, first_of, result):
            continue
        _add_annotation(ann, i, where, categories, samples, result)
    for image_id, n in dropped.items():
        skipped_images[image_id].reason += f" ({n} annotation{'s' if n > 1 else ''} dropped)"

    out = list(samples.values())
    if include_unlisted and images.is_dir():
        for path in find_images(images):
            if path.resolve().as_posix() in listed:
                continue
            size = checked_image_size(result, str(path), path, None, "")
            if size is None:
                continue
            width, height = size
            rel = path.relative_to(images).as_posix()
            sample = Sample(
                id=Path(rel).with_suffix("").as_posix(),
                image=str(path),
                width=width,
                height=height,
                scene=scene_of(path.name),
                metadata={"listed": False},
            )
            out.append(sample)
    labels = tuple(sorted(set(categories.values())))
    for sample in out:
        sample.labels = labels
        _add_metadata(sample, masks)
    result.samples.extend(out)
    return result


def _read_json(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise SargeoError(f"{path}: no such annotation file")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise SargeoError(f"{path}: line {exc.lineno}: not valid JSON ({exc.msg})") from exc
    except UnicodeDecodeError as exc:
        raise SargeoError(f"{path}: not a UTF-8 text file") from exc
    if not isinstance(data, dict) or "images" not in data:
        raise SargeoError(f"{path}: not a COCO file (no 'images' list)")
    return data


def _list(data: dict[str, Any], key: str, path: Path) -> list[Any]:
    value = data.get(key, [])
    if not isinstance(value, list):
        raise SargeoError(f"{path}: '{key}' is not a list")
    return value


def _image_sample(
    entry: Any,
    index: int,
    images: Path,
    where: str,
    scene_of: Callable[[str], str],
    samples: dict[Any, Sample],
    result: AdapterResult,
) -> Sample | None:
    """One COCO image entry as a sample (no boxes yet), or None after recording why not."""
    if not isinstance(entry, dict) or "id" not in entry or not entry.get("file_name"):
        result.skip(
            f"{where}: image entry {index}", "malformed image entry", "malformed image entry"
        )
        return None
    image_id = entry["id"]
    name = str(entry["file_name"])
    loc = f"{where}: image {image_id}"
    if image_id in samples:
        result.skip(loc, f"duplicate image id {image_id}", "duplicate image id")
        return None
    path = images / name
    if not path.is_file() and (images / Path(name).name).is_file():
        path = images / Path(name).name
    if not path.is_file():
        result.skip(loc, f"missing file {name}", "missing file")
        return None
    declared = (entry.get("width"), entry.get("height"))
    size = checked_image_size(
        result, loc, path, None if declared == (None, None) else declared, "JSON", name
    )
    if size is None:
        return None
    width, height = size
    return Sample(
        id=Path(name).with_suffix("").as_posix(),
        image=str(path),
        width=width,
        height=height,
        scene=scene_of(Path(name).name),
        metadata={"source_id": image_id, "listed": True},
    )


def _repeated(
    ann: dict[str, Any],
    where: str,
    first_of: dict[Any, tuple[Any, Any, Any]],
    result: AdapterResult,
) -> bool:
    """Whether ``ann`` repeats an earlier annotation with its id (same image, category and box):
    then it is skipped. The id on another box is kept with a warning: the object is real, only its
    id is not unique (COCO files merged without renumbering)."""
    ann_id = ann["id"]
    key = ann_id if isinstance(ann_id, int | str) else repr(ann_id)
    content = (ann.get("image_id"), ann.get("category_id"), ann.get("bbox"))
    first = first_of.get(key)
    if first is None:
        first_of[key] = content
        return False
    loc = f"{where}: annotation {ann_id}"
    if first == content:
        reason = f"duplicate annotation id {ann_id} (the same box again)"
        result.skip(loc, reason, "duplicate annotation id")
        return True
    reason = f"duplicate annotation id {ann_id} (on another box; kept)"
    result.warn(loc, reason, "duplicate annotation id")
    return False


def _add_annotation(
    ann: Any,
    index: int,
    where: str,
    categories: dict[Any, str],
    samples: dict[Any, Sample],
    result: AdapterResult,
) -> None:
    """Validate one annotation and append its box to its sample, or record why it is skipped."""
    if not isinstance(ann, dict):
        result.skip(
            f"{where}: annotation entry {index}", "malformed annotation", "malformed annotation"
        )
        return
    ann_id = ann.get("id", f"#{index}")
    loc = f"{where}: annotation {ann_id}"
    image_id = ann.get("image_id")
    sample = samples.get(image_id)
    if sample is None:
        result.skip(loc, f"unknown image id {image_id}", "unknown image id")
        return
    cls = categories.get(ann.get("category_id"))
    if cls is None:
        result.skip(loc, f"unknown category id {ann.get('category_id')}", "unknown category id")
        return
    raw = ann.get("bbox")
    if not isinstance(raw, list | tuple) or len(raw) != 4:
        result.skip(loc, f"malformed box {raw!r}", "malformed box")
        return
    x, y, w, h = raw
    corners = (x, y, x + w, y + h) if all(isinstance(v, int | float) for v in raw) else tuple(raw)
    bbox, why = check_box(corners, sample.width, sample.height)
    if bbox is None:
        result.skip(loc, why)
        return
    attributes: dict[str, Any] = {}
    for key in ("area", "iscrowd"):
        if key in ann:
            attributes[key] = ann[key]
    extra = ann.get("attributes")
    if isinstance(extra, dict):
        attributes.update(extra)
    obox = _obox(ann.get("obox"))
    sample.boxes.append(
        Box(cls=cls, bbox=bbox, obox=obox, attributes=attributes, source_id=str(ann_id))
    )


def _obox(raw: Any) -> tuple[float, float, float, float, float] | None:
    """An oriented box [cx, cy, length, width, angle_deg] (a common COCO extension), if valid."""
    if not isinstance(raw, list | tuple) or len(raw) != 5:
        return None
    if not all(isinstance(v, int | float) and math.isfinite(v) for v in raw):
        return None
    cx, cy, length, width, angle = (float(v) for v in raw)
    return cx, cy, length, width, angle


def _add_metadata(sample: Sample, masks: Path | None) -> None:
    """Scene window from HRSID names; the RGB mask path (and its class) when a mask folder is given."""
    window = hrsid_window(Path(sample.image).name)
    if window is not None:
        sample.metadata["scene_window"] = window
    if masks is not None:
        mask = masks / (Path(sample.image).stem + ".png")
        if mask.is_file():
            sample.metadata["mask_rgb"] = str(mask)
            sample.metadata["mask_rgb_classes"] = {",".join(map(str, MASK_RGB_SHIP)): "ship"}
            sample.labels = tuple(sorted({*(sample.labels or ()), "ship"}))
