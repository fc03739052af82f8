"""Build complete Sentinel-1 GRD SAFE folders for the tests from xarray-sentinel's real test data.

xarray-sentinel ships a real GRD product's manifest and annotation XMLs plus a full-size placeholder VV
measurement TIFF (25788x16685, every pixel 1), but no GRD calibration XML and no VH TIFF. So this module:

- copies the real manifest and annotations (for a cropped product: image size and geolocation grid
  shifted into the crop, as a subset of the real product);
- writes calibration XMLs in ESA's format on a GRD-like LUT grid (a vector every 600 lines, a node every
  40 pixels), with values resampled from the real IW1 SLC calibration LUTs of the same datatake and a
  small along-line trend, so that the bilinear interpolation is exercised along both axes;
- links the placeholder TIFF as both polarisations (full size) or writes given DN arrays (cropped).
"""

from __future__ import annotations

import shutil
from datetime import datetime, timedelta
from pathlib import Path
from xml.etree import ElementTree as ET

import numpy as np
import rasterio
from rasterio.control import GroundControlPoint

GRD = "S1B_IW_GRDH_1SDV_20210401T052623_20210401T052648_026269_032297_ECC8.SAFE"
SLC = "S1B_IW_SLC__1SDV_20210401T052622_20210401T052650_026269_032297_EFA4.SAFE"
STEMS = {
    "VV": "s1b-iw-grd-vv-20210401t052623-20210401t052648-026269-032297-001",
    "VH": "s1b-iw-grd-vh-20210401t052623-20210401t052648-026269-032297-002",
}
_TEMPLATES = {
    "VV": "calibration-s1b-iw1-slc-vv-20210401t052624-20210401t052649-026269-032297-004.xml",
    "VH": "calibration-s1b-iw1-slc-vh-20210401t052624-20210401t052649-026269-032297-001.xml",
}
LUT_NAMES = ("sigmaNought", "betaNought", "gamma", "dn")
FULL_SIZE = (25788, 16685)
START = datetime(2021, 4, 1, 5, 26, 23, 794457)
LINE_TIME = 0.001498376640333055  # azimuthTimeInterval of the real annotation (s)


def make_grd_safe(
    testdata: Path,
    dst: Path,
    *,
    crop: tuple[int, int, int, int] | None = None,
    dn: dict[str, np.ndarray] | None = None,
    pols: tuple[str, ...] = ("VV", "VH"),
) -> Path:
    """Write a complete GRD SAFE folder under ``dst`` and return its path.

    Args:
        testdata: xarray-sentinel's test data folder.
        dst: Parent folder of the product.
        crop: (col, row, width, height) of a subset of the real product, or None for full size.
        dn: DN array per polarisation (height x width, uint16) for a cropped product.
        pols: Polarisations to include.
    """
    real = testdata / GRD
    safe = dst / GRD
    (safe / "annotation" / "calibration").mkdir(parents=True)
    (safe / "measurement").mkdir()
    shutil.copy(real / "manifest.safe", safe / "manifest.safe")
    _, row, width, height = crop or (0, 0, *FULL_SIZE)
    for pol in pols:
        stem = STEMS[pol]
        write_annotation(real / "annotation" / f"{stem}.xml", safe / "annotation" / f"{stem}.xml",
                         crop)  # fmt: skip
        template = testdata / SLC / "annotation" / "calibration" / _TEMPLATES[pol]
        write_calibration(template, safe / "annotation" / "calibration" / f"calibration-{stem}.xml",
                          pol, width, height, first_line=row)  # fmt: skip
        tiff = safe / "measurement" / f"{stem}.tiff"
        if crop is None:
            tiff.symlink_to(real / "measurement" / f"{STEMS['VV']}.tiff")
        else:
            assert dn is not None and dn[pol].shape == (height, width)
            write_measurement(tiff, dn[pol], annotation_gcps(safe / "annotation" / f"{stem}.xml"))
    return safe


def write_annotation(src: Path, dst: Path, crop: tuple[int, int, int, int] | None) -> None:
    """Copy an annotation XML; for a crop, set the image size and shift the geolocation grid."""
    if crop is None:
        shutil.copy(src, dst)
        return
    col, row, width, height = crop
    tree = ET.parse(src)
    info = tree.getroot().find("imageAnnotation/imageInformation")
    assert info is not None
    info.find("numberOfSamples").text = str(width)  # type: ignore[union-attr]
    info.find("numberOfLines").text = str(height)  # type: ignore[union-attr]
    for point in tree.getroot().iter("geolocationGridPoint"):
        point.find("line").text = str(int(point.findtext("line", "")) - row)  # type: ignore[union-attr]
        point.find("pixel").text = str(int(point.findtext("pixel", "")) - col)  # type: ignore[union-attr]
    tree.write(dst, encoding="UTF-8", xml_declaration=True)


def lut_grid(width: int, height: int) -> tuple[np.ndarray, np.ndarray]:
    """GRD-like LUT node lines and pixels: every 600 lines past the last, every 40 pixels + last."""
    lines = np.arange(0, height + 600, 600)
    pixels = np.unique(np.append(np.arange(0, width, 40), width - 1))
    return lines, pixels


def write_calibration(
    template: Path, dst: Path, pol: str, width: int, height: int, first_line: int = 0
) -> dict[str, np.ndarray]:
    """Write a GRD calibration XML on `lut_grid`; returns the LUT values written (float32)."""
    tree = ET.parse(template)
    root = tree.getroot()
    header = root.find("adsHeader")
    assert header is not None
    header.find("productType").text = "GRD"  # type: ignore[union-attr]
    header.find("swath").text = "IW"  # type: ignore[union-attr]
    header.find("polarisation").text = pol  # type: ignore[union-attr]
    vectors = root.find("calibrationVectorList")
    assert vectors is not None
    real = {name: _template_lut(vectors, name) for name in LUT_NAMES}
    for child in list(vectors):
        vectors.remove(child)
    lines, pixels = lut_grid(width, height)
    written: dict[str, np.ndarray] = {}
    for name, values in real.items():
        # Resample the real LUT over the new grid, then add a 3 % trend along lines.
        u = np.linspace(0, values.shape[1] - 1, pixels.size)
        v = np.linspace(0, values.shape[0] - 1, lines.size)
        along = np.array([np.interp(u, np.arange(values.shape[1]), r) for r in values])
        grid = np.array([np.interp(v, np.arange(values.shape[0]), c) for c in along.T]).T
        trend = 1.0 + 0.03 * (lines + first_line) / FULL_SIZE[1]
        written[name] = (grid * trend[:, None]).astype(np.float32)
    vectors.set("count", str(lines.size))
    for i, line in enumerate(lines):
        vector = ET.SubElement(vectors, "calibrationVector")
        when = START + timedelta(seconds=float(line + first_line) * LINE_TIME)
        ET.SubElement(vector, "azimuthTime").text = when.isoformat()
        ET.SubElement(vector, "line").text = str(int(line))
        node = ET.SubElement(vector, "pixel", count=str(pixels.size))
        node.text = " ".join(str(int(p)) for p in pixels)
        for name in LUT_NAMES:
            lut = ET.SubElement(vector, name, count=str(pixels.size))
            lut.text = " ".join(f"{x:.6e}" for x in written[name][i])
    tree.write(dst, encoding="UTF-8", xml_declaration=True)
    return written


def _template_lut(vectors: ET.Element, name: str) -> np.ndarray:
    rows = [np.array(v.findtext(name, "").split(), dtype=np.float64) for v in vectors]
    return np.array(rows)


def read_calibration_xml(path: Path) -> tuple[np.ndarray, np.ndarray, dict[str, np.ndarray]]:
    """Lines, pixels and LUTs of a calibration XML, parsed with the standard library only."""
    vectors = ET.parse(path).getroot().findall("calibrationVectorList/calibrationVector")
    lines = np.array([int(v.findtext("line", "")) for v in vectors])
    pixels = np.array(vectors[0].findtext("pixel", "").split(), dtype=np.int64)
    luts = {
        name: np.array([v.findtext(name, "").split() for v in vectors], dtype=np.float32)
        for name in LUT_NAMES
    }
    return lines, pixels, luts


def annotation_gcps(path: Path) -> list[GroundControlPoint]:
    """The geolocation grid of an annotation XML as GCPs (what real GRD TIFFs carry too)."""
    return [
        GroundControlPoint(
            row=float(p.findtext("line", "")),
            col=float(p.findtext("pixel", "")),
            x=float(p.findtext("longitude", "")),
            y=float(p.findtext("latitude", "")),
            z=float(p.findtext("height", "")),
        )
        for p in ET.parse(path).getroot().iter("geolocationGridPoint")
    ]


def write_measurement(path: Path, dn: np.ndarray, gcps: list[GroundControlPoint]) -> None:
    """A uint16 GRD-like measurement TIFF: GCPs in EPSG:4326, no geotransform."""
    height, width = dn.shape
    with rasterio.open(
        path, "w", driver="GTiff", width=width, height=height, count=1, dtype="uint16",
        tiled=True, blockxsize=256, blockysize=256, compress="deflate",
        gcps=gcps, crs="EPSG:4326",
    ) as out:  # fmt: skip
        out.write(dn.astype(np.uint16), 1)


def speckled_dn(height: int, width: int, seed: int, border: int = 100) -> np.ndarray:
    """Speckled DNs (Rayleigh amplitude, like real GRD) with a DN=0 no-data border on the left."""
    rng = np.random.default_rng(seed)
    dn = np.clip(rng.rayleigh(150.0, size=(height, width)), 1, 4000).astype(np.uint16)
    dn[:, :border] = 0
    dn[:20, :] = 0
    return dn
