"""Segmentation masks (Sen1Floods11 style: an image raster and a label raster on one grid) to samples.

The sample keeps the label raster's path as its mask and the georeference of the image as its
`Tile`. Both rasters are read in windows to check the label's values and to measure the share of
each class (``metadata["class_fractions"]``), which the segmentation-to-caption branch uses. A raster
that cannot be opened is skipped; one that opens but whose pixels cannot be read (a truncated or
damaged file) is a `ReadError` naming it, since its header promised data that is not there.
"""

from __future__ import annotations

import json
import math
import re
import warnings
from collections import Counter
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import rasterio
from rasterio.errors import NotGeoreferencedWarning, RasterioIOError
from rasterio.windows import Window as RioWindow

from sargeo.datasets.base import AdapterResult, progress_bar
from sargeo.errors import ReadError, SargeoError
from sargeo.geo.gdal_errors import pixel_reads
from sargeo.geo.grid import crs_text, pixel_spacing_m
from sargeo.geo.readers import RasterSource
from sargeo.geo.source import open_source
from sargeo.records import Sample, Tile, Window
from sargeo.runtime.grid import blocks

BLOCK = 1024
"""Side of the windows rasters are read in (pixels)."""

SEN1FLOODS11_CLASSES: dict[int, str] = {0: "land", 1: "water"}
_SEN1FLOODS11_CHIP = re.compile(r"^(?P<chip>(?P<location>[A-Za-z-]+)_\d+)_S1Hand$")


def load_segmentation(
    image: Path,
    label: Path,
    classes: dict[int, str],
    *,
    nodata: float | None = None,
    scene: str | None = None,
) -> AdapterResult:
    """One image + label raster pair as a sample with a class mask and its georeference.

    Args:
        image: The SAR raster (any GDAL format; a CRS is optional).
        label: Class raster on the same grid (same size, transform and CRS).
        classes: Label value -> class name; other values (except ``nodata``) are an error.
        nodata: Label value that marks unlabelled pixels (default: the label file's nodata).
        scene: Scene name for splits (default: the image's stem).

    Returns:
        One sample, or none and a skipped entry when a file is missing or unreadable, the grids
        differ, or the label holds values outside ``classes``.

    Raises:
        ReadError: when the pixels of either raster cannot be read (a truncated file).
    """
    result = AdapterResult()
    for path in (image, label):
        if not path.is_file():
            result.skip(str(path), f"missing file {path.name}", "missing file")
            return result
    try:
        with pixel_reads(str(image)):  # unit detection reads a sample of pixels
            source = open_source([image], allow_pixel_coords=True)
    except ReadError:
        raise
    except SargeoError as exc:
        result.skip(str(image), f"unreadable image ({exc})", "unreadable image")
        return result
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", NotGeoreferencedWarning)
            ds = rasterio.open(label)
    except RasterioIOError as exc:
        result.skip(str(label), f"unreadable label ({exc})", "unreadable label")
        return result
    with ds:
        problem = _grid_problem(source, ds)
        if problem:
            result.skip(str(label), f"label grid differs from image grid: {problem}")
            return result
        label_nodata = nodata if nodata is not None else ds.nodata
        with pixel_reads(str(label)):
            counts = _count_values(ds, label_nodata)
    unknown = sorted(v for v in counts if v is not None and v not in classes)
    if unknown:
        shown = ", ".join(_fmt(v) for v in unknown[:5])
        result.skip(
            str(label), f"label values not in classes: {shown}", "label values not in classes"
        )
        return result

    grid = source.grid
    labelled = sum(n for v, n in counts.items() if v is not None)
    total = grid.width * grid.height
    fractions = {
        name: (counts.get(value, 0) / labelled if labelled else 0.0)
        for value, name in classes.items()
    }
    tile = raster_tile(source, image.stem, image)
    metadata: dict[str, Any] = {
        "class_fractions": fractions,
        "labelled_fraction": labelled / total if total else 0.0,
        "polarisations": list(source.polarisations),
        "pixel_spacing_m": list(tile.pixel_spacing),
        "units": source.units,
    }
    if label_nodata is not None:
        metadata["mask_nodata"] = label_nodata
    result.samples.append(
        Sample(
            id=image.stem,
            image=str(image),
            width=grid.width,
            height=grid.height,
            mask=str(label),
            mask_classes=dict(classes),
            tile=tile,
            labels=tuple(sorted(set(classes.values()))),
            scene=scene if scene is not None else image.stem,
            metadata=metadata,
        )
    )
    return result


def load_sen1floods11(root: Path, *, progress: bool = False) -> AdapterResult:
    """Every ``<Location>_<id>_S1Hand.tif`` under ``root`` with its ``_LabelHand.tif``.

    The paired Sentinel-2 chip (``_S2Hand.tif``), when present, becomes the sample's optical image;
    the scene is the flood event (the location), since one event's chips share a Sentinel-1 pass.
    ``Sen1Floods11_Metadata.geojson``, when present, adds the event's dates and orbit.
    """
    result = AdapterResult()
    files = {p.name: p for p in sorted(root.rglob("*.tif"))}
    events = _events(root)
    chips = [p for name, p in files.items() if _SEN1FLOODS11_CHIP.match(Path(name).stem)]
    for image in progress_bar(chips, progress, "chips"):
        match = _SEN1FLOODS11_CHIP.match(image.stem)
        assert match is not None
        chip, location = match["chip"], match["location"]
        label = files.get(f"{chip}_LabelHand.tif")
        if label is None:
            result.skip(str(image), f"missing file {chip}_LabelHand.tif", "missing file")
            continue
        one = load_segmentation(image, label, SEN1FLOODS11_CLASSES, nodata=-1, scene=location)
        for sample in one.samples:
            sample.id = chip
            if sample.tile is not None:
                sample.tile = replace(sample.tile, id=chip)
            sample.metadata.update({"sensor": "Sentinel-1", "dataset": "Sen1Floods11"})
            sample.metadata.update(events.get(location, {}))
            optical = files.get(f"{chip}_S2Hand.tif")
            if optical is not None:
                sample.optical = str(optical)
        result.extend(one)
    return result


def _events(root: Path) -> dict[str, dict[str, Any]]:
    """Per-location event metadata from ``Sen1Floods11_Metadata.geojson`` (when unambiguous)."""
    path = next(iter(sorted(root.rglob("Sen1Floods11_Metadata.geojson"))), None)
    if path is None:
        return {}
    try:
        features = json.loads(path.read_text(encoding="utf-8")).get("features", [])
    except (json.JSONDecodeError, UnicodeDecodeError, AttributeError):
        return {}
    seen = Counter(f.get("properties", {}).get("location") for f in features)
    out: dict[str, dict[str, Any]] = {}
    for feature in features:
        props = feature.get("properties", {})
        location = props.get("location")
        if not location or seen[location] != 1:
            continue
        out[location] = {
            k: props[k] for k in ("s1_date", "s2_date", "orbit", "rel_orbit_num") if k in props
        }
    return out


def _grid_problem(source: RasterSource, ds: rasterio.io.DatasetReader) -> str:
    grid = source.grid
    if (ds.width, ds.height) != (grid.width, grid.height):
        return f"size {ds.width}x{ds.height} vs {grid.width}x{grid.height}"
    if ds.count != 1:
        return f"{ds.count} bands, expected 1"
    if grid.crs is not None and ds.crs is not None:
        if ds.crs != grid.crs:
            return "different CRS"
        if not ds.transform.almost_equals(grid.transform, precision=1e-9):
            return "different transform"
    return ""


def _count_values(ds: rasterio.io.DatasetReader, nodata: float | None) -> Counter[Any]:
    """Pixel count per label value (``None`` for nodata and NaN), read window by window."""
    counts: Counter[Any] = Counter()
    for window in blocks(ds.width, ds.height, BLOCK):
        data = ds.read(1, window=RioWindow(window.col, window.row, window.width, window.height))
        invalid = np.zeros(data.shape, dtype=bool)
        if data.dtype.kind == "f":
            invalid |= ~np.isfinite(data)
        if nodata is not None and not math.isnan(nodata):
            invalid |= data == nodata
        counts[None] += int(invalid.sum())
        values, n = np.unique(data[~invalid], return_counts=True)
        for value, count in zip(values.tolist(), n.tolist(), strict=True):
            key = int(value) if float(value).is_integer() else float(value)
            counts[key] += count
    if not counts[None]:
        del counts[None]
    return counts


def raster_tile(
    source: RasterSource, tile_id: str, path: Path, *, valid_fraction: float | None = None
) -> Tile:
    """The `Tile` of a whole raster: its georeference, bands and units (``valid_fraction`` is
    measured window by window unless given)."""
    grid = source.grid
    window = Window(0, 0, grid.width, grid.height)
    return Tile(
        id=tile_id,
        source=str(path),
        window=window,
        crs=crs_text(grid.crs),
        transform=tuple(grid.transform)[:6],
        bounds=grid.bounds,
        pixel_spacing=pixel_spacing_m(grid, window),
        polarisations=source.polarisations,
        units=source.units,
        acquisition_time=source.acquisition_time,
        chip=str(path),
        valid_fraction=_valid_fraction(source, path) if valid_fraction is None else valid_fraction,
    )


def _valid_fraction(source: RasterSource, path: Path) -> float:
    """Share of pixels valid (not nodata, not NaN) in every band of ``path``."""
    grid = source.grid
    valid = 0
    with source.open_reader() as reader:
        for window in blocks(grid.width, grid.height, BLOCK):
            mask = np.ma.getmaskarray(reader.read(window))
            valid += int((~mask.any(axis=0)).sum())
    total = grid.width * grid.height
    return valid / total if total else 0.0


def _fmt(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:g}"
