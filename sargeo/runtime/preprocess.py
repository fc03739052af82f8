"""Radiometric preprocessing shared by training and inference: one implementation, numpy only.

Conversions never use per-tile statistics: clip ranges and normalisation are fixed numbers, so that a
dark tile stays dark and the same pixel value always maps to the same model input. `PreprocessSpec`
describes a model's input (it travels in model configs, checkpoints and bundles) and `prepare` applies
it; training wraps `prepare` in a torch Dataset, so training and inference cannot drift apart.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, fields
from typing import Any

import numpy as np
import numpy.typing as npt

from sargeo.errors import InputError
from sargeo.runtime.resize import METHODS, resize

DB_EPSILON = 1e-6
"""Added to linear power before log10, so that zeros give a finite floor (-60 dB) instead of -inf."""

DEFAULT_CLIP_DB: dict[str, tuple[float, float]] = {"VV": (-25.0, 5.0), "VH": (-32.0, -5.0)}
"""Fixed clip ranges per polarisation in dB (typical Sentinel-1 land/sea span)."""

FloatArray = npt.NDArray[np.float32]


def to_linear_power(values: npt.ArrayLike, units: str) -> FloatArray:
    """Convert pixels in ``units`` to linear power (sigma0-like)."""
    x = np.asarray(values, dtype=np.float32)
    if units == "linear":
        return x
    if units == "amplitude":
        return np.square(x, dtype=np.float32)
    if units == "dB":
        return np.power(np.float32(10.0), x / np.float32(10.0), dtype=np.float32)
    raise ValueError(f"cannot convert units {units!r} to linear power")


def to_db(values: npt.ArrayLike, units: str, eps: float = DB_EPSILON) -> FloatArray:
    """Convert pixels in ``units`` (linear power, amplitude or dB) to dB: 10 log10(power + eps)."""
    if units == "dB":
        return np.asarray(values, dtype=np.float32)
    power = to_linear_power(values, units)
    with np.errstate(invalid="ignore"):
        return (np.float32(10.0) * np.log10(np.maximum(power, 0) + np.float32(eps))).astype(
            np.float32
        )


def clip(values: npt.ArrayLike, lo: float, hi: float) -> FloatArray:
    """Clip to a fixed range; NaN stays NaN."""
    return np.clip(np.asarray(values, dtype=np.float32), lo, hi)


def normalise(values: npt.ArrayLike, lo: float, hi: float) -> FloatArray:
    """Map the fixed range [lo, hi] linearly onto [0, 1], clipping outside values."""
    x = clip(values, lo, hi)
    return ((x - np.float32(lo)) / np.float32(hi - lo)).astype(np.float32)


# --- the model-input specification ---------------------------------------------------------------

SPEC_VERSION = 1

_CHANNEL = re.compile(
    r"^(?:(?P<single>[A-Z]{2})|(?P<a>[A-Z]{2})-(?P<b>[A-Z]{2})|\((?P<c>[A-Z]{2})\+(?P<d>[A-Z]{2})\)/2)$"
)
"""Channel expressions: a polarisation (``VV``), a dB difference i.e. a power ratio (``VV-VH``), or the
mean of two polarisations in dB (``(VV+VH)/2``)."""


def channel_terms(expression: str) -> tuple[str, tuple[str, ...]]:
    """Parse a channel expression into (operation, polarisations): ``one``, ``diff`` or ``mean``."""
    m = _CHANNEL.match(expression.replace(" ", "").upper())
    if m is None:
        raise InputError(
            f"unknown channel expression {expression!r}; use a polarisation (VV), a difference"
            " (VV-VH) or a mean ((VV+VH)/2)"
        )
    if m["single"]:
        return "one", (m["single"],)
    if m["a"]:
        return "diff", (m["a"], m["b"])
    return "mean", (m["c"], m["d"])


@dataclass(frozen=True)
class PreprocessSpec:
    """How raw SAR pixels become a model input; JSON-serialisable, exported into every bundle.

    Attributes:
        channels: Three channel expressions over polarisations in dB (see `channel_terms`).
        clip_db: Fixed (lo, hi) range in dB per channel, mapped linearly onto [0, 1].
        size: Side of the square model input in pixels.
        resize: Resampling method of `sargeo.runtime.resize` (``area``, ``bilinear``, ``nearest``).
        mean: Per-channel mean subtracted after the [0, 1] mapping.
        std: Per-channel standard deviation divided by after the mean.
        uint8_scale: 8-bit sources (JPEG chips, displays of amplitude) are divided by this and used as
            the [0, 1] value of every channel (their stretch is unknown, so no dB mapping is guessed).
        single_pol: ``replicate``: a source lacking a polarisation the channels need gives three copies
            of the channel of the polarisation it has (like an 8-bit chip's identical channels);
            ``error``: refuse it.
        aliases: Polarisations used in place of missing ones (HH for VV, HV for VH).
        nodata_fill: [0, 1] value given to NaN, infinite and nodata pixels before resizing.
        version: Format version of this description.
    """

    channels: tuple[str, ...] = ("VV", "VH", "VV-VH")
    clip_db: tuple[tuple[float, float], ...] = ((-25.0, 5.0), (-32.0, -5.0), (0.0, 15.0))
    size: int = 160
    resize: str = "area"
    mean: tuple[float, ...] = (0.5, 0.5, 0.5)
    std: tuple[float, ...] = (0.25, 0.25, 0.25)
    uint8_scale: float = 255.0
    single_pol: str = "replicate"
    aliases: tuple[tuple[str, str], ...] = (("VV", "HH"), ("VH", "HV"))
    nodata_fill: float = 0.0
    version: int = SPEC_VERSION

    def __post_init__(self) -> None:
        n = len(self.channels)
        if n != 3:
            raise InputError(f"preprocessing needs 3 channels, got {n}")
        for name, values in (("clip_db", self.clip_db), ("mean", self.mean), ("std", self.std)):
            if len(values) != n:
                raise InputError(f"preprocessing `{name}` needs one entry per channel ({n})")
        for expression in self.channels:
            channel_terms(expression)
        if any(not lo < hi for lo, hi in self.clip_db):
            raise InputError("preprocessing `clip_db` needs lo < hi for every channel")
        if any(s <= 0 for s in self.std) or self.uint8_scale <= 0:
            raise InputError("preprocessing `std` and `uint8_scale` must be positive")
        if self.size < 8:
            raise InputError(f"preprocessing `size` must be at least 8, got {self.size}")
        if self.resize not in METHODS:
            raise InputError(f"unknown resize method {self.resize!r}; choose from {METHODS}")
        if self.single_pol not in ("replicate", "error"):
            raise InputError("preprocessing `single_pol` must be 'replicate' or 'error'")
        if self.version != SPEC_VERSION:
            raise InputError(
                f"preprocessing format version {self.version} is not supported (this is {SPEC_VERSION})"
            )

    def polarisations(self) -> tuple[str, ...]:
        """The polarisations the channels read, in first-use order."""
        seen: dict[str, None] = {}
        for expression in self.channels:
            seen.update(dict.fromkeys(channel_terms(expression)[1]))
        return tuple(seen)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready dictionary (lists for tuples)."""
        data: dict[str, Any] = json.loads(json.dumps(asdict(self)))
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> PreprocessSpec:
        """Inverse of `to_dict`; unknown keys are refused, so a typo never passes silently."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise InputError(f"unknown preprocessing key(s): {', '.join(unknown)}")
        values = dict(data)
        for key in ("channels", "mean", "std"):
            if key in values:
                values[key] = tuple(values[key])
        for key in ("clip_db", "aliases"):
            if key in values:
                values[key] = tuple(tuple(v) for v in values[key])
        return cls(**values)

    def replace(self, **changes: Any) -> PreprocessSpec:
        """A copy with some fields changed (checked again)."""
        return PreprocessSpec.from_dict({**self.to_dict(), **changes})


def _as_bands(pixels: npt.ArrayLike) -> FloatArray:
    x = np.asarray(pixels)
    if x.ndim == 2:
        x = x[None]
    if x.ndim != 3 or x.shape[0] < 1 or min(x.shape[1:]) < 1:
        raise InputError(f"expected pixels shaped (bands, height, width), got {x.shape}")
    return x.astype(np.float32, copy=False)


def _band_lookup(
    polarisations: Sequence[str], n_bands: int, spec: PreprocessSpec
) -> dict[str, int]:
    if len(polarisations) != n_bands:
        raise InputError(f"{n_bands} band(s) but {len(polarisations)} polarisation name(s)")
    index = {p.upper(): i for i, p in enumerate(polarisations)}
    for wanted, alias in spec.aliases:
        if wanted not in index and alias in index:
            index[wanted] = index[alias]
    return index


def _normalised_channels(
    db: FloatArray, index: Mapping[str, int], spec: PreprocessSpec
) -> FloatArray:
    """The three channels mapped onto [0, 1] by their fixed dB ranges (NaN kept)."""
    needed = spec.polarisations()
    missing = [p for p in needed if p not in index]
    if not missing:
        out = []
        for expression, (lo, hi) in zip(spec.channels, spec.clip_db, strict=True):
            op, pols = channel_terms(expression)
            bands = [db[index[p]] for p in pols]
            value = (
                bands[0]
                if op == "one"
                else bands[0] - bands[1]
                if op == "diff"
                else (bands[0] + bands[1]) / 2
            )
            out.append(normalise(value, lo, hi))
        return np.stack(out)
    present = [p for p in needed if p in index]
    if spec.single_pol == "error" or not present:
        have = ", ".join(index) or "none"
        raise InputError(
            f"the model needs polarisation(s) {', '.join(missing)}; the input has {have}"
        )
    pol = present[0]
    lo, hi = next(
        (
            r
            for e, r in zip(spec.channels, spec.clip_db, strict=True)
            if channel_terms(e) == ("one", (pol,))
        ),
        spec.clip_db[0],
    )
    grey = normalise(db[index[pol]], lo, hi)
    return np.stack([grey, grey, grey])


def prepare(
    pixels: npt.ArrayLike,
    units: str,
    polarisations: Sequence[str],
    spec: PreprocessSpec,
    nodata: float | None = None,
) -> FloatArray:
    """Turn raw SAR pixels into the model input: float32 (3, size, size).

    Args:
        pixels: (bands, H, W) or (H, W) array of one image.
        units: ``linear`` power, ``amplitude``, ``dB`` or ``uint8`` (an 8-bit display, e.g. a JPEG
            chip; its bands are averaged into one grey level, as HRSID's three identical channels,
            except an optical image whose bands are named red, green, blue: those pass through).
        polarisations: Name of each band (VV, VH, HH, HV; R, G, B for optical 8-bit images).
        spec: The fixed description of the model's input.
        nodata: Pixel value marking no data (besides NaN and infinities).

    Steps: units to dB (10 log10(power + 1e-6)), the channel expressions, each channel's fixed dB range
    onto [0, 1], nodata filled with ``spec.nodata_fill``, resize to ``spec.size``, then mean/std.
    """
    x = _as_bands(pixels)
    invalid = ~np.isfinite(x)
    if nodata is not None and np.isfinite(nodata):
        invalid |= x == np.float32(nodata)
    if units == "uint8":
        unit: FloatArray
        scaled = np.where(invalid, np.nan, x) / np.float32(spec.uint8_scale)
        if tuple(p.upper()[:1] for p in polarisations) == ("R", "G", "B") and x.shape[0] == 3:
            unit = np.clip(scaled, 0.0, 1.0).astype(
                np.float32
            )  # an optical RGB image: its colours are the channels
        else:
            grey = scaled.mean(axis=0)
            unit = np.clip(np.stack([grey, grey, grey]), 0.0, 1.0).astype(np.float32)
    else:
        if units not in ("linear", "amplitude", "dB"):
            raise InputError(f"cannot prepare pixels in units {units!r}")
        with np.errstate(invalid="ignore", divide="ignore"):
            db = to_db(np.where(invalid, np.nan, x), units)
        unit = _normalised_channels(db, _band_lookup(polarisations, x.shape[0], spec), spec)
    unit = np.where(np.isfinite(unit), unit, np.float32(spec.nodata_fill)).astype(np.float32)
    resized = resize(unit, spec.size, spec.size, spec.resize)
    mean = np.asarray(spec.mean, dtype=np.float32)[:, None, None]
    std = np.asarray(spec.std, dtype=np.float32)[:, None, None]
    return ((resized - mean) / std).astype(np.float32)
