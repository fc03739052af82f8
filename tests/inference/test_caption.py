"""``sargeo caption`` end to end: a tiny trained CoCa captions the tiles of a real Sentinel-1 raster
(Sen1Floods11, EPSG:4326) and polygons of a region layer in another CRS into GeoPackages; it captions
a corpus's test images into the predictions that ``sargeo eval caption`` scores; bad input stops with
one line and exit 2, leaving nothing behind."""

from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path

import geopandas as gpd
import pyogrio
import pytest
from shapely.geometry import box

from sargeo.cli import main

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")


@pytest.fixture(scope="module")
def scene(shared_data: Path) -> Path:
    return shared_data / "sen1floods11" / "Spain_7370579_S1Hand.tif"


def _caption(*argv: str) -> int:
    return main(["caption", *argv, "-q"])


def test_tiles_of_a_real_raster(tiny_coca_run: Path, scene: Path, tmp_path: Path) -> None:
    out = tmp_path / "captions.gpkg"
    assert _caption(str(scene), "--checkpoint", str(tiny_coca_run / "run"), "-o", str(out),
                    "--size", "256", "--beam", "2") == 0  # fmt: skip
    frame = pyogrio.read_dataframe(out, layer="captions")
    assert len(frame) == 4 and frame.crs.to_epsg() == 4326
    assert frame["caption"].str.len().min() > 0
    assert sorted(frame["tile_id"]) == ["r0000_c0000", "r0000_c0001", "r0001_c0000", "r0001_c0001"]
    assert set(frame["model"]) == {"sar-rs-coca-tiny"}
    assert set(frame["decoding"]) == {"beam 2, max 32 tokens"}
    assert (frame["score"] < 0).all() and (frame["pixel_spacing"] > 5).all()
    import hashlib

    weights = (tiny_coca_run / "run" / "final" / "model.pt").read_bytes()
    assert set(frame["checkpoint_sha256"]) == {hashlib.sha256(weights).hexdigest()}
    import rasterio

    with rasterio.open(scene) as ds:
        left, bottom, right, top = ds.bounds
    x0, y0, x1, y1 = frame.total_bounds
    assert (x0, y0, x1, y1) == pytest.approx((left, bottom, right, top), abs=1e-9)
    with sqlite3.connect(out) as db:
        assert db.execute("SELECT count(*) FROM layer_styles").fetchone()[0] == 1
    again = [str(scene), "--checkpoint", str(tiny_coca_run / "run"), "-o", str(out)]
    assert _caption(*again) == 2  # an existing output needs --overwrite
    assert _caption(*again, "--size", "512", "--overwrite") == 0
    assert len(pyogrio.read_dataframe(out, layer="captions")) == 1


def test_regions_in_another_crs(tiny_coca_run: Path, scene: Path, tmp_path: Path) -> None:
    import rasterio

    with rasterio.open(scene) as ds:
        left, bottom, right, top = ds.bounds
    w, h = right - left, top - bottom
    inside = [box(left + 0.1 * w, bottom + 0.1 * h, left + 0.4 * w, bottom + 0.5 * h),
              box(left + 0.5 * w, bottom + 0.6 * h, left + 0.9 * w, bottom + 0.9 * h)]  # fmt: skip
    regions = gpd.GeoDataFrame({"name": ["a", "b"]}, geometry=inside, crs=4326).to_crs(3857)
    path = tmp_path / "regions.gpkg"
    regions.to_file(path)
    out = tmp_path / "regions_captions.gpkg"
    run = str(tiny_coca_run / "run")
    assert _caption(str(scene), "--checkpoint", run, "-o", str(out), "--regions", str(path)) == 0
    frame = pyogrio.read_dataframe(out, layer="captions")
    assert list(frame["region"]) == [0, 1] and frame.crs.to_epsg() == 4326
    for geometry, expected in zip(frame.geometry, inside, strict=True):
        assert geometry.symmetric_difference(expected).area < 1e-3 * expected.area
    assert (frame["width"] < 512).all() and (frame["valid_fraction"] == 1.0).all()


def test_predictions_for_eval_caption(
    tiny_coca_run: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    corpus = tiny_coca_run / "narrated"
    preds = tmp_path / "preds.jsonl"
    run = str(tiny_coca_run / "run")
    assert _caption(str(corpus), "--checkpoint", run, "-o", str(preds), "--beam", "1") == 0
    records = [json.loads(line) for line in preds.read_text().splitlines()]
    refs = {json.loads(line)["image"] for line in (corpus / "captions.jsonl").read_text().splitlines()
            if json.loads(line)["split"] == "test"}  # fmt: skip
    assert {r["image"] for r in records} == refs
    capsys.readouterr()
    code = main(["eval", "caption", str(preds), "--references", str(corpus / "captions.jsonl"),
                 "--split", "test", "-o", str(tmp_path / "scores.json")])  # fmt: skip
    assert code == 0
    scores = json.loads((tmp_path / "scores.json").read_text())
    assert scores["images"] == len(refs) and scores["metrics"]["BLEU-4"] is not None


def test_bad_input_exits_2_with_one_line(
    tiny_coca_run: Path,
    scene: Path,
    test_rasters: dict[str, Path],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    run = tiny_coca_run / "run"
    clip_like = tmp_path / "clip-run"
    shutil.copytree(run / "final", clip_like)
    meta = json.loads((clip_like / "meta.json").read_text())
    (clip_like / "meta.json").write_text(json.dumps({**meta, "task": "clip"}))
    empty = tmp_path / "empty.gpkg"
    gpd.GeoDataFrame({"name": []}, geometry=[], crs=4326).to_file(empty)
    outside = tmp_path / "outside.gpkg"
    gpd.GeoDataFrame({"name": ["far"]}, geometry=[box(10, 10, 11, 11)], crs=4326).to_file(outside)
    out = tmp_path / "out.gpkg"
    cases = [
        ([str(scene), "--checkpoint", str(clip_like)], "is a clip checkpoint"),
        ([str(scene), "--checkpoint", str(run), "--regions", str(empty)], "hold no polygon"),
        ([str(scene), "--checkpoint", str(run), "--regions", str(outside)], "outside the raster"),
        ([str(scene), "--checkpoint", str(run), "--beam", "0"], "--beam"),
        ([str(test_rasters["no_crs"]), "--checkpoint", str(run)], "has no CRS"),
        ([str(scene), "--checkpoint", str(tmp_path / "nothing")], "does not exist"),
    ]
    for argv, message in cases:
        capsys.readouterr()
        assert main(["caption", *argv, "-o", str(out), "-q"]) == 2, argv
        err = capsys.readouterr().err.strip()
        assert message in err and "\n" not in err, err
        assert err.startswith("sargeo caption: error:")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["clip-run", "empty.gpkg", "outside.gpkg"]
