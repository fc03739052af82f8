"""The records that flow between layers: `Tile` (pixels' georeference) and `Sample` (ground truth).

They are plain dataclasses with no heavy dependencies, so every layer (and the QGIS plugin) can use them.
`Window` belongs to the tile grid in `sargeo.runtime.grid` and is re-exported here.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any, Literal

from sargeo.runtime.grid import Window

Units = Literal["linear", "dB", "amplitude", "uint8"]
UNITS: tuple[str, ...] = ("linear", "dB", "amplitude", "uint8")


@dataclass(frozen=True)
class Tile:
    """One tile of a raster with its full georeference, kept beside (never inside) the pixels.

    Attributes:
        id: Stable identifier, unique within a tiling run.
        source: Path (or paths joined by ``;``) of the raster the tile was read from.
        window: Window in the source (or reprojected) grid.
        crs: CRS as ``EPSG:n`` when it has an EPSG code, else WKT; empty for pixel coordinates.
        transform: Affine transform (a, b, c, d, e, f) of the tile's top-left pixel grid.
        bounds: (minx, miny, maxx, maxy) in ``crs``.
        pixel_spacing: (x, y) pixel size in metres.
        polarisations: Polarisation of each band, e.g. ``("VV", "VH")``.
        units: Radiometric units of the pixels.
        acquisition_time: Acquisition start time if known.
        chip: Path of the chip file written for this tile, if any.
        valid_fraction: Share of valid (not nodata, not NaN) pixels.
    """

    id: str
    source: str
    window: Window
    crs: str
    transform: tuple[float, float, float, float, float, float]
    bounds: tuple[float, float, float, float]
    pixel_spacing: tuple[float, float]
    polarisations: tuple[str, ...]
    units: str
    acquisition_time: datetime | None = None
    chip: str = ""
    valid_fraction: float = 1.0

    def to_properties(self) -> dict[str, Any]:
        """Flat attribute dictionary (for a GeoPackage row or JSON)."""
        return {
            "tile_id": self.id,
            "source": self.source,
            "col": self.window.col,
            "row": self.window.row,
            "width": self.window.width,
            "height": self.window.height,
            "crs": self.crs,
            "transform": json.dumps(list(self.transform)),
            "minx": self.bounds[0],
            "miny": self.bounds[1],
            "maxx": self.bounds[2],
            "maxy": self.bounds[3],
            "pixel_spacing_x": self.pixel_spacing[0],
            "pixel_spacing_y": self.pixel_spacing[1],
            "polarisations": ",".join(self.polarisations),
            "units": self.units,
            "acquisition_time": (
                self.acquisition_time.isoformat() if self.acquisition_time else ""
            ),
            "chip": self.chip,
            "valid_fraction": self.valid_fraction,
        }

    @classmethod
    def from_properties(cls, props: dict[str, Any]) -> Tile:
        """Inverse of `to_properties`."""
        acq = props.get("acquisition_time") or ""
        transform = tuple(float(v) for v in json.loads(props["transform"]))
        return cls(
            id=str(props["tile_id"]),
            source=str(props["source"]),
            window=Window(
                int(props["col"]), int(props["row"]), int(props["width"]), int(props["height"])
            ),
            crs=str(props["crs"] or ""),
            transform=transform,  # type: ignore[arg-type]
            bounds=(
                float(props["minx"]),
                float(props["miny"]),
                float(props["maxx"]),
                float(props["maxy"]),
            ),
            pixel_spacing=(float(props["pixel_spacing_x"]), float(props["pixel_spacing_y"])),
            polarisations=tuple(p for p in str(props["polarisations"]).split(",") if p),
            units=str(props["units"]),
            acquisition_time=datetime.fromisoformat(acq) if acq else None,
            chip=str(props.get("chip") or ""),
            valid_fraction=float(props.get("valid_fraction", 1.0)),
        )


@dataclass(frozen=True)
class Box:
    """One annotated object.

    Attributes:
        cls: Class name (``ship``, ``aircraft``...).
        bbox: Axis-aligned pixel box (xmin, ymin, xmax, ymax).
        obox: Optional oriented box (cx, cy, length, width, angle_deg); the angle is the object's
            heading in image coordinates, clockwise from the image's up direction.
        attributes: Free attributes (ship type, length in metres, moored...).
        source_id: Identifier of the annotation in its source file.
    """

    cls: str
    bbox: tuple[float, float, float, float]
    obox: tuple[float, float, float, float, float] | None = None
    attributes: dict[str, Any] = field(default_factory=dict)
    source_id: str = ""


@dataclass
class Sample:
    """An image with its ground truth, as every dataset adapter produces it.

    Attributes:
        id: Identifier unique within a dataset.
        image: Path of the image (a chip file or a tile's chip).
        width: Image width in pixels.
        height: Image height in pixels.
        boxes: Annotated objects.
        mask: Path of a class mask raster on the image's grid, if any.
        mask_classes: Mask value -> class name.
        optical: Path of a paired optical image, if any.
        optical_caption: Caption of the paired optical image, if any.
        tile: Georeference of the image, if known.
        scene: Scene (or source product) the image comes from; splits never cut a scene.
        metadata: Free metadata (sensor, incidence, polarisation...).
        labels: The class names the dataset annotates (its COCO or VOC categories, its mask's
            classes; the synthetic world's whole class table): only about these can the ground
            truth say that something is absent. None: unknown, every class of the vocabulary is
            taken as labelled.
    """

    id: str
    image: str
    width: int
    height: int
    boxes: list[Box] = field(default_factory=list)
    mask: str | None = None
    mask_classes: dict[int, str] = field(default_factory=dict)
    optical: str | None = None
    optical_caption: str | None = None
    tile: Tile | None = None
    scene: str = ""
    metadata: dict[str, Any] = field(default_factory=dict)
    labels: tuple[str, ...] | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable form."""
        data = asdict(self)
        if self.tile is not None:
            data["tile"] = self.tile.to_properties()
        data["mask_classes"] = {str(k): v for k, v in self.mask_classes.items()}
        return data
