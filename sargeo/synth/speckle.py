"""Speckle correlated at the resolution cell, made block by block.

A SAR pixel is the coherent sum of the echoes of the scatterers inside the system's point-spread
function (PSF), and a Sentinel-1 GRD pixel (10 m) is smaller than its resolution cell (about 20 m), so
neighbouring pixels share scatterers and their speckle is correlated. Per look:

1. a circular complex Gaussian field, white on the pixel grid (the scatterers of each pixel), drawn at
   absolute coordinates from `sargeo.synth.noise.circular_normal_field`;
2. filtered by the PSF: separable along range (columns) and azimuth (rows), a Gaussian approximation
   of the main lobe of the impulse response with the given -3 dB intensity width in pixels; it has
   unit energy, so the look's intensity has mean 1 exactly in expectation;
3. detected: ``|h * z|^2``, an exponential (single-look) intensity whose neighbours correlate by
   ``|rho|^2``, rho being the PSF's normalised autocorrelation (0.64 at one pixel for the 1.77 px
   wide PSF of `sargeo.synth.physics` at 20 m resolution and 10 m pixels).

Looks: Sentinel-1 GRD's equivalent number of looks (4.4) is below its nominal 5 because the looks are
weighted unequally. L looks are ``n = ceil(L)`` independent looks averaged with weights that sum to 1:
``n - 1`` equal weights and one lighter look, chosen so that ``1 / sum(w^2) = L``: the intensity has
mean 1 and variance exactly ``1/L`` (ENL L); for an integer L all weights are equal (Gamma(L, 1/L)
speckle); averaging independent looks keeps the correlation of each look. ``L < 1`` (not physical
speckle, allowed for experiments): one look times a white Gamma factor of shape ``2L / (1 - L)``,
which also gives variance ``1/L``.

Texture (K-distributed sea clutter) is the cross-section of the resolution cell, so `Speckle.texture`
images white Gamma draws through the intensity PSF ``h^2``.

Block-wise: the noise of the block plus a halo of the kernel's radius is drawn, filtered along both
axes with a fixed-order sum per pixel (`scipy.ndimage.correlate1d`) and cropped, so a pixel's value is
the same whatever block it is made in. Cost: ``ceil(L)`` complex fields and four 1D filter passes per
channel; the kernel has ``2 floor(3 s) + 1`` taps (7 at 10 m pixels), growing as the pixels shrink.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy import ndimage

from sargeo.records import Window
from sargeo.synth import noise

FloatArray = npt.NDArray[np.float32]

TRUNCATE = 3.0
"""The PSF kernel keeps the taps within this many standard deviations of its amplitude (the taps left
out carry about 1e-3 of the energy or less) and is renormalised to unit energy."""
FWHM_PER_SIGMA = 2.0 * math.sqrt(math.log(2.0))
"""-3 dB width of the intensity ``exp(-d^2 / s^2)`` of a Gaussian amplitude PSF of std ``s``."""


def psf_kernel(width_px: float) -> npt.NDArray[np.float32]:
    """1D amplitude PSF (Gaussian) with -3 dB intensity width ``width_px`` pixels and unit energy.

    A width of 0 is a single tap (white speckle). The 2D PSF is the outer product of two of these, so
    it has unit energy too.
    """
    if not width_px >= 0:
        raise ValueError(f"PSF width must be non-negative, got {width_px}")
    s = width_px / FWHM_PER_SIGMA
    radius = math.floor(TRUNCATE * s)
    d = np.arange(-radius, radius + 1, dtype=np.float64)
    h = np.exp(-(d**2) / (2.0 * s * s)) if s > 0 else np.ones(1)
    return (h / np.sqrt(np.sum(h * h))).astype(np.float32)


def look_weights(looks: float) -> tuple[tuple[float, ...], float | None]:
    """Weights of the independent looks averaged into a pixel, and the shape of a white Gamma factor.

    Returns ``(weights, shape)``: weights sum to 1 with ``1 / sum(w^2) = looks`` for ``looks >= 1``
    (``ceil(looks) - 1`` equal weights and one lighter); ``shape`` is None then. For ``looks < 1``:
    one look and a Gamma factor of shape ``2 looks / (1 - looks)``.
    """
    if not looks > 0:
        raise ValueError(f"looks must be positive, got {looks}")
    if looks < 1.0:
        return (1.0,), 2.0 * looks / (1.0 - looks)
    n = max(1, math.ceil(looks - 1e-9))
    m = n - 1
    if m == 0:
        return (1.0,), None
    # m weights a and one weight b = 1 - m a with m a^2 + b^2 = 1 / looks, b <= a
    a = (m + math.sqrt(max(0.0, m * ((m + 1) / looks - 1.0)))) / (m * (m + 1))
    return (*([a] * m), 1.0 - m * a), None


def _filter(x: FloatArray, kernel: npt.NDArray[np.float32]) -> FloatArray:
    """Separable filtering, keeping only the pixels whose whole kernel lies in ``x`` ('valid').

    Columns first (contiguous rows stay contiguous after the crop), then rows; each output is a sum in
    a fixed order over its neighbours only, so it does not depend on the size of ``x``.
    """
    r = kernel.size // 2
    if r == 0:
        return x * kernel[0]
    x = ndimage.correlate1d(x, kernel, axis=0, mode="constant")[r:-r]
    return ndimage.correlate1d(x, kernel, axis=1, mode="constant")[:, r:-r]


@dataclass(frozen=True)
class Speckle:
    """Speckle of a given number of looks and PSF width (pixels); see the module docstring."""

    looks: float
    kernel: npt.NDArray[np.float32]
    weights: tuple[float, ...]
    gamma_shape: float | None

    @classmethod
    def make(cls, looks: float, width_px: float) -> Speckle:
        """Speckle of ``looks`` looks whose PSF has a -3 dB intensity width of ``width_px`` pixels."""
        weights, shape = look_weights(looks)
        return cls(looks, psf_kernel(width_px), weights, shape)

    @property
    def radius(self) -> int:
        """Halo (px) drawn around a block so that its border pixels see their whole PSF."""
        return self.kernel.size // 2

    def _halo(self, window: Window) -> Window:
        r = self.radius
        return Window(window.col - r, window.row - r, window.width + 2 * r, window.height + 2 * r)

    def field(self, seed: int, stream: int, window: Window) -> FloatArray:
        """Mean-1 speckle intensity on ``window``; uses noise streams ``stream`` and ``stream + 1``."""
        halo = self._halo(window)
        out = np.zeros((window.height, window.width), np.float32)
        for look, weight in enumerate(self.weights):
            real, imag = noise.circular_normal_field(seed, stream, look, halo)
            real, imag = _filter(real, self.kernel), _filter(imag, self.kernel)
            real *= real
            imag *= imag
            real += imag
            real *= np.float32(weight)
            out += real
        if self.gamma_shape is not None:
            out *= noise.gamma_halo_field(seed, stream + 1, 0, window, self.gamma_shape)
        return out

    def texture(self, seed: int, stream: int, window: Window, shape: float) -> FloatArray:
        """Mean-1 Gamma-like texture of variance ``1/shape`` at the resolution cell on ``window``.

        Texture (e.g. K-distributed sea clutter) is the radar cross-section of the resolution cell,
        so it is imaged through the same PSF: white Gamma draws blurred by the intensity PSF
        ``g = h^2`` (sum 1, so the mean stays 1). The draws have shape ``shape * sum(g^2)``, so that
        the blurred texture has variance ``1/shape``.
        """
        g = np.square(self.kernel)  # sum 1: the 1D intensity PSF
        white = shape * float(np.sum(g.astype(np.float64) ** 2)) ** 2
        draws = noise.gamma_halo_field(seed, stream, 0, self._halo(window), white)
        return _filter(draws, g)
