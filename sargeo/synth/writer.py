"""Write a scene's outputs: three GeoTIFFs filled window by window, the COCO file, the objects
GeoPackage and JSON parameters (layout in the package docstring).

The GeoTIFFs are tiled and written one block at a time with a bounded GDAL cache, so a 20000 px scene
never holds more than a block of pixels in memory.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import rasterio

from sargeo.records import Window
from sargeo.synth import DISPLAY_FILE, FORMAT_VERSION, SCENE_FILES
from sargeo.synth.grid import Grid
from sargeo.synth.objects import SceneObject
from sargeo.synth.sensors import Render
from sargeo.synth.tables import ClassTable

GDAL_CACHE_MB = 64
TILE = 256


def _profile(
    grid: Grid, count: int, dtype: str, compress: str | None, predictor: bool = True
) -> dict[str, Any]:
    profile: dict[str, Any] = {
        "driver": "GTiff",
        "width": grid.size,
        "height": grid.size,
        "count": count,
        "dtype": dtype,
        "crs": grid.crs,
        "transform": grid.transform,
        "BIGTIFF": "IF_SAFER",
    }
    if grid.size >= TILE:
        profile.update(tiled=True, blockxsize=TILE, blockysize=TILE)
    if compress:
        profile.update(compress=compress)
    if compress and predictor:
        profile.update(predictor=2)
    return profile


class SceneRasters:
    """The open GeoTIFFs of a scene (SAR, optical, mask, and the 8-bit rendering if any), written
    window by window."""

    def __init__(self, sar: Any, optical: Any, mask: Any, display: Any = None) -> None:
        self.sar = sar
        self.optical = optical
        self.mask = mask
        self.display = display

    def write(
        self,
        window: Window,
        sar: npt.NDArray[np.float32],
        rgb: npt.NDArray[np.uint8],
        mask: npt.NDArray[np.uint8],
        display: npt.NDArray[np.uint8] | None = None,
    ) -> None:
        """Write one block: ``sar`` (2, h, w), ``rgb`` (3, h, w), ``mask`` (h, w), ``display``
        (h, w), repeated in every band of the 8-bit rendering."""
        win = rasterio.windows.Window(window.col, window.row, window.width, window.height)
        self.sar.write(sar, window=win)
        self.optical.write(rgb, window=win)
        self.mask.write(mask, 1, window=win)
        if self.display is not None and display is not None:
            bands = np.broadcast_to(display, (self.display.count, *display.shape))
            self.display.write(bands, window=win)


@contextmanager
def _open_display(folder: Path, grid: Grid, render: Render) -> Iterator[Any]:
    """The 8-bit amplitude GeoTIFF of an ``amplitude_u8`` rendering (JPEG-compressed), or None."""
    if not render.eight_bit:
        yield None
        return
    profile = _profile(grid, render.channels, "uint8", "jpeg", predictor=False)
    profile.update(jpeg_quality=render.jpeg_quality)
    if render.channels == 3:
        profile.update(photometric="RGB")
    with rasterio.open(folder / DISPLAY_FILE, "w", **profile) as ds:
        ds.update_tags(RENDER=render.name, SATURATION_DB=f"{render.saturation_db:g}")
        yield ds


@contextmanager
def open_rasters(
    folder: Path, grid: Grid, sar_tags: dict[str, str], classes: ClassTable, render: Render
) -> Iterator[SceneRasters]:
    """Create the scene's GeoTIFFs with their band descriptions, tags and the mask's colour map."""
    sar_profile = _profile(grid, 2, "float32", None)
    optical_profile = _profile(grid, 3, "uint8", "lzw")
    mask_profile = _profile(grid, 1, "uint8", "deflate")
    with (
        rasterio.Env(GDAL_CACHEMAX=GDAL_CACHE_MB),
        rasterio.open(folder / SCENE_FILES["sar"], "w", **sar_profile) as sar,
        rasterio.open(
            folder / SCENE_FILES["optical"], "w", photometric="RGB", **optical_profile
        ) as optical,
        rasterio.open(folder / SCENE_FILES["mask"], "w", **mask_profile) as mask,
        _open_display(folder, grid, render) as display,
    ):
        for i, pol in enumerate(("VV", "VH"), start=1):
            sar.set_band_description(i, pol)
            sar.update_tags(i, POLARISATION=pol)
        sar.update_tags(**sar_tags)
        for i, name in enumerate(("red", "green", "blue"), start=1):
            optical.set_band_description(i, name)
        mask.set_band_description(1, "class")
        mask.update_tags(CLASSES=json.dumps({str(k): v for k, v in classes.names.items()}))
        colours = {c.value: (*c.rgb, 255) for c in classes.classes}
        mask.write_colormap(1, {0: (0, 0, 0, 0), **colours})
        yield SceneRasters(sar, optical, mask, display)


def write_json(path: Path, data: dict[str, Any]) -> None:
    """Write indented JSON with a trailing newline."""
    path.write_text(json.dumps(data, indent=1, sort_keys=False) + "\n")


def _pixel_polygon(grid: Grid, obj: SceneObject) -> list[float]:
    """The footprint's exterior ring in pixel coordinates, flattened (COCO segmentation)."""
    ring = []
    for x, y in list(obj.footprint.exterior.coords)[:-1]:
        col, row = grid.to_pixel(x, y)
        ring += [round(col, 2), round(row, 2)]
    return ring


def _attributes(obj: SceneObject) -> dict[str, Any]:
    return {
        "class": obj.cls,
        "length_m": round(obj.length_m, 2),
        "width_m": round(obj.width_m, 2),
        "heading_deg": round(obj.heading_deg % 360.0, 2),
        "point_target": obj.point_target,
        **obj.attributes,
    }


def coco_document(
    grid: Grid, objects: list[SceneObject], classes: ClassTable, scene_id: str, description: str
) -> dict[str, Any]:
    """The COCO detection document of one scene (one image)."""
    image = {
        "id": 1,
        "file_name": SCENE_FILES["sar"],
        "width": grid.size,
        "height": grid.size,
        "optical": SCENE_FILES["optical"],
        "mask": SCENE_FILES["mask"],
        "scene_id": scene_id,
        "crs": grid.crs,
        "transform": list(grid.transform)[:6],
    }
    annotations = []
    for o in objects:
        annotations.append(
            {
                "id": o.id,
                "image_id": 1,
                "category_id": classes[o.cls].category_id,
                "bbox": list(o.bbox),
                "area": o.area,
                "iscrowd": 0,
                "segmentation": [_pixel_polygon(grid, o)],
                "obox": [round(v, 3) for v in o.obox(grid)],
                "attributes": _attributes(o),
            }
        )
    return {
        "info": {"description": description, "version": str(FORMAT_VERSION)},
        "licenses": [],
        "images": [image],
        "categories": classes.coco_categories(),
        "annotations": annotations,
    }


def objects_frame(grid: Grid, objects: list[SceneObject], classes: ClassTable) -> gpd.GeoDataFrame:
    """One row per object: footprint in the scene CRS, box columns and flattened attributes."""
    rows: list[dict[str, Any]] = []
    for o in objects:
        x, y, w, h = o.bbox
        cx, cy, length, width, angle = o.obox(grid)
        attrs = _attributes(o)
        rows.append(
            {
                "id": o.id,
                "category": o.cls,
                "category_id": classes[o.cls].category_id,
                "bbox_x": x, "bbox_y": y, "bbox_w": w, "bbox_h": h,
                "area_px": o.area,
                "cx": cx, "cy": cy, "length_px": length, "width_px": width, "angle_deg": angle,
                "attributes": json.dumps(attrs),
            }
        )  # fmt: skip
    extra = sorted({k for o in objects for k in o.attributes})
    for row, o in zip(rows, objects, strict=True):
        for key in extra:
            value = o.attributes.get(key)
            row[key] = (
                value if isinstance(value, str) else (np.nan if value is None else float(value))
            )
    frame = gpd.GeoDataFrame(rows, geometry=[o.footprint for o in objects], crs=grid.crs)
    for key in extra:
        if key in frame and frame[key].dtype == object:
            frame[key] = frame[key].fillna("").astype(str)
    lonlat = frame.geometry.centroid.to_crs(4326) if len(frame) else None
    frame["lon"] = lonlat.x if lonlat is not None else []
    frame["lat"] = lonlat.y if lonlat is not None else []
    return frame


def write_objects(path: Path, grid: Grid, objects: list[SceneObject], classes: ClassTable) -> None:
    """Write the objects GeoPackage (layer ``objects``)."""
    frame = objects_frame(grid, objects, classes)
    frame.to_file(path, layer="objects", driver="GPKG", engine="pyogrio")
