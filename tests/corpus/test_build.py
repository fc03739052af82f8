"""`sargeo corpus build`: the tiny synthetic corpus end to end, real annotated data, bad input."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from sargeo.cli import main
from sargeo.corpus.recipe import RECIPES
from sargeo.datasets.writers import read_jsonl

TINY = RECIPES / "tiny.json"


@pytest.fixture(scope="module")
def tiny_corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("corpus") / "tiny"
    assert main(["corpus", "build", "-o", str(out), "--recipe", str(TINY), "-q"]) == 0
    return out


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def test_tiny_corpus_layout(tiny_corpus: Path) -> None:
    for name in ("captions.jsonl", "qa.jsonl", "samples.jsonl", "card.json", "corpus.json"):
        assert (tiny_corpus / name).is_file(), name
    assert not list(tiny_corpus.glob(".*"))  # no work folders left behind
    coverage = json.loads((tiny_corpus / "corpus.json").read_text())["coverage"]
    assert set(coverage["render"]) == {"hrsid", "db"}
    assert set(coverage["spacing"]) == {"3 m", "10 m"}


def test_paths_are_relative_and_resolve(tiny_corpus: Path) -> None:
    csvs = [*tiny_corpus.glob("captions_*.csv"), *(tiny_corpus / "optical").glob("captions_*.csv")]
    rows = [row for path in csvs for row in _rows(path)]
    assert rows
    for path in csvs:  # relative to the CSV's folder, as the trainer and open_clip read them
        for row in _rows(path):
            assert not Path(row["filepath"]).is_absolute()
            assert (path.parent / row["filepath"]).is_file()
            assert row["title"].strip()
    assert rows
    for record in read_jsonl(tiny_corpus / "captions.jsonl"):
        assert (tiny_corpus / record["image"]).is_file()


def test_splits_never_cut_a_scene(tiny_corpus: Path) -> None:
    scenes: dict[str, set[str]] = {}
    for record in read_jsonl(tiny_corpus / "captions.jsonl"):
        scenes.setdefault(record["scene"], set()).add(record["split"])
    assert all(len(splits) == 1 for splits in scenes.values())
    assert len(scenes) == 4  # two families of two scenes, none sharing a name


def test_optical_pairs_describe_their_tile(tiny_corpus: Path) -> None:
    rows = [r for p in (tiny_corpus / "optical").glob("captions_*.csv") for r in _rows(p)]
    assert rows and all((tiny_corpus / "optical" / r["filepath"]).is_file() for r in rows)
    samples = {Path(s["optical"]).name: s for s in read_jsonl(tiny_corpus / "samples.jsonl")}
    for row in rows:
        assert row["title"] in samples[Path(row["filepath"]).name]["metadata"]["optical_captions"]


@pytest.mark.shared_data
def test_real_hrsid_images_become_tiles_with_their_ships(shared_data: Path, tmp_path: Path) -> None:
    out = tmp_path / "hrsid"
    assert main(["corpus", "build", str(shared_data / "hrsid_mini"), "-o", str(out), "-q"]) == 0
    samples = list(read_jsonl(out / "samples.jsonl"))
    assert len(samples) == 18 * 4  # 800 px images in 512 px tiles, the last flush with the edge
    boxes = [b for s in samples for b in s["boxes"]]
    assert boxes and {b["cls"] for b in boxes} == {"ship"}
    for sample in samples:
        assert tuple(sample["labels"]) == ("ship",)
        for box in sample["boxes"]:
            x0, y0, x1, y1 = box["bbox"]
            assert 0 <= x0 < x1 <= sample["width"] and 0 <= y0 < y1 <= sample["height"]
    text = (out / "captions.jsonl").read_text() + (out / "qa.jsonl").read_text()
    for word in ("harbo", "building", "aircraft", "forest"):
        assert word not in text.lower()  # HRSID labels ships only


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["/nonexistent/data"], "/nonexistent/data"),
        (["--recipe", "/nonexistent.json"], "no such recipe file"),
    ],
)
def test_bad_input_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    code = main(["corpus", "build", *argv, "-o", str(tmp_path / "out"), "-q"])
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1 and message in err, err
    assert not (tmp_path / "out").exists()


def test_output_inside_the_data_is_refused(
    tiny_corpus: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["corpus", "build", str(tiny_corpus), "-o", str(tiny_corpus / "again"), "-q"])
    assert code == 2 and "lies inside the input" in capsys.readouterr().err


def test_dialogue_files_per_split_and_optical_twins(tiny_corpus: Path) -> None:
    every = json.loads((tiny_corpus / "conversations.json").read_text())
    seen = []
    for split in ("train", "val", "test"):
        sar = json.loads((tiny_corpus / f"conversations_{split}.json").read_text())
        optical = json.loads((tiny_corpus / "optical" / f"conversations_{split}.json").read_text())
        assert all(d["split"] == split for d in sar)
        assert [d["id"] for d in optical] == [d["id"] for d in sar]
        for s, o in zip(sar, optical, strict=True):
            assert (tiny_corpus / s["image"]).is_file()
            assert not Path(o["image"]).is_absolute()
            assert (tiny_corpus / "optical" / o["image"]).is_file()
            assert len(o["conversations"]) == len(s["conversations"])
            # the same questions and answers, but a describe turn answers with an optical caption
            differ = [i for i, (a, b) in enumerate(zip(s["conversations"], o["conversations"],
                      strict=True)) if a != b]  # fmt: skip
            assert all(o["conversations"][i - (i % 2)]["value"].endswith("Describe the image.")
                       for i in differ)  # fmt: skip
        seen += [d["id"] for d in sar]
    assert sorted(seen) == sorted(d["id"] for d in every)
