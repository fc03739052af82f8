"""``sargeo ask`` on the real Sentinel-1 chip of Sen1Floods11 and a real HRSID image: one feature per
tile, extent or region, with the question, answer and tile attributes; bad input exits 2 in one line."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pytest
import rasterio
import torch
from shapely.geometry import box

from sargeo.cli import main
from sargeo.models.gpt import create_gpt
from sargeo.models.gpt.factory import saved_state
from sargeo.train.checkpoint import save_checkpoint

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")
QUESTION = "How many ships are in the image?"


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An untrained tiny SAR-GPT saved as a checkpoint (the command's path, not its answers)."""
    torch.manual_seed(0)
    model = create_gpt("sar-gpt-tiny", texts=[QUESTION, "3", "yes", "water"])
    folder = tmp_path_factory.mktemp("gpt") / "ck"
    save_checkpoint(folder, saved_state(model), None, {"task": "gpt"}, model.config)
    return folder


@pytest.fixture(scope="module")
def s1(shared_data: Path) -> Path:
    return shared_data / "sen1floods11" / "Spain_7370579_S1Hand.tif"


def _ask(raster: Path, checkpoint: Path, out: Path, *extra: str, question: str = QUESTION) -> int:
    argv = ["ask", str(raster), question, "--checkpoint", str(checkpoint), "-o", str(out), "-q"]
    return main([*argv, "--max-new-tokens", "4", *extra])


def test_tiles_of_a_real_sentinel1_chip(s1: Path, checkpoint: Path, tmp_path: Path) -> None:
    out = tmp_path / "ask.gpkg"
    assert _ask(s1, checkpoint, out, "--size", "256") == 0
    layer = gpd.read_file(out, layer="ask")
    assert len(layer) == 4  # 512 x 512 px in 256 px tiles
    assert set(layer["question"]) == {QUESTION}
    assert layer["answer"].map(lambda a: isinstance(a, str)).all()
    assert set(layer["model"]) == {"sar-gpt-tiny"}
    assert layer["checkpoint_sha256"].str.len().eq(64).all()
    assert (layer["width"] == 256).all() and layer["tile_id"].is_unique
    with rasterio.open(s1) as src:
        assert layer.crs.to_epsg() == src.crs.to_epsg()
        bounds = box(*src.bounds)
        assert layer.union_all().equals_exact(bounds, 1e-9) or abs(
            layer.union_all().area - bounds.area
        ) < 1e-9 * max(1.0, bounds.area)
        assert (layer["pixel_spacing_x"] > 5).all() and (layer["pixel_spacing_x"] < 15).all()


def test_extent_and_regions(s1: Path, checkpoint: Path, tmp_path: Path) -> None:
    with rasterio.open(s1) as src:
        left, bottom, _right, top = src.bounds
        res = src.res[0]
    inner = (left + 10 * res, bottom + 20 * res, left + 110 * res, bottom + 120 * res)
    out = tmp_path / "extent.gpkg"
    assert _ask(s1, checkpoint, out, "--extent=" + ",".join(map(str, inner))) == 0
    layer = gpd.read_file(out)
    assert len(layer) == 1
    assert layer.loc[0, "width"] == 100 and layer.loc[0, "height"] == 100
    assert layer.total_bounds == pytest.approx(inner, abs=res / 2)
    regions = gpd.GeoDataFrame(
        {"name": ["a", "b"]},
        geometry=[box(*inner), box(left, top - 50 * res, left + 64 * res, top)],
        crs="EPSG:4326",
    ).to_crs(3857)  # another CRS: reprojected to the raster's
    vector = tmp_path / "regions.gpkg"
    regions.to_file(vector)
    out = tmp_path / "regions_out.gpkg"
    assert _ask(s1, checkpoint, out, "--regions", str(vector)) == 0
    layer = gpd.read_file(out)
    assert list(layer["region"]) == [1, 2]
    assert abs(int(layer.loc[1, "width"]) - 64) <= 1 and abs(int(layer.loc[1, "height"]) - 50) <= 1


def test_real_hrsid_image_in_pixel_coordinates(
    shared_data: Path, checkpoint: Path, tmp_path: Path
) -> None:
    image = next((shared_data / "hrsid_mini" / "images").glob("*.jpg"))
    out = tmp_path / "hrsid.gpkg"
    assert _ask(image, checkpoint, out, "--size", "400", "--allow-pixel-coords") == 0
    assert len(gpd.read_file(out)) == 4


@pytest.mark.parametrize(
    ("question", "extra", "message"),
    [
        ("", [], "question is empty"),
        ("ship " * 400, [], "too long"),
        (QUESTION, ["--extent=0,0,1,1"], "outside the raster"),
        (QUESTION, ["--max-new-tokens", "0"], "at least 1"),
    ],
)
def test_bad_input_is_one_line(
    s1: Path,
    checkpoint: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    question: str,
    extra: list[str],
    message: str,
) -> None:
    out = tmp_path / "bad.gpkg"
    argv = ["ask", str(s1), question, "--checkpoint", str(checkpoint), "-o", str(out), "-q", *extra]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and len(err.splitlines()) == 1
    assert not out.exists()


def test_existing_output_and_region_outside(
    s1: Path, checkpoint: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "x.gpkg"
    out.write_text("keep me")
    assert _ask(s1, checkpoint, out) == 2
    assert out.read_text() == "keep me"
    far = gpd.GeoDataFrame(geometry=[box(100, 10, 101, 11)], crs="EPSG:4326")
    vector = tmp_path / "far.gpkg"
    far.to_file(vector)
    capsys.readouterr()
    assert _ask(s1, checkpoint, tmp_path / "y.gpkg", "--regions", str(vector)) == 2
    assert "region 1 of far.gpkg lies outside" in capsys.readouterr().err


def test_an_input_is_never_the_output(s1: Path, checkpoint: Path, tmp_path: Path) -> None:
    vector = tmp_path / "regions.gpkg"
    with rasterio.open(s1) as src:
        gpd.GeoDataFrame(geometry=[box(*src.bounds)], crs=src.crs).to_file(vector)
    before = vector.read_bytes()
    assert _ask(s1, checkpoint, vector, "--regions", str(vector), "--overwrite") == 2
    assert vector.read_bytes() == before
