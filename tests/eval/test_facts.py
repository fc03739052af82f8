"""Fact accuracy: hand-made captions with known errors against a hand-made sample (3 ships, a real mask
file of water 60 %, land 30 %, urban 10 %), and the narrator's own captions, which must all be true."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import numpy as np
import pytest
import rasterio
from rasterio.transform import from_origin

from sargeo.datasets.writers import samples_to_jsonl
from sargeo.eval.caption import evaluate_captions
from sargeo.eval.facts import FactScores, fact_accuracy
from sargeo.narrator.fusion import Narrator, image_path
from sargeo.records import Box, Sample

SIZE = 200
LABELS = ("ship", "harbour", "storage tank", "water", "land", "urban")


def write_mask(path: Path) -> None:
    """Water in the west 60 %, land 30 %, urban 10 % (values 1, 2, 3)."""
    mask = np.full((SIZE, SIZE), 2, dtype=np.uint8)
    mask[:, :120] = 1
    mask[:, 180:] = 3
    path.parent.mkdir(parents=True, exist_ok=True)
    profile = {"driver": "GTiff", "width": SIZE, "height": SIZE, "count": 1, "dtype": "uint8"}
    transform = from_origin(500000, 5000000, 10, 10)
    with rasterio.open(path, "w", crs="EPSG:32631", transform=transform, **profile) as dst:
        dst.write(mask, 1)


def three_ships(mask: str) -> Sample:
    boxes = [Box("ship", (20 + 30 * i, 40, 30 + 30 * i, 50), source_id=str(i)) for i in range(3)]
    return Sample(
        id="s1",
        image="chips/a.tif",
        width=SIZE,
        height=SIZE,
        boxes=boxes,
        mask=mask,
        mask_classes={1: "water", 2: "land", 3: "urban"},
        labels=LABELS,
    )


CAPTIONS = {
    "right": "Three ships on dark water in the west.",
    "wrong_count_and_harbour": "Five ships moored along the harbour.",
    "wrong_dominant": "Mostly land, with three vessels.",
    "vague_inside": "Several ships.",
    "vague_outside": "Dozens of ships.",
    "few_and_no_tanks": "A few ships and no storage tanks.",
    "unlabelled_aircraft": "Three ships and two aircraft.",
    "dominant_and_shares": "Water dominates the image (60%), with land (30%).",
    "wrong_share": "Urban area covers 45% of the image.",
    "denied_ships": "No ships are visible.",
}


@pytest.fixture(scope="module")
def scores(tmp_path_factory: pytest.TempPathFactory) -> FactScores:
    mask = tmp_path_factory.mktemp("gt") / "mask.tif"
    write_mask(mask)
    sample = three_ships(str(mask))
    return fact_accuracy(CAPTIONS, {name: sample for name in CAPTIONS})


def kinds(scores: FactScores, name: str) -> list[tuple[str, str, str, str, bool]]:
    return [(v.kind, v.cls, v.stated, v.truth, v.correct) for v in scores.verdicts[name]]


def test_each_known_error_is_found(scores: FactScores) -> None:
    assert kinds(scores, "right") == [
        ("count", "ship", "3", "3", True),
        ("presence", "ship", "there", "there", True),
        ("presence", "water", "there", "there", True),
        ("seen", "ship", "named", "3", True),
    ]
    bad = kinds(scores, "wrong_count_and_harbour")
    assert ("count", "ship", "5", "3", False) in bad
    assert ("presence", "harbor", "there", "absent", False) in bad  # 'harbour' read as harbor
    assert ("dominant", "land", "land", "water", False) in kinds(scores, "wrong_dominant")
    assert ("count", "ship", "3-9", "3", True) in kinds(scores, "vague_inside")
    assert ("count", "ship", "20-99", "3", False) in kinds(scores, "vague_outside")
    few = kinds(scores, "few_and_no_tanks")
    assert ("count", "ship", "2-5", "3", True) in few
    assert ("count", "storage tank", "0", "0", True) in few
    assert ("absence", "storage tank", "absent", "absent", True) in few
    # aircraft are not among the sample's labels: the caption's 'two aircraft' cannot be judged
    assert [v for v in scores.verdicts["unlabelled_aircraft"] if v.cls == "aircraft"] == []
    assert scores.claims["unlabelled_aircraft"].named == {"ship", "aircraft"}
    shares = kinds(scores, "dominant_and_shares")
    assert ("dominant", "water", "water", "water", True) in shares
    assert ("share", "water", "0.60", "0.60", True) in shares
    assert ("share", "land", "0.30", "0.30", True) in shares
    assert ("share", "urban", "0.45", "0.10", False) in kinds(scores, "wrong_share")
    denied = kinds(scores, "denied_ships")
    assert ("count", "ship", "0", "3", False) in denied
    assert ("absence", "ship", "absent", "there", False) in denied
    assert ("seen", "ship", "missed", "3", False) in denied  # denied: the ships were missed
    assert ("seen", "ship", "named", "3", True) in kinds(scores, "wrong_dominant")  # 'vessels'
    assert ("seen", "ship", "missed", "3", False) in kinds(scores, "wrong_share")


def test_summary_figures(scores: FactScores) -> None:
    s = scores.summary()
    assert s["captions"] == 10 and s["captions_without_truth"] == 0
    count = s["count"]
    assert (count["stated"], count["judged"], count["correct"]) == (10, 9, 6)
    assert (count["exact"]["judged"], count["exact"]["correct"]) == (6, 4)
    assert count["exact"]["mae"] == pytest.approx(5 / 6)  # |5-3| and |0-3| over six
    assert (count["band"]["judged"], count["band"]["correct"]) == (3, 2)
    h = s["hallucination"]
    assert (h["mentions_judged"], h["hallucinated"], h["classes"]) == (13, 1, ["harbor"])
    assert (h["captions_judged"], h["captions_with_hallucination"]) == (9, 1)
    assert (s["absence"]["judged"], s["absence"]["correct"]) == (2, 1)
    seen = s["objects_seen"]
    # three captions miss the ships: the two about cover only, and the one denying them
    assert (seen["judged"], seen["correct"]) == (10, 7)
    assert (s["dominant_cover"]["judged"], s["dominant_cover"]["correct"]) == (2, 1)
    assert (s["share"]["judged"], s["share"]["within_tolerance"]) == (3, 2)
    rows = {name.strip(): value for name, value, _ in scores.rows()}
    assert rows["count accuracy"] == pytest.approx(6 / 9)
    assert rows["dominant cover accuracy"] == pytest.approx(0.5)


def test_nothing_to_judge_is_none_not_zero() -> None:
    sample = Sample(id="u", image="u.tif", width=64, height=64, labels=("ship",))
    scores = fact_accuracy({"u.tif": "Mostly water with three aircraft."}, [sample])
    s = scores.summary()
    assert s["count"]["judged"] == 0 and s["count"]["accuracy"] is None
    assert s["dominant_cover"]["accuracy"] is None  # no mask: land cover is unknown
    unmatched = fact_accuracy({"other.tif": "Three ships."}, [sample])
    assert unmatched.captions == 0 and unmatched.without_truth == 1


def test_samples_jsonl_with_relative_masks(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    write_mask(corpus / "masks" / "a.tif")
    samples_to_jsonl([three_ships("masks/a.tif")], corpus / "samples.jsonl")
    refs = {"chips/a.tif": ["Three ships in the west; mostly water."]}
    preds = {"chips/a.tif": "Mostly land with over ten ships and a harbor."}
    scores = evaluate_captions(preds, refs, samples=corpus / "samples.jsonl", metrics=("BLEU-1",))
    assert scores.facts is not None
    s = scores.facts.summary()
    assert s["count"]["correct"] == 0 and s["count"]["judged"] == 2  # over ten ships, a harbor
    assert s["hallucination"]["classes"] == ["harbor"]
    assert s["dominant_cover"]["correct"] == 0 and s["dominant_cover"]["judged"] == 1
    table = scores.table()
    assert "fact accuracy: 1 captions judged" in table and "hallucination rate" in table
    data = json.loads(scores.to_json())
    assert data["facts"]["images"]["chips/a.tif"][0]["kind"] == "count"
    with pytest.raises(ValueError, match="no such samples file"):
        evaluate_captions(preds, refs, samples=tmp_path / "none.jsonl", metrics=("BLEU-1",))


def test_the_narrators_own_captions_are_all_true() -> None:
    from sargeo.datasets.synthetic import load_synthetic
    from sargeo.synth.scene import SynthOptions, generate

    with tempfile.TemporaryDirectory() as tmp:
        generate(Path(tmp) / "s", 6, SynthOptions(size=256, seed=3, workers=1), progress=False)
        samples = load_synthetic(Path(tmp) / "s").samples
        narrator = Narrator()
        captions, truth = {}, {}
        for sample in samples:
            for i, cand in enumerate(narrator.caption(sample).captions):
                name = f"{image_path(sample)}#{i}"
                captions[name], truth[name] = cand.text, sample
        scores = fact_accuracy(captions, truth)
    wrong = [(captions[n], v) for n, vs in scores.verdicts.items() for v in vs
             if not v.correct and v.kind != "seen"]  # fmt: skip
    assert wrong == []  # 'seen' is recall: a caption about land cover alone leaves ships out
    s = scores.summary()
    assert s["count"]["judged"] >= 10 and s["hallucination"]["mentions_judged"] >= 20
    assert s["share"]["judged"] >= 1 and s["captions"] == 30


@pytest.mark.shared_data
def test_the_narrators_captions_of_real_hrsid_images_are_all_true(shared_data: Path) -> None:
    from sargeo.datasets.detect import load_dataset

    samples = load_dataset(shared_data / "hrsid_mini").samples
    narrator = Narrator()
    captions, truth = {}, {}
    for sample in samples:
        for i, cand in enumerate(narrator.caption(sample).captions):
            captions[f"{sample.id}#{i}"], truth[f"{sample.id}#{i}"] = cand.text, sample
    scores = fact_accuracy(captions, truth)
    s = scores.summary()
    assert s["count"]["judged"] > 0 and s["count"]["accuracy"] == 1.0
    assert s["hallucination"]["hallucinated"] == 0
