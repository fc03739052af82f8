"""Tiny dataset files for the adapter tests, written under pytest's tmp_path."""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import rasterio
from PIL import Image
from rasterio.errors import NotGeoreferencedWarning
from rasterio.transform import from_origin


def write_image(path: Path, width: int = 32, height: int = 24, value: int = 0) -> Path:
    """An 8-bit grey image (format from the suffix)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.full((height, width), value, dtype=np.uint8)).save(path)
    return path


def write_noise_image(path: Path, side: int = 32, *, keep: float = 1.0, tail: bytes = b"") -> Path:
    """An 8-bit noise image (format from the suffix; noise so that every byte counts), cut to the
    ``keep`` share of its bytes, with ``tail`` appended."""
    path.parent.mkdir(parents=True, exist_ok=True)
    noise = np.random.default_rng(side).integers(0, 256, (side, side), dtype=np.uint8)
    Image.fromarray(noise).save(path)
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * keep)] + tail)
    return path


def write_json(path: Path, data: Any) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def write_raster(
    path: Path,
    data: np.ndarray,
    *,
    crs: str | None = "EPSG:32631",
    origin: tuple[float, float] = (500000.0, 4600000.0),
    res: float = 10.0,
    nodata: float | None = None,
    descriptions: tuple[str, ...] | None = None,
    tags: dict[str, str] | None = None,
) -> Path:
    """A GeoTIFF of ``data`` (bands, rows, cols) on a north-up grid."""
    path.parent.mkdir(parents=True, exist_ok=True)
    bands, height, width = data.shape
    profile: dict[str, Any] = {
        "driver": "GTiff",
        "width": width,
        "height": height,
        "count": bands,
        "dtype": data.dtype.name,
        "nodata": nodata,
    }
    if crs is not None:
        profile.update(crs=crs, transform=from_origin(origin[0], origin[1], res, res))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NotGeoreferencedWarning)
        ds = rasterio.open(path, "w", **profile)
    with ds:
        ds.write(data)
        if descriptions:
            for i, d in enumerate(descriptions, start=1):
                ds.set_band_description(i, d)
        if tags:
            ds.update_tags(**tags)
    return path


def ship_xml_entry(
    centre: tuple[int, int],
    size: int,
    head: tuple[int, int],
    tail: tuple[int, int],
    *,
    elaborated: str = "Bulk Carrier",
    width_m: float = 30.0,
    length_m: float = 180.0,
) -> str:
    """One OpenSARShip ``<ship>`` element (the fields the adapter reads, like the real files)."""
    half = size // 2
    cx, cy = centre
    return f"""\t<ship>
\t\t<SARShipInformation>
\t\t\t<Time_UTC>2016/1/31.10:17:0</Time_UTC>
\t\t\t<Head_x>{head[0]}</Head_x>
\t\t\t<Head_y>{head[1]}</Head_y>
\t\t\t<Tail_x>{tail[0]}</Tail_x>
\t\t\t<Tail_y>{tail[1]}</Tail_y>
\t\t\t<UpperLeft_x>{cx + half}</UpperLeft_x>
\t\t\t<UpperLeft_y>{cy + half}</UpperLeft_y>
\t\t\t<LowerRight_x>{cx - half}</LowerRight_x>
\t\t\t<LowerRight_y>{cy - half}</LowerRight_y>
\t\t\t<Center_x>{cx}</Center_x>
\t\t\t<Center_y>{cy}</Center_y>
\t\t\t<Center_longitude>1.169495e+02</Center_longitude>
\t\t\t<Center_latitude>2.301015e+01</Center_latitude>
\t\t\t<Manual_Length>190</Manual_Length>
\t\t\t<Incidence>37.0</Incidence>
\t\t</SARShipInformation>
\t\t<AISShipInformation>
\t\t\t<MMSI>412446286</MMSI>
\t\t\t<Cog>106.00</Cog>
\t\t\t<True_Head> 511</True_Head>
\t\t\t<Name>TEST SHIP</Name>
\t\t\t<Ship_Type>70</Ship_Type>
\t\t\t<Length>{length_m}</Length>
\t\t\t<Width>{width_m}</Width>
\t\t</AISShipInformation>
\t\t<MarineTrafficInformation>
\t\t\t<Length_overall>{length_m}</Length_overall>
\t\t\t<Breadth_extreme>NaN</Breadth_extreme>
\t\t\t<Elaborated_type>{elaborated}</Elaborated_type>
\t\t</MarineTrafficInformation>
\t</ship>
"""


def write_chip(path: Path, size: int, bands: int = 2) -> Path:
    """A linear-power chip without georeference, like OpenSARShip's Patch_Cal files."""
    data = np.full((bands, size, size), 0.01, dtype=np.float32)
    return write_raster(path, data, crs=None)
