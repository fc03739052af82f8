"""OpenSARShip (Sentinel-1 ship chips matched with AIS) to `Sample` records.

A product folder holds ``Patch_Cal/<Type>_x<col>_y<row>.tif`` (calibrated sigma0, linear power; dual-pol
chips: band 1 VH, band 2 VV) and ``Ship.xml``, one ``<ship>`` per chip: the chip's box in scene pixels
(``UpperLeft``/``LowerRight``, sometimes swapped), its centre (the ``x``/``y`` of the file name), the
ship's head and tail pixels, the incidence angle, the AIS record and MarineTraffic's elaborated type.

Each chip becomes a sample with one ``ship`` box: the ship's extent in the chip, a rectangle along its
head-tail axis, as wide as the AIS (or MarineTraffic) beam, measured in metres with the product's pixel
spacing so that non-square (SLC) pixels come out right. Ship.xml files in the wild can be malformed
(one in the sample ends with ``<\\ShipList>``): every ``<ship>`` element that parses on its own is kept.
"""

from __future__ import annotations

import math
import re
import warnings
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import rasterio
from rasterio.errors import NotGeoreferencedWarning, RasterioIOError

from sargeo.datasets.base import AdapterResult, progress_bar
from sargeo.records import Box, Sample, Tile, Window

_CHIP = re.compile(r"^(?P<type>.+)_x(?P<x>\d+)_y(?P<y>\d+)$")
_SHIP_BLOCK = re.compile(r"<ship>.*?</ship>", re.DOTALL)
_POSITION = re.compile(r":\s*line \d+, column \d+$")
_METADATA_FILES = ("Metedata.xml", "Metadata.xml")
_POLS_BY_PRODUCT = {
    "1SDV": ("VH", "VV"),
    "1SDH": ("HV", "HH"),
    "1SSV": ("VV",),
    "1SSH": ("HH",),
}
_AIS_NO_HEADING = 511


@dataclass
class _Ship:
    """One ``<ship>`` entry of Ship.xml and where it is."""

    element: ET.Element
    location: str
    index: int


def load_opensarship(root: Path, *, progress: bool = False) -> AdapterResult:
    """Read one OpenSARShip product folder, or every product folder under ``root``.

    A product folder is one with ``Patch_Cal/``; its name (the Sentinel-1 product) is the scene.
    """
    result = AdapterResult()
    products = sorted({p.parent for p in root.rglob("Patch_Cal") if p.is_dir()})
    for product in progress_bar(products, progress, "products"):
        result.extend(_load_product(product, root))
    return result


def _load_product(product: Path, root: Path) -> AdapterResult:
    result = AdapterResult()
    name = product.name
    ship_xml = product / "Ship.xml"
    if not ship_xml.is_file():
        result.skip(f"{name}/Ship.xml", "missing file Ship.xml", "missing file")
        return result
    ships = _read_ships(ship_xml, f"{name}/Ship.xml", result)
    info = _product_info(product)
    by_centre: dict[tuple[int, int], _Ship] = {}
    for ship in ships:
        sar = ship.element.find("SARShipInformation")
        centre = (_int(_text(sar, "Center_x")), _int(_text(sar, "Center_y")))
        if centre[0] is None or centre[1] is None:
            result.skip(
                ship.location, "malformed ship entry (no Center_x/Center_y)", "malformed ship entry"
            )
            continue
        key = (centre[0], centre[1])
        if key in by_centre:
            result.skip(
                ship.location,
                f"duplicate Ship.xml entry at x={key[0]} y={key[1]}",
                "duplicate ship entry",
            )
            continue
        by_centre[key] = ship

    used: set[tuple[int, int]] = set()
    for chip in sorted((product / "Patch_Cal").iterdir()):
        if chip.suffix.lower() not in (".tif", ".tiff"):
            continue
        loc = f"{name}/Patch_Cal/{chip.name}"
        match = _CHIP.match(chip.stem)
        if match is None:
            result.skip(loc, "chip name is not <Type>_x<col>_y<row>", "unexpected chip name")
            continue
        key = (int(match["x"]), int(match["y"]))
        entry = by_centre.get(key)
        if entry is None:
            result.skip(loc, f"no Ship.xml entry at x={key[0]} y={key[1]}", "no Ship.xml entry")
            continue
        used.add(key)
        sample = _chip_sample(chip, match["type"], entry, info, name, loc, result)
        if sample is not None:
            result.samples.append(sample)
    for key, ship in by_centre.items():
        if key not in used:
            result.skip(
                ship.location,
                f"missing file Patch_Cal/<Type>_x{key[0]}_y{key[1]}.tif",
                "missing file",
            )
    return result


def _read_ships(path: Path, where: str, result: AdapterResult) -> list[_Ship]:
    """Every ``<ship>`` element of Ship.xml; when the file is malformed, those that parse alone."""
    text = path.read_bytes().decode("utf-8", errors="replace")
    try:
        root = ET.fromstring(text)
    except ET.ParseError as exc:
        doc_error = exc
    else:
        starts = [m.start() for m in _SHIP_BLOCK.finditer(text)]
        elements = root.findall("ship")
        lines = [text.count("\n", 0, s) + 1 for s in starts]
        if len(lines) != len(elements):
            lines = [0] * len(elements)
        return [
            _Ship(e, f"{where}: ship {i + 1}" + (f" (line {ln})" if ln else ""), i + 1)
            for i, (e, ln) in enumerate(zip(elements, lines, strict=True))
        ]
    ships: list[_Ship] = []
    block_failed = False
    for i, match in enumerate(_SHIP_BLOCK.finditer(text)):
        line = text.count("\n", 0, match.start()) + 1
        location = f"{where}: ship {i + 1} (line {line})"
        try:
            ships.append(_Ship(ET.fromstring(match.group(0)), location, i + 1))
        except ET.ParseError as exc:
            block_failed = True
            at = line + exc.position[0] - 1
            message = _POSITION.sub("", str(exc))
            result.skip(
                f"{where}: ship {i + 1} (line {at})", f"malformed XML ({message})", "malformed XML"
            )
    if not block_failed:
        line = doc_error.position[0]
        result.skip(
            f"{where}: line {line}",
            f"malformed XML ({_POSITION.sub('', str(doc_error))}); "
            f"kept the {len(ships)} <ship> entries that parse",
            "malformed XML",
        )
    return ships


def _product_info(product: Path) -> dict[str, Any]:
    """Sensor, mode, polarisations, pixel spacing... from the product metadata XML and the name."""
    attrs: dict[str, str] = {}
    candidates = [product / f"{product.name}.xml", *(product / n for n in _METADATA_FILES)]
    for path in candidates:
        if not path.is_file():
            continue
        try:
            for elem in ET.parse(path).getroot().iter("attrib"):
                key, value = elem.get("name"), elem.get("value")
                if key and value is not None:
                    attrs.setdefault(key, value.strip())
        except ET.ParseError:
            continue
        break
    info: dict[str, Any] = {"product": product.name}
    for key, out in (
        ("MISSION", "sensor"),
        ("ACQUISITION_MODE", "mode"),
        ("PASS", "pass"),
        ("SAMPLE_TYPE", "sample_type"),
    ):
        if attrs.get(key):
            info[out] = attrs[key]
    info.setdefault("sensor", "Sentinel-1" + (product.name[2] if product.name[:2] == "S1" else ""))
    pols = tuple(
        p
        for p in (attrs.get(f"mds{i}_tx_rx_polar", "-") for i in range(1, 5))
        if p not in ("", "-")
    )
    if not pols:
        pols = next((v for k, v in _POLS_BY_PRODUCT.items() if k in product.name), ())
    info["polarisations"] = pols
    spacing = (_float(attrs.get("range_spacing")), _float(attrs.get("azimuth_spacing")))
    if spacing[0] and spacing[1]:
        info["pixel_spacing_m"] = (spacing[0], spacing[1])
    elif "_GRDH_" in product.name:
        info["pixel_spacing_m"] = (10.0, 10.0)  # Sentinel-1 IW GRD high resolution
    return info


def _chip_sample(
    chip: Path,
    chip_type: str,
    ship: _Ship,
    info: dict[str, Any],
    product: str,
    loc: str,
    result: AdapterResult,
) -> Sample | None:
    sar = ship.element.find("SARShipInformation")
    corners = [
        _int(_text(sar, k)) for k in ("UpperLeft_x", "UpperLeft_y", "LowerRight_x", "LowerRight_y")
    ]
    ends = [_float(_text(sar, k)) for k in ("Head_x", "Head_y", "Tail_x", "Tail_y")]
    if any(v is None for v in corners) or any(v is None for v in ends):
        result.skip(
            ship.location, "malformed ship entry (no chip box or head/tail)", "malformed ship entry"
        )
        return None
    ulx, uly, lrx, lry = (int(v) for v in corners if v is not None)
    col0, row0 = min(ulx, lrx), min(uly, lry)
    expect = (abs(ulx - lrx) + 1, abs(uly - lry) + 1)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", NotGeoreferencedWarning)
            with rasterio.open(chip) as ds:
                width, height, count = ds.width, ds.height, ds.count
    except RasterioIOError as exc:
        result.skip(loc, f"unreadable chip ({exc})", "unreadable image")
        return None
    if (width, height) != expect:
        result.skip(
            loc,
            f"chip size {width}x{height} differs from Ship.xml box {expect[0]}x{expect[1]}",
            "chip size mismatch",
        )
        return None

    attrs = _ship_attributes(ship.element, chip_type)
    incidence = _float(_text(sar, "Incidence"))
    if incidence is not None and not 0 < incidence < 90:
        incidence = None
    spacing = _ground_spacing(info, incidence)
    hx, hy, tx, ty = (float(v) for v in ends if v is not None)
    head = (hx - col0 + 0.5, hy - row0 + 0.5)
    tail = (tx - col0 + 0.5, ty - row0 + 0.5)
    if head == tail:
        result.skip(
            ship.location, "no ship extent (head and tail are the same pixel)", "no ship extent"
        )
        return None
    geometry = ship_rectangle(head, tail, attrs.get("width_m"), spacing)
    xs = [x for x, _ in geometry.corners]
    ys = [y for _, y in geometry.corners]
    bbox = (
        max(min(xs), 0.0),
        max(min(ys), 0.0),
        min(max(xs), float(width)),
        min(max(ys), float(height)),
    )
    if bbox[2] <= bbox[0] or bbox[3] <= bbox[1]:
        result.skip(
            ship.location,
            "box outside the image (head/tail outside the chip)",
            "box outside the image",
        )
        return None
    box = Box(
        cls="ship", bbox=bbox, obox=geometry.obox, attributes=attrs, source_id=f"ship {ship.index}"
    )

    pols = _chip_polarisations(info["polarisations"], count)
    metadata: dict[str, Any] = {
        k: v for k, v in info.items() if k not in ("polarisations", "pixel_spacing_m")
    }
    metadata.update(
        {
            "dataset": "OpenSARShip",
            "polarisations": list(pols),
            "units": "linear",
            "scene_window": {"col": col0, "row": row0, "width": width, "height": height},
        }
    )
    if spacing:
        metadata["pixel_spacing_m"] = list(spacing)
    if info.get("sample_type") == "COMPLEX" and "pixel_spacing_m" in info:
        metadata["slant_range_spacing_m"] = info["pixel_spacing_m"][0]
    if incidence is not None:
        metadata["incidence_deg"] = incidence
    lon, lat = _float(_text(sar, "Center_longitude")), _float(_text(sar, "Center_latitude"))
    if lon is not None and lat is not None:
        metadata["centre_lonlat"] = [lon, lat]
    when = _time(_text(sar, "Time_UTC"))
    tile = Tile(
        id=f"{product}/{chip.stem}",
        source=str(chip),
        window=Window(col0, row0, width, height),
        crs="",
        transform=(1.0, 0.0, float(col0), 0.0, 1.0, float(row0)),
        bounds=(float(col0), float(row0), float(col0 + width), float(row0 + height)),
        pixel_spacing=spacing or (math.nan, math.nan),
        polarisations=pols,
        units="linear",
        acquisition_time=when,
        chip=str(chip),
    )
    return Sample(
        id=f"{product}/{chip.stem}",
        image=str(chip),
        width=width,
        height=height,
        boxes=[box],
        tile=tile,
        scene=product,
        metadata=metadata,
        labels=("ship",),
    )


def _ground_spacing(info: dict[str, Any], incidence: float | None) -> tuple[float, float] | None:
    """Pixel spacing on the ground: SLC range spacing is slant, divided by sin(incidence)."""
    spacing: tuple[float, float] | None = info.get("pixel_spacing_m")
    if spacing is None or info.get("sample_type") != "COMPLEX":
        return spacing
    if incidence is None:
        return None
    return spacing[0] / math.sin(math.radians(incidence)), spacing[1]


@dataclass
class ShipGeometry:
    """A ship as a rectangle in chip pixels: its four corners and its oriented box."""

    corners: list[tuple[float, float]]
    obox: tuple[float, float, float, float, float]


def ship_rectangle(
    head: tuple[float, float],
    tail: tuple[float, float],
    width_m: float | None,
    spacing: tuple[float, float] | None,
) -> ShipGeometry:
    """The ship's rectangle from its head and tail pixels and its beam in metres.

    The rectangle is built in metres (pixel spacing ``spacing`` = (x, y) metres) and mapped back to
    pixels. Without a beam the width is a fifth of the length; without a spacing pixels are square.
    The oriented box is (cx, cy, length_px, width_px, heading): heading from tail to head, clockwise
    from the image's up direction, in [0, 360).
    """
    sx, sy = spacing or (1.0, 1.0)
    dx_m, dy_m = (head[0] - tail[0]) * sx, (head[1] - tail[1]) * sy
    length_m = math.hypot(dx_m, dy_m)
    beam = width_m if width_m and width_m > 0 and spacing else length_m / 5.0
    px, py = -dy_m / length_m * beam / 2, dx_m / length_m * beam / 2  # half-beam, perpendicular
    corners = []
    for end in (head, tail):
        for sign in (1, -1):
            corners.append((end[0] + sign * px / sx, end[1] + sign * py / sy))
    corners = [corners[0], corners[1], corners[3], corners[2]]
    cx, cy = (head[0] + tail[0]) / 2, (head[1] + tail[1]) / 2
    length_px = math.hypot(head[0] - tail[0], head[1] - tail[1])
    width_px = 2 * math.hypot(px / sx, py / sy)
    heading = math.degrees(math.atan2(head[0] - tail[0], -(head[1] - tail[1]))) % 360.0
    return ShipGeometry(corners, (cx, cy, length_px, width_px, heading))


def _ship_attributes(ship: ET.Element, chip_type: str) -> dict[str, Any]:
    """Ship type, AIS identity, size and motion, MarineTraffic's elaborated type."""
    ais = ship.find("AISShipInformation")
    mt = ship.find("MarineTrafficInformation")
    attrs: dict[str, Any] = {"ship_type": chip_type}
    detail = _text(mt, "Elaborated_type")
    if detail and detail.upper() != "NA":
        attrs["ship_type_detail"] = detail
    code = _int(_text(ais, "Ship_Type"))
    if code:
        attrs["ais_type_code"] = code
    for key, out in (("MMSI", "mmsi"), ("IMO", "imo")):
        number = _int(_text(ais, key))
        if number:
            attrs[out] = number
    name = _text(ais, "Name")
    if name:
        attrs["name"] = name
    for ais_key, mt_key, out in (
        ("Length", "Length_overall", "length_m"),
        ("Width", "Breadth_extreme", "width_m"),
    ):
        value = _positive(_float(_text(ais, ais_key)))
        source = "AIS"
        if value is None:
            value, source = _positive(_float(_text(mt, mt_key))), "MarineTraffic"
        if value is not None:
            attrs[out] = value
            attrs[f"{out}_source"] = source
    heading = _float(_text(ais, "True_Head"))
    if heading is not None and 0 <= heading < 360 and heading != _AIS_NO_HEADING:
        attrs["heading_deg"] = heading
    course = _float(_text(ais, "Cog"))
    if course is not None and 0 <= course < 360:
        attrs["course_deg"] = course
    manual = _positive(_float(_text(ship.find("SARShipInformation"), "Manual_Length")))
    if manual is not None:
        attrs["sar_length_m"] = manual
    return attrs


def _chip_polarisations(product_pols: tuple[str, ...], count: int) -> tuple[str, ...]:
    if len(product_pols) == count:
        return product_pols
    if count == 1:
        co = [p for p in product_pols if p in ("VV", "HH")]
        return (co[0],) if co else ("VV",)
    return tuple(f"B{i + 1}" for i in range(count))


def _time(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        return datetime.strptime(text, "%Y/%m/%d.%H:%M:%S")
    except ValueError:
        return None


def _text(parent: ET.Element | None, tag: str) -> str | None:
    if parent is None:
        return None
    value = parent.findtext(tag)
    return value.strip() if value is not None else None


def _float(text: str | None) -> float | None:
    try:
        value = float(text) if text is not None else None
    except ValueError:
        return None
    return value if value is not None and math.isfinite(value) else None


def _int(text: str | None) -> int | None:
    value = _float(text)
    return round(value) if value is not None else None


def _positive(value: float | None) -> float | None:
    return value if value is not None and value > 0 else None
