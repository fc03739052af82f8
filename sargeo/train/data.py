"""Image-caption pairs for training and evaluation: open_clip CSVs in, prepared SAR images out.

A caption CSV has the columns ``filepath`` and ``title`` (comma- or tab-separated; paths absolute or
relative to the CSV's folder) and several rows per image. Images are GeoTIFF chips (VV[,VH] in dB,
linear or amplitude, units from the file's tags) or 8-bit chips (JPEG, PNG, optical RGB GeoTIFF), read
with rasterio and turned into model inputs by `sargeo.runtime.preprocess.prepare`.
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from sargeo.errors import InputError, ReadError


@dataclass(frozen=True)
class CaptionTable:
    """Images and their captions, in first-appearance order.

    Attributes:
        images: image paths (absolute).
        captions: the captions of each image (at least one each).
        sources: the CSV files read.
    """

    images: tuple[str, ...]
    captions: tuple[tuple[str, ...], ...]
    sources: tuple[str, ...]

    def __len__(self) -> int:
        return len(self.images)

    def head(self, n: int) -> CaptionTable:
        """The first ``n`` images (all when ``n`` is 0)."""
        if n <= 0 or n >= len(self.images):
            return self
        return CaptionTable(self.images[:n], self.captions[:n], self.sources)

    def pairs(self) -> tuple[list[str], list[int]]:
        """Every caption and the index of its image (retrieval's ground truth)."""
        texts: list[str] = []
        owner: list[int] = []
        for i, caps in enumerate(self.captions):
            texts.extend(caps)
            owner.extend([i] * len(caps))
        return texts, owner


def _dialect(first_line: str) -> str:
    return "\t" if first_line.count("\t") > first_line.count(",") else ","


def read_caption_csv(paths: Sequence[str | Path]) -> CaptionTable:
    """Read one or more open_clip caption CSVs into a `CaptionTable`; an empty one is refused."""
    order: dict[str, list[str]] = {}
    for item in paths:
        path = Path(item)
        if not path.is_file():
            raise InputError(f"caption file {path} does not exist")
        try:
            with path.open(newline="", encoding="utf-8") as fh:
                first = fh.readline()
                fh.seek(0)
                reader = csv.DictReader(fh, delimiter=_dialect(first))
                if not reader.fieldnames or not {"filepath", "title"} <= set(reader.fieldnames):
                    raise InputError(
                        f"{path} is not an open_clip caption CSV (columns filepath, title)"
                    )
                for row in reader:
                    image, title = (
                        (row.get("filepath") or "").strip(),
                        (row.get("title") or "").strip(),
                    )
                    if not image or not title:
                        continue
                    full = Path(image) if Path(image).is_absolute() else path.parent / image
                    order.setdefault(str(full), []).append(title)
        except (UnicodeDecodeError, csv.Error) as exc:
            raise InputError(f"cannot read caption file {path}: {exc}") from exc
    if not order:
        names = ", ".join(str(p) for p in paths)
        raise InputError(f"no captions in {names}")
    return CaptionTable(
        tuple(order), tuple(tuple(c) for c in order.values()), tuple(str(p) for p in paths)
    )


@dataclass
class RawImage:
    """An image's pixels with what `prepare` needs to know about them."""

    pixels: npt.NDArray[np.float32]
    units: str
    polarisations: tuple[str, ...]
    nodata: float | None


def read_image(path: str | Path, polarisations: Sequence[str] | None = None) -> RawImage:
    """Read every band of a chip with rasterio; units and polarisations from its metadata.

    Polarisations come from ``polarisations``, else band descriptions, the file name or a
    ``POLARISATIONS`` tag; a single unnamed band counts as VV, several unnamed bands are refused.
    """
    import rasterio
    from rasterio.errors import RasterioError

    from sargeo.geo.metadata import detect_polarisations, detect_units

    try:
        with rasterio.open(path) as ds:
            data = ds.read().astype(np.float32)
            tags = ds.tags()
            dtype = ds.dtypes[0]
            descriptions = tuple(ds.descriptions)
            nodata = ds.nodata
    except (RasterioError, OSError) as exc:
        raise ReadError(f"cannot read image {path}: {str(exc).splitlines()[0]}") from exc
    units = detect_units(dtype, data[0][::8, ::8], tags)
    if units == "uint8":
        pols = tuple((d or f"B{i + 1}").upper() for i, d in enumerate(descriptions))
        return RawImage(data, "uint8", pols, nodata)
    if polarisations is not None:
        return RawImage(data, units, tuple(p.upper() for p in polarisations), nodata)
    pols = detect_polarisations(Path(path), descriptions)
    if all(p.startswith("B") for p in pols):
        named = tuple(
            p.strip().upper() for p in tags.get("POLARISATIONS", "").split(",") if p.strip()
        )
        if len(named) == len(pols):
            pols = named
        elif len(pols) == 1:
            pols = ("VV",)
        else:
            raise InputError(f"image {path}: {len(pols)} bands without polarisation names")
    return RawImage(data, units, pols, nodata)
