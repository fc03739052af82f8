"""VQA metrics on hand-made question-answer pairs with known right and wrong answers, and on the
narrator's own pairs of synthetic scenes (every type `sargeo.narrator.qa` writes)."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

import pytest

from sargeo.errors import InputError
from sargeo.eval.vqa import AnswerNormaliser, VQAScores, evaluate_vqa


def ref(image: str, question: str, answer: str, type_: str, kind: str) -> dict[str, str]:
    return {
        "image": image,
        "question": question,
        "answer": answer,
        "type": type_,
        "answer_kind": kind,
        "split": "test",
    }


REFS = [
    ref("a.tif", "Is there a ship in the image?", "yes", "presence", "yes/no"),
    ref("a.tif", "How many ships are in the image?", "3", "count", "number"),
    ref("a.tif", "Where are the ships in the image?", "in the upper left", "position", "open"),
    ref("a.tif", "How large is the largest ship?", "large, about 190 m long", "size", "open"),
    ref("a.tif", "What share of the image is water?", "60%", "landcover", "number"),
    ref("a.tif", "What is the dominant land cover in the image?", "water", "landcover", "open"),
    ref("a.tif", "Which half holds more ships, north or south?", "north", "compare", "open"),
    ref("a.tif", "Describe the image.", "Three ships in the upper left.", "describe", "open"),
    ref("b.tif", "Is there a harbor in the image?", "no", "presence", "yes/no"),
    ref("b.tif", "How many ships are in the image?", "0", "count", "number"),
    ref("b.tif", "How many aircraft can you see?", "2", "count", "number"),
]
ANSWERS = {
    ("a.tif", "Is there a ship in the image?"): "Yes, there is.",  # right: first word
    ("a.tif", "How many ships are in the image?"): "three",  # right: a number word
    ("a.tif", "Where are the ships in the image?"): "In the upper-left.",  # right after normalising
    ("a.tif", "How large is the largest ship?"): "large",  # wrong: not the whole answer
    ("a.tif", "What share of the image is water?"): "60 percent",  # right
    ("a.tif", "What is the dominant land cover in the image?"): "Water.",  # right
    ("a.tif", "Which half holds more ships, north or south?"): "South",  # wrong
    ("b.tif", "Is there a harbor in the image?"): "no",  # right
    ("b.tif", "How many ships are in the image?"): "1",  # wrong by 1
    ("b.tif", "How many aircraft can you see?"): "five aircraft",  # wrong by 3
}
PREDS = [{"image": i, "question": q, "answer": a} for (i, q), a in ANSWERS.items()]
TRAIN = [
    {"image": "t.tif", "question": "q", "answer": a, "type": t}
    for t, answers in {
        "count": ["2", "two", "1"],
        "presence": ["yes", "Yes", "no"],
        "position": ["in the center"],
        "size": ["small"],
        "landcover": ["yes", "yes", "50%"],
        "compare": ["north"],
    }.items()
    for a in answers
]


@pytest.fixture(scope="module")
def scores() -> VQAScores:
    return evaluate_vqa(PREDS, REFS, TRAIN)


def test_accuracy_per_type_beside_the_majority_baseline(scores: VQAScores) -> None:
    assert list(scores.types) == ["presence", "count", "position", "size", "landcover", "compare"]
    got = {
        t: (s.questions, s.correct, s.majority, s.baseline_accuracy)
        for t, s in scores.types.items()
    }
    assert got == {
        "presence": (2, 2, "yes", 0.5),
        "count": (3, 1, "2", pytest.approx(1 / 3)),
        "position": (1, 1, "in center", 0.0),
        "size": (1, 0, "small", 0.0),
        "landcover": (2, 2, "yes", 0.0),
        "compare": (1, 0, "north", 1.0),
    }
    assert scores.types["count"].accuracy == pytest.approx(1 / 3)
    assert scores.unscored == {"describe": 1} and scores.train_pairs == 12


def test_mean_absolute_error_of_numbers(scores: VQAScores) -> None:
    count = scores.types["count"]
    assert (count.numeric, count.unparsed) == (3, 0)
    assert count.mae == pytest.approx((0 + 1 + 3) / 3)
    assert count.baseline_mae == pytest.approx((1 + 2 + 0) / 3)  # always '2'
    landcover = scores.types["landcover"]
    assert (landcover.numeric, landcover.mae, landcover.baseline_mae) == (1, 0.0, None)
    assert scores.types["size"].numeric == 0 and scores.types["size"].mae is None
    overall = scores.overall
    assert (overall.questions, overall.correct, overall.accuracy) == (10, 6, 0.6)
    assert overall.baseline_accuracy == pytest.approx(0.3)
    assert overall.mae == pytest.approx(1.0)


def test_table_and_json(scores: VQAScores) -> None:
    table = scores.table()
    assert table.splitlines()[0] == "VQA: 10 questions scored"
    count_row = next(line for line in table.splitlines() if line.startswith("count"))
    assert (
        "0.333" in count_row and "'2'" in count_row and "1.33" in count_row and "1.00" in count_row
    )
    assert "not scored: 1 describe questions" in table
    data = json.loads(scores.to_json())
    assert data["types"]["presence"]["baseline_accuracy"] == 0.5
    assert len(data["questions"]) == 10
    assert "questions" not in scores.to_dict(per_question=False)


def test_normalisation() -> None:
    norm = AnswerNormaliser()
    assert norm("The Upper-Left corner!") == "upper left corner"
    assert norm("Three") == norm("3") == "3"
    assert norm("27 percent") == norm("27%") == "27%"
    assert norm("1,000 ships.") == "1000 ships"
    assert norm("about 3.5 m") == "about 3.5 m"
    assert norm("An oil tank") == "oil tank"
    assert norm("no") == "no"  # 'no' stays an answer, not zero


def test_without_training_pairs_baselines_are_not_available() -> None:
    scores = evaluate_vqa(PREDS, REFS)
    assert all(s.baseline_accuracy is None and s.majority is None for s in scores.types.values())
    assert "baselines: n/a (no training pairs given)" in scores.table()
    assert scores.overall.baseline_accuracy is None


def test_jsonl_files_splits_and_bad_input(tmp_path: Path) -> None:
    def write(name: str, rows: list[dict[str, Any]]) -> Path:
        path = tmp_path / name
        path.write_text("".join(json.dumps(r) + "\n" for r in rows))
        return path

    qa = write("qa.jsonl", [*REFS, *({**r, "split": "train"} for r in TRAIN)])
    preds = write("preds.jsonl", PREDS)
    scores = evaluate_vqa(preds, qa, qa, split="test", train_split="train")
    assert scores.overall.correct == 6 and scores.types["count"].majority == "2"
    with pytest.raises(InputError, match="no predicted answer"):
        evaluate_vqa(PREDS[1:], REFS)
    with pytest.raises(InputError, match="second answer"):
        evaluate_vqa([*PREDS, PREDS[0]], REFS)
    with pytest.raises(InputError, match="no reference question"):
        evaluate_vqa([*PREDS, {"image": "c.tif", "question": "Why?", "answer": "no"}], REFS)
    with pytest.raises(InputError, match="'answer' must be a string"):
        evaluate_vqa([{**PREDS[0], "answer": 3}, *PREDS[1:]], REFS)
    with pytest.raises(InputError, match="'type' must be a string"):
        evaluate_vqa(PREDS, [{k: v for k, v in r.items() if k != "type"} for r in REFS])
    with pytest.raises(InputError, match="no references in the split 'val'"):
        evaluate_vqa(PREDS, qa, split="val")
    (tmp_path / "bad.jsonl").write_text("{oops\n")
    with pytest.raises(InputError, match="not valid JSON"):
        evaluate_vqa(tmp_path / "bad.jsonl", REFS)
    describe = {"image": "a.tif", "question": "Describe the image.", "answer": "Ships."}
    with pytest.raises(InputError, match="only free-form"):
        evaluate_vqa([describe], [REFS[7]])


def test_the_narrators_pairs_answered_right_score_one() -> None:
    from sargeo.datasets.synthetic import load_synthetic
    from sargeo.narrator.fusion import Narrator, image_path
    from sargeo.narrator.qa import sample_qa
    from sargeo.synth.scene import SynthOptions, generate

    with tempfile.TemporaryDirectory() as tmp:
        generate(Path(tmp) / "s", 6, SynthOptions(size=256, seed=5, workers=1), progress=False)
        samples = load_synthetic(Path(tmp) / "s").samples
        narrator = Narrator()
        rows = []
        for i, sample in enumerate(samples):
            result = narrator.caption(sample)
            for pair in sample_qa(result, narrator).pairs:
                split = "train" if i % 2 else "test"
                rows.append({"image": image_path(sample), "split": split, **pair.to_dict()})
    test = [r for r in rows if r["split"] == "test"]
    train = [r for r in rows if r["split"] == "train"]
    words = AnswerNormaliser().numbers
    digits = {v: k for k, v in words.items()}
    oracle = [
        {**r, "answer": digits.get(r["answer"], r["answer"]).upper()}
        for r in test
        if r["type"] != "describe"
    ]
    scores = evaluate_vqa(oracle, test, train)
    assert {"presence", "count", "position", "size", "landcover"} <= set(scores.types)
    assert all(s.accuracy == 1.0 for s in scores.types.values())
    assert scores.types["count"].mae == 0.0
    assert scores.overall.baseline_accuracy is not None and scores.overall.baseline_accuracy < 1.0


def test_only_some_question_types(scores: VQAScores) -> None:
    wanted = ("count", "presence")
    preds = [p for p, r in zip(PREDS, [r for r in REFS if r["type"] != "describe"], strict=True)
             if r["type"] in wanted]  # fmt: skip
    some = evaluate_vqa(preds, REFS, TRAIN, types=wanted)  # no answer needed for other types
    assert list(some.types) == ["presence", "count"]
    assert some.types["count"].accuracy == scores.types["count"].accuracy
    assert some.overall.questions == 5
    with pytest.raises(InputError, match="no reference question of type"):
        evaluate_vqa(preds, REFS, types=["heading"])
