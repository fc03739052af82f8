"""Random fields depend on absolute position only: any window gives the same values."""

from __future__ import annotations

import numpy as np
import pytest

from sargeo.records import Window
from sargeo.synth import noise


@pytest.mark.parametrize("cell", [3.0, 40.0, 300.0])
def test_value_noise_is_window_independent(cell: float) -> None:
    whole = noise.fbm(7, 1, Window(0, 0, 600, 500), cell)
    part = noise.fbm(7, 1, Window(123, 257, 300, 111), cell)
    np.testing.assert_array_equal(part, whole[257:368, 123:423])


def test_value_noise_scattered_matches_window() -> None:
    window = Window(40, 80, 200, 150)
    full = noise.fbm(3, 2, window, 25.0)
    rows, cols = np.nonzero(np.random.default_rng(0).random((150, 200)) < 0.2)
    np.testing.assert_allclose(
        noise.fbm_at(3, 2, window, rows, cols, 25.0), full[rows, cols], atol=1e-5
    )


def test_value_noise_has_about_unit_variance_and_zero_mean() -> None:
    field = noise.value_noise(11, 4, Window(0, 0, 1024, 1024), 8.0)
    assert abs(float(field.mean())) < 0.1
    assert 0.85 < float(field.std()) < 1.15


@pytest.mark.parametrize("looks", [1.0, 4.4])
def test_gamma_field_mean_one_variance_one_over_looks(looks: float) -> None:
    g = noise.gamma_field(5, 20, Window(0, 0, 512, 512), looks)
    assert float(g.mean()) == pytest.approx(1.0, abs=0.01)
    assert float(g.var()) == pytest.approx(1.0 / looks, rel=0.05)
    assert (g > 0).all()


def test_noise_tiles_are_window_independent_and_seeded() -> None:
    whole = noise.gamma_field(5, 20, Window(0, 0, 700, 600), 2.0)
    part = noise.gamma_field(5, 20, Window(300, 100, 350, 400), 2.0)
    np.testing.assert_array_equal(part, whole[100:500, 300:650])
    other = noise.gamma_field(6, 20, Window(300, 100, 350, 400), 2.0)
    assert not np.array_equal(part, other)
    normal = noise.normal_field(5, 23, Window(0, 0, 256, 256))
    assert abs(float(normal.mean())) < 0.02 and float(normal.std()) == pytest.approx(1.0, abs=0.02)


def test_hash_is_deterministic_and_uniform() -> None:
    i = np.arange(-500, 500)[:, None]
    j = np.arange(0, 100)[None, :]
    u = noise.hash_uniform(1, 2, i, j)
    np.testing.assert_array_equal(u, noise.hash_uniform(1, 2, i, j))
    assert ((u > 0) & (u < 1)).all()
    assert float(u.mean()) == pytest.approx(0.5, abs=0.01)
    assert not np.array_equal(u, noise.hash_uniform(1, 3, i, j))


def test_region_values_equal_hashing_every_pixel() -> None:
    rng = np.random.default_rng(1)
    a = rng.integers(-40, 40, 5000)
    b = rng.integers(100, 130, 5000)
    np.testing.assert_allclose(
        noise.region_values(9, 3, a, b, normal=True), noise.hash_normal(9, 3, a, b), rtol=1e-6
    )
    np.testing.assert_allclose(
        noise.region_values(9, 3, a, b, normal=False), noise.hash_uniform(9, 3, a, b), rtol=1e-6
    )
