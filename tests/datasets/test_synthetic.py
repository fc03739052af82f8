"""Synthetic adapter: scene folders in the layout `sargeo.synth` documents, written by hand here.

(When ``sargeo synth`` writes the folders itself, `test_sargeo_synth_output` reads a real run.)
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from sargeo.cli import BUILDERS
from sargeo.datasets.synthetic import load_synthetic
from sargeo.errors import SargeoError
from sargeo.synth import FORMAT_VERSION, MANIFEST, SCENE_FILES
from tests.datasets.helpers import write_json, write_raster

CLASSES = {"0": "sea", "1": "land", "2": "ship"}


def write_scene(
    root: Path, name: str, *, size: int = 32, optical_captions: list[str] | None = None
) -> Path:
    """One scene folder: sar.tif (dB, VV/VH), optical.tif, mask.tif, coco.json, scene.json (with
    ``optical_captions`` when given; scenes written before that key have none)."""
    scene = root / name
    sar = np.full((2, size, size), -20.0, dtype=np.float32)
    write_raster(
        scene / SCENE_FILES["sar"],
        sar,
        descriptions=("VV", "VH"),
        tags={"units": "dB", "ACQUISITION_START_TIME": "2024-05-01T06:00:00"},
    )
    write_raster(scene / SCENE_FILES["optical"], np.zeros((3, size, size), dtype=np.uint8))
    mask = np.zeros((1, size, size), dtype=np.uint8)
    mask[0, :, size // 2 :] = 1
    mask[0, 4:8, 2:12] = 2
    write_raster(scene / SCENE_FILES["mask"], mask)
    write_json(
        scene / SCENE_FILES["coco"],
        {
            "images": [
                {
                    "id": 1,
                    "file_name": "sar.tif",
                    "width": size,
                    "height": size,
                    "optical": "optical.tif",
                    "mask": "mask.tif",
                },
            ],
            "categories": [{"id": 1, "name": "ship"}],
            "annotations": [
                {
                    "id": 1,
                    "image_id": 1,
                    "category_id": 1,
                    "bbox": [2, 4, 10, 4],
                    "area": 40,
                    "iscrowd": 0,
                    "obox": [7.0, 6.0, 10.0, 4.0, 90.0],
                    "attributes": {"length_m": 100.0, "heading_deg": 90.0, "moored": False},
                },
                {"id": 2, "image_id": 1, "category_id": 1, "bbox": [30, 4, 10, 4]},  # outside
            ],
        },
    )
    write_json(
        scene / SCENE_FILES["scene"],
        {
            "id": name,
            "seed": 7,
            "size": size,
            "pixel_spacing": 10.0,
            "crs": "EPSG:32631",
            "units": "dB",
            "polarisations": ["VV", "VH"],
            "incidence": {"near": 30.0, "far": 45.0, "reference": 37.5},
            "pass": "descending",
            "sensor": "synthetic Sentinel-1",
            "classes": CLASSES,
            "class_pixels": {"0": size * size // 2 - 40, "1": size * size // 2, "2": 40},
            "object_counts": {"ship": 1},
            **({"optical_captions": optical_captions} if optical_captions is not None else {}),
        },
    )
    return scene


def test_scene_folders(tmp_path: Path) -> None:
    write_json(tmp_path / MANIFEST, {"format_version": FORMAT_VERSION})
    optical = ["A white ship is on the blue sea.", "Green farmland lies beside the sea."]
    write_scene(tmp_path, "scene_0000", optical_captions=optical)
    write_scene(tmp_path, "scene_0001")
    (tmp_path / "scene_0002").mkdir()
    write_json(tmp_path / "scene_0002" / SCENE_FILES["scene"], {"id": "scene_0002"})
    result = load_synthetic(tmp_path)
    assert [s.id for s in result.samples] == ["scene_0000", "scene_0001"]
    by_location = {s.location: s.reason for s in result.skipped}
    assert by_location["scene_0000/coco.json: annotation 2"].startswith("box outside the image")
    assert by_location["scene_0002/"] == "missing file sar.tif"
    assert result.summary() == "2 samples, 3 skipped (2 box outside the image, 1 missing file)"

    sample = result.samples[0]
    assert sample.scene == "scene_0000"
    assert sample.mask is not None and sample.mask.endswith("mask.tif")
    assert sample.mask_classes == {0: "sea", 1: "land", 2: "ship"}
    assert sample.optical is not None and sample.optical.endswith("optical.tif")
    (box,) = sample.boxes
    assert box.bbox == (2.0, 4.0, 12.0, 8.0)
    assert box.obox == (7.0, 6.0, 10.0, 4.0, 90.0)
    assert box.attributes["length_m"] == 100.0 and box.attributes["moored"] is False
    tile = sample.tile
    assert tile is not None and tile.crs == "EPSG:32631" and tile.units == "dB"
    assert tile.polarisations == ("VV", "VH") and tile.pixel_spacing == (10.0, 10.0)
    assert tile.acquisition_time is not None and tile.acquisition_time.year == 2024
    assert sample.metadata["class_fractions"]["ship"] == pytest.approx(40 / 1024)
    assert sample.metadata["incidence"]["near"] == 30.0
    assert sample.metadata["incidence_deg"] == 37.5  # the same key as OpenSARShip's
    assert sample.metadata["synthetic"] is True
    assert sample.labels == ("land", "sea", "ship")  # every class of its table, and only those
    assert sample.optical_caption == optical[0]  # the first caption feeds the o2s branch
    assert sample.metadata["optical_captions"] == optical
    older = result.samples[1]  # a scene.json without the key
    assert older.optical_caption is None and "optical_captions" not in older.metadata


def test_malformed_optical_captions_are_ignored(tmp_path: Path) -> None:
    write_scene(tmp_path, "scene_0000", optical_captions=["", 3, "  A white ship.  "])  # type: ignore[list-item]
    write_scene(tmp_path, "scene_0001", optical_captions={"a": 1})  # type: ignore[arg-type]
    first, second = load_synthetic(tmp_path).samples
    assert first.optical_caption == "A white ship." and first.metadata["optical_captions"] == [
        "A white ship."
    ]
    assert second.optical_caption is None


def test_one_scene_folder_and_errors(tmp_path: Path) -> None:
    scene = write_scene(tmp_path, "scene_0000")
    assert [s.id for s in load_synthetic(scene).samples] == ["scene_0000"]
    write_json(tmp_path / MANIFEST, {"format_version": FORMAT_VERSION + 1})
    with pytest.raises(SargeoError, match="newer than this sargeo reads"):
        load_synthetic(tmp_path)
    with pytest.raises(SargeoError, match="no synthetic scene folders"):
        load_synthetic(_empty(tmp_path))


def _empty(tmp_path: Path) -> Path:
    folder = tmp_path / "empty"
    folder.mkdir()
    return folder


@pytest.mark.skipif("synth" not in BUILDERS, reason="'sargeo synth' is not built yet")
def test_sargeo_synth_output(tmp_path: Path) -> None:
    from sargeo.cli import main

    assert main(["synth", "-o", str(tmp_path / "out"), "--scenes", "1", "--size", "256"]) == 0
    result = load_synthetic(tmp_path / "out")
    (sample,) = result.samples
    assert sample.mask and sample.optical and sample.tile is not None and sample.tile.crs
    assert result.skipped == []  # what synth writes is consistent
    assert sample.scene == "scene_0000" and sample.metadata["scene_id"]
    assert all(0 <= b.bbox[0] < b.bbox[2] <= sample.width for b in sample.boxes)
    assert sample.optical_caption and sample.metadata["optical_captions"][0] == (
        sample.optical_caption
    )
