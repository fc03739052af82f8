"""The files of a scene: georeference, tags, grids, and exact ground truth across COCO, GPKG, mask."""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import rasterio
from rasterio.crs import CRS

from sargeo.synth import MANIFEST, SCENE_FILES
from sargeo.synth.tables import load_classes

from .conftest import SIZE


def _scene(run: Path, i: int = 0) -> Path:
    return run / f"scene_{i:04d}"


def test_folder_layout_and_manifest(synth_run: Path) -> None:
    manifest = json.loads((synth_run / MANIFEST).read_text())
    assert manifest["scenes"] == ["scene_0000", "scene_0001"]
    for name in manifest["scenes"]:
        for file in SCENE_FILES.values():
            assert (synth_run / name / file).is_file(), file
    assert [c["id"] for c in manifest["categories"]] == [1, 2, 3, 4, 5, 6]


def test_crs_is_utm_and_transform_matches_spacing(synth_run: Path) -> None:
    params = json.loads((_scene(synth_run) / "scene.json").read_text())
    with rasterio.open(_scene(synth_run) / "sar.tif") as ds:
        epsg = ds.crs.to_epsg()
        assert 32601 <= epsg <= 32660 or 32701 <= epsg <= 32760
        assert CRS.from_epsg(epsg).is_projected
        assert ds.transform.a == pytest.approx(10.0) and ds.transform.e == pytest.approx(-10.0)
        assert ds.transform.b == 0 and ds.transform.d == 0
        assert (ds.width, ds.height) == (SIZE, SIZE)
        assert ds.res == (params["pixel_spacing"], params["pixel_spacing"])
        assert list(ds.transform)[:6] == params["transform"]
        assert params["crs"] == f"EPSG:{epsg}"
    lon, _lat = params["centre_lonlat"]
    zone = epsg - 32600
    assert -180 + 6 * (zone - 1) - 1 <= lon <= -180 + 6 * zone + 1  # the centre lies in its zone


def test_sar_bands_tags_and_units(synth_run: Path) -> None:
    with rasterio.open(_scene(synth_run) / "sar.tif") as ds:
        assert ds.count == 2 and ds.dtypes == ("float32", "float32")
        assert ds.descriptions == ("VV", "VH")
        tags = ds.tags()
        assert tags["units"] == "dB"
        assert tags["ACQUISITION_START_TIME"].startswith("20")
        assert 29.0 <= float(tags["INCIDENCE_NEAR"]) < float(tags["INCIDENCE_FAR"]) <= 46.0
        data = ds.read()
    assert np.isfinite(data).all()
    assert float(data.min()) > -60 and float(data.max()) < 60
    assert float(np.median(data[0])) > float(np.median(data[1]))  # VV above VH


def test_optical_and_mask_on_the_same_grid(synth_run: Path) -> None:
    with rasterio.open(_scene(synth_run) / "sar.tif") as sar:
        ref = (sar.crs, sar.transform, sar.width, sar.height)
    classes = load_classes()
    for name in ("optical.tif", "mask.tif"):
        with rasterio.open(_scene(synth_run) / name) as ds:
            assert (ds.crs, ds.transform, ds.width, ds.height) == ref
    with rasterio.open(_scene(synth_run) / "optical.tif") as ds:
        assert ds.count == 3 and ds.dtypes[0] == "uint8"
        rgb = ds.read().astype(float)
    with rasterio.open(_scene(synth_run) / "mask.tif") as ds:
        mask = ds.read(1)
    assert set(np.unique(mask).tolist()) <= set(classes.names)
    sea = mask == classes.value("sea")
    assert sea.mean() > 0.1
    assert rgb[2][sea].mean() > rgb[0][sea].mean() + 30  # the sea is blue in the optical image
    forest = mask == classes.value("forest")
    if forest.any():
        assert rgb[1][forest].mean() > rgb[0][forest].mean()  # and the forest green


def test_coco_gpkg_and_mask_agree_exactly(synth_run: Path) -> None:
    classes = load_classes()
    folder = _scene(synth_run)
    coco = json.loads((folder / "coco.json").read_text())
    objects = gpd.read_file(folder / "objects.gpkg", layer="objects")
    with rasterio.open(folder / "mask.tif") as ds:
        mask = ds.read(1)
        crs = ds.crs
    anns = coco["annotations"]
    assert anns and len(anns) == len(objects)
    assert objects.crs == crs
    by_id = objects.set_index("id")
    cats = {c["id"]: c["name"] for c in coco["categories"]}
    for ann in anns:
        row = by_id.loc[ann["id"]]
        x, y, w, h = ann["bbox"]
        assert [row.bbox_x, row.bbox_y, row.bbox_w, row.bbox_h] == [x, y, w, h]
        assert row.category == cats[ann["category_id"]] and row.category_id == ann["category_id"]
        assert row.area_px == ann["area"]
        value = classes.value(row.category)
        inside = mask[y : y + h, x : x + w] == value
        rows, cols = np.nonzero(inside)
        # the box is exactly the extent of the object's pixels
        assert rows.min() == 0 and cols.min() == 0 and rows.max() == h - 1 and cols.max() == w - 1
        assert inside.sum() >= ann["area"]
        cx, cy = ann["obox"][:2]
        assert x <= cx <= x + w and y <= cy <= y + h
    for info in classes.objects:
        total = sum(a["area"] for a in anns if a["category_id"] == info.category_id)
        assert int((mask == info.value).sum()) == total  # no object pixel is unaccounted for


def test_ship_boxes_contain_bright_pixels(synth_run: Path) -> None:
    classes = load_classes()
    folder = _scene(synth_run)
    coco = json.loads((folder / "coco.json").read_text())
    with rasterio.open(folder / "sar.tif") as ds:
        vv = ds.read(1)
    with rasterio.open(folder / "mask.tif") as ds:
        mask = ds.read(1)
    sea_median = float(np.median(vv[mask == classes.value("sea")]))
    ships = [a for a in coco["annotations"] if a["category_id"] == classes["ship"].category_id]
    assert ships
    peaks = []
    for ann in ships:
        x, y, w, h = ann["bbox"]
        peaks.append(float(vv[y : y + h, x : x + w].max()) - sea_median)
        assert ann["attributes"]["class"] == "ship"
        assert 20 <= ann["attributes"]["length_m"] <= 400
    assert any(a["attributes"]["point_target"] for a in ships)
    # every ship stands out; most by over 12 dB (real ships: 13 dB at the 10th percentile)
    assert min(peaks) > 3 and np.mean(np.array(peaks) > 12) >= 0.75


def test_scene_json_counts_match_the_mask(synth_run: Path) -> None:
    folder = _scene(synth_run)
    params = json.loads((folder / "scene.json").read_text())
    with rasterio.open(folder / "mask.tif") as ds:
        mask = ds.read(1)
    values, counts = np.unique(mask, return_counts=True)
    assert params["class_pixels"] == {str(v): int(n) for v, n in zip(values, counts, strict=True)}
    assert sum(params["object_counts"].values()) == len(
        json.loads((folder / "coco.json").read_text())["annotations"]
    )
    assert params["pass"] in ("ascending", "descending")
