"""Learned speckle filters (SAR2SAR, MERLIN): speckle reduction, NaN handling, clear errors."""

from __future__ import annotations

import importlib.util
import sys
import time

import numpy as np
import pytest

from sargeo.errors import SargeoError
from sargeo.geo import speckle
from sargeo.models import despeckle
from tests.geo.speckle_noise import enl, gamma_speckle

HAS_LEARNED = (
    importlib.util.find_spec("torch") is not None
    and importlib.util.find_spec("deepdespeckling") is not None
)


def test_learned_unknown_model_is_user_error() -> None:
    with pytest.raises(SargeoError, match="unknown learned speckle model"):
        despeckle.learned(np.ones((8, 8)), model="noise2void")


def test_learned_without_deepdespeckling_is_user_error(monkeypatch: pytest.MonkeyPatch) -> None:
    despeckle._learned_weights.cache_clear()
    monkeypatch.setitem(sys.modules, "deepdespeckling.model", None)
    try:
        with pytest.raises(SargeoError, match="needs torch and deepdespeckling"):
            speckle.apply_speckle_filter("sar2sar", np.ones((1, 8, 8)), "linear")
    finally:
        despeckle._learned_weights.cache_clear()


@pytest.mark.slow
@pytest.mark.skipif(not HAS_LEARNED, reason="torch or deepdespeckling is not installed")
@pytest.mark.parametrize("model", ["sar2sar", "merlin"])
def test_learned_filter_reduces_speckle(model: str) -> None:
    start = time.perf_counter()
    truth = np.full((64, 64), 0.05)
    noisy = gamma_speckle(truth, looks=4.0, seed=5)
    noisy[3, 40] = np.nan
    out = despeckle.learned(noisy, model=model)
    assert out.shape == noisy.shape and out.dtype == np.float32
    assert np.array_equal(np.isnan(out), np.isnan(noisy))
    assert enl(out) > 3 * enl(noisy)
    assert float(np.nanmean(out)) == pytest.approx(0.05, rel=0.3)
    # Same input, same output (MERLIN's random phase is seeded).
    np.testing.assert_array_equal(out, despeckle.learned(noisy, model=model))
    assert time.perf_counter() - start < 60


@pytest.mark.skipif(not HAS_LEARNED, reason="torch or deepdespeckling is not installed")
def test_learned_through_registry_on_odd_shape() -> None:
    noisy = gamma_speckle(np.full((1, 50, 70), 0.1), looks=4.0, seed=6)
    out = speckle.apply_speckle_filter("sar2sar", noisy, "linear")
    assert out.shape == noisy.shape
    assert enl(out[0]) > 3 * enl(noisy[0])
