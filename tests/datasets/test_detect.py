"""Format detection: every real sample folder and every generated layout is read by the right adapter."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sargeo.datasets.detect import detect_format, load_dataset
from sargeo.errors import SargeoError
from tests.datasets.helpers import write_image, write_json
from tests.datasets.test_synthetic import write_scene
from tests.datasets.test_voc import SSDD_XML


@pytest.mark.parametrize(
    ("folder", "fmt", "summary"),
    [
        ("hrsid_mini", "coco", "18 samples, 0 skipped"),
        ("hrsid_mini/annotations/instances.json", "coco", "18 samples, 0 skipped"),
        ("opensarship", "opensarship", "133 samples, 1 skipped (1 malformed XML)"),
        ("sen1floods11", "sen1floods11", "1 samples, 0 skipped"),
    ],
)
def test_real_folders(shared_data: Path, folder: str, fmt: str, summary: str) -> None:
    assert detect_format(shared_data / folder) == fmt
    result = load_dataset(shared_data / folder)
    assert result.summary() == summary


def test_hrsid_folder_keeps_masks(shared_data: Path) -> None:
    result = load_dataset(shared_data / "hrsid_mini")
    assert result.boxes == 24
    assert all("mask_rgb" in s.metadata for s in result.samples)


def test_generated_layouts(tmp_path: Path) -> None:
    voc = tmp_path / "ssdd"
    write_image(voc / "JPEGImages" / "000001.jpg", 40, 30)
    (voc / "Annotations").mkdir()
    (voc / "Annotations" / "000001.xml").write_text(SSDD_XML)
    assert detect_format(voc) == "voc"
    assert load_dataset(voc).boxes == 2

    osd = tmp_path / "osdataset"
    write_image(osd / "sar" / "1.png", 8, 8)
    write_image(osd / "opt" / "1.png", 8, 8)
    assert detect_format(osd) == "pairs"
    assert load_dataset(osd).samples[0].optical == str(osd / "opt" / "1.png")
    # An RSICD caption file at the root is the pairs' captions, not a COCO annotation file.
    rsicd = {"images": [{"filename": "1.png", "sentences": [{"raw": "a white ship ."}]}]}
    (osd / "dataset_rsicd.json").write_text(json.dumps(rsicd))
    assert detect_format(osd) == "pairs"
    assert load_dataset(osd).samples[0].optical_caption == "a white ship ."

    sen12 = tmp_path / "sen12"
    write_image(sen12 / "ROIs1_summer" / "s1_4" / "ROIs1_summer_s1_4_p1.png", 8, 8)
    write_image(sen12 / "ROIs1_summer" / "s2_4" / "ROIs1_summer_s2_4_p1.png", 8, 8)
    assert detect_format(sen12) == "pairs"
    assert load_dataset(sen12).samples[0].scene == "ROIs1_summer_4"

    synth = tmp_path / "synth"
    write_scene(synth, "scene_0000")
    assert detect_format(synth) == "synthetic"
    assert [s.id for s in load_dataset(synth).samples] == ["scene_0000"]


def test_several_coco_files_are_splits(tmp_path: Path) -> None:
    for name in ("a.jpg", "b.jpg", "c.jpg"):
        write_image(tmp_path / "images" / name, 8, 8)
    cats = [{"id": 0, "name": "ship"}]
    for split, name in (("train", "a.jpg"), ("test", "b.jpg")):
        images = [{"id": 1, "file_name": name}]
        write_json(
            tmp_path / "annotations" / f"{split}.json",
            {"images": images, "annotations": [], "categories": cats},
        )
    result = load_dataset(tmp_path)
    # with several files, images listed in none (c.jpg) stay out: they belong to no split
    assert sorted((s.id, s.metadata["split"]) for s in result.samples) == [
        ("a", "train"),
        ("b", "test"),
    ]


def test_unknown_format_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("hello")
    with pytest.raises(SargeoError, match="cannot tell the dataset format"):
        load_dataset(tmp_path)
    with pytest.raises(SargeoError, match="no such file or folder"):
        load_dataset(tmp_path / "absent")
    with pytest.raises(SargeoError, match="not a COCO annotation file"):
        load_dataset(tmp_path / "notes.txt")


def test_sardet_layout_with_split_image_folders(tmp_path: Path) -> None:
    cats = [{"id": 0, "name": "ship"}, {"id": 1, "name": "aircraft"}]
    for split in ("train", "val"):
        write_image(tmp_path / "JPEGImages" / split / f"{split}_0.jpg", 8, 8)
        write_json(
            tmp_path / "Annotations" / f"{split}.json",
            {
                "images": [{"id": 0, "file_name": f"{split}_0.jpg", "width": 8, "height": 8}],
                "annotations": [{"id": 0, "image_id": 0, "category_id": 1, "bbox": [1, 1, 4, 4]}],
                "categories": cats,
            },
        )
    assert detect_format(tmp_path) == "coco"
    result = load_dataset(tmp_path)
    assert result.summary() == "2 samples, 0 skipped"
    assert {s.metadata["split"] for s in result.samples} == {"train", "val"}
    assert all(s.boxes[0].cls == "aircraft" for s in result.samples)
