"""``sargeo caption``: a raster's tiles, or the polygons of a region layer, captioned by a trained
SAR-RS-CoCa (torch), written as a GeoPackage layer in the raster's CRS.

The raster engine reads (`sargeo.inference.geo_source`), the runtime's pipeline prepares windows
(`sargeo.runtime.pipeline.embed_windows`: reader threads, the bundle-free preprocessing, nodata
skipped) and the caption comes from `sargeo.models.coca.captioning` (greedy or beam search of
`sargeo.runtime.decoding`). One feature per tile or region: its footprint (a region: its polygon's
outer ring; a multi-polygon's parts are regions of their own), the caption, its score (mean log-probability per token), the tile's
attributes (id, raster, pixel window, pixel spacing, acquisition time, valid share), the model's name
and the sha256 of the checkpoint's weights file (torch) or of the bundle (``bundle``: the exported
graphs through ONNX Runtime, decoded by the same numpy search). A region is captioned from the pixels of its bounding
window, at most `MAX_REGION_PX` on a side.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, cast

import numpy as np
import numpy.typing as npt
import torch

from sargeo.atomic import atomic_file, check_not_an_input
from sargeo.errors import InputError, OptionError, OutputError
from sargeo.inference.commands import Reading, progress_bar
from sargeo.inference.geo_source import GeoWindowSource, open_rasters
from sargeo.models.coca import SarCoca
from sargeo.models.coca.captioning import caption_tensors, decode_settings
from sargeo.runtime.bundle import sha256_file
from sargeo.runtime.coca import Captioned
from sargeo.runtime.decoding import DecodeSettings
from sargeo.runtime.gpkg import Field, Ring, Style, write_polygons
from sargeo.runtime.grid import Window, pixel_to_xy, tile_windows
from sargeo.runtime.index import TILE_FIELDS
from sargeo.runtime.pipeline import check_source, embed_windows
from sargeo.runtime.preprocess import PreprocessSpec
from sargeo.runtime.styles import graduated_qml

LAYER = "captions"
MAX_REGION_PX = 4096
"""The largest side of a region's bounding window read to caption it (its pixels are resized to the
model's input anyway); a larger region is refused with a message to split it."""

FIELDS = [
    Field("caption", "TEXT"),
    Field("score", "REAL"),
    Field("region", "MEDIUMINT"),
    *TILE_FIELDS,
    Field("pixel_spacing", "REAL"),
    Field("model", "TEXT"),
    Field("checkpoint_sha256", "TEXT"),
    Field("bundle_sha256", "TEXT"),
    Field("decoding", "TEXT"),
]


@dataclass(frozen=True)
class CaptionOptions:
    """The tile grid, decoding and the work.

    Attributes:
        size: Tile side in pixels of the raster's grid (tiles are resized to the model's input).
        overlap: Overlap between neighbouring tiles in pixels.
        max_nodata: Tiles with a larger share of invalid pixels are not captioned.
        batch: Tiles per encoder call.
        readers: Reader threads.
        threads: torch threads (None: torch's default).
        decode: Decoding settings over the model's defaults (``beam_width``, ``max_length``...).
    """

    size: int = 256
    overlap: int = 0
    max_nodata: float = 0.5
    batch: int = 16
    readers: int = 1
    threads: int | None = None
    decode: Mapping[str, Any] | None = None

    def check(self) -> None:
        """Refuse inconsistent options."""
        if self.size < 8:
            raise OptionError("size", f"must be at least 8 pixels, got {self.size}")
        if not 0 <= self.overlap < self.size:
            raise OptionError("overlap", f"must be in [0, size), got {self.overlap}")
        if not 0.0 <= self.max_nodata < 1.0:
            raise OptionError("max_nodata", f"must be in [0, 1), got {self.max_nodata}")
        if self.batch < 1 or self.readers < 1:
            raise OptionError("batch", "and `readers` must be at least 1")


@dataclass(frozen=True)
class LoadedCoca:
    """A trained CoCa in eval mode with where it came from."""

    model: SarCoca
    checkpoint: Path
    sha256: str


@dataclass(frozen=True)
class Captioner:
    """What captioning needs of a model, torch checkpoint or ONNX bundle alike."""

    name: str
    preprocess: PreprocessSpec
    settings: Callable[[Mapping[str, Any] | None], DecodeSettings]
    caption: Callable[[npt.NDArray[np.float32], DecodeSettings], list[Captioned]]
    checkpoint_sha256: str
    bundle_sha256: str
    source: Path


def _torch_captioner(path: Path, threads: int | None) -> Captioner:
    loaded = load_coca(path)
    if threads:
        torch.set_num_threads(threads)
    model = loaded.model
    return Captioner(
        model.name, model.preprocess, lambda o: decode_settings(model, o),
        lambda x, s: caption_tensors(model, torch.from_numpy(x), s),
        loaded.sha256, "", loaded.checkpoint,
    )  # fmt: skip


def _bundle_captioner(path: Path, threads: int | None) -> Captioner:
    from sargeo.runtime.bundle import load_bundle
    from sargeo.runtime.coca import CocaModel

    model = CocaModel(load_bundle(path), threads)
    bundle = model.bundle
    return Captioner(
        model.name, bundle.preprocess, model.settings, model.caption, "", bundle.sha256, path
    )


def load_coca(path: Path) -> LoadedCoca:
    """The CoCa of a run folder (its final model, else newest checkpoint) or checkpoint folder.

    Raises:
        InputError: no checkpoint there, or one of another task (a CLIP run) or that does not fit.
    """
    from sargeo.train.tasks import restore_trained

    if not path.exists():
        raise InputError(f"checkpoint {path} does not exist (a run folder or checkpoint folder)")
    wrong = "; captioning needs a coca one (sargeo train coca)"
    model, _, folder = restore_trained(path, "coca", wrong)
    assert isinstance(model, SarCoca)
    return LoadedCoca(model, folder, sha256_file(folder / "model.pt"))


@dataclass(frozen=True)
class _Region:
    number: int
    ring: Ring
    window: Window


def _read_regions(path: Path, source: GeoWindowSource) -> list[_Region]:
    """The polygons of a vector file in the raster's CRS with their pixel windows (clipped)."""
    import pyogrio
    from affine import Affine
    from shapely.geometry import MultiPolygon, Polygon

    try:
        frame = pyogrio.read_dataframe(path)
    except Exception as exc:  # pyogrio raises its own DataSourceError, DataLayerError...
        raise InputError(f"cannot read regions {path}: {str(exc).splitlines()[0]}") from exc
    frame = frame[frame.geometry.notna() & ~frame.geometry.is_empty]
    if frame.empty:
        raise InputError(f"regions {path} hold no polygon")
    if frame.crs is None:
        raise InputError(
            f"regions {path} have no CRS; give them one (the raster's: {source.crs.code})"
        )
    target = source.crs.wkt or source.crs.code
    frame = frame.to_crs(target)
    inverse = ~Affine(*source.transform)
    regions: list[_Region] = []
    outside = 0
    for number, geometry in enumerate(frame.geometry):
        if isinstance(geometry, Polygon):
            parts = [geometry]
        elif isinstance(geometry, MultiPolygon):
            parts = list(geometry.geoms)
        else:
            raise InputError(
                f"regions {path}: feature {number} is a {geometry.geom_type}, not a polygon"
            )
        for part in parts:
            x0, y0, x1, y1 = part.bounds
            pixels = [inverse * xy for xy in ((x0, y0), (x0, y1), (x1, y0), (x1, y1))]
            cols = [p[0] for p in pixels]
            rows = [p[1] for p in pixels]
            c0, c1 = max(0, int(np.floor(min(cols)))), min(source.width, int(np.ceil(max(cols))))
            r0, r1 = max(0, int(np.floor(min(rows)))), min(source.height, int(np.ceil(max(rows))))
            if c1 <= c0 or r1 <= r0:
                outside += 1
                continue
            if max(c1 - c0, r1 - r0) > MAX_REGION_PX:
                raise InputError(
                    f"region {number} of {path} spans {c1 - c0}x{r1 - r0} pixels; regions may span"
                    f" at most {MAX_REGION_PX} (split it, or caption tiles instead)"
                )
            ring = [(float(x), float(y)) for x, y in part.exterior.coords]
            regions.append(_Region(number, ring, Window(c0, r0, c1 - c0, r1 - r0)))
    if not regions:
        raise InputError(f"every region of {path} lies outside the raster {source.name}")
    return regions


def _mean_logprob(captioned: Captioned) -> float:
    """The caption's mean log-probability per generated token (end token included)."""
    hyp = captioned.hypothesis
    return hyp.logprob / max(1, hyp.length)


def _footprint(source: GeoWindowSource, w: Window) -> Ring:
    corners = [(w.col, w.row), (w.col + w.width, w.row), (w.col + w.width, w.row + w.height)]
    corners += [(w.col, w.row + w.height), (w.col, w.row)]
    return [pixel_to_xy(source.transform, c, r) for c, r in corners]


def _caption_windows(
    model: Captioner,
    source: GeoWindowSource,
    windows: Sequence[Window],
    options: CaptionOptions,
    max_nodata: float,
    progress: bool,
) -> tuple[list[Captioned | None], npt.NDArray[np.float32]]:
    """Caption every window with enough valid pixels (None for the others) and their valid share."""
    settings = model.settings(options.decode)
    results: list[Captioned] = []

    def encode(batch: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
        """Caption a batch; its 'embedding' is each caption's place in ``results``."""
        start = len(results)
        results.extend(model.caption(batch, settings))
        return np.arange(start, len(results), dtype=np.float32)[:, None]

    slots = np.full((len(windows), 1), -1, dtype=np.float32)
    update, close = progress_bar(progress, "captioning")
    try:
        done = embed_windows(
            source, windows, model.preprocess, encode, slots,
            batch=options.batch, readers=options.readers, max_nodata=max_nodata, progress=update,
        )  # fmt: skip
    finally:
        close()
    out = [
        results[int(s)] if kept else None for s, kept in zip(slots[:, 0], done.kept, strict=True)
    ]
    return out, done.valid


@dataclass(frozen=True)
class CaptionPlan:
    """What one caption job covers: the windows of the tile grid or of the regions, in order.

    Attributes:
        windows: Pixel windows to caption.
        ids: Their tile ids (``rRRRR_cCCCC``, or ``regionNNNN_IIII``).
        rings: Their footprints in the raster's CRS (a region: its polygon's outer ring).
        numbers: Their region's feature number (-1 for tiles).
        max_nodata: Windows with a larger share of invalid pixels are not captioned.
        what: ``tiles`` or ``regions``.
    """

    windows: list[Window]
    ids: list[str]
    rings: list[Ring]
    numbers: list[int]
    max_nodata: float
    what: str


def plan_captions(
    source: GeoWindowSource, regions: Path | None, options: CaptionOptions
) -> CaptionPlan:
    """The windows to caption: the tile grid of ``options``, or each polygon of ``regions``."""
    if regions is not None:
        parts = _read_regions(regions, source)
        return CaptionPlan(
            [r.window for r in parts],
            [f"region{r.number:04d}_{i:04d}" for i, r in enumerate(parts)],
            [r.ring for r in parts],
            [r.number for r in parts],
            0.999,
            "regions",
        )
    grid = tile_windows(source.width, source.height, options.size, options.overlap)
    windows = [w for row in grid for w in row]
    return CaptionPlan(
        windows,
        [f"r{r:04d}_c{c:04d}" for r, row in enumerate(grid) for c in range(len(row))],
        [_footprint(source, w) for w in windows],
        [-1] * len(windows),
        options.max_nodata,
        "tiles",
    )


def open_captioner(checkpoint: Path | None, bundle: Path | None, threads: int | None) -> Captioner:
    """A CoCa run or checkpoint (torch), or an exported CoCa bundle (ONNX Runtime): exactly one."""
    if (checkpoint is None) == (bundle is None):
        raise OptionError("checkpoint", "or `bundle`: give exactly one model")
    if bundle is not None:
        return _bundle_captioner(bundle, threads)
    return _torch_captioner(cast(Path, checkpoint), threads)


def open_source(raster: Path, reading: Reading) -> GeoWindowSource:
    """The raster to caption, read as ``reading`` says (one raster: never a mosaic)."""
    read = reading
    (source,) = open_rasters(
        [raster], crs=read.crs, resolution=read.resolution, units=read.units,
        polarisations=read.polarisations, allow_pixel_coords=read.allow_pixel_coords,
    )  # fmt: skip
    return source


Caption = tuple[str, float]
"""A window's caption and its score (mean log-probability per token)."""


def caption_plan(
    model: Captioner,
    source: GeoWindowSource,
    plan: CaptionPlan,
    options: CaptionOptions,
    span: slice = slice(None),
    progress: bool = False,
) -> tuple[list[Caption | None], npt.NDArray[np.float32]]:
    """Caption the windows ``span`` of ``plan`` (None where too much is nodata); their valid shares."""
    captions, valid = _caption_windows(
        model, source, plan.windows[span], options, plan.max_nodata, progress
    )
    out = [None if c is None else (c.caption, round(_mean_logprob(c), 6)) for c in captions]
    return out, valid


class CaptionRunner(Protocol):
    """Where a plan's windows are captioned: here (`caption_plan`) or elsewhere (on Dask,
    `sargeo.scale.caption.dask_runner`). Returns the captions, valid shares and a line to print."""

    def __call__(
        self,
        model: Captioner,
        source: GeoWindowSource,
        plan: CaptionPlan,
        options: CaptionOptions,
        *,
        progress: bool,
    ) -> tuple[list[Caption | None], npt.NDArray[np.float32], str]: ...


def decoding_name(settings: DecodeSettings) -> str:
    """How captions were decoded, for the ``decoding`` attribute."""
    way = "greedy" if settings.beam_width == 1 else f"beam {settings.beam_width}"
    return f"{way}, max {settings.max_length} tokens"


def write_captions(
    output: Path,
    source: GeoWindowSource,
    model: Captioner,
    plan: CaptionPlan,
    captions: Sequence[Caption | None],
    valid: npt.NDArray[np.float32],
    decoding: str,
    inputs: Sequence[Path],
) -> int:
    """The captioned windows as a styled GeoPackage layer, written atomically; returns features."""
    features: list[tuple[Ring, list[Any]]] = []
    for i, captioned in enumerate(captions):
        if captioned is None:
            continue
        w = plan.windows[i]
        sx, sy = source.pixel_spacing(w)
        values = [
            captioned[0], captioned[1], plan.numbers[i], plan.ids[i],
            source.name, w.col, w.row, w.width, w.height, float(sx), float(sy),
            source.acquisition_time, float(valid[i]), float(np.sqrt(sx * sy)),
            model.name, model.checkpoint_sha256, model.bundle_sha256, decoding,
        ]  # fmt: skip
        features.append((plan.rings[i], values))
    if not features:
        raise InputError(f"{source.name}: no tile or region has enough valid pixels to caption")
    style = Style(
        "sargeo captions",
        graduated_qml("score", [float(values[1]) for _, values in features], label="caption"),
        "fills graduated on the caption's score (mean log-probability), caption as label",
    )
    with atomic_file(output, inputs=inputs) as tmp:
        return write_polygons(tmp, LAYER, source.crs, FIELDS, features, style)


def caption_raster(
    raster: Path,
    checkpoint: Path | None,
    output: Path,
    *,
    bundle: Path | None = None,
    regions: Path | None = None,
    options: CaptionOptions | None = None,
    reading: Reading | None = None,
    overwrite: bool = False,
    progress: bool = True,
    runner: CaptionRunner | None = None,
) -> str:
    """Caption ``raster``'s tiles (or each polygon of ``regions``) into the GeoPackage ``output``,
    with a CoCa run or checkpoint (torch) or, given ``bundle``, an exported CoCa bundle (ONNX Runtime).
    A ``runner`` captions the windows elsewhere (`sargeo.scale.caption.dask_runner`: on Dask); the
    GeoPackage is the same.

    Returns:
        A summary for the command line.
    """
    opts = options or CaptionOptions()
    opts.check()
    if output.suffix.lower() != ".gpkg":
        raise OptionError("output", f"must be a GeoPackage (.gpkg), got {output.name}")
    if output.exists() and not overwrite:
        raise OutputError(f"output {output} exists (use `overwrite` to replace it)")
    started = time.perf_counter()
    model = open_captioner(checkpoint, bundle, opts.threads)
    settings = model.settings(opts.decode)
    read = reading or Reading()
    source = open_source(raster, read)
    check_source(source, model.preprocess)
    plan = plan_captions(source, regions, opts)
    inputs = [raster, model.source, *([regions] if regions is not None else [])]
    check_not_an_input(output, inputs)
    if runner is not None:
        captions, valid, ran = runner(model, source, plan, opts, progress=progress)
        ran = f"\n{ran}" if ran else ""
    else:
        captions, valid = caption_plan(model, source, plan, opts, progress=progress)
        ran = ""
    decoding = decoding_name(settings)
    count = write_captions(output, source, model, plan, captions, valid, decoding, inputs)
    seconds = time.perf_counter() - started
    lines = [
        f"captioned {count} of {len(plan.windows)} {plan.what} in {seconds:.1f} s ({decoding});"
        f" {output} (layer '{LAYER}'){ran}"
    ]
    shown = [(plan.ids[i], c[0]) for i, c in enumerate(captions) if c is not None][:3]
    lines += [f"  {tile}: {text}" for tile, text in shown]
    return "\n".join(lines)
