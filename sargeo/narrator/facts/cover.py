"""Land-cover facts of a class mask: each surface's share, where it lies, and what lines the coast.

Shares are exact pixel counts over the valid pixels (values listed in the sample's mask classes);
spatial relations use a strided copy of the mask (at most ``REL_SIDE`` pixels a side), which is plenty
to tell east from west and cheap enough for large datasets. The sa2c captions, the question-answer
pairs and the contradiction check all read these facts.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from sargeo.errors import ReadError, SargeoError
from sargeo.narrator.vocab import Vocab

REL_SIDE = 128
MIN_SHARE = 0.01
"""Classes below this share of the valid pixels are not named."""
WHERE_OFFSET = 0.2
"""A class whose centroid lies further than this (share of the half-size) from the centre has a side."""
UNIFORM = 0.99
COAST_BAND = 0.05
"""Width of the shore band used for 'along the coast', as a share of the image's longer side."""
SPREAD_STD = 0.6
"""A centred class is 'spread' when its spread along both axes reaches this share of a uniform one."""
COAST_SHARE = 0.6
MAX_READ_SIDE = 4096
FEW_VALUES = 16
"""Up to this many class values, each is counted with one comparison (cheaper than a histogram)."""


@dataclass(frozen=True)
class CoverFacts:
    """Land-cover facts of one mask.

    Attributes:
        shares: Surface key -> share of the valid pixels, largest first (unnamed classes left out).
        offsets: Surface key -> centroid offset from the image centre as a pixel vector; (0, 0) when
            the class sits in the middle, None when it is spread over the image.
        coast: Surfaces (other than water and land) that lie mostly along the water's edge.
        valid: Number of valid pixels.
        present: Every surface with at least one pixel (also those too small to be named).
        absent: Labelled surfaces known not to be in the mask, sorted (only the dataset's labels
            can tell: a water mask knows nothing of urban areas).
    """

    shares: dict[str, float]
    offsets: dict[str, tuple[float, float] | None]
    coast: tuple[str, ...]
    valid: int
    present: frozenset[str] = frozenset()
    absent: tuple[str, ...] = ()


def read_mask(path: str | Path) -> npt.NDArray[np.int64]:
    """Band 1 of a mask raster (GeoTIFF, PNG...), decimated (nearest) if it is very large."""
    import rasterio
    from rasterio.enums import Resampling
    from rasterio.errors import NotGeoreferencedWarning, RasterioIOError

    from sargeo.geo.gdal_errors import gdal_reason

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", NotGeoreferencedWarning)
            src = rasterio.open(path)
        with src:
            scale = max(src.width, src.height) / MAX_READ_SIDE
            if scale > 1:
                shape = (max(1, int(src.height / scale)), max(1, int(src.width / scale)))
                data = src.read(1, out_shape=shape, resampling=Resampling.nearest)
            else:
                data = src.read(1)
    except RasterioIOError as exc:
        raise ReadError(f"{path}: the mask cannot be read ({gdal_reason(exc)})") from exc
    if np.issubdtype(data.dtype, np.floating):
        data = np.where(np.isfinite(data), data, -(2**31)).astype(np.int64)
    return data.astype(np.int64, copy=False)


def _value_counts(mask: npt.NDArray[np.integer], values: list[int]) -> dict[int, int]:
    """Pixel count of each listed value (other values are nodata)."""
    if not values:
        return {}
    if len(values) <= FEW_VALUES:
        return {v: int(np.count_nonzero(mask == v)) for v in values}
    lo, hi = values[0], values[-1]
    flat = mask.ravel()
    if hi - lo < 65536:
        inside = flat[(flat >= lo) & (flat <= hi)].astype(np.intp) - lo
        counts = np.bincount(inside, minlength=hi - lo + 1)
        return {v: int(counts[v - lo]) for v in values}
    uniq, cnt = np.unique(flat, return_counts=True)
    found = dict(zip(uniq.tolist(), cnt.tolist(), strict=True))
    return {v: int(found.get(v, 0)) for v in values}


def cover_facts(
    mask: npt.NDArray[np.integer],
    classes: dict[int, str],
    vocab: Vocab,
    labels: Sequence[str] | None = None,
) -> CoverFacts:
    """Shares, centroids and coast relations of the named classes of a class mask.

    ``labels`` are the dataset's class names (`sargeo.records.Sample.labels`): only surfaces among
    them can be absent; None: every surface of the vocabulary is labelled (the synthetic world).
    """
    if mask.ndim != 2 or mask.size == 0:
        raise SargeoError(f"mask must be a non-empty 2-D array, got shape {mask.shape}")
    per_value = _value_counts(mask, sorted(classes))
    valid = sum(per_value.values())
    surface_of = {v: vocab.surface(classes[v]) for v in per_value}
    totals: dict[str, int] = {}
    for v, c in per_value.items():
        key = surface_of[v]
        if key is not None and c:
            totals[key] = totals.get(key, 0) + c
    shares = {
        k: c / valid
        for k, c in sorted(totals.items(), key=lambda kv: -kv[1])
        if valid and c / valid >= MIN_SHARE
    }
    offsets, coast = _relations(mask, surface_of, shares)
    surfaces = vocab.classes["surfaces"]
    # A surface with any pixel is there, however few. Only the label set can be absent: the
    # dataset's labels, or (None, the synthetic world, which labels everything) its mask's classes;
    # so a generic surface such as "land" is never denied beside farmland that a mask names.
    names = classes.values() if labels is None else labels
    known = {vocab.surface(name) for name in names}
    absent = tuple(k for k in sorted(surfaces) if k in known and k not in totals) if valid else ()
    return CoverFacts(shares, offsets, coast, valid, frozenset(totals), absent)


def _grow(region: npt.NDArray[np.bool_], steps: int) -> npt.NDArray[np.bool_]:
    """``region`` dilated ``steps`` times by the 4-neighbour cross.

    The pixels within that city-block distance, as scipy's ``binary_dilation(region,
    iterations=steps)`` gives them, by shifted ORs (a fraction of its cost on small masks).
    """
    grown = region
    for _ in range(steps):
        grown, prev = grown.copy(), grown
        grown[1:] |= prev[:-1]
        grown[:-1] |= prev[1:]
        grown[:, 1:] |= prev[:, :-1]
        grown[:, :-1] |= prev[:, 1:]
    return grown


def _per_column_and_row(hit: npt.NDArray[np.bool_]) -> tuple[npt.NDArray[np.float32], ...]:
    """How many pixels of a boolean image are set in each column and in each row.

    Matrix-vector products on a 0/1 copy: exact (the counts are small integers) and several times
    faster than summing the boolean image along each axis.
    """
    weights = hit.astype(np.float32)
    ones_rows, ones_cols = np.ones(hit.shape[0], np.float32), np.ones(hit.shape[1], np.float32)
    return ones_rows @ weights, weights @ ones_cols


def _relations(
    mask: npt.NDArray[np.integer], surface_of: dict[int, str | None], shares: dict[str, float]
) -> tuple[dict[str, tuple[float, float] | None], tuple[str, ...]]:
    """Centroid offsets and coast relations of the named surfaces, on a strided copy of the mask.

    Centroids and spreads come from each surface's pixel counts per row and per column (the first
    and second moments along each axis), so no per-pixel coordinates are needed.
    """
    h, w = mask.shape
    if not shares:
        return {}, ()
    step = max(1, math.ceil(max(h, w) / REL_SIDE))
    small = np.ascontiguousarray(mask[::step, ::step])
    xs = (np.arange(small.shape[1]) + 0.5) * step - w / 2.0  # pixel-centre offsets from the centre
    ys = (np.arange(small.shape[0]) + 0.5) * step - h / 2.0
    hits: dict[str, npt.NDArray[np.bool_]] = {}
    for value, key in surface_of.items():
        if key in shares:  # a surface's pixels are those of every class value named after it
            hit = small == value
            hits[key] = hits[key] | hit if key in hits else hit
    hits = {key: hits[key] for key in shares}  # in the order of ``shares``, largest first
    offsets: dict[str, tuple[float, float] | None] = {}
    counts: dict[str, int] = {}
    for key, hit in hits.items():
        cols, rows = _per_column_and_row(hit)
        n = counts[key] = int(cols.sum())
        if n == 0 or shares[key] >= UNIFORM:
            offsets[key] = None
            continue
        ox, oy = float(cols @ xs) / n, float(rows @ ys) / n
        if math.hypot(ox / (w / 2.0), oy / (h / 2.0)) > WHERE_OFFSET:
            offsets[key] = (ox, oy)
            continue
        std_x = math.sqrt(max(float(cols @ (xs * xs)) / n - ox * ox, 0.0))
        std_y = math.sqrt(max(float(rows @ (ys * ys)) / n - oy * oy, 0.0))
        spread = min(std_x / w, std_y / h) * math.sqrt(12.0)
        offsets[key] = None if spread >= SPREAD_STD else (0.0, 0.0)
    coast: list[str] = []
    water = hits.get("water")
    if water is not None and len(hits) > 1 and water.any() and not water.all():
        band = max(1, round(COAST_BAND * max(small.shape)))
        shore = _grow(water, band) & ~water
        for key, hit in hits.items():
            n = counts[key]
            if (
                key not in ("water", "land")
                and n
                and np.count_nonzero(hit & shore) / n >= COAST_SHARE
            ):
                coast.append(key)
    return offsets, tuple(coast)
