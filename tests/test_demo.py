"""``sargeo demo`` runs the whole chain, from a corpus to a map, and writes every step's outputs."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pytest
import rasterio

from sargeo.cli import main
from sargeo.demo import QUERIES


@pytest.mark.slow
def test_demo_writes_the_chain(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "demo"
    assert main(["demo", "-o", str(out), "-q"]) == 0
    report = capsys.readouterr().out
    assert "[1]" in report and "[6] text search" in report and "map.png" in report
    assert (out / "corpus" / "card.json").exists()
    assert (out / "export" / "clip" / "bundle.json").exists()
    hits = gpd.read_file(out / "search.gpkg", layer="search")
    assert set(hits["query"]) == set(QUERIES)
    assert hits.groupby("query")["rank"].max().tolist() == [5, 5]
    with rasterio.open(out / "scene" / "scene_0000" / "sar.tif") as scene:
        assert hits.crs == scene.crs
        assert hits.total_bounds[0] >= scene.bounds.left - 1e-6
    with rasterio.open(out / "heatmap.tif") as heat:
        assert heat.count == len(QUERIES)
    captions = gpd.read_file(out / "captions.gpkg", layer="captions")
    assert len(captions) == 64 and captions["caption"].str.len().min() > 0  # 8 x 8 tiles of 128 px
    assert "[8] ask about the scene" in report  # gpt is exported and asked through its bundle
    answers = gpd.read_file(out / "answers.gpkg", layer="ask")
    assert len(answers) > 0 and answers["bundle_sha256"].str.len().eq(64).all()
    png = (out / "map.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 20_000
    assert main(["demo", "-o", str(out), "-q"]) == 2  # refuses to overwrite without --overwrite
