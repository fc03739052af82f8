"""Synthetic scenes written by ``sargeo synth`` to `Sample` records.

The folder layout is documented (and versioned) in `sargeo.synth`: per scene ``sar.tif``,
``optical.tif``, ``mask.tif``, ``coco.json`` (boxes with oriented boxes and per-object attributes)
and ``scene.json`` (parameters, class table and captions of the optical image). Each scene folder
becomes one sample whose scene is the folder name, with its class mask, its paired optical image (and
its first caption, for the narrator's o2s branch) and its georeference.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from sargeo.datasets.base import AdapterResult, progress_bar
from sargeo.datasets.coco import load_coco
from sargeo.datasets.segmentation import raster_tile
from sargeo.errors import SargeoError
from sargeo.geo.source import open_source
from sargeo.synth import FORMAT_VERSION, MANIFEST, SCENE_FILES

_SCENE_KEYS = (
    "seed",
    "sensor",
    "pass",
    "look_side",
    "looks",
    "k_texture",
    "incidence",
    "centre_lonlat",
    "acquisition_start_time",
    "object_counts",
)


def load_synthetic(root: Path, *, progress: bool = False) -> AdapterResult:
    """Read every scene folder of a ``sargeo synth`` output (or one scene folder).

    Raises:
        SargeoError: when the folder holds no scene, or its manifest has a newer format version.
    """
    _check_manifest(root)
    if _is_scene(root):
        scenes = [root]
    else:
        scenes = sorted(p for p in root.iterdir() if p.is_dir() and _is_scene(p))
    if not scenes:
        raise SargeoError(f"{root}: no synthetic scene folders (with {SCENE_FILES['coco']}) found")
    result = AdapterResult()
    for scene in progress_bar(scenes, progress, "scenes"):
        result.extend(_load_scene(scene))
    return result


def _is_scene(folder: Path) -> bool:
    return (folder / SCENE_FILES["coco"]).is_file() or (folder / SCENE_FILES["scene"]).is_file()


def _check_manifest(root: Path) -> None:
    path = root / MANIFEST
    if not path.is_file():
        return
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise SargeoError(f"{path}: not valid JSON ({exc})") from exc
    version = manifest.get("format_version") if isinstance(manifest, dict) else None
    if isinstance(version, int) and version > FORMAT_VERSION:
        raise SargeoError(
            f"{path}: format version {version} is newer than this sargeo reads ({FORMAT_VERSION})"
        )


def _load_scene(scene: Path) -> AdapterResult:
    result = AdapterResult()
    name = scene.name
    for key in ("sar", "coco", "scene"):
        if not (scene / SCENE_FILES[key]).is_file():
            result.skip(f"{name}/", f"missing file {SCENE_FILES[key]}", "missing file")
            return result
    try:
        info = json.loads((scene / SCENE_FILES["scene"]).read_text(encoding="utf-8"))
        if not isinstance(info, dict):
            raise ValueError("not a JSON object")
    except (json.JSONDecodeError, UnicodeDecodeError, ValueError) as exc:
        result.skip(
            f"{name}/{SCENE_FILES['scene']}",
            f"malformed scene file ({exc})",
            "malformed scene file",
        )
        return result
    try:
        coco = load_coco(scene / SCENE_FILES["coco"], scene, scene_from_name=lambda _: name)
    except SargeoError as exc:
        result.skip(
            f"{name}/{SCENE_FILES['coco']}", f"unreadable COCO file ({exc})", "unreadable COCO file"
        )
        return result
    for item in (*coco.skipped, *coco.warnings):
        item.location = f"{name}/{item.location}"
    result.skipped.extend(coco.skipped)
    result.warnings.extend(coco.warnings)
    sar = scene / SCENE_FILES["sar"]
    samples = [s for s in coco.samples if Path(s.image).name == sar.name]
    if len(samples) != 1:
        result.skip(
            f"{name}/{SCENE_FILES['coco']}",
            f"expected one image entry for {sar.name}",
            "malformed COCO file",
        )
        return result
    sample = samples[0]
    try:
        source = open_source([sar], allow_pixel_coords=True)
    except SargeoError as exc:
        result.skip(f"{name}/{sar.name}", f"unreadable image ({exc})", "unreadable image")
        return result
    sample.id = name
    sample.scene = name
    sample.tile = raster_tile(source, name, sar, valid_fraction=1.0)
    classes = _classes(info.get("classes"))
    # the world labels every class of its table (objects and surfaces), and nothing beyond it:
    # a building or a vehicle is not one of its objects, so it can never be said to be absent
    sample.labels = tuple(sorted(set(classes.values()))) or None
    mask = scene / SCENE_FILES["mask"]
    if mask.is_file():
        sample.mask = str(mask)
        sample.mask_classes = classes
    optical = scene / SCENE_FILES["optical"]
    if optical.is_file():
        sample.optical = str(optical)
    sample.metadata = _metadata(info, classes, source.polarisations, sample.tile.pixel_spacing)
    objects = scene / SCENE_FILES["objects"]
    if objects.is_file():
        sample.metadata["objects"] = str(objects)
    captions = _optical_captions(info.get("optical_captions"))
    if captions:
        sample.optical_caption = captions[0]
        sample.metadata["optical_captions"] = captions
    result.samples.append(sample)
    return result


def _optical_captions(raw: Any) -> list[str]:
    """The scene's captions of its optical image (scene.json ``optical_captions``; older scenes
    have none)."""
    if isinstance(raw, str):
        raw = [raw]
    if not isinstance(raw, list):
        return []
    return [text.strip() for text in raw if isinstance(text, str) and text.strip()]


def _classes(raw: Any) -> dict[int, str]:
    if not isinstance(raw, dict):
        return {}
    out: dict[int, str] = {}
    for key, value in raw.items():
        try:
            out[int(key)] = str(value["name"] if isinstance(value, dict) else value)
        except (ValueError, KeyError, TypeError):
            continue
    return out


def _metadata(
    info: dict[str, Any],
    classes: dict[int, str],
    polarisations: tuple[str, ...],
    spacing: tuple[float, float],
) -> dict[str, Any]:
    meta: dict[str, Any] = {"dataset": "synthetic", "synthetic": True}
    meta.update({k: info[k] for k in _SCENE_KEYS if k in info})
    if "id" in info:
        meta["scene_id"] = info["id"]  # unique across runs (the folder name is per run)
    meta["polarisations"] = list(info.get("polarisations") or polarisations)
    meta["pixel_spacing_m"] = list(spacing)
    incidence = info.get("incidence")
    if isinstance(incidence, dict) and isinstance(incidence.get("reference"), int | float):
        meta["incidence_deg"] = float(incidence["reference"])
    elif isinstance(incidence, int | float):
        meta["incidence_deg"] = float(incidence)
    if "units" in info:
        meta["units"] = info["units"]
    pixels = info.get("class_pixels")
    if isinstance(pixels, dict) and classes:
        counts = {str(k): int(v) for k, v in pixels.items()}
        total = sum(counts.values())
        meta["class_fractions"] = {
            name: counts.get(str(value), 0) / total if total else 0.0
            for value, name in classes.items()
        }
    return meta
