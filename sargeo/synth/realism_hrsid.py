"""The realism check at HRSID resolution: 8-bit synthetic chips against the real ``hrsid_mini`` images.

Per image, measured the same way on both sides: the median grey level (how dark the scene is), the
90th percentile grey of the ship pixels (do ships saturate), the long side of each ship box in pixels,
the number of ships, and the sea texture (coefficient of variation of the grey levels over sea, away
from ships: about 0.52 for single-look amplitude, 0.25 for 4-look). The real side reads HRSID's JPEGs,
ship masks and COCO boxes; the synthetic side reads ``sar_8bit.tif`` (``--render hrsid``),
``mask.tif`` and ``coco.json`` of ``sargeo synth`` scenes. Images are summarised by their median, as
HRSID's chips are a selection of ship-rich areas, not a random sample of the world.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
from scipy import ndimage

from sargeo.errors import SargeoError
from sargeo.synth import DISPLAY_FILE, SCENE_FILES
from sargeo.synth import realism_refs as F
from sargeo.synth.realism_check import Tolerance
from sargeo.synth.tables import load_classes

BoolArray = npt.NDArray[np.bool_]

SHIP_CLEARANCE_PX = 10
"""Pixels around ships left out of the sea (wakes, sidelobes, the ships' own blur)."""


@dataclass(frozen=True)
class ChipStats:
    """Statistics of one 8-bit image (see the module docstring)."""

    median_grey: float
    ship_p90_grey: float
    box_long_px: list[float]
    ships: int
    sea_cv: float


def chip_stats(
    grey: npt.ArrayLike,
    ship: BoolArray,
    boxes: Sequence[Sequence[float]],
    sea: BoolArray | None = None,
) -> ChipStats:
    """Statistics of one image: grey levels, ship mask, COCO boxes (x, y, w, h) and the sea
    (None: every pixel away from ships, as in HRSID's offshore chips)."""
    g = np.asarray(grey, dtype=np.float64)
    clear = ~ndimage.binary_dilation(ship, iterations=SHIP_CLEARANCE_PX) if ship.any() else None
    water = np.ones(g.shape, bool) if sea is None else sea.copy()
    if clear is not None:
        water &= clear
    w = g[water]
    cv = float(w.std() / w.mean()) if w.size >= 100 and w.mean() > 0 else float("nan")
    return ChipStats(
        median_grey=float(np.median(g)),
        ship_p90_grey=float(np.percentile(g[ship], 90)) if ship.any() else float("nan"),
        box_long_px=[float(max(b[2], b[3])) for b in boxes],
        ships=len(boxes),
        sea_cv=cv,
    )


def summarise(chips: Sequence[ChipStats]) -> dict[str, float]:
    """Medians over images (box sides pooled over all ships) of every statistic in `TOLERANCES`."""
    if not chips:
        raise ValueError("HRSID statistics: no image")

    def med(values: list[float]) -> float:
        v = [x for x in values if np.isfinite(x)]
        return float(np.median(v)) if v else float("nan")

    return {
        "median_grey": med([c.median_grey for c in chips]),
        "ship_p90_grey": med([c.ship_p90_grey for c in chips]),
        "box_long_px": med([b for c in chips for b in c.box_long_px]),
        "ships_per_image": float(np.mean([c.ships for c in chips])),
        "sea_cv": med([c.sea_cv for c in chips]),
    }


def reference_chips(folder: Path) -> list[ChipStats]:
    """The real ``hrsid_mini`` images: JPEG grey levels, ship masks and COCO boxes."""
    return [chip_stats(im.pixels, im.ship, im.boxes) for im in F.load_hrsid(folder)]


OFFSHORE_SEA_SHARE = 0.5
"""Share of sea a synthetic chip needs to count as offshore (as ``hrsid_mini``'s chips)."""


def synthetic_chips(root: Path, offshore: bool = True) -> list[ChipStats]:
    """The scenes under ``root`` with their 8-bit rendering (``--render hrsid``); with ``offshore``
    only those with `OFFSHORE_SEA_SHARE` of sea and no harbour (``hrsid_mini`` is HRSID's offshore
    subset)."""
    table = load_classes()
    ship_v, sea_v, harbour_v = (table.value(n) for n in ("ship", "sea", "harbour"))
    ship_id = table["ship"].category_id
    out = []
    for folder in sorted(p for p in root.iterdir() if (p / DISPLAY_FILE).is_file()):
        grey = F.read_raster(folder / DISPLAY_FILE)[0]
        mask = F.read_raster(folder / SCENE_FILES["mask"])[0]
        coco = json.loads((folder / SCENE_FILES["coco"]).read_text())
        sea = mask == sea_v
        if offshore and (sea.mean() < OFFSHORE_SEA_SHARE or (mask == harbour_v).any()):
            continue
        boxes = [a["bbox"] for a in coco["annotations"] if a["category_id"] == ship_id]
        out.append(chip_stats(grey, mask == ship_v, boxes, sea))
    if not out:
        raise SargeoError(f"{root}: no offshore scene with {DISPLAY_FILE} (made by --render hrsid)")
    return out


_WHY_GREY = (
    "HRSID's per-image median grey spans 9-21 (47 in a coastal chip): a sea as dark as theirs; a "
    "mid-grey sea (40 and over, the 10 m world rendered without care) fails"
)
_WHY_SATURATE = (
    "real ship pixels saturate (90th percentile 233-255 of 255); 30 levels keep a ship as grey as "
    "a quay (under 200) out"
)
_WHY_LENGTH = (
    "real boxes are 17-87 px long (median about 52) across HRSID's 0.5-3 m resolutions; a factor "
    "of 1.6 around it keeps 3 m ships the size of boats (under 33 px) or of 10 m pixels out"
)
_WHY_COUNT = (
    "HRSID's offshore chips hold 1-2 ships each (selected to contain ships); synthetic offshore "
    "chips may hold up to 15: a factor of 4 allows a busier world, not an empty one"
)
_WHY_CV = (
    "single-look amplitude has a coefficient of variation of 0.52 (real sea 0.44-0.55 after JPEG); "
    "4-look speckle gives 0.25: 0.1 tells them apart"
)

TOLERANCES: dict[str, Tolerance] = {
    "median_grey": Tolerance("median grey per image, HRSID", "", 8.0, _WHY_GREY),
    "ship_p90_grey": Tolerance("ship 90th-percentile grey, HRSID", "", 30.0, _WHY_SATURATE),
    "box_long_px": Tolerance("ship box long side (px), HRSID", "x", 1.6, _WHY_LENGTH),
    "ships_per_image": Tolerance("ships per image, HRSID", "x", 4.0, _WHY_COUNT),
    "sea_cv": Tolerance("sea amplitude CV, HRSID", "", 0.1, _WHY_CV),
}
"""Every HRSID statistic and its tolerance (`sargeo.synth.realism_check.compare` takes them)."""
