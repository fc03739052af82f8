"""Valid-data and Sentinel-1 border-noise masks on crafted arrays."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pytest

from sargeo.errors import SargeoError
from sargeo.geo.masks import border_noise_mask, valid_mask

DARK = -32.0
LAND = -10.0
THRESHOLD = -25.0


def scene(seed: int = 0) -> npt.NDArray[np.float32]:
    """A 60x100 dB band: land, a dark 8-px margin left and right, a dark lake in the middle."""
    rng = np.random.default_rng(seed)
    band = LAND + rng.normal(0.0, 1.5, size=(60, 100))
    band[:, :8] = DARK + rng.normal(0.0, 1.0, size=(60, 8))  # left range border noise
    band[:, -8:] = DARK + rng.normal(0.0, 1.0, size=(60, 8))  # right range border noise
    band[20:40, 40:60] = DARK + rng.normal(0.0, 1.0, size=(20, 20))  # lake: equally dark
    band[:, :3] = np.nan  # zero-filled nodata at the very edge
    return band.astype(np.float32)


def test_valid_mask_nodata_nan_inf() -> None:
    data = np.array([[0.0, 1.0, np.nan], [np.inf, -np.inf, 2.0]], dtype=np.float32)
    expected = np.array([[False, True, False], [False, False, True]])
    np.testing.assert_array_equal(valid_mask(data, nodata=0.0), expected)
    assert valid_mask(data).sum() == 3  # without nodata, 0 is valid
    assert valid_mask(data, nodata=float("nan")).sum() == 3


def test_valid_mask_integers_and_per_pixel() -> None:
    data = np.array([[[1, 0], [3, 4]], [[1, 2], [0, 4]]], dtype=np.uint16)
    per_band = valid_mask(data, nodata=0)
    assert per_band.shape == data.shape and per_band.sum() == 6
    np.testing.assert_array_equal(
        valid_mask(data, nodata=0, per_pixel=True), [[True, False], [False, True]]
    )
    with pytest.raises(SargeoError, match="bands, h, w"):
        valid_mask(data[0], per_pixel=True)


@pytest.mark.parametrize("smooth", [1, 5])
def test_dark_margin_masked_lake_kept(smooth: int) -> None:
    band = scene()
    mask = border_noise_mask(band, THRESHOLD, smooth=smooth)
    assert mask.shape == band.shape and mask.dtype == bool
    # The margins, nodata included, are masked (allowing the smoothing window at their inner edge).
    inner = smooth // 2
    assert mask[:, : 8 - inner].all()
    assert mask[:, 100 - 8 + inner :].all()
    # The lake is as dark as the margin but not connected to the edge: kept.
    assert not mask[20:40, 40:60].any()
    # Land is kept.
    assert not mask[:, 8 + inner + 1 : 100 - 8 - inner - 1].any()


def test_bright_pixel_inside_margin_needs_smoothing() -> None:
    band = scene()
    band[:, 5] = -20.0  # a noisy-bright column inside the strip cuts the run from the edge
    assert not border_noise_mask(band, THRESHOLD, smooth=1)[:, 6:8].any()
    smoothed = border_noise_mask(band, THRESHOLD, smooth=5)
    assert smoothed[:, :6].all()


def test_azimuth_edges_optional() -> None:
    band = scene()
    band[:5, 20:80] = DARK  # dark first rows (start of the data take), land on either side
    rows_only = border_noise_mask(band, THRESHOLD, smooth=1)
    assert not rows_only[:5, 20:80].any()
    both = border_noise_mask(band, THRESHOLD, azimuth=True, smooth=1)
    assert both[:5, 20:80].all()
    assert not both[5:, 10:90].any()
    assert not both[20:40, 40:60].any()


def test_lake_touching_edge_row_is_masked_only_on_its_row() -> None:
    band = scene()
    band[10, :] = DARK  # a dark row across the whole image is connected to the edges
    mask = border_noise_mask(band, THRESHOLD, smooth=1)
    assert mask[10].all()
    assert not mask[11, 10:90].any()


def test_bad_arguments() -> None:
    with pytest.raises(SargeoError, match="2-D"):
        border_noise_mask(np.zeros((2, 3, 3)), 0.0)
    with pytest.raises(SargeoError, match="odd"):
        border_noise_mask(np.zeros((3, 3)), 0.0, smooth=4)
