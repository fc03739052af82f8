"""The o2s branch on real inputs, end to end: `sargeo synth` scenes carry captions of their optical
image, `sargeo narrate` rewrites them into SAR language (no colour word, the same objects and counts),
and a SAR-optical pair folder with RSICD-style captions does the same."""

from __future__ import annotations

import json
import random
import re
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from sargeo.cli import main
from sargeo.datasets.synthetic import load_synthetic
from sargeo.narrator import o2s
from sargeo.narrator.vocab import load_vocab
from sargeo.records import Sample
from sargeo.synth.optical_caption import load_vocab as load_optical_vocab
from sargeo.synth.scene import SynthOptions, generate
from tests.datasets.helpers import write_image

from .helpers import stated_counts

VOCAB = load_vocab()
COLOURS = frozenset(
    {"red", "green", "blue", "white", "grey", "gray", "black", "yellow", "brown", "tan", "beige"}
    | {"greenish", "yellowish", "multicoloured", "colourful", "colorful", "orange", "purple"}
)
"""Colour words, checked as whole words and as parts of hyphenated words ('red-roofed')."""


def colour_words(text: str) -> set[str]:
    """The colour words of a text, whole or inside hyphenated words."""
    return {w for w in re.findall(r"[a-z]+", text.lower()) if w in COLOURS}


def _records(folder: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (folder / "captions.jsonl").read_text().splitlines()]


def _kept_counts(optical: str, rewrite: str) -> None:
    """Every count the optical caption states is stated in the rewrite, for the same class."""
    before = Counter(m for m in o2s.mentions(optical, VOCAB).elements() if m[1] is not None)
    after = o2s.mentions(rewrite, VOCAB)
    assert not before - after, (optical, rewrite)


def test_every_optical_colour_phrase_is_dropped_by_the_o2s_rules() -> None:
    rules = o2s.rules_for(VOCAB)
    for cls, phrases in load_optical_vocab()["colours"].items():
        for phrase in phrases:
            text = f"Two {phrase} ships lie beside a {phrase} sea."
            out = rules.rewrite(text, random.Random(0))
            assert not colour_words(out), (cls, phrase, out)
            assert not set(phrase.lower().split()) & set(out.lower().split()), (phrase, out)


@pytest.fixture(scope="module")
def synth_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Four 512 px scenes of seed 3 (ships, harbours, wind farms, towns)."""
    out = tmp_path_factory.mktemp("o2s") / "synth"
    generate(out, 4, SynthOptions(size=512, seed=3, workers=1), progress=False)
    return out


def test_sargeo_narrate_rewrites_the_optical_captions_of_synthetic_scenes(
    synth_folder: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    samples: dict[str, Sample] = {
        str(Path(s.image).resolve()): s for s in load_synthetic(synth_folder).samples
    }
    assert all(s.optical_caption for s in samples.values())
    out = tmp_path / "narrated"
    assert main(["narrate", str(synth_folder), "-o", str(out), "-q"]) == 0
    assert "o2s" in capsys.readouterr().out  # the printed card names the branch
    card = json.loads((out / "card.json").read_text())
    o2s_records = [r for r in _records(out) if r["branch"] == "o2s"]
    assert card["branch_share"]["o2s"] == pytest.approx(
        len(o2s_records) / card["captions"], abs=1e-4
    )
    assert {r["image"] for r in o2s_records} == set(samples)  # every scene gets one
    for record in o2s_records:
        sample = samples[record["image"]]
        optical, rewrite = sample.optical_caption or "", record["caption"]
        assert colour_words(optical), optical  # the optical side has colours...
        assert not colour_words(rewrite), rewrite  # ...the SAR side none
        assert o2s.consistent(optical, rewrite, VOCAB) == (True, ""), (optical, rewrite)
        _kept_counts(optical, rewrite)
        truth = Counter(VOCAB.object_class(b.cls).key for b in sample.boxes)
        for cls, lo, hi in stated_counts(rewrite):
            assert lo <= truth[cls] <= hi, (rewrite, dict(truth))


def test_narrate_pairs_with_rsicd_captions(tmp_path: Path) -> None:
    root = tmp_path / "pairs"
    for name in ("1.png", "2.png", "3.png"):
        write_image(root / "sar" / name, 16, 16)
        write_image(root / "opt" / name, 16, 16)
    captions = {
        "1.png": "Two white ships are moored beside a grey pier near red-roofed buildings.",
        "2.png": "A blue river runs through green farmland with three white storage tanks.",
    }
    (root / "opt" / "captions.csv").write_text(
        "filename,caption\n" + "".join(f'{k},"{v}"\n' for k, v in captions.items()),
        encoding="utf-8",
    )
    out = tmp_path / "narrated"
    assert main(["narrate", str(root), "-o", str(out), "-q"]) == 0
    by_image: dict[str, list[str]] = {}
    for r in _records(out):
        if r["branch"] == "o2s":
            by_image.setdefault(Path(r["image"]).name, []).append(r["caption"])
    assert set(by_image) == {"1.png", "2.png"}  # 3.png has no optical caption
    for name, rewrites in by_image.items():
        for rewrite in rewrites:
            assert not colour_words(rewrite), rewrite
            assert o2s.consistent(captions[name], rewrite, VOCAB)[0], rewrite
            _kept_counts(captions[name], rewrite)
    assert any("two bright ships" in r.lower() for r in by_image["1.png"]), by_image
    card = json.loads((out / "card.json").read_text())
    assert card["branch_share"]["o2s"] > 0
