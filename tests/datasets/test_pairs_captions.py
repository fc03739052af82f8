"""Captions of the optical half of SAR-optical pairs: RSICD-style JSON and ``captions.csv`` files, with
captions of missing images, malformed entries and unreadable caption files."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from sargeo.datasets.pairs import load_pairs
from sargeo.errors import SargeoError
from tests.datasets.helpers import write_image, write_json


def _osdataset(root: Path, names: tuple[str, ...] = ("1.png", "2.png", "3.png")) -> Path:
    for name in names:
        write_image(root / "sar" / name, 12, 12)
        write_image(root / "opt" / name, 12, 12)
    return root


def _rsicd(entries: dict[str, list[str]]) -> dict[str, Any]:
    """A Karpathy-split style file as RSICD ships it (``dataset_rsicd.json``)."""
    images = []
    for i, (name, raws) in enumerate(entries.items()):
        images.append(
            {
                "filename": name,
                "imgid": i,
                "split": "train",
                "sentids": list(range(len(raws))),
                "sentences": [
                    {"tokens": raw.split(), "raw": raw, "imgid": i, "sentid": k}
                    for k, raw in enumerate(raws)
                ],
            }
        )
    return {"images": images, "dataset": "rsicd"}


def _by_name(result: Any) -> dict[str, Any]:
    return {Path(s.image).name: s for s in result.samples}


def test_rsicd_json_beside_the_optical_folder(tmp_path: Path) -> None:
    root = _osdataset(tmp_path)
    captions = {
        "1.png": ["many white ships are in the blue sea .", "two white ships are near a pier ."],
        "2.png": ["green farmland is next to a grey road ."],
        "9.png": ["a red-roofed house stands beside a river ."],  # no such optical image
    }
    write_json(root / "dataset_rsicd.json", _rsicd(captions))
    result = load_pairs(root / "sar", root / "opt")
    samples = _by_name(result)
    assert samples["1.png"].optical_caption == "many white ships are in the blue sea ."
    assert samples["1.png"].metadata["optical_captions"] == captions["1.png"]
    assert samples["2.png"].optical_caption == captions["2.png"][0]
    assert samples["3.png"].optical_caption is None
    assert "optical_captions" not in samples["3.png"].metadata
    (skipped,) = result.skipped
    assert skipped.location == "dataset_rsicd.json: 9.png"
    assert skipped.reason == "caption names a missing file 9.png"
    assert result.summary() == "3 samples, 1 skipped (1 caption names a missing file)"


def test_captions_csv_inside_the_optical_folder(tmp_path: Path) -> None:
    root = _osdataset(tmp_path)
    (root / "opt" / "captions.csv").write_text(
        "filename,caption\n"
        '1.png,"Three white boats, moored at a pier."\n'
        "1.png,A blue harbour with three white boats.\n"
        "1.png,A blue harbour with three white boats.\n"  # a repeat is kept once
        "3.png,\n"  # no text
        "missing.png,A grey runway.\n",
        encoding="utf-8",
    )
    result = load_pairs(root / "sar", root / "opt")
    samples = _by_name(result)
    assert samples["1.png"].metadata["optical_captions"] == [
        "Three white boats, moored at a pier.",
        "A blue harbour with three white boats.",
    ]
    assert samples["2.png"].optical_caption is None and samples["3.png"].optical_caption is None
    by_location = {s.location: s.reason for s in result.skipped}
    assert by_location == {
        "captions.csv: line 5": "malformed caption row (empty filename or caption)",
        "captions.csv: line 6": "caption names a missing file missing.png",
    }


def test_sen12_captions_by_relative_path_and_ambiguous_names(tmp_path: Path) -> None:
    for roi in (1, 2):
        write_image(tmp_path / f"s1_{roi}" / "p30.png", 8, 8)
        write_image(tmp_path / f"s2_{roi}" / "p30.png", 8, 8)
    (tmp_path / "captions.csv").write_text(
        "Filename,Caption\ns2_2/p30.png,Dark green forest beside a river.\np30.png,A lake.\n",
        encoding="utf-8",
    )
    result = load_pairs(tmp_path, tmp_path)
    samples = {s.optical: s for s in result.samples}
    assert samples[str(tmp_path / "s2_2" / "p30.png")].optical_caption == (
        "Dark green forest beside a river."
    )
    assert samples[str(tmp_path / "s2_1" / "p30.png")].optical_caption is None
    (skipped,) = result.skipped
    assert skipped.location == "captions.csv: line 3"
    assert skipped.kind == "ambiguous caption file name"


def test_other_json_files_are_not_caption_files(tmp_path: Path) -> None:
    root = _osdataset(tmp_path, ("1.png",))
    write_json(root / "opt" / "meta.json", {"images": [{"id": 1, "file_name": "1.png"}]})  # COCO
    (root / "opt" / "notes.json").write_text("not json", encoding="utf-8")
    write_json(root / "opt" / "ucm.json", _rsicd({"1.png": ["a white plane on a grey apron ."]}))
    result = load_pairs(root / "sar", root / "opt")
    (sample,) = result.samples
    assert sample.optical_caption == "a white plane on a grey apron ."
    assert result.skipped == []


def test_malformed_rsicd_entries_are_skipped(tmp_path: Path) -> None:
    root = _osdataset(tmp_path, ("1.png",))
    data = _rsicd({"1.png": ["a blue sea ."]})
    data["images"] += [{"sentences": [{"raw": "no file name"}]}, {"filename": "1.png"}]
    write_json(root / "opt" / "dataset_ucm.json", data)
    result = load_pairs(root / "sar", root / "opt")
    assert result.samples[0].optical_caption == "a blue sea ."
    assert [s.kind for s in result.skipped] == ["malformed caption entry", "no caption text"]


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        ("captions.csv", "image,text\n1.png,a sea\n", "needs the columns filename,caption"),
        ("captions.csv", b"filename,caption\n1.png,\xff\xfe\n", "not a readable caption CSV"),
        ("dataset_rsicd.json", "{not json", "not a readable caption JSON"),
        ("dataset_rsicd.json", '{"images": [{"file_name": "1.png"}]}', "not an RSICD-style"),
    ],
)
def test_unreadable_caption_files_are_one_line_errors(
    tmp_path: Path, name: str, text: str | bytes, message: str
) -> None:
    root = _osdataset(tmp_path, ("1.png",))
    path = root / "opt" / name
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    with pytest.raises(SargeoError, match=message) as info:
        load_pairs(root / "sar", root / "opt")
    assert str(path) in str(info.value) and "\n" not in str(info.value)
