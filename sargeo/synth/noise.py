"""Deterministic random fields evaluated at absolute pixel coordinates.

Every random number of a scene is a function of (seed, stream, position), never of the order in which
blocks are made, so a scene is the same whether it is generated in one piece or in 1024 px blocks:
hashes for per-pixel and per-region values, hashed-lattice value noise (fBm) for smooth textures, and
fixed noise tiles (each with its own numpy generator) for Gamma, normal and complex normal draws. The
fields that are filtered (speckle, sea-clutter texture) are drawn with a halo around the block, which
may reach outside the scene: their tiles are keyed by a hash of any (also negative) tile index, so the
halo at the scene's edge is made of the same kind of noise as everywhere else.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import numpy.typing as npt
from scipy.special import ndtri

from sargeo.records import Window

FloatArray = npt.NDArray[np.float32]
U64 = npt.NDArray[np.uint64]
NOISE_TILE = 256
"""Side of the fixed tiles that Gamma and normal draws are made in."""
HALO_TILE = 128
"""Side of the tiles of fields drawn with a halo (speckle): smaller than `NOISE_TILE`, so that a halo
wastes few draws."""

_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)


def _mix(z: U64) -> U64:
    """splitmix64 finaliser: a fast, well-distributed 64-bit mixing function."""
    with np.errstate(over="ignore"):
        z = z + _GOLDEN
        z = (z ^ (z >> np.uint64(30))) * _M1
        z = (z ^ (z >> np.uint64(27))) * _M2
        return z ^ (z >> np.uint64(31))


def hash_u64(seed: int, stream: int, *keys: npt.ArrayLike) -> U64:
    """Hash (seed, stream, keys...) elementwise to uint64; keys are integer arrays that broadcast."""
    h = _mix(np.asarray([seed], dtype=np.uint64))
    h = _mix(h ^ np.uint64(stream))
    for key in keys:
        k = np.asarray(key, dtype=np.int64).astype(np.uint64)
        h = _mix(h ^ k)
    return h


def hash_uniform(seed: int, stream: int, *keys: npt.ArrayLike) -> npt.NDArray[np.float64]:
    """Uniform values in the open interval (0, 1), one per broadcast key."""
    h = hash_u64(seed, stream, *keys)
    return ((h >> np.uint64(11)).astype(np.float64) + 0.5) / float(1 << 53)


def hash_normal(seed: int, stream: int, *keys: npt.ArrayLike) -> npt.NDArray[np.float64]:
    """Standard normal values, one per broadcast key."""
    return np.asarray(ndtri(hash_uniform(seed, stream, *keys)), dtype=np.float64)


def region_values(
    seed: int, stream: int, a: npt.NDArray[np.int64], b: npt.NDArray[np.int64], normal: bool
) -> npt.NDArray[np.float32]:
    """`hash_normal` (or `hash_uniform`) of integer region keys (a, b), hashed once per region.

    The keys of a block span a small range, so a table over that range is hashed and gathered; the
    values are those of hashing every pixel.
    """
    if a.size == 0:
        return np.zeros(a.shape, np.float32)
    a0, b0 = int(a.min()), int(b.min())
    ka = np.arange(a0, int(a.max()) + 1)[:, None]
    kb = np.arange(b0, int(b.max()) + 1)[None, :]
    table = (hash_normal if normal else hash_uniform)(seed, stream, ka, kb).astype(np.float32)
    return table[a - a0, b - b0]


def _smoothstep(t: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    return t * t * (3.0 - 2.0 * t)


def _interp_weights(
    pixels: npt.NDArray[np.int64], cell: float
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float32]]:
    """Lattice index and smooth weight for the centres of the given absolute pixel indices."""
    pos = (pixels.astype(np.float64) + 0.5) / cell
    i0 = np.floor(pos).astype(np.int64)
    return i0, _smoothstep(pos - i0).astype(np.float32)


def _variance_factor() -> float:
    """Variance of 1D smoothstep interpolation between independent unit-variance lattice values."""
    s = _smoothstep(np.linspace(0.0, 1.0, 20001))
    return float(np.mean((1.0 - s) ** 2 + s**2))


_VAR1D = _variance_factor()


def _lattice(
    seed: int, stream: int, iy: npt.NDArray[np.int64], ix: npt.NDArray[np.int64]
) -> tuple[npt.NDArray[np.float32], int, int]:
    """Gaussian lattice values covering lattice indices iy..max+1, ix..max+1, and the origin."""
    y0, x0 = int(iy.min()), int(ix.min())
    ly = np.arange(y0, int(iy.max()) + 2)
    lx = np.arange(x0, int(ix.max()) + 2)
    values = hash_normal(seed, stream, ly[:, None], lx[None, :]) / _VAR1D
    return values.astype(np.float32), y0, x0


def value_noise(seed: int, stream: int, window: Window, cell: float) -> FloatArray:
    """Smooth noise with unit variance and feature size ``cell`` px on ``window``.

    Gaussian values on a lattice of spacing ``cell`` (hashed from their absolute lattice index) are
    interpolated with smoothstep weights, separably: one pass along columns, one along rows.
    """
    iy, ty = _interp_weights(np.arange(window.row, window.row + window.height), cell)
    ix, tx = _interp_weights(np.arange(window.col, window.col + window.width), cell)
    lattice, y0, x0 = _lattice(seed, stream, iy, ix)
    cx = ix - x0
    cols = lattice[:, cx] * (1.0 - tx) + lattice[:, cx + 1] * tx
    ry = iy - y0
    out = cols[ry, :]
    out *= (1.0 - ty)[:, None]
    low = cols[ry + 1, :]
    low *= ty[:, None]
    out += low
    return out


def value_noise_at(
    seed: int,
    stream: int,
    window: Window,
    rows: npt.NDArray[np.intp],
    cols: npt.NDArray[np.intp],
    cell: float,
) -> FloatArray:
    """`value_noise` at scattered pixels (rows, cols relative to ``window``): the same values."""
    if rows.size == 0:
        return np.zeros(0, np.float32)
    iy_all, ty_all = _interp_weights(np.arange(window.row, window.row + window.height), cell)
    ix_all, tx_all = _interp_weights(np.arange(window.col, window.col + window.width), cell)
    lattice, y0, x0 = _lattice(seed, stream, iy_all, ix_all)
    nx = lattice.shape[1]
    flat = lattice.ravel()
    idx = ((iy_all - y0) * nx)[rows] + (ix_all - x0)[cols]
    tx = tx_all[cols]
    ty = ty_all[rows]
    top = flat.take(idx)
    top += (flat.take(idx + 1) - top) * tx
    bottom = flat.take(idx + nx)
    bottom += (flat.take(idx + nx + 1) - bottom) * tx
    top += (bottom - top) * ty
    return top


def _octaves(cell: float, octaves: int, gain: float = 0.5) -> list[tuple[int, float, float]]:
    """(octave index, amplitude, cell) of each octave whose cell is at least one pixel."""
    out = [(k, gain**k, cell / 2**k) for k in range(octaves) if cell / 2**k >= 1.0]
    return out or [(0, 1.0, max(cell, 1.0))]


def fbm(
    seed: int, stream: int, window: Window, cell: float, octaves: int = 3, gain: float = 0.5
) -> FloatArray:
    """Fractal (multi-octave) value noise with unit variance; each octave halves the cell and
    multiplies the amplitude by ``gain`` (higher gain: rougher)."""
    total = np.zeros((window.height, window.width), np.float32)
    parts = _octaves(cell, octaves, gain)
    for k, amp, c in parts:
        total += np.float32(amp) * value_noise(seed, stream * 16 + k, window, c)
    return total / np.float32(np.sqrt(sum(a * a for _, a, _ in parts)))


def fbm_at(
    seed: int,
    stream: int,
    window: Window,
    rows: npt.NDArray[np.intp],
    cols: npt.NDArray[np.intp],
    cell: float,
    octaves: int = 3,
) -> FloatArray:
    """`fbm` at scattered pixels (rows, cols relative to ``window``)."""
    total = np.zeros(rows.shape, np.float32)
    parts = _octaves(cell, octaves)
    for k, amp, c in parts:
        total += np.float32(amp) * value_noise_at(seed, stream * 16 + k, window, rows, cols, c)
    return total / np.float32(np.sqrt(sum(a * a for _, a, _ in parts)))


def _tiles(
    window: Window, tile: int = NOISE_TILE
) -> list[tuple[int, int, slice, slice, slice, slice]]:
    """Noise tiles overlapping ``window``: (ty, tx, tile rows, tile cols, out rows, out cols)."""
    out = []
    r0, r1 = window.row, window.row + window.height
    c0, c1 = window.col, window.col + window.width
    for ty in range(r0 // tile, (r1 - 1) // tile + 1):
        for tx in range(c0 // tile, (c1 - 1) // tile + 1):
            ar0, ar1 = max(r0, ty * tile), min(r1, (ty + 1) * tile)
            ac0, ac1 = max(c0, tx * tile), min(c1, (tx + 1) * tile)
            out.append(
                (
                    ty,
                    tx,
                    slice(ar0 - ty * tile, ar1 - ty * tile),
                    slice(ac0 - tx * tile, ac1 - tx * tile),
                    slice(ar0 - r0, ar1 - r0),
                    slice(ac0 - c0, ac1 - c0),
                )
            )
    return out


def gamma_field(seed: int, stream: int, window: Window, shape: float) -> FloatArray:
    """Gamma(shape, 1/shape) draws (mean 1) on ``window``, from fixed, seeded noise tiles."""
    out = np.empty((window.height, window.width), np.float32)
    for ty, tx, tr, tc, orow, ocol in _tiles(window):
        rng = np.random.default_rng([seed, stream, ty, tx])
        tile = rng.standard_gamma(shape, size=(NOISE_TILE, NOISE_TILE), dtype=np.float32)
        out[orow, ocol] = tile[tr, tc]
    out /= np.float32(shape)
    return out


def normal_field(seed: int, stream: int, window: Window) -> FloatArray:
    """Standard normal draws on ``window``, from fixed, seeded noise tiles."""
    out = np.empty((window.height, window.width), np.float32)
    for ty, tx, tr, tc, orow, ocol in _tiles(window):
        rng = np.random.default_rng([seed, stream, ty, tx])
        tile = rng.standard_normal(size=(NOISE_TILE, NOISE_TILE), dtype=np.float32)
        out[orow, ocol] = tile[tr, tc]
    return out


def _halo_tiles(
    seed: int, stream: int, layer: int, window: Window
) -> Iterator[tuple[np.random.Generator, slice, slice, slice, slice]]:
    """Generators of the `HALO_TILE` tiles overlapping ``window`` (which may reach outside the scene),
    with (tile rows, tile cols, out rows, out cols).

    Each tile's generator is seeded by the hash of (seed, stream, layer, tile row, tile column), so
    any integer tile index (negative too) has its own seed.
    """
    tiles = _tiles(window, HALO_TILE)
    keys = hash_u64(seed, stream, layer, [t[0] for t in tiles], [t[1] for t in tiles])
    for (_, _, tr, tc, orow, ocol), key in zip(tiles, keys.tolist(), strict=True):
        yield np.random.default_rng(key), tr, tc, orow, ocol


def circular_normal_field(
    seed: int, stream: int, layer: int, window: Window
) -> tuple[FloatArray, FloatArray]:
    """Real and imaginary parts of circular complex Gaussian draws (E|z|^2 = 1) on ``window``.

    ``window`` may reach outside the scene (negative rows or columns: the halo of a filter at the
    scene's edge); ``layer`` numbers independent fields of one stream (the looks of speckle). Drawn
    by Box-Muller from uniforms: ``|z|^2 = -ln(u1)`` (exponential, mean 1), phase ``2 pi u2``.
    """
    shape = (window.height, window.width)
    power, phase = np.empty(shape, np.float32), np.empty(shape, np.float32)
    for rng, tr, tc, orow, ocol in _halo_tiles(seed, stream, layer, window):
        tile = rng.random(size=(2, HALO_TILE, HALO_TILE), dtype=np.float32)
        power[orow, ocol] = tile[0, tr, tc]
        phase[orow, ocol] = tile[1, tr, tc]
    np.subtract(np.float32(1.0), power, out=power)  # (0, 1]: the logarithm stays finite
    np.log(power, out=power)
    np.negative(power, out=power)
    amplitude = np.sqrt(power, out=power)
    phase *= np.float32(2.0 * np.pi)
    real = np.cos(phase)
    np.sin(phase, out=phase)
    real *= amplitude
    phase *= amplitude
    return real, phase


def gamma_halo_field(
    seed: int, stream: int, layer: int, window: Window, shape: float
) -> FloatArray:
    """Gamma(shape, 1/shape) draws (mean 1) on ``window``, which may reach outside the scene, from
    the tiles of `circular_normal_field` (not the values of `gamma_field`)."""
    out = np.empty((window.height, window.width), np.float32)
    for rng, tr, tc, orow, ocol in _halo_tiles(seed, stream, layer, window):
        tile = rng.standard_gamma(shape, size=(HALO_TILE, HALO_TILE), dtype=np.float32)
        out[orow, ocol] = tile[tr, tc]
    out /= np.float32(shape)
    return out
