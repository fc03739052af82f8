"""Loaders for the real SAR references of the realism check (the samples in ``../shared/data``).

- Sen1Floods11: one Sentinel-1 GRD chip, sigma0 in dB (band 1 VV, band 2 VH), with a hand-labelled
  water mask (1 water, 0 not water, -1 nodata).
- HRSID mini: 8-bit JPG amplitude displays (unknown stretch) with ship masks (pixels (0, 255, 0)).
- OpenSARShip: ``Patch_Cal`` ship chips in linear sigma0 (dual-pol: band 1 VH, band 2 VV; single-pol:
  VV), one ship at the chip centre.

Each loader raises `SargeoError` naming the file when it is missing or malformed.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from sargeo.errors import SargeoError

FloatArray = npt.NDArray[np.float32]
BoolArray = npt.NDArray[np.bool_]

SHIP_RGB = (0, 255, 0)
"""Colour of ship pixels in HRSID's mask PNGs."""


def read_raster(path: Path) -> npt.NDArray[np.generic]:
    """All bands of a raster (GeoTIFF, JPG or PNG) as (bands, rows, cols); SargeoError when unreadable."""
    import rasterio
    from rasterio.errors import NotGeoreferencedWarning, RasterioIOError

    if not path.is_file():
        raise SargeoError(f"{path}: file not found")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", NotGeoreferencedWarning)
            with rasterio.open(path) as src:
                data: npt.NDArray[np.generic] = src.read()
    except RasterioIOError as exc:
        raise SargeoError(f"{path}: cannot read raster ({exc})") from exc
    return data


@dataclass(frozen=True)
class FloodChip:
    """The Sen1Floods11 reference: VV and VH sigma0 in dB and where the water is.

    Attributes:
        vv_db: VV sigma0 (dB), NaN where no data.
        vh_db: VH sigma0 (dB), NaN where no data.
        water: Hand-labelled water pixels.
        land: Hand-labelled not-water pixels.
        path: The S1 GeoTIFF it was read from.
    """

    vv_db: FloatArray
    vh_db: FloatArray
    water: BoolArray
    land: BoolArray
    path: Path


def load_sen1floods11(folder: Path, chip: str = "Spain_7370579") -> FloodChip:
    """Read ``<chip>_S1Hand.tif`` (VV, VH in dB) and ``<chip>_LabelHand.tif`` (water mask)."""
    s1_path = folder / f"{chip}_S1Hand.tif"
    label_path = folder / f"{chip}_LabelHand.tif"
    s1 = read_raster(s1_path).astype(np.float32)
    label = read_raster(label_path)
    if s1.shape[0] < 2:
        raise SargeoError(f"{s1_path}: expected 2 bands (VV, VH), found {s1.shape[0]}")
    if label.shape[1:] != s1.shape[1:]:
        raise SargeoError(f"{label_path}: grid {label.shape[1:]} differs from {s1_path}")
    lab = label[0]
    finite = np.isfinite(s1[0]) & np.isfinite(s1[1])
    return FloodChip(s1[0], s1[1], (lab == 1) & finite, (lab == 0) & finite, s1_path)


@dataclass(frozen=True)
class DisplayImage:
    """One HRSID image: 8-bit amplitude display, ship mask and COCO boxes.

    Attributes:
        name: File stem (``P<scene>_<y0>_<y1>_<x0>_<x1>``).
        pixels: Grey levels (rows, cols), uint8.
        ship: Ship pixels from the mask PNG.
        boxes: COCO boxes (x, y, width, height) of the image's ships (may be empty).
    """

    name: str
    pixels: npt.NDArray[np.uint8]
    ship: BoolArray
    boxes: list[tuple[float, float, float, float]]

    @property
    def scene(self) -> str:
        """Source scene identifier (``P0001``)."""
        return self.name.split("_", 1)[0]


def _coco_boxes(path: Path) -> dict[str, list[tuple[float, float, float, float]]]:
    """File name -> boxes from a COCO instances file; empty when the file is absent."""
    import json

    if not path.is_file():
        return {}
    try:
        coco = json.loads(path.read_text())
        names = {img["id"]: img["file_name"] for img in coco["images"]}
        boxes: dict[str, list[tuple[float, float, float, float]]] = {}
        for ann in coco["annotations"]:
            x, y, w, h = (float(v) for v in ann["bbox"])
            boxes.setdefault(names[ann["image_id"]], []).append((x, y, w, h))
    except (ValueError, KeyError, TypeError) as exc:
        raise SargeoError(f"{path}: not a COCO instances file ({exc})") from exc
    return boxes


def load_hrsid(folder: Path) -> list[DisplayImage]:
    """Read every ``images/*.jpg`` with its ``masks/<stem>.png`` (images without a mask are skipped)."""
    images = sorted((folder / "images").glob("*.jpg"))
    if not images:
        raise SargeoError(f"{folder / 'images'}: no JPG images found")
    boxes = _coco_boxes(folder / "annotations" / "instances.json")
    out: list[DisplayImage] = []
    for path in images:
        mask_path = folder / "masks" / f"{path.stem}.png"
        if not mask_path.is_file():
            continue
        img = read_raster(path)
        mask = read_raster(mask_path)
        if mask.shape[0] < 3 or mask.shape[1:] != img.shape[1:]:
            raise SargeoError(f"{mask_path}: expected an RGB mask on the grid of {path.name}")
        ship = np.all(mask[:3] == np.array(SHIP_RGB).reshape(3, 1, 1), axis=0)
        out.append(DisplayImage(path.stem, img[0].astype(np.uint8), ship, boxes.get(path.name, [])))
    if not out:
        raise SargeoError(f"{folder / 'masks'}: no mask PNG matches an image")
    return out


@dataclass(frozen=True)
class ShipChip:
    """One OpenSARShip ``Patch_Cal`` chip: linear sigma0 with a ship at the centre.

    Attributes:
        name: File stem (``<Type>_x<col>_y<row>``).
        scene: Sentinel-1 product name (its folder).
        vv: VV sigma0 (linear).
        vh: VH sigma0 (linear), None for single-pol chips.
    """

    name: str
    scene: str
    vv: FloatArray
    vh: FloatArray | None

    @property
    def product(self) -> str:
        """Product type from the scene name: ``GRD`` or ``SLC``."""
        return "SLC" if "_SLC_" in self.scene else "GRD"


def load_opensarship(folder: Path) -> list[ShipChip]:
    """Read every ``<scene>/Patch_Cal/*.tif`` under ``folder``."""
    paths = sorted(folder.glob("*/Patch_Cal/*.tif"))
    if not paths:
        raise SargeoError(f"{folder}: no */Patch_Cal/*.tif chip found")
    chips: list[ShipChip] = []
    for path in paths:
        data = read_raster(path).astype(np.float32)
        scene = path.parent.parent.name
        if data.shape[0] == 2:
            chips.append(ShipChip(path.stem, scene, data[1], data[0]))
        elif data.shape[0] == 1:
            chips.append(ShipChip(path.stem, scene, data[0], None))
        else:
            raise SargeoError(f"{path}: expected 1 or 2 bands, found {data.shape[0]}")
    return chips
