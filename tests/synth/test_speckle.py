"""Speckle at the resolution cell: exact looks and mean, the PSF's correlation, block independence."""

from __future__ import annotations

import math

import numpy as np
import pytest

from sargeo.records import Window
from sargeo.synth import noise
from sargeo.synth.speckle import Speckle, look_weights, psf_kernel

SEED = 7
STREAM = 30
WIDTH_PX = 0.8859 * 2.0  # 20 m resolution at 10 m pixels (as sargeo.synth.physics)
BIG = Window(0, 0, 512, 512)


def _lag1(x: np.ndarray) -> float:
    """Mean lag-1 correlation of an image along rows and columns."""
    z = (x - x.mean()) / x.std()
    return float(((z[:, 1:] * z[:, :-1]).mean() + (z[1:, :] * z[:-1, :]).mean()) / 2)


def _expected_lag1(kernel: np.ndarray) -> float:
    """Intensity correlation of neighbours: |rho|^2, rho the PSF's autocorrelation at one pixel."""
    h = kernel.astype(np.float64)
    return float(np.sum(h[1:] * h[:-1]) ** 2)


@pytest.mark.parametrize("looks", [1.0, 2.0, 3.0, 4.4, 4.9, 7.25])
def test_look_weights_give_exactly_the_looks(looks: float) -> None:
    weights, shape = look_weights(looks)
    w = np.array(weights)
    assert shape is None and len(w) == math.ceil(looks)
    assert w.sum() == pytest.approx(1.0) and (w > 0).all()
    assert 1.0 / np.sum(w**2) == pytest.approx(looks)  # ENL
    if looks == int(looks):
        assert np.ptp(w) == pytest.approx(0.0)  # integer looks: plain average


def test_fewer_than_one_look_is_one_look_times_a_gamma_factor() -> None:
    weights, shape = look_weights(0.5)
    assert weights == (1.0,) and shape is not None
    # one exponential look (variance 1) times Gamma(shape): variance (1 + 1)(1 + 1/shape) - 1 = 1/L
    assert 2.0 * (1.0 + 1.0 / shape) - 1.0 == pytest.approx(1.0 / 0.5)
    with pytest.raises(ValueError, match="positive"):
        look_weights(0.0)


def test_psf_has_unit_energy_and_its_width() -> None:
    assert psf_kernel(0.0).tolist() == [1.0]
    for width in (0.3, 1.0, WIDTH_PX, 5.0):
        h = psf_kernel(width).astype(np.float64)
        assert np.sum(h**2) == pytest.approx(1.0, abs=1e-6)
        np.testing.assert_allclose(h, h[::-1])
    # -3 dB width of the intensity |h|^2 (continuous Gaussian through the samples)
    h = psf_kernel(5.0).astype(np.float64)
    r = h.size // 2
    s = math.sqrt(-1.0 / (2.0 * math.log(h[r + 1] / h[r])))  # the Gaussian's std in pixels
    assert 2.0 * s * math.sqrt(math.log(2.0)) == pytest.approx(5.0, rel=1e-4)
    with pytest.raises(ValueError):
        psf_kernel(-1.0)


@pytest.mark.parametrize("looks", [1.0, 4.4])
def test_speckle_has_mean_one_the_looks_and_the_psf_correlation(looks: float) -> None:
    speckle = Speckle.make(looks, WIDTH_PX)
    x = speckle.field(SEED, STREAM, BIG).astype(np.float64)
    assert x.mean() == pytest.approx(1.0, abs=0.02)
    assert x.mean() ** 2 / x.var() == pytest.approx(looks, rel=0.08)
    expected = _expected_lag1(speckle.kernel)
    assert 0.55 < expected < 0.7  # Sentinel-1 GRD: about 0.6
    assert _lag1(x) == pytest.approx(expected, abs=0.03)
    far = (x[:, 6:] - 1) * (x[:, :-6] - 1)  # beyond the PSF: independent
    assert float(far.mean() / x.var()) == pytest.approx(0.0, abs=0.03)
    if looks == 1.0:  # single look: exponential intensity, P(I > t) = exp(-t)
        assert float((x > 2.0).mean()) == pytest.approx(math.exp(-2.0), abs=0.01)


def test_speckle_without_psf_width_is_white() -> None:
    x = Speckle.make(4.4, 0.0).field(SEED, STREAM, BIG).astype(np.float64)
    assert _lag1(x) == pytest.approx(0.0, abs=0.02)
    assert x.mean() ** 2 / x.var() == pytest.approx(4.4, rel=0.08)


def test_less_than_one_look_keeps_mean_and_variance() -> None:
    x = Speckle.make(0.6, WIDTH_PX).field(SEED, STREAM, BIG).astype(np.float64)
    assert x.mean() == pytest.approx(1.0, abs=0.05)
    assert x.mean() ** 2 / x.var() == pytest.approx(0.6, rel=0.12)


def test_texture_at_the_resolution_cell_has_the_gamma_shape_variance() -> None:
    speckle = Speckle.make(4.4, WIDTH_PX)
    t = speckle.texture(SEED, 38, BIG, 20.0).astype(np.float64)
    assert (t > 0).all()
    assert t.mean() == pytest.approx(1.0, abs=0.01)
    assert t.var() == pytest.approx(1.0 / 20.0, rel=0.1)
    assert _lag1(t) > 0.5  # blurred by the intensity PSF: neighbours share the cell


@pytest.mark.parametrize(
    "window",
    [
        Window(0, 0, 64, 64),
        Window(100, 37, 90, 120),
        Window(-3, 250, 40, 30),
        Window(400, 450, 112, 62),
    ],
)
def test_a_window_is_the_crop_of_a_larger_one(window: Window) -> None:
    """Block independence: the halo makes a block's pixels those of any larger block around it."""
    outer = Window(-10, -10, 530, 530)
    for speckle in (Speckle.make(4.4, WIDTH_PX), Speckle.make(0.7, 3.0)):
        rows = slice(window.row - outer.row, window.row - outer.row + window.height)
        cols = slice(window.col - outer.col, window.col - outer.col + window.width)
        big = speckle.field(SEED, STREAM, outer)
        np.testing.assert_array_equal(speckle.field(SEED, STREAM, window), big[rows, cols])
        big_t = speckle.texture(SEED, 38, outer, 20.0)
        np.testing.assert_array_equal(speckle.texture(SEED, 38, window, 20.0), big_t[rows, cols])


def test_circular_normal_field_reaches_outside_the_scene() -> None:
    window = Window(-100, -60, 300, 200)  # tiles with negative indices: the halo at the edge
    re, im = noise.circular_normal_field(SEED, STREAM, 0, window)
    assert re.dtype == np.float32 and np.isfinite(re).all() and np.isfinite(im).all()
    power = re.astype(np.float64) ** 2 + im.astype(np.float64) ** 2
    assert power.mean() == pytest.approx(1.0, abs=0.02)
    assert re.var() == pytest.approx(0.5, abs=0.02) and im.var() == pytest.approx(0.5, abs=0.02)
    assert float(np.mean(re * im)) == pytest.approx(0.0, abs=0.01)  # circular
    other_look = noise.circular_normal_field(SEED, STREAM, 1, window)[0]
    assert abs(np.corrcoef(re.ravel(), other_look.ravel())[0, 1]) < 0.01
    crop = noise.circular_normal_field(SEED, STREAM, 0, Window(-37, 5, 50, 60))[0]
    np.testing.assert_array_equal(crop, re[65:125, 63:113])
