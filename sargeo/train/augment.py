"""SAR augmentations, in numpy on the raw pixels before `prepare`; each draws from a per-sample RNG.

Radiometric ones work in linear power: an incidence-like gain (an offset plus a ramp across range, the
way calibration and incidence angle shift sigma0), extra multiplicative speckle of a random number of
looks (Gamma-distributed intensity: fewer looks, grainier), VV-only (single-pol products) and an 8-bit
amplitude display (HRSID's JPEG chips: three identical channels, no dB scale). Geometric ones are the
eight flips and quarter turns, the caption's position words rewritten to match (`positions`).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from sargeo.runtime.preprocess import to_linear_power
from sargeo.train.data import RawImage
from sargeo.train.positions import rewrite_positions
from sargeo.train.recipe import AugmentConfig

DISPLAY_WHITE_DB = 5.0
"""sigma0 (dB) that an 8-bit amplitude display saturates at (255), as in `sargeo.synth.realism`."""


def dihedral(pixels: npt.NDArray[np.float32], flip: bool, k: int) -> npt.NDArray[np.float32]:
    """(bands, H, W) flipped left-right (if ``flip``), then turned ``k`` times counter-clockwise."""
    out = pixels[..., ::-1] if flip else pixels
    return np.ascontiguousarray(np.rot90(out, k, axes=(-2, -1)))


def to_display(power: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    """Linear power of one band -> 8-bit amplitude (as float), 255 at `DISPLAY_WHITE_DB`."""
    white = 10.0 ** (DISPLAY_WHITE_DB / 20.0)
    amplitude = np.sqrt(np.nan_to_num(np.maximum(power, 0.0)))
    return np.clip(np.round(255.0 * amplitude / white), 0, 255).astype(np.float32)


def radiometric(raw: RawImage, cfg: AugmentConfig, rng: np.random.Generator) -> RawImage:
    """Gain, speckle, VV-only and 8-bit display augmentations of a SAR image (8-bit images pass).

    The draws are made in a fixed order whatever fires; an image no augmentation touches is returned
    as it is (not round-tripped through linear power), so it reaches `prepare` exactly as at inference.
    """
    gain, speckle, single, quantise = (rng.random() for _ in range(4))
    fires = (
        gain < cfg.gain_p,
        speckle < cfg.speckle_p,
        single < cfg.single_pol_p and len(raw.polarisations) > 1 and "VV" in raw.polarisations,
        quantise < cfg.quantise_p,
    )
    if raw.units == "uint8" or not any(fires):
        return raw
    pixels = raw.pixels
    if raw.nodata is not None and np.isfinite(raw.nodata):
        pixels = np.where(pixels == raw.nodata, np.nan, pixels)
    power = to_linear_power(pixels, raw.units)
    pols = raw.polarisations
    if fires[0]:
        offset = rng.uniform(-cfg.gain_db, cfg.gain_db)
        ramp = rng.uniform(-cfg.gain_db, cfg.gain_db) * np.linspace(-0.5, 0.5, power.shape[-1])
        power = power * (10.0 ** ((offset + ramp) / 10.0)).astype(np.float32)
    if fires[1]:
        looks = rng.uniform(*cfg.looks)
        power = power * rng.gamma(looks, 1.0 / looks, size=power.shape).astype(np.float32)
    if fires[2]:
        power = power[[pols.index("VV")]]
        pols = ("VV",)
    if fires[3]:
        band = power[pols.index("VV")] if "VV" in pols else power[0]
        grey = to_display(band)
        return RawImage(np.stack([grey, grey, grey]), "uint8", ("B1", "B2", "B3"), None)
    return RawImage(power.astype(np.float32), "linear", pols, None)


def geometric(
    raw: RawImage, caption: str, cfg: AugmentConfig, rng: np.random.Generator
) -> tuple[RawImage, str]:
    """A random flip/quarter turn of the pixels and the caption rewritten to match."""
    if not cfg.dihedral:
        return raw, caption
    flip, k = bool(rng.integers(2)), int(rng.integers(4))
    pixels = dihedral(raw.pixels, flip, k)
    return RawImage(pixels, raw.units, raw.polarisations, raw.nodata), rewrite_positions(
        caption, flip, k
    )
