"""Numpy resizing against torch's and OpenCV's implementations of the same definitions."""

from __future__ import annotations

import numpy as np
import pytest

from sargeo.runtime.resize import axis_weights, resize

RNG = np.random.default_rng(0)


@pytest.mark.parametrize("shape", [(16, 16), (80, 100), (5, 7)])
def test_bilinear_and_nearest_match_torch(shape: tuple[int, int]) -> None:
    torch = pytest.importorskip("torch")
    x = RNG.random((2, 37, 53), dtype=np.float32)
    t = torch.from_numpy(x)[None]
    bil = torch.nn.functional.interpolate(t, size=shape, mode="bilinear", align_corners=False)
    near = torch.nn.functional.interpolate(t, size=shape, mode="nearest-exact")
    np.testing.assert_allclose(resize(x, *shape, method="bilinear"), bil[0].numpy(), atol=1e-5)
    np.testing.assert_array_equal(resize(x, *shape, method="nearest"), near[0].numpy())


def test_area_matches_opencv_inter_area_at_fractional_factors() -> None:
    cv2 = pytest.importorskip("cv2")
    x = RNG.random((64, 96), dtype=np.float32)
    ours = resize(x, 20, 30, method="area")
    np.testing.assert_allclose(
        ours, cv2.resize(x, (30, 20), interpolation=cv2.INTER_AREA), atol=1e-6
    )


def test_area_keeps_the_mean_and_a_constant() -> None:
    x = RNG.random((3, 800, 800), dtype=np.float32)
    small = resize(x, 160, 160)
    assert small.shape == (3, 160, 160)
    np.testing.assert_allclose(small.mean(axis=(1, 2)), x.mean(axis=(1, 2)), rtol=1e-5)
    np.testing.assert_allclose(resize(np.full((30, 50), 7.0), 64, 64), 7.0, rtol=1e-6)
    # each 5x5 block becomes its average
    np.testing.assert_allclose(small[0, 0, 0], x[0, :5, :5].mean(), rtol=1e-5)


def test_rows_sum_to_one_and_bad_sizes() -> None:
    for method in ("area", "bilinear", "nearest"):
        np.testing.assert_allclose(axis_weights(123, 17, method).sum(axis=1), 1.0, rtol=1e-6)
    with pytest.raises(ValueError, match="unknown resize"):
        axis_weights(4, 2, "cubic")
    with pytest.raises(ValueError, match="0 pixels"):
        axis_weights(0, 2, "area")
