"""Pascal VOC XML annotations (SSDD, AIR-SARShip) to `Sample` records, one XML file per image.

Three object layouts are read:

- VOC: ``<object><name>`` with ``<bndbox>`` (xmin, ymin, xmax, ymax) and, in SSDD's rotated set,
  ``<rotated_bndbox>`` (four corners ``x1..y4`` and/or ``rotated_bbox_cx/cy/w/h/theta`` in degrees);
  roLabelImg's ``<robndbox>`` (cx, cy, w, h, angle in radians) is read as well.
- Gaofen / AIR-SARShip-2.0: ``<objects><object><possibleresult><name>`` with ``<points><point>x,y``.

Coordinates are kept as written (VOC's corner pixels, no 1-based shift). An oriented box is stored as
(cx, cy, length, width, angle) with the angle of its long side clockwise from the image's up direction,
in [0, 180).
"""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

from sargeo.datasets.base import AdapterResult, check_box, checked_image_size, progress_bar
from sargeo.records import Box, Sample

Obox = tuple[float, float, float, float, float]
Corners = list[tuple[float, float]]


def load_voc(annotations_dir: Path, images_dir: Path, *, progress: bool = False) -> AdapterResult:
    """Read every ``*.xml`` in ``annotations_dir`` (sorted) with its image from ``images_dir``.

    The image is ``<filename>`` from the XML when that file exists, else the image with the XML's
    stem and any image suffix. Boxes outside the image, unknown sizes and malformed XML are reported
    as skipped; the other objects and files are kept. The classes of the objects read are every
    sample's labels (VOC lists no categories): only their absence is known.
    """
    result = AdapterResult()
    files = sorted(annotations_dir.glob("*.xml"))
    by_stem = _images_by_stem(images_dir)
    for xml_path in progress_bar(files, progress, "annotations"):
        sample = _read_one(xml_path, images_dir, by_stem, result)
        if sample is not None:
            result.samples.append(sample)
    labels = tuple(sorted({box.cls for sample in result.samples for box in sample.boxes}))
    for sample in result.samples:
        sample.labels = labels
    return result


def _images_by_stem(images_dir: Path) -> dict[str, Path]:
    from sargeo.datasets.base import IMAGE_SUFFIXES

    found: dict[str, Path] = {}
    if images_dir.is_dir():
        for path in sorted(images_dir.iterdir()):
            if path.suffix.lower() in IMAGE_SUFFIXES:
                found.setdefault(path.stem, path)
    return found


def _read_one(
    xml_path: Path, images_dir: Path, by_stem: dict[str, Path], result: AdapterResult
) -> Sample | None:
    where = xml_path.name
    try:
        root = ET.parse(xml_path).getroot()
    except ET.ParseError as exc:
        line, _ = exc.position
        result.skip(f"{where}: line {line}", f"malformed XML ({exc})", "malformed XML")
        return None
    name = (root.findtext("filename") or root.findtext("source/filename") or "").strip()
    image = images_dir / name if name else None
    if image is None or not image.is_file():
        image = by_stem.get(xml_path.stem)
    if image is None:
        result.skip(where, f"missing file {name or xml_path.stem + '.*'}", "missing file")
        return None
    declared = (_int(root.findtext("size/width")), _int(root.findtext("size/height")))
    # 0 or absent: the XML does not record the size
    size = checked_image_size(result, where, image, declared if all(declared) else None, "XML")
    if size is None:
        return None
    width, height = size
    sample = Sample(
        id=image.stem,
        image=str(image),
        width=width,
        height=height,
        scene=image.stem,
        metadata=_metadata(root),
    )
    objects = root.findall("object") + root.findall("objects/object")
    for index, obj in enumerate(objects):
        box = _object_box(obj, index, sample, where, result)
        if box is not None:
            sample.boxes.append(box)
    return sample


def _metadata(root: ET.Element) -> dict[str, Any]:
    meta: dict[str, Any] = {}
    origin = (root.findtext("source/origin") or "").strip()
    if origin:
        meta["sensor"] = origin
    depth = _int(root.findtext("size/depth"))
    if depth is not None:
        meta["depth"] = depth
    return meta


def _object_box(
    obj: ET.Element, index: int, sample: Sample, where: str, result: AdapterResult
) -> Box | None:
    loc = f"{where}: object {index + 1}"
    cls = (obj.findtext("name") or obj.findtext("possibleresult/name") or "").strip()
    if not cls:
        result.skip(loc, "object without a class name", "object without a class name")
        return None
    try:
        corners = _corners(obj)
        raw = _bndbox(obj)
    except ValueError as exc:
        result.skip(loc, f"malformed box ({exc})", "malformed box")
        return None
    if raw is None and corners:
        xs, ys = zip(*corners, strict=True)
        raw = (min(xs), min(ys), max(xs), max(ys))
    if raw is None:
        result.skip(loc, "object without a box", "object without a box")
        return None
    bbox, why = check_box(raw, sample.width, sample.height)
    if bbox is None:
        result.skip(loc, why)
        return None
    attributes: dict[str, Any] = {}
    for key in ("difficult", "truncated"):
        value = _int(obj.findtext(key))
        if value is not None:
            attributes[key] = value
    return Box(
        cls=cls,
        bbox=bbox,
        obox=obox_from_corners(corners) if corners else None,
        attributes=attributes,
        source_id=str(index + 1),
    )


def _bndbox(obj: ET.Element) -> tuple[float, float, float, float] | None:
    node = obj.find("bndbox")
    if node is None:
        return None
    values = [node.findtext(k) for k in ("xmin", "ymin", "xmax", "ymax")]
    if any(v is None for v in values):
        raise ValueError("bndbox lacks one of xmin, ymin, xmax, ymax")
    x0, y0, x1, y1 = (_float(v) for v in values)
    return x0, y0, x1, y1


def _corners(obj: ET.Element) -> Corners:
    """The four corners of an oriented box, from whichever rotated layout the object uses."""
    rot = obj.find("rotated_bndbox")
    if rot is not None:
        if rot.find("x1") is not None:
            return [
                (_float(rot.findtext(f"x{i}")), _float(rot.findtext(f"y{i}"))) for i in range(1, 5)
            ]
        cx, cy, w, h, theta = (
            _float(rot.findtext(f"rotated_bbox_{k}")) for k in ("cx", "cy", "w", "h", "theta")
        )
        return rectangle_corners(cx, cy, w, h, math.radians(theta))
    ro = obj.find("robndbox")
    if ro is not None:
        cx, cy, w, h, angle = (_float(ro.findtext(k)) for k in ("cx", "cy", "w", "h", "angle"))
        return rectangle_corners(cx, cy, w, h, angle)
    points = obj.findall("points/point")
    if points:
        corners = []
        for point in points:
            parts = (point.text or "").split(",")
            if len(parts) != 2:
                raise ValueError(f"point {point.text!r} is not 'x,y'")
            corners.append((_float(parts[0]), _float(parts[1])))
        if len(corners) == 5 and corners[0] == corners[-1]:
            corners = corners[:-1]  # closed ring
        if len(corners) != 4:
            raise ValueError(f"{len(corners)} points, expected 4")
        return corners
    return []


def rectangle_corners(cx: float, cy: float, w: float, h: float, angle_rad: float) -> Corners:
    """Corners of a w x h rectangle centred on (cx, cy), turned clockwise (image axes) by angle."""
    c, s = math.cos(angle_rad), math.sin(angle_rad)
    out = []
    for dx, dy in ((-w / 2, -h / 2), (w / 2, -h / 2), (w / 2, h / 2), (-w / 2, h / 2)):
        out.append((cx + dx * c - dy * s, cy + dx * s + dy * c))
    return out


def obox_from_corners(corners: Corners) -> Obox:
    """(cx, cy, length, width, angle) of a quadrilateral taken as a rectangle.

    The length is the longer of two adjacent sides; the angle is that side's direction, clockwise
    from the image's up direction (negative y), folded into [0, 180).
    """
    cx = sum(x for x, _ in corners) / 4
    cy = sum(y for _, y in corners) / 4
    (x0, y0), (x1, y1), (x2, y2) = corners[0], corners[1], corners[2]
    side_a = (x1 - x0, y1 - y0)
    side_b = (x2 - x1, y2 - y1)
    len_a, len_b = math.hypot(*side_a), math.hypot(*side_b)
    long_side, length, width = (side_a, len_a, len_b) if len_a >= len_b else (side_b, len_b, len_a)
    angle = math.degrees(math.atan2(long_side[0], -long_side[1])) % 180.0
    if 180.0 - angle < 1e-9:
        angle = 0.0  # rounding just below a half turn
    return cx, cy, length, width, angle


def _float(text: str | None) -> float:
    if text is None:
        raise ValueError("missing coordinate")
    try:
        value = float(text.strip())
    except ValueError as exc:
        raise ValueError(f"{text.strip()!r} is not a number") from exc
    if not math.isfinite(value):
        raise ValueError(f"{text.strip()!r} is not finite")
    return value


def _int(text: str | None) -> int | None:
    if text is None or not text.strip():
        return None
    try:
        return round(float(text.strip()))
    except ValueError:
        return None
