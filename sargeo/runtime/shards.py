"""The vectors of a sharded index, seen as one (N, D) float16 array.

A sharded index (``"layout": "sharded"`` in ``index.json``, format version 2) keeps its vectors in
``shards/vectors-NNNNN.f16`` and the tile records of the same rows in ``shards/tiles-NNNNN.npy``.
``index.json`` lists each shard's row count; the shards' rows follow one another in that order, so
row numbers, tile ids and search results are those of the single-file layout. A Dask index writes
one shard per partition, so that its merge links files instead of copying vectors.

`ShardedVectors` answers what search and heatmaps ask of the single file's memory map (``len``,
``shape``, row slices, row lists) by memory-mapping the shards it reads, one at a time: a search that
streams chunks holds one chunk beside its top-k, and a thousand shards never hold a thousand maps.
"""

from __future__ import annotations

import mmap
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from sargeo.errors import InputError

SHARDS = "shards"
"""The folder of the shards inside the index folder."""


def shard_paths(folder: Path, number: int) -> tuple[Path, Path]:
    """The vectors file and tile-records file of shard ``number`` of the index at ``folder``."""
    return (
        folder / SHARDS / f"vectors-{number:05d}.f16",
        folder / SHARDS / f"tiles-{number:05d}.npy",
    )


def shard_rows(manifest: dict[str, Any]) -> list[int] | None:
    """The row count of each shard that ``index.json`` lists, or None when it lists none validly."""
    rows = manifest.get("shards")
    if not isinstance(rows, list) or not all(isinstance(n, int) and n > 0 for n in rows):
        return None
    return rows


class ShardedVectors:
    """Rows of several float16 files, read as one (N, D) array; every read returns a new array.

    Args:
        paths: The shards' vectors files, in row order.
        rows: Each shard's row count (positive).
        dim: The vector size.
    """

    dtype = np.dtype(np.float16)
    ndim = 2

    def __init__(self, paths: Sequence[Path], rows: Sequence[int], dim: int) -> None:
        self.paths = list(paths)
        self.rows = np.asarray(rows, dtype=np.int64)
        self.starts = np.concatenate([[0], np.cumsum(self.rows)]).astype(np.int64)
        self.dim = dim
        self._mapped: tuple[int, npt.NDArray[np.float16]] | None = None

    @property
    def shape(self) -> tuple[int, int]:
        """(rows, vector size), as of one array."""
        return int(self.starts[-1]), self.dim

    def __len__(self) -> int:
        return int(self.starts[-1])

    def __repr__(self) -> str:
        return f"ShardedVectors({len(self)} x {self.dim}, {len(self.paths)} shards)"

    def shard(self, number: int) -> npt.NDArray[np.float16]:
        """Shard ``number`` memory-mapped, read-only (the last one mapped is kept until another is).

        Mapped with `mmap` rather than `numpy.memmap`, whose path resolution costs more than reading
        a small shard: a Dask index has shards of a partition's tiles (256 by default).
        """
        last = self._mapped  # read once: another thread may map another shard meanwhile
        if last is not None and last[0] == number:
            return last[1]
        path, rows = self.paths[number], int(self.rows[number])
        try:
            with path.open("rb") as handle:
                mapped = mmap.mmap(handle.fileno(), rows * self.dim * 2, access=mmap.ACCESS_READ)
        except (OSError, ValueError) as exc:
            raise InputError(f"shard {path} cannot be read; build the index again") from exc
        data = np.frombuffer(mapped, dtype=np.float16).reshape(rows, self.dim)
        self._mapped = (number, data)
        return data

    def read(self, start: int, stop: int, dtype: npt.DTypeLike = np.float16) -> npt.NDArray[Any]:
        """Rows ``[start, stop)`` (0 <= start <= stop <= N) into a new array of ``dtype``, converted
        shard by shard (one pass, as numpy converts a slice of the single file's memory map)."""
        out = np.empty((stop - start, self.dim), dtype=dtype)
        number = int(np.searchsorted(self.starts, start, side="right")) - 1
        at = start
        while at < stop:
            base = int(self.starts[number])
            end = min(stop, int(self.starts[number + 1]))
            out[at - start : end - start] = self.shard(number)[at - base : end - base]
            at, number = end, number + 1
        return out

    def _take(self, rows: npt.NDArray[np.integer[Any]]) -> npt.NDArray[np.float16]:
        """The listed rows (any order, repeats allowed, negative from the end), shard by shard."""
        n = len(self)
        wanted = np.asarray(rows, dtype=np.int64).reshape(-1)
        if wanted.size and (wanted.min() < -n or wanted.max() >= n):
            raise IndexError(f"row index out of range for {n} rows")
        wanted = np.where(wanted < 0, wanted + n, wanted)
        out = np.empty((len(wanted), self.dim), dtype=np.float16)
        owner = np.searchsorted(self.starts, wanted, side="right") - 1
        order = np.argsort(owner, kind="stable")
        bounds = np.flatnonzero(np.diff(owner[order])) + 1
        for group in np.split(order, bounds) if len(order) else []:
            number = int(owner[group[0]])
            out[group] = self.shard(number)[wanted[group] - self.starts[number]]
        return out.reshape((*np.shape(rows), self.dim))

    def __getitem__(self, key: Any) -> Any:
        """Rows by an int, a slice, an int or bool array, or a tuple whose first item is one of them."""
        if isinstance(key, tuple):
            first = self[key[0]]
            rest = key[1:]
            return (
                first[rest] if isinstance(key[0], int | np.integer) else first[(slice(None), *rest)]
            )
        if isinstance(key, int | np.integer):
            row = int(key) + len(self) if key < 0 else int(key)
            if not 0 <= row < len(self):
                raise IndexError(f"row {int(key)} out of range for {len(self)} rows")
            return self.read(row, row + 1)[0]
        if isinstance(key, slice):
            start, stop, step = key.indices(len(self))
            if step == 1:
                return self.read(start, max(start, stop))
            return self._take(np.arange(start, stop, step))
        rows = np.asarray(key)
        if rows.size == 0:
            rows = rows.astype(np.int64)  # an empty list selects no row, as in numpy
        if rows.dtype == np.bool_:
            if rows.shape != (len(self),):
                raise IndexError(f"a boolean row mask must have {len(self)} items")
            return self._take(np.flatnonzero(rows))
        if not np.issubdtype(rows.dtype, np.integer):
            raise IndexError(f"rows are indexed by ints, slices or int/bool arrays, not {key!r}")
        return self._take(rows)

    def __array__(self, dtype: Any = None, copy: bool | None = None) -> npt.NDArray[Any]:
        return self.read(0, len(self), np.float16 if dtype is None else dtype)

    def astype(self, dtype: npt.DTypeLike) -> npt.NDArray[Any]:
        """Every row in a new array of ``dtype`` (the whole index in memory: for small ones)."""
        return self.read(0, len(self), dtype)


def shards_complete(folder: Path, manifest: dict[str, Any]) -> bool:
    """Whether every shard that ``index.json`` lists is there with its full size."""
    rows = shard_rows(manifest)
    if not rows or sum(rows) != manifest.get("count"):
        return False
    dim = int(manifest["dim"])
    for number, count in enumerate(rows):
        vectors, tiles = shard_paths(folder, number)
        if not (
            vectors.is_file() and vectors.stat().st_size == count * dim * 2 and tiles.is_file()
        ):
            return False
    return True


def open_shards(
    folder: Path, manifest: dict[str, Any], tile_dtype: np.dtype[Any]
) -> tuple[ShardedVectors, npt.NDArray[Any]]:
    """The shards' vectors (unread) and their tile records (concatenated, in row order).

    Raises:
        InputError: when a shard is missing, of the wrong size or unreadable (one line).
    """
    rows = shard_rows(manifest)
    count, dim = int(manifest["count"]), int(manifest["dim"])
    if not rows or sum(rows) != count:
        raise InputError(f"index {folder}: index.json lists no valid shards; build it again")
    paths, blocks = [], []
    for number, expected in enumerate(rows):
        vectors, tiles = shard_paths(folder, number)
        name = f"{SHARDS}/{vectors.name}"
        if not vectors.is_file() or vectors.stat().st_size != expected * dim * 2:
            raise InputError(
                f"index {folder}: shard {name} is missing or incomplete; build it again"
            )
        try:
            block = np.load(tiles, allow_pickle=False)
        except (OSError, ValueError) as exc:
            raise InputError(
                f"index {folder}: {SHARDS}/{tiles.name} cannot be read; build it again"
            ) from exc
        if block.dtype != tile_dtype or block.shape != (expected,):
            raise InputError(
                f"index {folder}: {SHARDS}/{tiles.name} does not match {name}; build it again"
            )
        paths.append(vectors)
        blocks.append(block)
    return ShardedVectors(paths, rows, dim), np.concatenate(blocks)


def read_rows(
    vectors: npt.NDArray[Any] | ShardedVectors, start: int, stop: int
) -> npt.NDArray[np.float32]:
    """Rows ``[start, stop)`` of stored vectors as float32 (shards converted as read, in one pass)."""
    if isinstance(vectors, ShardedVectors):
        return vectors.read(start, min(stop, len(vectors)), np.float32)
    return np.ascontiguousarray(vectors[start:stop], dtype=np.float32)
