"""Caption metrics on small fixed examples: against pycocoevalcap called directly (its own PTBTokenizer
and scorers, real Java), against values worked out by hand, and without Java or SPICE's jars."""

from __future__ import annotations

import json
import math
import re
import tempfile
from pathlib import Path
from typing import Any

import pytest

from sargeo.errors import InputError, OptionError
from sargeo.eval import coco
from sargeo.eval.caption import METRICS, CaptionScores, evaluate_captions

REFERENCES = {
    "chips/a.tif": [
        "Three large ships are moored along a pier in the top-left corner.",
        "Water dominates the image (72%), with land (28%) in the east.",
        "In SAR, three bright vessels lie at their moorings in the upper left.",
    ],
    "chips/b.tif": [
        "A single vessel (cargo type) heading north-east.",
        "Mostly water, with the water's edge along the bottom.",
    ],
    "chips/c.tif": [
        "Farmland covers about 44% of the image, in the east.",
        "A SAR image of patchy cropland and dark water.",
        "Two storage tanks in the center.",
    ],
}
PREDICTIONS = {
    "chips/a.tif": "Three ships are moored along a pier in the upper left.",
    "chips/b.tif": "A cargo ship heading north.",
    "chips/c.tif": "Farmland covers 40% of the image, in the east.",
}

needs_java = pytest.mark.skipif(coco.find_java()[0] is None, reason="no Java here")


def direct(references: dict[str, list[str]], predictions: dict[str, str]) -> dict[str, Any]:
    """pycocoevalcap as its own COCOEvalCap runs it: PTBTokenizer, then each scorer."""
    from pycocoevalcap.bleu.bleu import Bleu
    from pycocoevalcap.cider.cider import Cider
    from pycocoevalcap.meteor.meteor import Meteor
    from pycocoevalcap.rouge.rouge import Rouge
    from pycocoevalcap.tokenizer.ptbtokenizer import PTBTokenizer

    tokenizer = PTBTokenizer()
    gts = tokenizer.tokenize({k: [{"caption": c} for c in v] for k, v in references.items()})
    res = tokenizer.tokenize({k: [{"caption": predictions[k]}] for k in references})
    out: dict[str, Any] = {}
    bleu, per = Bleu(4).compute_score(gts, res, verbose=0)
    for n in range(4):
        out[f"BLEU-{n + 1}"] = (bleu[n], per[n])
    meteor = Meteor()
    out["METEOR"] = meteor.compute_score(gts, res)
    del meteor
    out["ROUGE-L"] = Rouge().compute_score(gts, res)
    out["CIDEr-D"] = Cider().compute_score(gts, res)
    return {"scores": out, "order": list(gts), "tokens": (gts, res)}


@pytest.fixture(scope="module")
def ours() -> CaptionScores:
    return evaluate_captions(PREDICTIONS, REFERENCES)


@pytest.mark.slow
@needs_java
def test_scores_equal_pycocoevalcap_called_directly(ours: CaptionScores) -> None:
    expected = direct(REFERENCES, PREDICTIONS)
    assert ours.tokenizer == "ptb" and ours.images == 3 and ours.references == 8
    for name, (score, per_image) in expected["scores"].items():
        assert ours.metrics[name] == pytest.approx(float(score), abs=1e-12), name
        mine = [ours.per_image[image][name] for image in expected["order"]]
        assert mine == pytest.approx([float(v) for v in per_image], abs=1e-12), name
    assert 0.0 < ours.metrics["METEOR"] < 1.0  # type: ignore[operator]
    assert ours.metrics["SPICE"] is None and "CoreNLP" in ours.unavailable["SPICE"]


@needs_java
def test_our_ptb_pipe_tokenises_like_pycocoevalcaps_tokenizer() -> None:
    from pycocoevalcap.tokenizer.ptbtokenizer import PTBTokenizer

    java, _ = coco.find_java()
    assert java is not None
    captions = {**REFERENCES, "odd": ["", "It isn't 1,000 ships -- e.g. U.S. ones.", "(x) [y] {z}"]}
    theirs = PTBTokenizer().tokenize({k: [{"caption": c} for c in v] for k, v in captions.items()})
    assert coco.ptb_tokenize(captions, java) == theirs
    assert coco.python_tokenize(captions) == theirs


@needs_java
def test_known_values_worked_out_by_hand() -> None:
    # one image, one reference of 6 words; the prediction is its first 3 words
    refs = {"x": ["the cat sat on the mat"], "y": ["a dog ran in the park"]}
    preds = {"x": "the cat sat", "y": "a dog ran in the park"}
    scores = evaluate_captions(preds, refs, metrics=("BLEU-1", "BLEU-4", "ROUGE-L"))
    per = scores.per_image
    # BLEU-1: precision 3/3, brevity penalty exp(1 - 6/3)
    assert per["x"]["BLEU-1"] == pytest.approx(math.exp(-1.0), rel=1e-6)
    # ROUGE-L: LCS 3, precision 1, recall 1/2, beta 1.2: (1 + b^2) P R / (R + b^2 P)
    beta2 = 1.2**2
    assert per["x"]["ROUGE-L"] == pytest.approx((1 + beta2) * 0.5 / (0.5 + beta2), rel=1e-9)
    assert per["y"]["BLEU-4"] == pytest.approx(1.0, abs=1e-6)
    assert per["y"]["ROUGE-L"] == pytest.approx(1.0)
    # corpus BLEU-1: 9 words matched of 9, reference length 12, hypothesis length 9
    assert scores.metrics["BLEU-1"] == pytest.approx(math.exp(1 - 12 / 9), rel=1e-6)
    assert list(scores.metrics) == ["BLEU-1", "BLEU-4", "ROUGE-L"]


def test_without_java_meteor_and_spice_are_unavailable_not_zero(tmp_path: Path) -> None:
    scores = evaluate_captions(PREDICTIONS, REFERENCES, java=str(tmp_path / "no-java"))
    assert scores.metrics["METEOR"] is None and scores.metrics["SPICE"] is None
    assert "Java" in scores.unavailable["METEOR"] and "Java" in scores.unavailable["SPICE"]
    assert scores.tokenizer == "python" and "Java" in scores.tokenizer_note
    assert all(scores.metrics[m] is not None for m in ("BLEU-4", "ROUGE-L", "CIDEr-D"))
    data = json.loads(scores.to_json())
    assert data["metrics"]["METEOR"] is None and data["unavailable"]["METEOR"]
    table = scores.table()
    assert "METEOR   n/a" in table and "METEOR: n/a, Java" in table and "0.0000" not in table


@needs_java
def test_python_tokens_give_the_ptb_scores(tmp_path: Path) -> None:
    metrics = ("BLEU-4", "ROUGE-L", "CIDEr-D")
    ptb = evaluate_captions(PREDICTIONS, REFERENCES, metrics=metrics)
    python = evaluate_captions(PREDICTIONS, REFERENCES, metrics=metrics, java=str(tmp_path / "x"))
    assert (ptb.tokenizer, python.tokenizer) == ("ptb", "python")
    assert python.metrics == pytest.approx(ptb.metrics)


def test_spice_without_corenlp_says_why(tmp_path: Path) -> None:
    jars, why = coco.corenlp_jars(tmp_path)
    assert jars is None and "stanford-corenlp-3.6.0-models.jar" in why and str(tmp_path) in why


@needs_java
def test_spice_that_fails_is_unavailable_with_javas_reason(tmp_path: Path) -> None:
    for name in coco.CORENLP_JARS:  # present but not jars: SPICE runs and fails
        (tmp_path / name).write_bytes(b"not a jar")
    scores = evaluate_captions(
        PREDICTIONS, REFERENCES, metrics=("BLEU-1", "SPICE"), corenlp_dir=tmp_path
    )
    assert scores.metrics["SPICE"] is None
    assert scores.unavailable["SPICE"].startswith("SPICE failed:")
    assert scores.metrics["BLEU-1"] is not None


def test_jsonl_inputs_with_a_split(tmp_path: Path) -> None:
    refs = tmp_path / "captions.jsonl"
    lines = [
        {"image": image, "caption": c, "split": "test" if image != "chips/c.tif" else "train"}
        for image, caps in REFERENCES.items()
        for c in caps
    ]
    refs.write_text("".join(json.dumps(r) + "\n" for r in lines))
    preds = tmp_path / "predictions.jsonl"
    kept = {k: v for k, v in PREDICTIONS.items() if k != "chips/c.tif"}
    preds.write_text(
        "".join(json.dumps({"image": k, "caption": v}) + "\n" for k, v in kept.items())
    )
    scores = evaluate_captions(preds, refs, split="test", metrics=("BLEU-1", "CIDEr-D"))
    assert scores.images == 2 and scores.references == 5
    with pytest.raises(InputError, match="have no prediction"):
        evaluate_captions(preds, refs, metrics=("BLEU-1",))
    with pytest.raises(InputError, match="no reference captions in the split 'val'"):
        evaluate_captions(preds, refs, split="val", metrics=("BLEU-1",))


def test_bad_inputs_are_input_errors(tmp_path: Path) -> None:
    one = ("BLEU-1",)
    with pytest.raises(InputError, match=re.escape("no reference caption: 'chips/z.tif'")):
        evaluate_captions({**PREDICTIONS, "chips/z.tif": "x"}, REFERENCES, metrics=one)
    with pytest.raises(OptionError, match="BLEU-5"):
        evaluate_captions(PREDICTIONS, REFERENCES, metrics=("BLEU-5",))
    bad = tmp_path / "bad.jsonl"
    cases = {
        '{"image": "chips/a.tif", "caption": "x"}\n{"image": "chips/a.tif", "caption": "y"}\n': "second caption",
        '{"image": "chips/a.tif"}\n': "'caption' must be a string \\(missing\\)",
        '{"image": "chips/a.tif", "caption": 3}\n': "a int",
        '{"image": "chips/a.tif", \n': "line 1: not valid JSON",
        "[1, 2]\n": "expected a JSON object",
        "\n\n": "no predictions",
    }
    for text, message in cases.items():
        bad.write_text(text)
        with pytest.raises(InputError, match=message):
            evaluate_captions(bad, REFERENCES, metrics=one)
    bad.write_bytes(b"\xff\xfe\x00")
    with pytest.raises(InputError, match="UTF-8"):
        evaluate_captions(bad, REFERENCES, metrics=one)
    with pytest.raises(InputError, match="no such prediction file"):
        evaluate_captions(tmp_path / "none.jsonl", REFERENCES, metrics=one)
    with pytest.raises(InputError, match="sample_id"):
        evaluate_captions(PREDICTIONS, REFERENCES, key="id", metrics=one)
    with pytest.raises(InputError, match="list of strings"):
        evaluate_captions(PREDICTIONS, {**REFERENCES, "chips/a.tif": "one string"}, metrics=one)


@pytest.mark.slow
@needs_java
def test_metrics_list_and_table(ours: CaptionScores) -> None:
    assert list(ours.metrics) == list(METRICS)
    table = ours.table()
    assert table.splitlines()[0].startswith("caption metrics: 3 images, 8 references")
    for name in METRICS:
        assert name in table
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "scores.json"
        path.write_text(ours.to_json())
        data = json.loads(path.read_text())
    assert set(data["per_image"]) == set(REFERENCES)
    assert "per_image" not in ours.to_dict(per_image=False)
