"""``sargeo caption`` on Dask: the single-process GeoPackage (same tiles, ids and captions), tiles
and regions, the model loaded once per worker process, and a resumed job reusing its parts."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import geopandas as gpd
import pyogrio
import pytest
from shapely.geometry import box

from sargeo.cli import main
from sargeo.scale.cluster import loads

pytestmark = [pytest.mark.slow, pytest.mark.filterwarnings("ignore::UserWarning")]

COLUMNS = ["tile_id", "caption", "region", "col", "row", "width", "height", "valid_fraction"]


@pytest.fixture(scope="module")
def scene(shared_data: Path) -> Path:
    return shared_data / "sen1floods11" / "Spain_7370579_S1Hand.tif"


def _caption(scene: Path, run: Path, out: Path, *extra: str) -> int:
    argv = ["caption", str(scene), "--checkpoint", str(run), "-o", str(out), "-q"]
    return main([*argv, "--threads", "1", *extra])


def _assert_same(a: Path, b: Path) -> None:
    one = pyogrio.read_dataframe(a, layer="captions")
    two = pyogrio.read_dataframe(b, layer="captions")
    assert len(one) > 0
    assert one[COLUMNS].equals(two[COLUMNS])
    assert (one["score"] - two["score"]).abs().max() < 1e-4
    assert one.geometry.geom_equals_exact(two.geometry, tolerance=1e-9).all()
    assert pyogrio.read_info(a, layer="captions")["crs"] == pyogrio.read_info(b)["crs"]


def test_tiles_on_dask_equal_the_single_process_captions(
    tiny_coca_run: Path, scene: Path, dask_client: Any, tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    run = tiny_coca_run / "run"
    assert _caption(scene, run, tmp_path / "one.gpkg", "--size", "96") == 0
    dask_client.wait_for_workers(2, timeout=120)
    before = dask_client.run(loads)
    remote = ["--scheduler", dask_client.scheduler.address, "--partition", "10"]
    capsys.readouterr()
    assert _caption(scene, run, tmp_path / "two.gpkg", "--size", "96", *remote) == 0
    out = capsys.readouterr().out
    assert "captioned 36 of 36 tiles" in out and "4 partitions on 2 Dask worker(s)" in out
    _assert_same(tmp_path / "one.gpkg", tmp_path / "two.gpkg")
    after = dask_client.run(loads)
    loaded = {
        w: after[w].get("captioner", 0) - before.get(w, {}).get("captioner", 0) for w in after
    }
    assert all(n <= 1 for n in loaded.values()) and sum(loaded.values()) >= 1, loaded
    assert not list(tmp_path.glob(".two.gpkg.parts-*")), "the parts folder is removed"


def test_regions_on_dask_and_a_resumed_job(
    tiny_coca_run: Path, scene: Path, dask_client: Any, tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    import rasterio

    with rasterio.open(scene) as ds:
        left, bottom, right, top = ds.bounds
    w, h = (right - left) / 4, (top - bottom) / 4
    boxes = [box(left + i * w, bottom + j * h, left + (i + 1) * w, bottom + (j + 1) * h)
             for i in range(4) for j in range(2)]  # fmt: skip
    regions = tmp_path / "regions.gpkg"
    gpd.GeoDataFrame({"n": range(8)}, geometry=boxes, crs=4326).to_crs(3857).to_file(regions)
    run = tiny_coca_run / "run"
    assert _caption(scene, run, tmp_path / "one.gpkg", "--regions", str(regions)) == 0
    remote = ["--scheduler", dask_client.scheduler.address, "--partition", "3"]
    two = tmp_path / "two.gpkg"
    assert _caption(scene, run, two, "--regions", str(regions), *remote) == 0
    assert "3 partitions on 2 Dask worker(s)" in capsys.readouterr().out  # 8 regions by 3
    _assert_same(tmp_path / "one.gpkg", two)


def test_a_restarted_caption_job_reuses_its_parts(
    tiny_coca_run: Path, scene: Path, dask_client: Any, tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    from sargeo.inference.caption import (
        CaptionOptions,
        open_captioner,
        open_source,
        plan_captions,
    )
    from sargeo.inference.commands import Reading
    from sargeo.runtime.pipeline import CancelledError
    from sargeo.scale.caption import caption_on_dask
    from sargeo.scale.cluster import Cluster

    run = tiny_coca_run / "run"
    assert _caption(scene, run, tmp_path / "one.gpkg", "--size", "128") == 0
    # the options the command line gives for `--size 128 --threads 1`, so the job is the same
    none = dict.fromkeys(
        ("beam_width", "max_length", "min_length", "length_penalty", "no_repeat_ngram_size")
    )
    options = CaptionOptions(size=128, batch=32, readers=2, threads=1, decode=none)
    model = open_captioner(run, None, 1)
    source = open_source(scene, Reading())
    plan = plan_captions(source, None, options)
    cluster = Cluster(scheduler=dask_client.scheduler.address, partition=2)
    two = tmp_path / "two.gpkg"
    with pytest.raises(CancelledError):  # stopped after the first part, like a Ctrl-C
        caption_on_dask(scene, run, None, two, source, plan, model, options, Reading(), cluster,
                        progress=False, cancelled=lambda: True)  # fmt: skip
    assert not two.exists() and list(tmp_path.glob(".two.gpkg.parts-*/part-*"))
    capsys.readouterr()
    remote = ["--scheduler", dask_client.scheduler.address, "--partition", "2"]
    assert _caption(scene, run, two, "--size", "128", *remote) == 0
    assert "reused from an interrupted run" in capsys.readouterr().out
    _assert_same(tmp_path / "one.gpkg", two)


def test_predictions_jsonl_refuses_dask(tiny_coca_run: Path, tmp_path: Path) -> None:
    argv = ["caption", str(tiny_coca_run / "narrated"), "--checkpoint", str(tiny_coca_run / "run")]
    assert main([*argv, "-o", str(tmp_path / "p.jsonl"), "--workers", "2", "-q"]) == 2
    assert not (tmp_path / "p.jsonl").exists()
