"""Orchestration: draw a scene from (seed, index), then rasterise, simulate and write it block by block.

Scene ``i`` of seed ``s`` depends on (s, i) only, not on how many scenes are made or on the block
size, so runs are reproducible and scenes can be regenerated one at a time.
"""

from __future__ import annotations

import sys
from collections import Counter, deque
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from pyproj import Transformer
from tqdm import tqdm

from sargeo import __version__
from sargeo.atomic import atomic_dir, check_not_an_input, check_output_dir
from sargeo.errors import OptionError
from sargeo.records import Window
from sargeo.runtime.preprocess import to_linear_power
from sargeo.synth import (
    DISPLAY_FILE,
    FORMAT_VERSION,
    MANIFEST,
    SAR_UNITS,
    SCENE_FILES,
    scene_dirname,
)
from sargeo.synth.grid import Grid
from sargeo.synth.landcover import Block, Rasteriser
from sargeo.synth.layout import MAX_EXTENT_M, Layout, make_grid, make_layout
from sargeo.synth.objects import SceneObject, place_objects
from sargeo.synth.optical import Optical
from sargeo.synth.optical_caption import optical_captions
from sargeo.synth.physics import Radar, RadarOptions
from sargeo.synth.sensors import Presets, Render, amplitude_u8, load_presets
from sargeo.synth.tables import (
    BACKSCATTER_PATH,
    Backscatter,
    ClassTable,
    load_backscatter,
    load_classes,
)
from sargeo.synth.writer import coco_document, open_rasters, write_json, write_objects

MIN_SIZE = 64
MAX_SIZE = 32768
SENSOR = "sargeo.synth C-band SAR (Sentinel-1 IW GRD-like, simulated)"


DEFAULT_SPACING = 10.0
"""Pixel spacing (m) without a sensor preset: the backscatter table's Sentinel-1 IW GRDH."""


@dataclass(frozen=True)
class SynthOptions:
    """What to generate.

    ``spacing`` None takes the sensor's spacing (10 m without one); ``looks`` None the sensor's or
    the table's looks (Sentinel-1 GRD: 4.4). ``sensor`` names a preset of ``sensors.json`` (None:
    the backscatter table as it is); ``render`` a rendering of it (``float``: sigma0 only).
    """

    size: int = 1024
    spacing: float | None = None
    seed: int = 0
    units: str = "dB"
    looks: float | None = None
    speckle: bool = True
    k_texture: bool = True
    block: int = 1024
    backscatter: Path | None = None
    workers: int = 2
    sensor: str | None = None
    render: str = "float"


def resolve_options(options: SynthOptions, presets: Presets | None = None) -> SynthOptions:
    """``options`` with the spacing filled in from the sensor (unknown names: OptionError)."""
    presets = presets or load_presets()
    presets.render(options.render)
    if options.sensor is None:
        sensor_spacing = DEFAULT_SPACING
    else:
        sensor_spacing = presets.sensor(options.sensor).spacing_m
    if options.spacing is None:
        return replace(options, spacing=sensor_spacing)
    return options


def check_looks(options: SynthOptions, model: Backscatter) -> None:
    """Refuse more looks than the table allows (``max_looks``): speckle costs a field per look."""
    if options.looks is not None and options.looks > model.max_looks:
        raise OptionError(
            "looks",
            f"must be at most {model.max_looks:g} (max_looks of the table), got {options.looks:g}",
        )


def check_options(options: SynthOptions) -> None:
    """Refuse impossible options with a one-line message (``options`` resolved)."""
    spacing = options.spacing if options.spacing is not None else DEFAULT_SPACING
    if not MIN_SIZE <= options.size <= MAX_SIZE:
        raise OptionError(
            "size", f"must be between {MIN_SIZE} and {MAX_SIZE} px, got {options.size}"
        )
    if not 0.1 <= spacing <= 1000:
        raise OptionError("spacing", f"must be between 0.1 and 1000 m, got {spacing}")
    if options.size * spacing > MAX_EXTENT_M:
        raise OptionError(
            "spacing",
            f"makes a scene {options.size * spacing / 1000:g} km across at "
            f"{options.size} px; at most {MAX_EXTENT_M / 1000:g} km (one UTM zone) fits",
        )
    if options.units not in SAR_UNITS:
        raise OptionError(
            "units", f"must be {' or '.join(map(repr, SAR_UNITS))}, got {options.units!r}"
        )
    if options.looks is not None and not options.looks > 0:
        raise OptionError("looks", f"must be positive, got {options.looks}")
    if options.block < 256 or options.block % 256:
        raise OptionError("block", f"must be a positive multiple of 256 px, got {options.block}")
    if options.workers < 1:
        raise OptionError("workers", f"must be at least 1, got {options.workers}")
    if not 0 <= options.seed < 2**63:
        raise OptionError("seed", f"must be a non-negative integer, got {options.seed}")


@dataclass
class Scene:
    """Everything drawn from a scene's seed, ready to render blocks."""

    index: int
    id: str
    layout: Layout
    objects: list[SceneObject]
    rasteriser: Rasteriser
    radar: Radar
    optical: Optical
    classes: ClassTable
    model: Backscatter
    options: SynthOptions
    render: Render
    sensor_label: str

    @property
    def grid(self) -> Grid:
        """The scene's pixel grid."""
        return self.layout.grid


def load_model(options: SynthOptions, classes: ClassTable, presets: Presets) -> Backscatter:
    """The backscatter table of ``options`` imaged by its sensor; refuses too many looks."""
    model = load_backscatter(options.backscatter or BACKSCATTER_PATH, classes)
    if options.sensor is not None:
        model = presets.sensor(options.sensor).apply(model)
    check_looks(options, model)
    return model


def build_scene(
    options: SynthOptions,
    index: int,
    classes: ClassTable | None = None,
    model: Backscatter | None = None,
) -> Scene:
    """Draw scene ``index`` of ``options.seed``: grid, layout, objects and the renderers."""
    presets = load_presets()
    options = resolve_options(options, presets)
    check_options(options)
    classes = classes or load_classes()
    model = model or load_model(options, classes, presets)
    check_looks(options, model)
    rng = np.random.default_rng(np.random.SeedSequence([options.seed, index]))
    grid = make_grid(rng, options.size, options.spacing or DEFAULT_SPACING)
    layout = make_layout(rng, grid, model, classes)
    objects = place_objects(layout, rng, model)
    radar_options = RadarOptions(
        looks=options.looks or model.looks,
        speckle=options.speckle,
        k_texture=options.k_texture,
        units=options.units,
    )
    radar = Radar(
        model, classes, layout.acquisition, layout.fields, grid.size, grid.spacing,
        layout.field_seed, radar_options, objects,
    )  # fmt: skip
    return Scene(
        index=index,
        id=f"synth-s{options.seed}-{index:04d}",
        layout=layout,
        objects=objects,
        rasteriser=Rasteriser(layout, objects, classes, model),
        radar=radar,
        optical=Optical(classes),
        classes=classes,
        model=model,
        options=options,
        render=presets.render(options.render),
        sensor_label=SENSOR if options.sensor is None else presets.sensor(options.sensor).label,
    )


Rendered = tuple[
    Block, npt.NDArray[np.float32], npt.NDArray[np.uint8], npt.NDArray[np.uint8] | None
]


def render_block(scene: Scene, window: Window) -> Rendered:
    """One block: its fields (with the mask), SAR (2, h, w), RGB (3, h, w) and the 8-bit VV
    amplitude (h, w) of an ``amplitude_u8`` rendering (else None)."""
    block = scene.rasteriser.block(
        window, scene.layout.acquisition.look_sign, scene.model.cardinal_exponent
    )
    vv, vh = scene.radar.sigma0(block)
    display = None
    if scene.render.eight_bit:
        linear = vv if scene.options.units == "linear" else to_linear_power(vv, "dB")
        display = amplitude_u8(linear, scene.render.saturation_db)
    return block, np.stack([vv, vh]), scene.optical.render(block), display


def _sar_tags(scene: Scene) -> dict[str, str]:
    acq = scene.layout.acquisition
    return {
        "units": scene.options.units,
        "ACQUISITION_START_TIME": acq.start_time.isoformat(),
        "INCIDENCE_NEAR": f"{acq.incidence_near:.3f}",
        "INCIDENCE_FAR": f"{acq.incidence_far:.3f}",
        "PASS": acq.pass_direction,
        "LOOK_SIDE": "right",
        "LOOKS": f"{scene.radar.options.looks:g}",
        "SENSOR": scene.sensor_label,
        "POLARISATIONS": "VV,VH",
        "SCENE_ID": scene.id,
        "SEED": str(scene.options.seed),
    }


def scene_parameters(scene: Scene, class_pixels: dict[int, int]) -> dict[str, Any]:
    """The content of scene.json."""
    grid = scene.grid
    acq = scene.layout.acquisition
    lon, lat = Transformer.from_crs(grid.crs, "EPSG:4326", always_xy=True).transform(
        grid.x0 + grid.extent_m / 2, grid.y0 - grid.extent_m / 2
    )
    return {
        "format_version": FORMAT_VERSION,
        "id": scene.id,
        "index": scene.index,
        "seed": scene.options.seed,
        "size": grid.size,
        "pixel_spacing": grid.spacing,
        "crs": grid.crs,
        "transform": list(grid.transform)[:6],
        "bounds": list(grid.bounds),
        "centre_lonlat": [round(lon, 6), round(lat, 6)],
        "units": scene.options.units,
        "polarisations": ["VV", "VH"],
        "looks": scene.radar.options.looks,
        "speckle": scene.options.speckle,
        "k_texture": scene.options.k_texture,
        "incidence": {
            "near": acq.incidence_near,
            "far": acq.incidence_far,
            "reference": scene.model.reference_incidence_deg,
            "increases_to": "east" if acq.look_sign > 0 else "west",
        },
        "pass": acq.pass_direction,
        "look_side": "right",
        "acquisition_start_time": acq.start_time.isoformat(),
        "sensor": scene.sensor_label,
        "sensor_preset": scene.options.sensor,
        "resolution_m": scene.model.resolution_m,
        "render": scene.render.record(),
        "backscatter_sha256": scene.model.sha256,
        "classes": {str(k): v for k, v in scene.classes.names.items()},
        "class_pixels": {str(k): v for k, v in sorted(class_pixels.items())},
        "object_counts": dict(sorted(Counter(o.cls for o in scene.objects).items())),
        "layout_counts": scene.layout.counts,
        "files": dict(SCENE_FILES, **({"display": DISPLAY_FILE} if scene.render.eight_bit else {})),
        "generator": f"sargeo {__version__}",
    }


def write_scene(scene: Scene, folder: Path, bar: tqdm | None = None) -> dict[str, Any]:
    """Write all outputs of ``scene`` into ``folder`` (which must exist); returns scene.json."""
    grid = scene.grid
    counts = np.zeros(256, np.int64)
    with (
        open_rasters(folder, grid, _sar_tags(scene), scene.classes, scene.render) as rasters,
        ThreadPoolExecutor(max_workers=scene.options.workers) as pool,
    ):
        pending: deque[Future[Rendered]] = deque()
        windows = iter(grid.blocks(scene.options.block))
        while True:
            # at most workers + 1 blocks in flight: memory stays bounded, writes stay in order
            while len(pending) <= scene.options.workers:
                window = next(windows, None)
                if window is None:
                    break
                pending.append(pool.submit(render_block, scene, window))
            if not pending:
                break
            block, sar, rgb, display = pending.popleft().result()
            rasters.write(block.window, sar, rgb, block.mask, display)
            counts += np.bincount(block.mask.ravel(), minlength=256)
            if bar is not None:
                bar.update(1)
    description = f"sargeo synthetic SAR scene {scene.id}"
    coco = coco_document(grid, scene.objects, scene.classes, scene.id, description)
    write_json(folder / SCENE_FILES["coco"], coco)
    write_objects(folder / SCENE_FILES["objects"], grid, scene.objects, scene.classes)
    params = scene_parameters(scene, {int(v): int(n) for v, n in enumerate(counts) if n})
    params["optical_captions"] = optical_captions(params, coco["annotations"])
    write_json(folder / SCENE_FILES["scene"], params)
    return params


@dataclass
class SynthResult:
    """What a run wrote."""

    output: Path
    scenes: list[dict[str, Any]] = field(default_factory=list)

    def summary(self) -> str:
        """One line for the command line."""
        n_obj = sum(sum(s["object_counts"].values()) for s in self.scenes)
        size = self.scenes[0]["size"] if self.scenes else 0
        return (
            f"wrote {len(self.scenes)} scene(s) of {size} px with {n_obj} objects to {self.output}"
        )


def generate(
    output: Path,
    scenes: int,
    options: SynthOptions,
    overwrite: bool = False,
    progress: bool = True,
) -> SynthResult:
    """Generate ``scenes`` scenes into the folder ``output`` (written atomically)."""
    presets = load_presets()
    options = resolve_options(options, presets)
    check_options(options)
    if scenes < 1:
        raise OptionError("scenes", f"must be at least 1, got {scenes}")
    inputs = [options.backscatter] if options.backscatter else []
    check_not_an_input(output, inputs)
    check_output_dir(output, overwrite)
    classes = load_classes()
    model = load_model(options, classes, presets)
    per_scene = len(Grid(options.size, DEFAULT_SPACING, 0.0, 0.0, 32631).blocks(options.block))
    result = SynthResult(output)
    with (
        atomic_dir(output, inputs=inputs, overwrite=overwrite) as tmp,
        tqdm(
            total=scenes * per_scene,
            unit="block",
            desc="synth",
            disable=not progress,
            file=sys.stderr,
        ) as bar,
    ):
        for i in range(scenes):
            folder = tmp / scene_dirname(i)
            folder.mkdir()
            scene = build_scene(options, i, classes, model)
            result.scenes.append(write_scene(scene, folder, bar))
        manifest = {
            "format_version": FORMAT_VERSION,
            "generator": f"sargeo {__version__}",
            "options": {
                k: (str(v) if isinstance(v, Path) else v) for k, v in asdict(options).items()
            },
            "backscatter_sha256": model.sha256,
            "classes": [
                {"value": c.value, "name": c.name, "kind": c.kind, "category_id": c.category_id}
                for c in classes.classes
            ],
            "categories": classes.coco_categories(),
            "scenes": [scene_dirname(i) for i in range(scenes)],
        }
        write_json(tmp / MANIFEST, manifest)
    return result
