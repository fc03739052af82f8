"""Windows of a raster read, prepared and embedded with reading overlapped with inference.

Reader threads (each with its own file handles) read windows and prepare them (`prepare`: dB,
channels, resize, normalisation); the calling thread batches the prepared tiles and runs the image
encoder. GDAL and ONNX Runtime release the GIL, so reading, preparing and inference run at once. The
queue between them is bounded, so memory depends on the batch size, never on the raster's size.
"""

from __future__ import annotations

import contextlib
import queue
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from sargeo.errors import InputError, SargeoError
from sargeo.runtime.grid import Window
from sargeo.runtime.preprocess import PreprocessSpec, prepare
from sargeo.runtime.sources import WindowSource

Progress = Callable[[int, int], None]
"""Called with (tiles done, tiles in all)."""

Cancelled = Callable[[], bool]
"""Returns True when the caller wants the work stopped."""


class CancelledError(SargeoError):
    """The caller cancelled the work; nothing was written."""


@dataclass(frozen=True)
class Embedded:
    """Which windows were embedded (enough valid pixels) and their valid share."""

    kept: npt.NDArray[np.bool_]
    valid: npt.NDArray[np.float32]


def prepare_window(
    data: np.ma.MaskedArray, source: WindowSource, spec: PreprocessSpec
) -> npt.NDArray[np.float32]:
    """A read window -> the model input; masked pixels become the spec's nodata fill."""
    pixels = np.where(
        np.ma.getmaskarray(data), np.float32(np.nan), np.asarray(data.data, np.float32)
    )
    return prepare(pixels, source.units, source.polarisations, spec)


def check_source(source: WindowSource, spec: PreprocessSpec) -> None:
    """Refuse, before any work, a raster the preprocessing cannot take (polarisations, units)."""
    sample = np.ma.MaskedArray(np.ones((len(source.polarisations), 8, 8), np.float32))
    try:
        prepare_window(sample, source, spec)
    except InputError as exc:
        raise InputError(
            f"{source.name}: the model cannot read this raster: {exc} (its bands:"
            f" {', '.join(source.polarisations) or 'none'}; units {source.units})"
        ) from exc


_DONE = object()


def embed_windows(
    source: WindowSource,
    windows: Sequence[Window],
    spec: PreprocessSpec,
    embed: Callable[[npt.NDArray[np.float32]], npt.NDArray[np.float32]],
    out: npt.NDArray[Any],
    *,
    batch: int = 32,
    readers: int = 1,
    max_nodata: float = 0.5,
    progress: Progress | None = None,
    cancelled: Cancelled | None = None,
) -> Embedded:
    """Embed every window with enough valid pixels into ``out[i]`` (row i = window i).

    Args:
        source: The raster.
        windows: Its windows, in output row order.
        spec: The bundle's preprocessing.
        embed: Prepared batch (B, 3, S, S) -> embeddings (B, D).
        out: (len(windows), D) array written in place (a memory map on disk).
        batch: Tiles per inference call.
        readers: Reader threads.
        max_nodata: Windows with a larger share of invalid pixels are skipped.
        progress: Called after each batch.
        cancelled: Polled between batches; True stops with `CancelledError`.
    """
    total = len(windows)
    kept = np.zeros(total, dtype=bool)
    valid = np.zeros(total, dtype=np.float32)
    items: queue.Queue[Any] = queue.Queue(maxsize=max(2 * batch, 8))
    stop = threading.Event()

    def read(start: int) -> None:
        try:
            reader = source.open_reader()
            try:
                for i in range(start, total, readers):
                    if stop.is_set():
                        return
                    data = reader.read(windows[i])
                    mask = np.ma.getmaskarray(data).any(axis=0)
                    share = 1.0 - np.count_nonzero(mask) / mask.size
                    tile = None
                    if share > 0.0 and 1.0 - share <= max_nodata:
                        tile = prepare_window(data, source, spec)
                    items.put((i, tile, share))
            finally:
                reader.close()
        except BaseException as exc:
            items.put(exc)
        finally:
            items.put(_DONE)

    threads = [threading.Thread(target=read, args=(r,), daemon=True) for r in range(readers)]
    for thread in threads:
        thread.start()
    pending: list[tuple[int, npt.NDArray[np.float32]]] = []
    finished, done = 0, 0

    def flush() -> None:
        nonlocal done
        if pending:
            rows = [i for i, _ in pending]
            vectors = embed(np.stack([t for _, t in pending]))
            out[rows] = vectors.astype(out.dtype)
            kept[rows] = True
            pending.clear()
        if progress is not None:
            progress(done, total)
        if cancelled is not None and cancelled():
            raise CancelledError("cancelled; nothing was written")

    try:
        while finished < readers:
            item = items.get()
            if item is _DONE:
                finished += 1
                continue
            if isinstance(item, BaseException):
                raise item
            i, tile, share = item
            valid[i] = share
            done += 1
            if tile is not None:
                pending.append((i, tile))
            if len(pending) >= batch or done % (4 * batch) == 0:
                flush()
        flush()
    finally:
        stop.set()
        while any(t.is_alive() for t in threads):  # unblock readers waiting on a full queue
            with contextlib.suppress(queue.Empty):
                items.get(timeout=0.05)
    return Embedded(kept, valid)
