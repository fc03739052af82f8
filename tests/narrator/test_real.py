"""SAR-Narrator on real annotations: HRSID ship counts, OpenSARShip ship types (Sen1Floods11's water
share is checked in test_sa2c.py)."""

from __future__ import annotations

import json
import random
from collections import Counter
from pathlib import Path

import pytest

from sargeo.narrator import qa
from sargeo.narrator.fusion import Narrator
from sargeo.narrator.pipeline import narrate

from .helpers import named_classes, named_labels, stated_counts

pytestmark = pytest.mark.shared_data


def test_hrsid_every_caption_states_the_coco_ship_count(shared_data: Path) -> None:
    from sargeo.datasets.detect import load_dataset

    root = shared_data / "hrsid_mini"
    data = json.loads((root / "annotations" / "instances.json").read_text())
    ids = {img["id"]: Path(img["file_name"]).stem for img in data["images"]}
    expected = Counter(ids[a["image_id"]] for a in data["annotations"])
    samples = {s.id: s for s in load_dataset(root).samples}
    assert set(ids.values()) <= set(samples)
    narrator = Narrator()
    for name, n in expected.items():
        result = narrator.caption(samples[name])
        assert len(result.captions) == 5, name
        for cand in result.captions:
            counts = [c for c in stated_counts(cand.text) if c[0] == "ship"]
            assert counts, (name, cand.text)
            assert all(lo == hi == n for _, lo, hi in counts), (name, n, cand.text)
            assert named_classes(cand.text) == {"ship"}, cand.text
        pairs = qa.pairs(result.facts, result.cover, narrator.vocab, random.Random(0))
        answers = [p.answer for p in pairs if p.type == "count" and "ship" in p.question]
        assert answers == [str(n)], (name, answers)


def test_hrsid_cli_writes_outputs_and_card(shared_data: Path, tmp_path: Path) -> None:
    from sargeo.cli import main

    out = tmp_path / "hrsid"
    assert main(["narrate", str(shared_data / "hrsid_mini"), "-o", str(out), "--qa", "-q"]) == 0
    card = json.loads((out / "card.json").read_text())
    assert card["class_coverage"]["ship"]["objects"] == 24
    assert (
        card["images"] == 18 and card["uncaptioned_images"] == 2
    )  # two images the COCO file lists not
    qa_rows = [json.loads(line) for line in (out / "qa.jsonl").read_text().splitlines()]
    ship_counts = sum(
        int(r["answer"]) for r in qa_rows if r["type"] == "count" and "ship" in r["question"]
    )
    assert ship_counts == 24
    splits = json.loads((out / "splits.json").read_text())
    scenes = {
        json.loads(line)["scene"] for line in (out / "captions.jsonl").read_text().splitlines()
    }
    assert scenes <= set(splits)


def test_hrsid_names_no_class_outside_its_labels(shared_data: Path, tmp_path: Path) -> None:
    """HRSID annotates ships only: no question, answer or caption may name another class (its
    harbours and buildings are unknown, not absent)."""
    from sargeo.datasets.detect import load_dataset

    samples = load_dataset(shared_data / "hrsid_mini").samples
    assert {s.labels for s in samples} == {("ship",)}
    out = narrate(samples, tmp_path / "out", with_qa=True, progress=False).output
    captions = [json.loads(line)["caption"] for line in (out / "captions.jsonl").open()]
    pairs = [json.loads(line) for line in (out / "qa.jsonl").open()]
    dialogues = json.loads((out / "conversations.json").read_text())
    turns = [t["value"] for d in dialogues for t in d["conversations"]]
    texts = captions + [p[k] for p in pairs for k in ("question", "answer")] + turns
    assert len(captions) > 60 and len(pairs) > 60
    outside = {text: named_labels(text) - {"ship"} for text in texts}
    assert not {text: names for text, names in outside.items() if names}


def test_opensarship_ship_type_appears(shared_data: Path) -> None:
    from sargeo.datasets.detect import load_dataset

    samples = load_dataset(shared_data / "opensarship").samples[:40]
    narrator = Narrator()
    for sample in samples:
        (box,) = sample.boxes
        kind = str(box.attributes["ship_type"]).lower()
        texts = [c.text.lower() for c in narrator.caption(sample).captions]
        if kind in ("other type", "other"):
            continue
        assert texts and all(kind in t for t in texts if "ship" in t or "vessel" in t), (
            kind,
            texts,
        )
        assert all(c[1:] == (1, 1) for t in texts for c in stated_counts(t)), texts
