"""Rasterise a scene's layout block by block: the class mask and the per-pixel fields that the radar
and optical renderers share (region offsets, parcel edges, double-bounce walls, wakes, texture).

Every value is a function of absolute pixel position (see `noise`), so a block is the same whatever
the block size. Paint order: implicit land cover (farmland, forest, bare soil), vector layers (urban,
airports, water, harbours, piers), streets inside urban areas, roads (bridges where a road crosses
water), then objects from their exact pixel patches.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import shapely
from rasterio.features import rasterize
from shapely.geometry import box

from sargeo.runtime.grid import Window, array_slices, intersection
from sargeo.synth import noise
from sargeo.synth.layout import Layout
from sargeo.synth.objects import SceneObject
from sargeo.synth.tables import Backscatter, ClassTable

STREAM_FOREST = 1
STREAM_BARE = 2
STREAM_PARCEL = 3
STREAM_URBAN = 5
STREAM_TEXTURE = 8
STREAM_BUILDING = 44
"""Streams of the per-block building sizes (footprint and yard, along u and along v: 44-47)."""
MIN_COVERAGE = np.float32(1.0 / 16)
"""Smallest pixel coverage a hull's echo is scaled by (one sub-pixel of `objects.coverage_patch`)."""
MIN_BUILDING_CELLS = 2.0
"""Smallest building footprint (resolution cells) drawn as a building: coarser sensors (Sentinel-1's
20 m) see whole blocks."""
ZONE_GAIN = 0.62
"""Roughness of the forest and bare-soil zone fields (ragged edges, not ellipses)."""
OCTAVE_BINS = tuple(2.0**k for k in range(1, 11))
"""Cells (px) of the shared value-noise octaves that every class texture is mixed from."""

FloatArray = npt.NDArray[np.float32]


@dataclass
class Block:
    """One window of a scene: the class mask and the fields derived from the layout."""

    window: Window
    mask: npt.NDArray[np.uint8]
    region: FloatArray
    region_u: FloatArray
    edge: npt.NDArray[np.bool_]
    double_bounce: FloatArray
    wake: npt.NDArray[np.uint8]
    texture: FloatArray
    objects: list[SceneObject]
    offset_db: FloatArray | None = None
    """Per-object brightness offset (dB) on the object's pixels (ships); None where there is none."""


def texture_weights(classes: ClassTable, model: Backscatter, spacing: float) -> FloatArray:
    """Per class (256 rows) weights of each octave bin: a 3-octave fBm at the class's cell size.

    Each octave is shared between the two nearest bins (in log2), and the weights are normalised so
    that the mixed texture has unit variance.
    """
    w = np.zeros((256, len(OCTAVE_BINS)), np.float64)
    for info in classes.classes:
        cell = max(model.classes[info.name].texture_cell_m / spacing, OCTAVE_BINS[0])
        for j, amp in enumerate((1.0, 0.5, 0.25)):
            pos = min(max(math.log2(cell) - j - 1.0, 0.0), len(OCTAVE_BINS) - 1.0)
            k = math.floor(pos)
            f = pos - k
            w[info.value, k] += amp * (1.0 - f)
            if f > 0:
                w[info.value, k + 1] += amp * f
        norm = math.sqrt(float(np.sum(w[info.value] ** 2)))
        w[info.value] /= norm
    return w.astype(np.float32)


class Rasteriser:
    """Makes `Block`s of one scene from its layout and objects."""

    def __init__(
        self, layout: Layout, objects: list[SceneObject], classes: ClassTable, model: Backscatter
    ) -> None:
        self.layout = layout
        self.grid = layout.grid
        self.objects = objects
        self.classes = classes
        self.seed = layout.field_seed
        self.weights = texture_weights(classes, model, layout.grid.spacing)
        self.yard_db = model.yard_db
        self.resolution_m = model.resolution_m
        self.layer_geoms = [g for _, g in layout.layers]
        self.layer_values = [v for v, _ in layout.layers]
        self.layer_tree = shapely.STRtree(self.layer_geoms)
        v = classes.value
        self.v = {name: v(name) for name in ("farmland", "forest", "bare_soil", "urban", "road")}
        self.v["bridge"] = v("bridge")
        self.water = np.zeros(256, bool)
        for info in classes.classes:
            self.water[info.value] = info.kind == "water"
        self.extents = np.array(
            [
                [o.row0, o.col0, o.row0 + o.patch.shape[0], o.col0 + o.patch.shape[1]]
                for o in objects
            ]
            or np.zeros((0, 4)),
            dtype=np.int64,
        )
        self.wake_extents = np.array(
            [self._pixel_extent(shapely.union_all([g for g, _ in o.wakes])) for o in objects]
            or np.zeros((0, 4)),
            dtype=np.int64,
        )

    def _pixel_extent(self, geom: shapely.Geometry) -> tuple[int, int, int, int]:
        if geom.is_empty:
            return (0, 0, 0, 0)
        x0, y0, x1, y1 = geom.bounds
        c0, r0 = self.grid.to_pixel(x0, y1)
        c1, r1 = self.grid.to_pixel(x1, y0)
        return (math.floor(r0), math.floor(c0), math.ceil(r1) + 1, math.ceil(c1) + 1)

    def _base(self, window: Window, land_possible: bool) -> npt.NDArray[np.uint8]:
        """Implicit land cover: farmland, with forest and bare soil where zone noise is high."""
        mask = np.full((window.height, window.width), self.v["farmland"], np.uint8)
        if not land_possible:
            return mask
        f = self.layout.fields
        cell = f.zone_cell_px
        forest = (
            noise.fbm(self.seed, STREAM_FOREST, window, cell, 6, ZONE_GAIN) > f.forest_threshold
        )
        bare = (
            noise.fbm(self.seed, STREAM_BARE, window, cell * 0.7, 6, ZONE_GAIN) > f.bare_threshold
        )
        mask[bare] = self.v["bare_soil"]
        mask[forest] = self.v["forest"]
        return mask

    def _layers(self, mask: npt.NDArray[np.uint8], window: Window) -> None:
        bounds = self.grid.window_bounds(window)
        hits = np.sort(self.layer_tree.query(box(*bounds), predicate="intersects"))
        shapes_ = []
        for i in hits.tolist():
            clipped = shapely.clip_by_rect(self.layer_geoms[i], *self._pad(bounds))
            if not clipped.is_empty:
                shapes_.append((clipped, self.layer_values[i]))
        if shapes_:
            rasterize(shapes_, out=mask, transform=self.grid.window_transform(window))

    def _pad(self, bounds: tuple[float, float, float, float]) -> tuple[float, float, float, float]:
        p = 2 * self.grid.spacing
        return bounds[0] - p, bounds[1] - p, bounds[2] + p, bounds[3] + p

    def _grid_coords(
        self,
        rows: npt.NDArray[np.intp],
        cols: npt.NDArray[np.intp],
        window: Window,
        angle_deg: float,
    ) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
        """Rotated (u, v) pixel coordinates of scattered pixels of a window."""
        a = math.radians(angle_deg)
        x = (cols + window.col).astype(np.float64) + 0.5
        y = (rows + window.row).astype(np.float64) + 0.5
        return x * math.cos(a) + y * math.sin(a), -x * math.sin(a) + y * math.cos(a)

    def _urban(self, block: Block, look_sign: int, exponent: float) -> None:
        """Streets (road class), per-block offsets and double-bounce walls inside urban areas."""
        rows, cols = np.nonzero(block.mask == self.v["urban"])
        if rows.size == 0:
            return
        f = self.layout.fields
        u, v = self._grid_coords(rows, cols, block.window, f.urban_angle_deg)
        bs, sw = f.urban_block_px, f.urban_street_px
        bu, bv = np.floor(u / bs), np.floor(v / bs)
        fu, fv = u - bu * bs, v - bv * bs
        street = (fu < sw) | (fv < sw)
        block.mask[rows[street], cols[street]] = self.v["road"]
        keep = ~street
        rows, cols, fu, fv = rows[keep], cols[keep], fu[keep], fv[keep]
        bu, bv = bu[keep].astype(np.int64), bv[keep].astype(np.int64)
        block.region[rows, cols] = noise.region_values(self.seed, STREAM_URBAN, bu, bv, True)
        block.region_u[rows, cols] = noise.region_values(self.seed, STREAM_URBAN + 1, bu, bv, False)
        (u_in, u_lo, u_hi), (v_in, v_lo, v_hi) = (
            self._buildings(g - sw, bs - sw, bu, bv, STREAM_BUILDING + 2 * k)
            for k, g in enumerate((fu, fv))
        )
        a = math.radians(f.urban_angle_deg)
        ca, sa = math.cos(a), math.sin(a)
        gain = np.zeros(rows.size, np.float32)
        walls = [
            (u_lo & v_in, look_sign * ca > 0, abs(ca)),
            (u_hi & v_in, look_sign * ca < 0, abs(ca)),
            (v_lo & u_in, look_sign * sa < 0, abs(sa)),
            (v_hi & u_in, look_sign * sa > 0, abs(sa)),
        ]
        for where, facing, cosine in walls:
            if facing and cosine > 0:
                gain[where] += np.float32(cosine**exponent)  # corners: both walls, brighter
        block.double_bounce[rows, cols] = gain
        yard = ~(u_in & v_in)
        if yard.any():
            if block.offset_db is None:
                block.offset_db = np.zeros(block.mask.shape, np.float32)
            block.offset_db[rows[yard], cols[yard]] = np.float32(self.yard_db)

    def _buildings(
        self,
        g: npt.NDArray[np.float64],
        built: float,
        bu: npt.NDArray[np.int64],
        bv: npt.NDArray[np.int64],
        stream: int,
    ) -> tuple[npt.NDArray[np.bool_], npt.NDArray[np.bool_], npt.NDArray[np.bool_]]:
        """Along one axis of the urban grid: whether each pixel (``g`` px from its block's built
        edge, ``built`` px deep) lies inside a building, on its near wall or on its far wall.

        Each block draws its building footprint and yard (m, ``layout.json``); where a footprint is
        under `MIN_BUILDING_CELLS` resolution cells, the whole block is one building.
        """
        s = self.grid.spacing
        (f0, f1), (y0, y1) = self.layout.sizes.building_m, self.layout.sizes.yard_m
        fp = (f0 + (f1 - f0) * noise.region_values(self.seed, stream, bu, bv, False)) / s
        yd = (y0 + (y1 - y0) * noise.region_values(self.seed, stream + 1, bu, bv, False)) / s
        fine = fp * s >= MIN_BUILDING_CELLS * self.resolution_m
        lot = np.where(fine, fp + yd, built)
        half = np.where(fine, yd / 2, 0.0)
        start = np.floor(g / lot) * lot
        j = g - start
        inside = (j >= half) & (j < lot - half) & (start + lot <= built + 1e-3)
        near = inside & (j < half + 1)
        far = inside & (j >= lot - half - 1)
        return inside, near, far

    def _parcels(self, block: Block) -> None:
        """Farmland parcels: a rotated grid of strips cut into fields of varying width."""
        rows, cols = np.nonzero(block.mask == self.v["farmland"])
        if rows.size == 0:
            return
        f = self.layout.fields
        pw, ph = f.parcel_size_px
        u, v = self._grid_coords(rows, cols, block.window, f.parcel_angle_deg)
        strip = np.floor(v / ph).astype(np.int64)
        zero = np.zeros_like(strip)
        width = pw * (0.6 + 0.8 * noise.region_values(self.seed, STREAM_PARCEL, strip, zero, False))
        offset = noise.region_values(self.seed, STREAM_PARCEL + 1, strip, zero, False) * pw
        shifted = u + offset
        idx = np.floor(shifted / width).astype(np.int64)
        block.region[rows, cols] = noise.region_values(
            self.seed, STREAM_PARCEL + 2, strip, idx, True
        )
        block.region_u[rows, cols] = noise.region_values(
            self.seed, STREAM_PARCEL + 3, strip, idx, False
        )
        block.edge[rows, cols] = ((shifted - idx * width) < 1.0) | ((v - strip * ph) < 1.0)

    def _roads(self, mask: npt.NDArray[np.uint8], window: Window) -> None:
        bounds = self.grid.window_bounds(window)
        roads = self.layout.roads
        if roads.is_empty or not roads.intersects(box(*bounds)):
            return
        clipped = shapely.clip_by_rect(roads, *self._pad(bounds))
        if clipped.is_empty:
            return
        on = rasterize(
            [(clipped, 1)], out_shape=mask.shape, transform=self.grid.window_transform(window)
        )
        on = on.astype(bool)
        water = self.water[mask]
        mask[on & water] = self.v["bridge"]
        mask[on & ~water] = self.v["road"]

    def _overlapping(self, extents: npt.NDArray[np.int64], window: Window) -> npt.NDArray[np.intp]:
        r0, c0 = window.row, window.col
        r1, c1 = r0 + window.height, c0 + window.width
        e = extents
        return np.flatnonzero((e[:, 0] < r1) & (e[:, 2] > r0) & (e[:, 1] < c1) & (e[:, 3] > c0))

    def _objects(self, block: Block) -> None:
        w = block.window
        for i in self._overlapping(self.extents, w).tolist():
            o = self.objects[i]
            extent = Window(o.col0, o.row0, o.patch.shape[1], o.patch.shape[0])
            inner = intersection(extent, w)
            if inner is None:  # never: _overlapping found the objects that overlap
                continue
            src, dst = array_slices(inner, extent), array_slices(inner, w)
            sub = o.patch[src]
            block.mask[dst][sub] = self.classes.value(o.cls)
            if o.brightness_db or o.coverage is not None:
                if block.offset_db is None:
                    block.offset_db = np.zeros(block.mask.shape, np.float32)
                level = np.full(sub.shape, o.brightness_db, np.float32)
                if o.coverage is not None:  # a partly covered pixel holds part of the hull's echo
                    level += 10.0 * np.log10(np.maximum(o.coverage[src], MIN_COVERAGE))
                block.offset_db[dst][sub] = level[sub]
            block.objects.append(o)

    def _wakes(self, block: Block) -> None:
        w = block.window
        found = self._overlapping(self.wake_extents, w).tolist()
        if not found:
            return
        bounds = self._pad(self.grid.window_bounds(w))
        pieces = [(g, code) for i in found for g, code in self.objects[i].wakes]
        pieces.sort(key=lambda gc: gc[1])
        clipped = [(shapely.clip_by_rect(g, *bounds), c) for g, c in pieces]
        clipped = [(g, c) for g, c in clipped if not g.is_empty]
        if clipped:
            rasterize(clipped, out=block.wake, transform=self.grid.window_transform(w))

    def _texture(self, block: Block) -> FloatArray:
        """Unit-variance texture whose scale depends on each pixel's class (shared octaves)."""
        tex = np.zeros(block.mask.shape, np.float32)
        present = np.flatnonzero(np.bincount(block.mask.ravel(), minlength=256))
        used = np.flatnonzero(np.abs(self.weights[present]).sum(axis=0) > 0)
        for k in used.tolist():
            octave = noise.value_noise(self.seed, STREAM_TEXTURE + k, block.window, OCTAVE_BINS[k])
            octave *= self.weights[:, k][block.mask]
            tex += octave
        return tex

    def block(self, window: Window, look_sign: int, exponent: float) -> Block:
        """Rasterise one window of the scene."""
        shape = (window.height, window.width)
        sea = self.layout.sea
        land_possible = sea.is_empty or not sea.contains(box(*self.grid.window_bounds(window)))
        mask = self._base(window, land_possible)
        block = Block(
            window=window,
            mask=mask,
            region=np.zeros(shape, np.float32),
            region_u=np.zeros(shape, np.float32),
            edge=np.zeros(shape, bool),
            double_bounce=np.zeros(shape, np.float32),
            wake=np.zeros(shape, np.uint8),
            texture=np.zeros(0, np.float32),
            objects=[],
        )
        self._layers(mask, window)
        self._urban(block, look_sign, exponent)
        self._roads(mask, window)
        self._objects(block)
        self._parcels(block)
        self._wakes(block)
        block.texture = self._texture(block)
        return block
