"""The one radiometric preprocessing implementation."""

from __future__ import annotations

import numpy as np
import pytest

from sargeo.runtime import preprocess


def test_db_round_trips_units() -> None:
    power = np.array([1e-3, 0.01, 1.0, 10.0], dtype=np.float32)
    db = preprocess.to_db(power, "linear")
    np.testing.assert_allclose(db, 10 * np.log10(power + preprocess.DB_EPSILON), rtol=1e-5)
    np.testing.assert_allclose(preprocess.to_db(np.sqrt(power), "amplitude"), db, rtol=1e-4)
    # to_db adds DB_EPSILON before the log, so the way back gives power + epsilon: compare with that
    # (float32 rounding only), not with power under a tolerance that the epsilon happens to fit.
    back = preprocess.to_linear_power(db, "dB")
    np.testing.assert_allclose(back, power + np.float32(preprocess.DB_EPSILON), rtol=1e-5)
    # and the epsilon is the only bias: its share shrinks as power grows
    np.testing.assert_allclose(
        back / power - 1, preprocess.DB_EPSILON / power, rtol=1e-2, atol=1e-6
    )


def test_zero_power_gives_finite_floor() -> None:
    assert preprocess.to_db(np.zeros(3), "linear") == pytest.approx(-60.0)


def test_normalise_is_fixed_not_per_tile() -> None:
    a = preprocess.normalise(np.array([-25.0, -10.0, 5.0]), -25, 5)
    b = preprocess.normalise(np.array([-10.0, -10.0, -10.0]), -25, 5)
    assert a[1] == b[0] == pytest.approx(0.5)
    assert a[0] == 0 and a[2] == 1


def test_nan_stays_nan() -> None:
    assert np.isnan(preprocess.clip(np.array([np.nan]), 0, 1)[0])


def test_unknown_units() -> None:
    with pytest.raises(ValueError, match="uint8"):
        preprocess.to_linear_power(np.ones(2), "uint8")
