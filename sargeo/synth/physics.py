"""The radar model: sigma0 (VV, VH) of a block from its class mask and fields.

Per pixel, in this order (all numbers from ``backscatter.json``):

1. Class level with an incidence trend: ``mean_dB + slope * (theta - theta_ref)``; theta grows across
   range (columns) from near to far over a part of the Sentinel-1 IW swath.
2. Variation in dB: one offset per region (farmland parcel, urban block), a smooth texture at the
   class's feature size, independent per-pixel scatter for hard targets, and a weak swell on the sea.
3. To linear power; urban double bounce is added at walls facing the sensor, with the cardinal effect
   (gain ``|cos phi|^n``); ship wakes scale the sea (dark turbulent wake, bright Kelvin arms).
4. Sea clutter texture (optional): K-distributed clutter = Gamma(nu) texture x speckle; the texture
   is the cross-section of a resolution cell, so it is seen through the intensity PSF (variance 1/nu
   at the cell).
5. Multiplicative speckle, correlated at the resolution cell (`sargeo.synth.speckle`): per look, a
   circular complex Gaussian field filtered by the point-spread function and detected; L looks
   (non-integer: unequal weights) averaged to mean 1 and variance 1/L. The PSF is a Gaussian with the
   -3 dB width of the sinc main lobe of step 6 (0.886 ``resolution_m``; 20 m at 10 m pixels: lag-1
   intensity correlation about 0.6, as Sentinel-1 GRD).
6. Point targets (large ships, platforms, turbines): a bright peak and sidelobe crosses along range and
   azimuth (the image rows and columns) with a sinc envelope at the peak sidelobe ratio.
7. Optional thermal noise (NESZ; processed like the signal: correlated, L looks), then the output
   units (linear power or dB via `sargeo.runtime.preprocess.to_db`).

Not modelled: layover, shadow and foreshortening (the terrain is flat), azimuth ambiguities, the
blurring of the mean image by the PSF (speckle is multiplicative on a sharp image), and VV/VH speckle
correlation (the two channels get independent speckle).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from sargeo.records import Window
from sargeo.runtime.preprocess import to_db
from sargeo.synth import noise
from sargeo.synth.landcover import Block
from sargeo.synth.layout import Acquisition, Fields
from sargeo.synth.objects import WAKE_KELVIN, WAKE_TURBULENT, SceneObject
from sargeo.synth.speckle import Speckle
from sargeo.synth.tables import Backscatter, ClassTable

FloatArray = npt.NDArray[np.float32]
STREAM_SPECKLE = (30, 32)
"""Noise streams of the VV and VH speckle (each `Speckle.field` uses its stream and the next)."""
STREAM_K = 38
STREAM_PIXEL = 23
STREAM_NESZ = (34, 36)
FIRST_SIDELOBE_X = 1.4303
"""Position (in resolution cells) of the first sidelobe of sinc^2, where it is -13.26 dB."""
SINC_3DB_WIDTH = 0.8859
"""-3 dB width (in resolution cells) of the main lobe of sinc^2: the width of the speckle's PSF."""


@dataclass(frozen=True)
class RadarOptions:
    """Switches of the radar model (the table gives the numbers)."""

    looks: float
    speckle: bool = True
    k_texture: bool = True
    units: str = "dB"


class Radar:
    """Simulates sigma0 for the blocks of one scene."""

    def __init__(
        self,
        model: Backscatter,
        classes: ClassTable,
        acquisition: Acquisition,
        fields: Fields,
        size: int,
        spacing: float,
        seed: int,
        options: RadarOptions,
        objects: list[SceneObject],
    ) -> None:
        self.model = model
        self.luts = model.luts(classes)
        self.acq = acquisition
        self.fields = fields
        self.size = size
        self.spacing = spacing
        self.seed = seed
        self.options = options
        self.sea = np.zeros(256, bool)
        self.sea[classes.value("sea")] = True
        wake = model.wake
        self.wake_lut = np.ones(256, np.float32)
        self.wake_lut[WAKE_TURBULENT] = 10 ** (wake.turbulent_db / 10)
        self.wake_lut[WAKE_KELVIN] = 10 ** (wake.kelvin_db / 10)
        peaks = [p for o in objects for p in o.peaks]
        self.peaks = np.array([p[:2] for p in peaks] or np.zeros((0, 2)), dtype=np.int64)
        self.peak_linear = np.array(
            [[10 ** (p[2] / 10), 10 ** (p[3] / 10)] for p in peaks] or np.zeros((0, 2))
        )
        self.speckle = Speckle.make(options.looks, SINC_3DB_WIDTH * model.resolution_m / spacing)

    def incidence(self, window_cols: npt.NDArray[np.int64]) -> FloatArray:
        """Incidence angle (deg) of absolute pixel columns."""
        return self.acq.incidence(window_cols, self.size).astype(np.float32)

    def mean_db(self, block: Block) -> tuple[FloatArray, FloatArray]:
        """Steps 1-2: sigma0 in dB before speckle, without double bounce, wakes and point targets."""
        w = block.window
        m = block.mask
        cols = np.arange(w.col, w.col + w.width)
        dtheta = self.incidence(cols) - np.float32(self.model.reference_incidence_deg)
        variation = self.luts["region_std"][m] * block.region
        variation += self.luts["texture_std"][m] * block.texture
        if block.offset_db is not None:
            variation += block.offset_db
        pixel_std = self.luts["pixel_std"][m]
        if np.any(pixel_std > 0):
            variation += pixel_std * noise.normal_field(self.seed, STREAM_PIXEL, w)
        sea = self.sea[m]
        if self.model.swell_db > 0 and sea.any():
            variation += sea * self._swell(w)
        out = []
        for pol in ("VV", "VH"):
            db = self.luts[f"mean_{pol}"][m] + self.luts[f"slope_{pol}"][m] * dtheta[None, :]
            db += variation
            out.append(db.astype(np.float32))
        return out[0], out[1]

    def _swell(self, w: Window) -> FloatArray:
        f = self.fields
        h = math.radians(f.swell_heading_deg)
        k = 2 * math.pi / f.swell_wavelength_px
        y = np.arange(w.row, w.row + w.height, dtype=np.float32)[:, None] + 0.5
        x = np.arange(w.col, w.col + w.width, dtype=np.float32)[None, :] + 0.5
        phase = np.float32(k * math.sin(h)) * x - np.float32(k * math.cos(h)) * y
        return (np.float32(self.model.swell_db) * np.sin(phase + np.float32(f.swell_phase))).astype(
            np.float32
        )

    def sigma0(self, block: Block) -> tuple[FloatArray, FloatArray]:
        """Steps 1-7: sigma0 of both channels in the output units."""
        vv_db, vh_db = self.mean_db(block)
        w = block.window
        m = block.mask
        sea = self.sea[m]
        wake = np.ones(m.shape, np.float32)
        if block.wake.any():
            wake = np.where(sea, self.wake_lut[block.wake], np.float32(1.0))
        texture = None
        if self.options.k_texture:
            k_pixels = self.luts["k_texture"][m] > 0
            if k_pixels.any():
                gamma = self.speckle.texture(self.seed, STREAM_K, w, self.model.k_shape)
                texture = np.where(k_pixels, gamma, np.float32(1.0))
        out = []
        for i, db in enumerate((vv_db, vh_db)):
            lin = np.power(np.float32(10.0), db / np.float32(10.0), dtype=np.float32)
            if block.double_bounce.any():
                peak = np.float32(10 ** (self.model.double_bounce_db[i] / 10))
                lin += peak * block.double_bounce
            lin *= wake
            if texture is not None:
                lin *= texture
            if self.options.speckle:
                lin *= self.speckle.field(self.seed, STREAM_SPECKLE[i], w)
            self._point_targets(lin, block, i)
            if self.model.nesz_db is not None:
                nesz = np.float32(10 ** (self.model.nesz_db / 10))
                lin += nesz * self.speckle.field(self.seed, STREAM_NESZ[i], w)
            out.append(lin if self.options.units == "linear" else to_db(lin, "linear"))
        return out[0], out[1]

    def sidelobe_profile(self, peak_linear: float) -> FloatArray:
        """Intensity at 0..max_extent_px pixels from a point target along range or azimuth."""
        d = np.arange(self.model.max_extent_px + 1, dtype=np.float64)
        x = d * self.spacing / self.model.resolution_m
        main = np.sinc(x) ** 2
        side = 10 ** (self.model.pslr_db / 10) * (FIRST_SIDELOBE_X / np.maximum(x, 1e-9)) ** 2
        return (peak_linear * np.where(x < 1.0, main, side)).astype(np.float32)

    def _point_targets(self, lin: FloatArray, block: Block, pol_index: int) -> None:
        """Add the peaks and sidelobe crosses of the point targets that reach this block."""
        w = block.window
        ext = self.model.max_extent_px
        if not len(self.peaks):
            return
        pr, pc = self.peaks[:, 0], self.peaks[:, 1]
        near = (pr >= w.row - ext) & (pr < w.row + w.height + ext)
        near &= (pc >= w.col - ext) & (pc < w.col + w.width + ext)
        for i in np.flatnonzero(near).tolist():
            profile = self.sidelobe_profile(float(self.peak_linear[i, pol_index]))
            r, c = int(pr[i]) - w.row, int(pc[i]) - w.col
            if 0 <= r < w.height:
                lo, hi = max(c - ext, 0), min(c + ext + 1, w.width)
                if lo < hi:
                    lin[r, lo:hi] += profile[np.abs(np.arange(lo, hi) - c)]
            if 0 <= c < w.width:
                lo, hi = max(r - ext, 0), min(r + ext + 1, w.height)
                if lo < hi:
                    seg = profile[np.abs(np.arange(lo, hi) - r)]
                    if 0 <= r < w.height:
                        seg[r - lo] = 0.0  # the peak is already on the row
                    lin[lo:hi, c] += seg
