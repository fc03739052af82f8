"""Cut one annotated image into tile samples: the chip, its boxes, its mask and optical windows.

Each tile keeps the ground truth that lies on it: boxes mostly inside the tile (clipped to it), the
class mask's window, the paired optical image's window and, for the synthetic world, captions of that
optical window written the way the scene's own optical captions are. Tiles are read and written one at a
time, so memory does not grow with the scene.
"""

from __future__ import annotations

import random
import re
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import rasterio
from PIL import Image
from rasterio.windows import Window as RioWindow

from sargeo.corpus.recipe import TileRule
from sargeo.geo.gdal_errors import pixel_reads
from sargeo.geo.grid import crs_text, pixel_spacing_m
from sargeo.geo.readers import RasterSource
from sargeo.geo.source import open_source
from sargeo.records import Box, Sample, Tile
from sargeo.runtime import preprocess
from sargeo.runtime.grid import Window, tile_windows, window_bounds, window_transform
from sargeo.synth.optical_caption import optical_captions
from sargeo.synth.sensors import amplitude_u8, load_presets

_SAFE = re.compile(r"[^A-Za-z0-9._-]+")
"""Characters a tile's file name may not carry over from its sample id (folders, spaces)."""

LAYOUT_FEATURES = {
    "rivers": "river",
    "lakes": "lake",
    "urban_areas": "urban",
    "harbours": "harbour",
    "piers": "pier",
    "airports": "airport",
    "roads": "road",
}
"""The scene layout features optical captions mention, and the mask class that shows each one."""


@dataclass
class CutTarget:
    """Where tiles go and how they are written."""

    root: Path
    render: str
    rule: TileRule
    rng: random.Random

    def folder(self, name: str) -> Path:
        """A subfolder of the corpus, created on first use."""
        path = self.root / name
        path.mkdir(exist_ok=True)
        return path


def clip_boxes(boxes: list[Box], window: Window, min_inside: float) -> list[Box]:
    """Boxes with at least ``min_inside`` of their area in ``window``, in the window's pixels."""
    kept = []
    x0, y0 = window.col, window.row
    x1, y1 = x0 + window.width, y0 + window.height
    for box in boxes:
        bx0, by0, bx1, by1 = box.bbox
        area = max(bx1 - bx0, 0.0) * max(by1 - by0, 0.0)
        ix0, iy0, ix1, iy1 = max(bx0, x0), max(by0, y0), min(bx1, x1), min(by1, y1)
        inside = max(ix1 - ix0, 0.0) * max(iy1 - iy0, 0.0)
        if area <= 0 or inside / area < min_inside:
            continue
        obox = None
        if box.obox is not None:
            cx, cy, length, width, angle = box.obox
            obox = (cx - x0, cy - y0, length, width, angle)
        kept.append(replace(box, bbox=(ix0 - x0, iy0 - y0, ix1 - x0, iy1 - y0), obox=obox))
    return kept


def cut_sample(sample: Sample, target: CutTarget) -> Iterator[Sample]:
    """Tile samples of ``sample`` (skipped tiles are mostly nodata, or empty and not drawn).

    Images without a georeference (HRSID's JPEG chips) are cut in pixel coordinates; the caller
    silences rasterio's NotGeoreferencedWarning for them (warning filters are process-wide).
    """
    with rasterio.Env():  # GDAL's messages go to rasterio's logger in this thread too
        yield from _cut(sample, target)


def _cut(sample: Sample, target: CutTarget) -> Iterator[Sample]:
    source = open_source([Path(sample.image)], allow_pixel_coords=True)
    grid = source.grid
    rule = target.rule
    windows = [
        w for row in tile_windows(grid.width, grid.height, rule.size, rule.overlap) for w in row
    ]
    with ExitStack() as stack:
        reader = stack.enter_context(source.open_reader())
        mask = stack.enter_context(rasterio.open(sample.mask)) if sample.mask else None
        optical = stack.enter_context(rasterio.open(sample.optical)) if sample.optical else None
        for window in windows:
            boxes = clip_boxes(sample.boxes, window, rule.min_box_inside)
            if not boxes and target.rng.random() >= rule.keep_empty:
                continue
            pixels = reader.read(window)
            invalid = np.ma.getmaskarray(pixels).any(axis=0)
            if invalid.mean() > rule.max_nodata or invalid.all():
                continue
            name = f"{_SAFE.sub('_', sample.id)}_r{window.row:05d}_c{window.col:05d}"
            chip, units = _write_chip(target, name, pixels, source, window)
            tile = _tile(source, sample, name, window, chip, units, 1.0 - float(invalid.mean()))
            out = replace(
                sample,
                id=name,
                image=str(chip),
                width=window.width,
                height=window.height,
                boxes=boxes,
                tile=tile,
                metadata=_tile_metadata(sample, window),
            )
            mask_pixels = None
            if mask is not None:
                mask_pixels = _read(mask, window, sample.mask or "")[0]
                out.mask = str(
                    _write_tif(
                        target.folder("masks") / f"{name}.tif", mask_pixels[None], source, window
                    )
                )
            if optical is not None:
                rgb = _read(optical, window, sample.optical or "")
                out.optical = str(
                    _write_tif(target.folder("optical") / f"{name}.tif", rgb, source, window)
                )
                out.optical_caption = None
                if sample.metadata.get("synthetic") and mask_pixels is not None:
                    captions = _optical_captions(sample, boxes, mask_pixels, name)
                    out.optical_caption = captions[0] if captions else None
                    out.metadata["optical_captions"] = captions
            yield out


def _tile_metadata(sample: Sample, window: Window) -> dict[str, Any]:
    """The scene's metadata less what describes the whole scene, plus where the tile lies in it."""
    scene_only = {"class_fractions", "objects", "optical_captions"}
    meta = {k: v for k, v in sample.metadata.items() if k not in scene_only}
    meta["parent"] = sample.id
    meta["window"] = [window.col, window.row, window.width, window.height]
    return meta


def _tile(
    source: RasterSource,
    sample: Sample,
    name: str,
    window: Window,
    chip: Path,
    units: str,
    valid: float,
) -> Tile:
    grid = source.grid
    return Tile(
        id=name,
        source=sample.image,
        window=window,
        crs=crs_text(grid.crs),
        transform=window_transform(grid.transform, window),
        bounds=window_bounds(grid.transform, window),
        pixel_spacing=pixel_spacing_m(grid, window),
        polarisations=source.polarisations,
        units=units,
        acquisition_time=source.acquisition_time,
        chip=str(chip.relative_to(chip.parent.parent)),
        valid_fraction=round(valid, 6),
    )


def _read(ds: rasterio.io.DatasetReader, window: Window, name: str) -> np.ndarray:
    with pixel_reads(name):
        return ds.read(window=RioWindow(window.col, window.row, window.width, window.height))


def _write_chip(
    target: CutTarget, name: str, pixels: np.ma.MaskedArray, source: RasterSource, window: Window
) -> tuple[Path, str]:
    """Write the chip as the recipe renders it; returns its path and units."""
    chips = target.folder("chips")
    if target.render == "hrsid":
        render = load_presets().render("hrsid")
        band = source.polarisations.index("VV") if "VV" in source.polarisations else 0
        data = np.ma.filled(pixels[band].astype(np.float32), np.nan)
        power = preprocess.to_linear_power(data, source.units)
        grey = amplitude_u8(power, render.saturation_db)
        path = chips / f"{name}.jpg"
        rgb = np.repeat(grey[:, :, None], render.channels, axis=2)
        Image.fromarray(rgb.squeeze() if render.channels == 1 else rgb).save(
            path, quality=render.jpeg_quality
        )
        return path, "uint8"
    if target.render == "db" and source.units != "uint8":
        data = np.ma.filled(pixels.astype(np.float32), np.nan)
        db = preprocess.to_db(data, source.units)
        return _write_tif(chips / f"{name}.tif", db, source, window, units="dB"), "dB"
    chip = _write_tif(chips / f"{name}.tif", np.ma.getdata(pixels), source, window, source.units)
    return chip, source.units


def _write_tif(
    path: Path,
    data: np.ndarray,
    source: RasterSource,
    window: Window,
    units: str | None = None,
) -> Path:
    """A georeferenced GeoTIFF window (deflate); float chips keep NaN as nodata."""
    count, height, width = data.shape
    nodata = float("nan") if data.dtype.kind == "f" else None
    crs = source.grid.crs
    with rasterio.open(
        path, "w", driver="GTiff", width=width, height=height, count=count, dtype=data.dtype,
        crs=crs, transform=rasterio.Affine(*window_transform(source.grid.transform, window)),
        nodata=nodata, compress="deflate",
    ) as dst:  # fmt: skip
        dst.write(data)
        if units is not None:  # a SAR chip: say what its bands are and in what units
            if len(source.polarisations) == count:
                dst.descriptions = source.polarisations
            dst.update_tags(units=units)
    return path


def _optical_captions(sample: Sample, boxes: list[Box], mask: np.ndarray, name: str) -> list[str]:
    """Captions of the tile's optical window, written from its own objects and land cover."""
    values, counts = np.unique(mask, return_counts=True)
    present = {sample.mask_classes.get(int(v), "") for v in values}
    scene = {
        "seed": sample.metadata.get("seed", 0),
        "index": name,
        "size": int(max(mask.shape)),
        "classes": {str(k): v for k, v in sample.mask_classes.items()},
        "class_pixels": {str(int(v)): int(c) for v, c in zip(values, counts, strict=True) if v},
        "layout_counts": {k: int(cls in present) for k, cls in LAYOUT_FEATURES.items()},
    }
    annotations = [
        {
            "bbox": [b.bbox[0], b.bbox[1], b.bbox[2] - b.bbox[0], b.bbox[3] - b.bbox[1]],
            "obox": list(b.obox) if b.obox else None,
            "attributes": {**b.attributes, "class": b.cls},
        }
        for b in boxes
    ]
    return optical_captions(scene, annotations)
