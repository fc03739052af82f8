"""``sargeo demo`` runs the whole chain and writes every step's outputs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sargeo.cli import main


@pytest.mark.slow
def test_demo_writes_the_chain(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "demo"
    assert main(["demo", "-o", str(out), "-q"]) == 0
    report = capsys.readouterr().out
    assert "[3/3]" in report and "example captions" in report
    assert (out / "synth" / "scene_0003" / "sar.tif").exists()
    assert (out / "tiles" / "tiles.gpkg").exists()
    captions = [json.loads(line) for line in (out / "narrator" / "captions.jsonl").open()]
    assert len({c["image"] for c in captions}) == 4
    # the synthetic scenes carry captions of their optical image, which o2s rewrites
    assert any(c["branch"] == "o2s" for c in captions)
    assert main(["demo", "-o", str(out), "-q"]) == 2  # refuses to overwrite without --overwrite
