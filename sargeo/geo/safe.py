"""Sentinel-1 GRD SAFE products as a `RasterSource`, radiometrically calibrated on the fly.

A GRD product folder holds one measurement GeoTIFF per polarisation (digital numbers, DN), an annotation
XML (image size, geolocation grid) and a calibration XML (look-up tables, LUTs, on a sparse line/pixel
grid). The reader reads a pixel window of each measurement TIFF, interpolates the chosen LUT (A) bilinearly
for just that window, and returns calibrated linear power ``DN^2 / A^2`` (ESA's Sentinel-1 calibration
formula), masked where ``DN == 0`` (the no-data border of GRD products).

The manifest and the LUTs are parsed with `xarray_sentinel` (schema-aware SAFE reader); the annotation's
image size and geolocation grid with lxml (fast, a few fields only).

Georeference (an approximation): GRD images are in radar geometry; their georeference is a sparse grid of
ground control points (GCPs: line/pixel -> lon/lat/height), not a geotransform. The source grid is
EPSG:4326 with one affine transform fitted by least squares to the GCPs (`rasterio.transform.from_gcps`).
The true mapping is not affine: ground-range geometry, and above all terrain (a point's position in the
image shifts with its height, by about height / tan(incidence)). On the xarray-sentinel test scene
(Alps, GCP heights 25-2800 m) the affine fit is off by up to 2.2 km; GDAL's own polynomial GCP transform
is off by up to 1.5 km there, so a GCP-based warp would not be much better: accurate geocoding needs
terrain correction with a DEM, which is out of scope. The largest and mean GCP misfits are recorded in
``extra["gcp_fit_max_error_m"]`` and ``extra["gcp_fit_mean_error_m"]``. Reprojecting a SAFE product onto
a map grid (``crs``, ``resolution``, ``metric``) is refused with a SargeoError.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import numpy.typing as npt
import rasterio
from affine import Affine
from lxml import etree
from rasterio.control import GroundControlPoint
from rasterio.crs import CRS
from rasterio.errors import RasterioIOError
from rasterio.transform import from_gcps
from rasterio.windows import Window as RioWindow

from sargeo.errors import SargeoError
from sargeo.geo.choices import CALIBRATIONS
from sargeo.geo.gdal_errors import pixel_reads
from sargeo.geo.grid import Grid
from sargeo.geo.readers import RasterSource, Reader
from sargeo.runtime.grid import Window, array_slices, intersection

_MEASUREMENT = re.compile(
    r"^s1[a-d]-(?P<swath>[a-z0-9]+)-(?P<kind>[a-z]+)-(?P<pol>hh|hv|vh|vv)-.*-(?P<image>\d{3})$",
    re.IGNORECASE,
)
_XML_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=True)


@dataclass(frozen=True)
class CalibrationLut:
    """One calibration LUT on its sparse, rectilinear line/pixel grid.

    Attributes:
        lines: Image lines of the LUT rows (increasing).
        pixels: Image pixels (columns) of the LUT columns (increasing).
        values: LUT values, shape (len(lines), len(pixels)).
    """

    lines: npt.NDArray[np.float64]
    pixels: npt.NDArray[np.float64]
    values: npt.NDArray[np.float64]

    def interpolate(self, window: Window) -> npt.NDArray[np.float32]:
        """The LUT at every pixel of ``window``, bilinear over line/pixel.

        Outside the LUT's grid the nearest edge value is kept (ESA LUTs cover the whole image).
        Exact at the grid nodes.
        """
        rows = np.arange(window.row, window.row + window.height, dtype=np.float64)
        cols = np.arange(window.col, window.col + window.width, dtype=np.float64)
        r0, r1, tr = _axis_weights(rows, self.lines)
        c0, c1, tc = _axis_weights(cols, self.pixels)
        v = self.values
        top = v[np.ix_(r0, c0)] * (1.0 - tc) + v[np.ix_(r0, c1)] * tc
        bottom = v[np.ix_(r1, c0)] * (1.0 - tc) + v[np.ix_(r1, c1)] * tc
        result = top * (1.0 - tr)[:, None] + bottom * tr[:, None]
        return result.astype(np.float32)


def _axis_weights(
    coords: npt.NDArray[np.float64], nodes: npt.NDArray[np.float64]
) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.intp], npt.NDArray[np.float64]]:
    """Lower and upper node indices and the linear weight of the upper one, for each coordinate."""
    last = len(nodes) - 1
    lo = np.clip(np.searchsorted(nodes, coords, side="right") - 1, 0, max(last - 1, 0))
    hi = np.minimum(lo + 1, last)
    span = nodes[hi] - nodes[lo]
    with np.errstate(divide="ignore", invalid="ignore"):
        t = np.where(span > 0, (coords - nodes[lo]) / np.where(span > 0, span, 1.0), 0.0)
    return lo, hi, np.clip(t, 0.0, 1.0)


@dataclass(frozen=True)
class SafeBand:
    """One polarisation of a product: its measurement TIFF and calibration LUT."""

    polarisation: str
    measurement: Path
    lut: CalibrationLut


@dataclass
class SafeSource(RasterSource):
    """A Sentinel-1 GRD product: one band per polarisation, calibrated linear power (float32).

    Attributes:
        bands: The polarisations, in band order.
        calibration: ``sigma0``, ``gamma0`` or ``beta0``.
    """

    bands: list[SafeBand] = field(default_factory=list)
    calibration: str = "sigma0"

    def open_reader(self) -> Reader:
        """A reader with its own file handles (one per thread)."""
        return _SafeReader(self)


class _SafeReader(Reader):
    """Reads windows of every polarisation's measurement TIFF and calibrates them."""

    def __init__(self, source: SafeSource) -> None:
        self.source = source
        self.handles: list[rasterio.io.DatasetReader] = []
        for band in source.bands:
            try:
                self.handles.append(rasterio.open(band.measurement))
            except RasterioIOError as exc:
                self.close()
                first = str(exc).splitlines()[0] if str(exc) else "unreadable"
                raise SargeoError(f"{band.measurement}: not readable ({first})") from exc

    def read(self, window: Window) -> np.ma.MaskedArray:
        """Calibrated power of ``window`` as (bands, height, width), masked where DN == 0 or outside."""
        src = self.source
        shape = (src.count, window.height, window.width)
        data = np.full(shape, np.nan, dtype=np.float32)
        mask = np.ones(shape, dtype=bool)
        inner = intersection(window, Window(0, 0, src.grid.width, src.grid.height))
        if inner is None:
            return np.ma.MaskedArray(data, mask=mask)
        dst = array_slices(inner, window)
        for i, (band, handle) in enumerate(zip(src.bands, self.handles, strict=True)):
            with pixel_reads(band.measurement.name):
                dn = handle.read(
                    1, window=RioWindow(inner.col, inner.row, inner.width, inner.height)
                )
            valid = dn != 0
            power = calibrate(dn, band.lut.interpolate(inner))
            data[i][dst] = np.where(valid, power, np.float32(np.nan))
            mask[i][dst] = ~valid
        return np.ma.MaskedArray(data, mask=mask)

    def close(self) -> None:
        """Close the measurement TIFFs."""
        for handle in self.handles:
            handle.close()
        self.handles = []


def calibrate(dn: npt.NDArray[np.generic], lut: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    """Calibrated linear power ``(DN / A)^2`` in float32 (as ESA and xarray-sentinel compute it)."""
    amplitude = dn.astype(np.float32) / lut
    return np.square(amplitude, dtype=np.float32)


# --- opening a product ----------------------------------------------------------------------------


def open_safe(
    path: Path,
    *,
    crs: str | int | None = None,
    resolution: float | None = None,
    metric: bool = False,
    calibration: str = "sigma0",
) -> SafeSource:
    """Open a Sentinel-1 GRD SAFE folder as a calibrated `SafeSource`.

    Args:
        path: The ``.SAFE`` folder (holding ``manifest.safe``).
        crs: A target CRS; not supported yet for SAFE products (SargeoError).
        resolution: A target resolution; not supported yet for SAFE products (SargeoError).
        metric: The caller needs a metric grid; not supported yet for SAFE products (SargeoError).
        calibration: ``sigma0``, ``gamma0`` or ``beta0``.

    Raises:
        SargeoError: for a folder that is not a readable GRD product, or a map grid request.
    """
    path = Path(path)
    if calibration not in CALIBRATIONS:
        raise SargeoError(
            f"unknown calibration {calibration!r}: expected one of {', '.join(CALIBRATIONS)}"
        )
    if crs is not None or resolution is not None or metric:
        asked = (
            "`crs`" if crs is not None else "`resolution`" if resolution is not None else "metres"
        )
        raise SargeoError(
            f"{path}: reprojecting SAFE products is not supported yet ({asked} asked for a map "
            "grid); tile it on its own GCP-fitted EPSG:4326 grid (no `crs`, `resolution` or `tile_metres`)"
        )
    attrs = _read_manifest(path)
    product_type = str(attrs.get("product_type", ""))
    if product_type != "GRD":
        raise SargeoError(
            f"{path}: a Sentinel-1 {product_type or 'unknown'} product; "
            "only GRD products are supported"
        )
    measurements = _find_measurements(path)
    bands = [
        SafeBand(pol, tiff, _read_lut(_companion(path, tiff, "calibration"), calibration))
        for pol, tiff in measurements
    ]
    infos = [_read_annotation(_companion(path, tiff, "annotation")) for _, tiff in measurements]
    width, height = _check_sizes(measurements, infos)
    transform, (worst_m, mean_m) = _fit_transform(infos[0].gcps)
    grid = Grid(CRS.from_epsg(4326), transform, width, height)
    return SafeSource(
        name=str(path),
        grid=grid,
        count=len(bands),
        dtype="float32",
        nodata=float("nan"),
        polarisations=tuple(b.polarisation for b in bands),
        units="linear",
        acquisition_time=_parse_time(str(attrs.get("start_time", ""))),
        extra={
            "product_type": product_type,
            "mode": str(attrs.get("mode", "")),
            "calibration": calibration,
            "georeference": "affine fit to the annotation's GCPs (approximate)",
            "gcp_fit_max_error_m": f"{worst_m:.1f}",
            "gcp_fit_mean_error_m": f"{mean_m:.1f}",
        },
        bands=bands,
        calibration=calibration,
    )


def _read_manifest(path: Path) -> dict[str, object]:
    from xarray_sentinel import esa_safe

    manifest = path / "manifest.safe"
    if not manifest.is_file():
        raise SargeoError(f"{path}: no manifest.safe, not a SAFE product folder")
    try:
        attrs, _ = esa_safe.parse_manifest_sentinel1(str(manifest))
    except (ValueError, KeyError, SyntaxError) as exc:  # ElementTree's ParseError is a SyntaxError
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise SargeoError(f"{manifest}: not a readable Sentinel-1 manifest ({first})") from exc
    return dict(attrs)


def _find_measurements(path: Path) -> list[tuple[str, Path]]:
    """(polarisation, measurement TIFF) in image-number order; refuses SLC files."""
    folder = path / "measurement"
    tiffs = sorted(p for p in folder.glob("*") if p.suffix.lower() in (".tif", ".tiff"))
    found: list[tuple[int, str, Path]] = []
    for tiff in tiffs:
        match = _MEASUREMENT.match(tiff.stem)
        if match is None:
            continue
        if match["kind"].lower() != "grd":
            raise SargeoError(
                f"{tiff}: a {match['kind'].upper()} measurement; only GRD products are supported"
            )
        found.append((int(match["image"]), match["pol"].upper(), tiff))
    if not found:
        raise SargeoError(f"{path}: no Sentinel-1 measurement TIFF in {folder}")
    pols = [pol for _, pol, _ in found]
    if len(set(pols)) != len(pols):
        raise SargeoError(f"{folder}: several measurement TIFFs for one polarisation ({pols})")
    return [(pol, tiff) for _, pol, tiff in sorted(found)]


def _companion(path: Path, tiff: Path, kind: str) -> Path:
    """The annotation or calibration XML that belongs to a measurement TIFF."""
    if kind == "annotation":
        xml = path / "annotation" / f"{tiff.stem}.xml"
    else:
        xml = path / "annotation" / "calibration" / f"calibration-{tiff.stem}.xml"
    if not xml.is_file():
        raise SargeoError(f"{path}: the {kind} XML of {tiff.name} is missing (expected {xml})")
    return xml


def _read_lut(xml: Path, calibration: str) -> CalibrationLut:
    """One LUT of a calibration XML, parsed by xarray-sentinel."""
    from xarray_sentinel import sentinel1

    try:
        ds = sentinel1.open_calibration_dataset(str(xml), attrs={})
    except Exception as exc:  # xmlschema, ElementTree and numpy raise many kinds
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise SargeoError(f"{xml}: not a readable calibration XML ({first})") from exc
    lines = np.asarray(ds["line"].values, dtype=np.float64)
    pixels = np.asarray(ds["pixel"].values, dtype=np.float64)
    values = np.asarray(ds[CALIBRATIONS[calibration]].values, dtype=np.float64)
    if lines.size == 0 or pixels.size == 0 or values.shape != (lines.size, pixels.size):
        raise SargeoError(f"{xml}: the calibration LUT is empty or ragged")
    if np.any(np.diff(lines) <= 0) or np.any(np.diff(pixels) <= 0):
        raise SargeoError(f"{xml}: the calibration LUT's lines or pixels are not increasing")
    if not np.all(np.isfinite(values)) or np.any(values <= 0):
        raise SargeoError(f"{xml}: the {CALIBRATIONS[calibration]} LUT has non-positive values")
    return CalibrationLut(lines, pixels, values)


@dataclass(frozen=True)
class _Annotation:
    path: Path
    width: int
    height: int
    gcps: list[GroundControlPoint]


def _read_annotation(xml: Path) -> _Annotation:
    """Image size and geolocation grid of an annotation XML."""
    try:
        root = etree.parse(str(xml), _XML_PARSER).getroot()
        info = root.find("imageAnnotation/imageInformation")
        if info is None:
            raise ValueError("no imageAnnotation/imageInformation")
        width = int(info.findtext("numberOfSamples", ""))
        height = int(info.findtext("numberOfLines", ""))
        # Annotation line/pixel index a sample; its centre is at +0.5 in GDAL's area convention.
        gcps = [
            GroundControlPoint(
                row=float(p.findtext("line", "")) + 0.5,
                col=float(p.findtext("pixel", "")) + 0.5,
                x=float(p.findtext("longitude", "")),
                y=float(p.findtext("latitude", "")),
                z=float(p.findtext("height", "0")),
            )
            for p in root.iterfind("geolocationGrid/geolocationGridPointList/geolocationGridPoint")
        ]
    except (etree.XMLSyntaxError, OSError, ValueError) as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise SargeoError(f"{xml}: not a readable annotation XML ({first})") from exc
    if len(gcps) < 3:
        raise SargeoError(f"{xml}: fewer than 3 geolocation grid points, cannot georeference")
    return _Annotation(xml, width, height, gcps)


def _check_sizes(measurements: list[tuple[str, Path]], infos: list[_Annotation]) -> tuple[int, int]:
    """The image size, checked between each TIFF and its annotation."""
    sizes = set()
    for (_, tiff), info in zip(measurements, infos, strict=True):
        try:
            with rasterio.open(tiff) as ds:
                size = (ds.width, ds.height)
        except RasterioIOError as exc:
            first = str(exc).splitlines()[0] if str(exc) else "unreadable"
            raise SargeoError(f"{tiff}: not a raster GDAL can read ({first})") from exc
        if size != (info.width, info.height):
            raise SargeoError(
                f"{tiff}: {size[0]}x{size[1]} pixels, but its annotation {info.path.name} says "
                f"{info.width}x{info.height}"
            )
        sizes.add(size)
    if len(sizes) > 1:
        raise SargeoError(f"measurement TIFFs of one product differ in size: {sorted(sizes)}")
    return sizes.pop()


def _fit_transform(gcps: list[GroundControlPoint]) -> tuple[Affine, tuple[float, float]]:
    """Least-squares affine transform through the GCPs, and its largest and mean misfit (m)."""
    transform = from_gcps(gcps)
    errors = []
    for gcp in gcps:
        x, y = transform @ (gcp.col, gcp.row)
        dx = (x - gcp.x) * 111_320.0 * math.cos(math.radians(gcp.y))
        dy = (y - gcp.y) * 110_574.0
        errors.append(math.hypot(dx, dy))
    return transform, (max(errors), sum(errors) / len(errors))


def _parse_time(text: str) -> datetime | None:
    """An ISO time from the manifest (UTC, no zone in the file) as an aware datetime."""
    if not text:
        return None
    try:
        value = datetime.fromisoformat(text.rstrip("Z"))
    except ValueError:
        return None
    return value if value.tzinfo else value.replace(tzinfo=UTC)
