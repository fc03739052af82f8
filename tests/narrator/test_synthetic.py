"""SAR-Narrator on real `sargeo synth` scenes: a hypothesis property over scene seeds (no absent class,
true counts and positions, true count answers), and `sargeo narrate` on a folder of scenes."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sargeo.cli import main
from sargeo.narrator.fusion import Narrator

from .helpers import assert_grounded

synth = pytest.importorskip("sargeo.synth.scene")
SIZE = 256


def _scenes(folder: Path, n: int, seed: int) -> list:  # type: ignore[type-arg]
    from sargeo.datasets.synthetic import load_synthetic

    synth.generate(folder, n, synth.SynthOptions(size=SIZE, seed=seed, workers=1), progress=False)
    return load_synthetic(folder).samples


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(0, 2**31))
def test_captions_of_synthetic_scenes_are_grounded(seed: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        (sample,) = _scenes(Path(tmp) / "s", 1, seed)
        result = Narrator().caption(sample)
        assert len(result.captions) == 5
        assert result.cover is not None and result.cover.shares
        assert_grounded(result)


def test_sargeo_narrate_on_synthetic_scenes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = tmp_path / "synth"
    samples = _scenes(data, 4, seed=11)
    out = tmp_path / "narrated"
    assert main(["narrate", str(data), "-o", str(out), "--qa", "-q"]) == 0
    printed = capsys.readouterr().out
    assert "4 images, 20 captions" in printed and "branches:" in printed
    card = json.loads((out / "card.json").read_text())
    objects = sum(len(s.boxes) for s in samples)
    assert sum(v["objects"] for v in card["class_coverage"].values()) == objects
    records = [json.loads(line) for line in (out / "captions.jsonl").read_text().splitlines()]
    assert all(r["geometry"].startswith("POLYGON") and r["lat"] is not None for r in records)
    assert {r["branch"] for r in records} >= {"a2c", "sa2c", "geo"}
    dialogues = json.loads((out / "conversations.json").read_text())
    assert len(dialogues) == 4 and all(
        d["conversations"][0]["value"].startswith("<image>") for d in dialogues
    )


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(0, 2**31))
def test_nothing_present_is_said_to_be_absent(seed: int) -> None:
    """Every class the narrator may deny has no box and no mask pixel in the scene."""
    import numpy as np
    import rasterio

    narrator = Narrator()
    with tempfile.TemporaryDirectory() as tmp:
        (sample,) = _scenes(Path(tmp) / "s", 1, seed)
        facts, cover = narrator.facts(sample)
        assert cover is not None
        with rasterio.open(sample.mask) as src:
            values = set(np.unique(src.read(1)).tolist())
    vocab = narrator.vocab
    shown = {
        vocab.surface(name) or vocab.object_class(name).key
        for value, name in sample.mask_classes.items()
        if value in values
    }
    boxed = {vocab.object_class(b.cls).key for b in sample.boxes}
    assert not set(facts.absent) & (shown | boxed), (facts.absent, shown, boxed)
    assert not set(cover.absent) & shown, (cover.absent, shown)
    # and a class outside the world's table (a building, a vehicle) is never denied
    table = {vocab.surface(n) or vocab.object_class(n).key for n in sample.mask_classes.values()}
    assert set(facts.absent) <= table and set(cover.absent) <= table
