"""`sargeo eval caption` and `sargeo eval vqa` on a real corpus: tables, JSON, one-line errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sargeo.cli import main
from sargeo.corpus.recipe import RECIPES
from sargeo.datasets.writers import read_jsonl

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("eval") / "corpus"
    assert (
        main(["corpus", "build", "-o", str(out), "--recipe", str(RECIPES / "tiny.json"), "-q"]) == 0
    )
    return out


def _write(path: Path, records: list[dict[str, str]]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    return path


def test_caption_scores_of_reference_captions(
    corpus: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    first: dict[str, str] = {}
    for record in read_jsonl(corpus / "captions.jsonl"):
        first.setdefault(record["image"], record["caption"])
    pred = _write(tmp_path / "pred.jsonl", [{"image": k, "caption": v} for k, v in first.items()])
    out = tmp_path / "scores.json"
    argv = ["eval", "caption", str(pred), "--references", str(corpus / "captions.jsonl"),
            "--samples", str(corpus / "samples.jsonl"), "-o", str(out)]  # fmt: skip
    assert main(argv) == 0
    assert "CIDEr" in capsys.readouterr().out
    scores = json.loads(out.read_text())
    assert scores  # the narrator's own captions are judged true
    text = json.dumps(scores)
    assert "SPICE" in text and "hallucination" in text


def test_vqa_scores_beside_the_majority_baseline(
    corpus: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pairs = list(read_jsonl(corpus / "qa.jsonl"))
    wrong = [{"image": p["image"], "question": p["question"], "answer": "purple"} for p in pairs]
    pred = _write(tmp_path / "answers.jsonl", wrong)
    argv = ["eval", "vqa", str(pred), "--references", str(corpus / "qa.jsonl"),
            "--train", str(corpus / "qa.jsonl"), "-o", str(tmp_path / "vqa.json")]  # fmt: skip
    assert main(argv) == 0
    assert "baseline" in capsys.readouterr().out
    assert (tmp_path / "vqa.json").is_file()


@pytest.mark.parametrize("kind", ["caption", "vqa"])
def test_missing_predictions_are_one_line(
    corpus: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], kind: str
) -> None:
    refs = corpus / ("captions.jsonl" if kind == "caption" else "qa.jsonl")
    out = tmp_path / "out.json"
    assert (
        main(
            ["eval", kind, str(tmp_path / "nope.jsonl"), "--references", str(refs), "-o", str(out)]
        )
        == 2
    )
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "nope.jsonl" in err
    assert not out.exists()


def test_scores_never_overwrite_an_input(
    corpus: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pairs = list(read_jsonl(corpus / "qa.jsonl"))[:5]
    pred = _write(
        tmp_path / "answers.jsonl",
        [{"image": p["image"], "question": p["question"], "answer": p["answer"]} for p in pairs],
    )
    before = pred.read_text()
    argv = ["eval", "vqa", str(pred), "--references", str(corpus / "qa.jsonl"), "-o", str(pred)]
    assert main(argv) == 2 and pred.read_text() == before
