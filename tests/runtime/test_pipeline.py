"""The read -> prepare -> embed pipeline over an in-memory raster (a `WindowSource` of numpy arrays,
as any caller may provide): row order, nodata skipping, reader errors and cancellation."""

from __future__ import annotations

import threading
from typing import Any

import numpy as np
import pytest

from sargeo.errors import InputError, ReadError
from sargeo.runtime.gpkg import Crs
from sargeo.runtime.grid import Window, tile_windows
from sargeo.runtime.pipeline import CancelledError, check_source, embed_windows
from sargeo.runtime.preprocess import PreprocessSpec

SPEC = PreprocessSpec(size=16)


class ArraySource:
    """A (bands, H, W) dB array as a window source; ``broken`` windows fail to read."""

    def __init__(self, pixels: np.ndarray, polarisations: tuple[str, ...] = ("VV", "VH")) -> None:
        self.pixels = pixels
        self.name = "memory"
        self.files: tuple[str, ...] = ()
        self.height, self.width = pixels.shape[1:]
        self.transform = (10.0, 0.0, 0.0, 0.0, -10.0, 0.0)
        self.crs = Crs("EPSG:32633", "")
        self.polarisations = polarisations
        self.units = "dB"
        self.nodata = None
        self.acquisition_time = ""
        self.reading: dict[str, Any] = {}
        self.broken: set[tuple[int, int]] = set()
        self.readers_closed = 0
        self.lock = threading.Lock()

    def pixel_spacing(self, window: Window) -> tuple[float, float]:
        return 10.0, 10.0

    def open_reader(self) -> ArraySource:
        return self

    def read(self, window: Window) -> np.ma.MaskedArray:
        if (window.col, window.row) in self.broken:
            raise ReadError(f"{self.name}: pixels of window {window} cannot be read")
        rows = slice(window.row, window.row + window.height)
        cols = slice(window.col, window.col + window.width)
        data = self.pixels[:, rows, cols]
        return np.ma.MaskedArray(data, mask=~np.isfinite(data))

    def close(self) -> None:
        with self.lock:
            self.readers_closed += 1


def _scene() -> np.ndarray:
    rng = np.random.default_rng(0)
    pixels = rng.normal(-15, 3, (2, 96, 128)).astype(np.float32)
    pixels[:, :32, :32] = np.nan  # the first tile is empty
    return pixels


def _mean_embed(batch: np.ndarray) -> np.ndarray:
    return batch.mean(axis=(2, 3))  # (B, 3): a deterministic stand-in for an encoder


@pytest.mark.parametrize(("readers", "batch"), [(1, 4), (2, 3), (3, 64)])
def test_rows_follow_the_windows(readers: int, batch: int) -> None:
    source = ArraySource(_scene())
    windows = [w for row in tile_windows(source.width, source.height, 32, 0) for w in row]
    out = np.full((len(windows), 3), -99.0, dtype=np.float32)
    seen: list[tuple[int, int]] = []
    result = embed_windows(
        source, windows, SPEC, _mean_embed, out, batch=batch, readers=readers,
        progress=lambda done, total: seen.append((done, total)),
    )  # fmt: skip
    assert result.kept.tolist() == [False] + [True] * (len(windows) - 1)
    assert result.valid[0] == 0.0 and np.all(result.valid[1:] == 1.0)
    assert np.all(out[0] == -99.0)
    from sargeo.runtime.pipeline import prepare_window

    for i, window in enumerate(windows[1:], 1):
        expected = _mean_embed(prepare_window(source.read(window), source, SPEC)[None])[0]
        np.testing.assert_allclose(out[i], expected, rtol=1e-6)
    assert seen[-1] == (len(windows), len(windows)) and source.readers_closed == readers


def test_a_reader_error_stops_everything() -> None:
    source = ArraySource(_scene())
    windows = [w for row in tile_windows(source.width, source.height, 16, 0) for w in row]
    source.broken = {(windows[20].col, windows[20].row)}
    out = np.zeros((len(windows), 3), dtype=np.float32)
    with pytest.raises(ReadError, match="cannot be read"):
        embed_windows(source, windows, SPEC, _mean_embed, out, batch=2, readers=2)
    assert source.readers_closed == 2  # every reader thread ended and closed its handles


def test_cancelling_stops_between_batches() -> None:
    source = ArraySource(_scene())
    windows = [w for row in tile_windows(source.width, source.height, 16, 0) for w in row]
    calls: list[int] = []

    def embed(batch: np.ndarray) -> np.ndarray:
        calls.append(len(batch))
        return _mean_embed(batch)

    out = np.zeros((len(windows), 3), dtype=np.float32)
    with pytest.raises(CancelledError, match="cancelled"):
        embed_windows(source, windows, SPEC, embed, out, batch=4, cancelled=lambda: len(calls) >= 2)
    assert len(calls) == 2


def test_a_raster_the_preprocessing_cannot_read() -> None:
    check_source(ArraySource(_scene()), SPEC)
    check_source(ArraySource(_scene()[:1], ("HH",)), SPEC)  # HH stands in for VV, replicated
    with pytest.raises(InputError, match=r"the model needs polarisation\(s\) VV, VH"):
        check_source(ArraySource(_scene(), ("B1", "B2")), SPEC)
    with pytest.raises(InputError, match="units 'sigma'"):
        source = ArraySource(_scene())
        source.units = "sigma"
        check_source(source, SPEC)
