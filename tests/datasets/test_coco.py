"""COCO adapter: the real HRSID sample, and generated files with deliberate faults."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sargeo.datasets.coco import hrsid_scene, hrsid_window, load_coco
from sargeo.errors import SargeoError
from tests.datasets.helpers import write_image, write_json, write_noise_image


def test_hrsid_mini(shared_data: Path) -> None:
    root = shared_data / "hrsid_mini"
    result = load_coco(
        root / "annotations" / "instances.json",
        root / "images",
        include_unlisted=True,
        masks=root / "masks",
    )
    assert result.summary() == "18 samples, 0 skipped"
    assert result.boxes == 24
    with_boxes = [s for s in result.samples if s.boxes]
    assert len(with_boxes) == 16
    empty = sorted(s.id for s in result.samples if not s.boxes)
    assert empty == ["P0001_1200_2000_9600_10400", "P0008_0_800_9000_9800"]
    assert all(s.metadata["listed"] is False for s in result.samples if not s.boxes)
    for sample in result.samples:
        assert sample.labels == ("ship",)  # HRSID annotates ships only
        assert (sample.width, sample.height) == (800, 800)
        assert sample.scene == sample.id.split("_")[0]
        assert Path(sample.metadata["mask_rgb"]).is_file()
        for box in sample.boxes:
            assert box.cls == "ship"
            x0, y0, x1, y1 = box.bbox
            assert 0 <= x0 < x1 <= 800 and 0 <= y0 < y1 <= 800
    first = next(s for s in result.samples if s.id == "P0001_4200_5000_600_1400")
    assert first.boxes[0].bbox == (289.0, 93.0, 339.0, 151.0)
    assert first.boxes[0].source_id == "56"
    assert first.metadata["scene_window"] == {"col": 600, "row": 4200, "width": 800, "height": 800}


def test_hrsid_listed_only(shared_data: Path) -> None:
    root = shared_data / "hrsid_mini"
    result = load_coco(root / "annotations" / "instances.json", root / "images")
    assert len(result.samples) == 16 and result.boxes == 24


def test_hrsid_name_helpers() -> None:
    assert hrsid_scene("P0013_4560_5360_6000_6800.jpg") == "P0013"
    assert hrsid_scene("000123.jpg") == "000123"
    assert hrsid_window("P0013_4560_5360_6000_6800.jpg") == {
        "col": 6000,
        "row": 4560,
        "width": 800,
        "height": 800,
    }
    assert hrsid_window("000123.jpg") is None


def _faulty_coco(tmp_path: Path) -> tuple[Path, Path]:
    images = tmp_path / "images"
    for name in ("a.jpg", "b.jpg", "c.jpg", "wrong_size.jpg"):
        write_image(images / name, 32, 24)
    data = {
        "images": [
            {"id": 1, "file_name": "a.jpg", "width": 32, "height": 24},
            {"id": 2, "file_name": "b.jpg", "width": 32, "height": 24},
            {"id": 3, "file_name": "gone.jpg", "width": 32, "height": 24},
            {"id": 4, "file_name": "c.jpg"},  # no boxes, no size: still a sample
            {"id": 2, "file_name": "c.jpg"},  # duplicate id
            {"id": 5, "file_name": "wrong_size.jpg", "width": 64, "height": 64},
        ],
        "categories": [{"id": 0, "name": "ship"}, {"id": 1, "name": "aircraft"}],
        "annotations": [
            {"id": 10, "image_id": 1, "category_id": 0, "bbox": [1, 2, 10, 8]},
            {
                "id": 11,
                "image_id": 1,
                "category_id": 1,
                "bbox": [20, 10, 12, 14],
                "obox": [26, 17, 12, 4, 30.0],
                "attributes": {"length_m": 120},
            },
            {"id": 12, "image_id": 1, "category_id": 0, "bbox": [25, 2, 30, 8]},  # outside
            {"id": 13, "image_id": 99, "category_id": 0, "bbox": [1, 1, 2, 2]},  # unknown image
            {"id": 14, "image_id": 3, "category_id": 0, "bbox": [1, 1, 2, 2]},  # on missing file
            {"id": 15, "image_id": 3, "category_id": 0, "bbox": [3, 3, 2, 2]},  # on missing file
            {"id": 16, "image_id": 2, "category_id": 7, "bbox": [1, 1, 2, 2]},  # unknown category
            {"id": 17, "image_id": 2, "category_id": 0, "bbox": [1, 1, "x", 2]},  # malformed
            {"id": 18, "image_id": 2, "category_id": 0, "bbox": [4, 4, 6, 6]},
        ],
    }
    return write_json(tmp_path / "instances.json", data), images


def test_faults_are_skipped_with_their_location(tmp_path: Path) -> None:
    annotations, images = _faulty_coco(tmp_path)
    result = load_coco(annotations, images)
    by_location = {s.location: s.reason for s in result.skipped}
    assert by_location["instances.json: annotation 12"].startswith("box outside the image")
    assert by_location["instances.json: annotation 13"] == "unknown image id 99"
    assert by_location["instances.json: image 3"] == "missing file gone.jpg (2 annotations dropped)"
    assert by_location["instances.json: annotation 16"] == "unknown category id 7"
    assert by_location["instances.json: annotation 17"].startswith("malformed box")
    assert by_location["instances.json: image 5"] == ("image size mismatch: JSON 64x64, file 32x24")
    assert any(s.reason == "duplicate image id 2" for s in result.skipped)
    assert result.summary() == (
        "3 samples, 7 skipped (1 missing file, 1 duplicate image id, 1 image size mismatch, "
        "1 box outside the image, 1 unknown image id, 1 unknown category id, 1 malformed box)"
    )
    # the good samples and boxes around the faults survive
    samples = {s.id: s for s in result.samples}
    assert sorted(samples) == ["a", "b", "c"]
    assert [b.source_id for b in samples["a"].boxes] == ["10", "11"]
    assert samples["a"].boxes[0].bbox == (1.0, 2.0, 11.0, 10.0)
    assert samples["a"].boxes[1].cls == "aircraft"
    assert samples["a"].boxes[1].obox == (26.0, 17.0, 12.0, 4.0, 30.0)
    assert samples["a"].boxes[1].attributes["length_m"] == 120
    assert [b.source_id for b in samples["b"].boxes] == ["18"]
    assert samples["c"].boxes == [] and (samples["c"].width, samples["c"].height) == (32, 24)


def test_unlisted_images_and_scene_function(tmp_path: Path) -> None:
    annotations, images = _faulty_coco(tmp_path)
    write_image(images / "sub" / "extra.png", 8, 8)
    result = load_coco(annotations, images, include_unlisted=True, scene_from_name=lambda n: "S")
    extra = next(s for s in result.samples if s.id == "sub/extra")
    assert extra.metadata["listed"] is False and extra.boxes == []
    assert {s.scene for s in result.samples} == {"S"}
    # wrong_size.jpg was listed (and skipped): it does not come back as an unlisted image
    assert "wrong_size" not in {s.id for s in result.samples}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('{"images": [', "line 1: not valid JSON"),
        ('["not", "coco"]', "not a COCO file"),
        ('{"images": {}}', "'images' is not a list"),
    ],
)
def test_unreadable_json_is_a_clear_error(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "bad.json"
    path.write_text(text)
    with pytest.raises(SargeoError, match=message):
        load_coco(path, tmp_path)
    with pytest.raises(SargeoError, match="no such annotation file"):
        load_coco(tmp_path / "absent.json", tmp_path)


def test_progress_bar_on_stderr(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    annotations, images = _faulty_coco(tmp_path)
    load_coco(annotations, images)
    assert capsys.readouterr().err == ""
    load_coco(annotations, images, progress=True)
    assert "images" in capsys.readouterr().err


def _damaged_coco(root: Path) -> Path:
    """A COCO dataset with a truncated JPEG, a truncated PNG and reused annotation ids."""
    images = root / "images"
    write_noise_image(images / "a.jpg", tail=b"\0" * 300)  # whole, with bytes after its end
    write_noise_image(images / "b.jpg", keep=0.6)
    write_noise_image(images / "c.png", keep=0.6)
    write_noise_image(images / "d.png")
    ship = {"category_id": 1, "bbox": [2, 2, 10, 4]}
    write_json(
        root / "annotations" / "instances.json",
        {
            "images": [
                {"id": i, "file_name": name}
                for i, name in enumerate(("a.jpg", "b.jpg", "c.png", "d.png"), start=1)
            ],
            "categories": [{"id": 1, "name": "ship"}],
            "annotations": [
                {"id": 1, "image_id": 1, **ship},
                {"id": 1, "image_id": 1, **ship},  # the same annotation twice
                {"id": 2, "image_id": 4, **ship},
                {"id": 2, "image_id": 1, "category_id": 1, "bbox": [20, 20, 8, 8]},  # reused id
                {"id": 3, "image_id": 2, **ship},  # on the truncated b.jpg
            ],
        },
    )
    return root


def test_truncated_images_and_reused_annotation_ids_are_reported(tmp_path: Path) -> None:
    root = _damaged_coco(tmp_path)
    result = load_coco(root / "annotations" / "instances.json", root / "images")
    assert result.summary() == (
        "2 samples, 3 skipped (2 truncated image, 1 duplicate annotation id), "
        "1 warning (1 duplicate annotation id)"
    )
    by_location = {s.location: s.reason for s in result.skipped}
    assert by_location["instances.json: image 2"].startswith("truncated image b.jpg (image file")
    assert by_location["instances.json: image 2"].endswith("(1 annotation dropped)")
    assert by_location["instances.json: image 3"].startswith("truncated image c.png")
    assert by_location["instances.json: annotation 1"] == (
        "duplicate annotation id 1 (the same box again)"
    )
    (warning,) = result.warnings
    assert str(warning) == (
        "instances.json: annotation 2: duplicate annotation id 2 (on another box; kept)"
    )
    samples = {s.id: s for s in result.samples}
    assert [b.bbox for b in samples["a"].boxes] == [(2.0, 2.0, 12.0, 6.0), (20.0, 20.0, 28.0, 28.0)]
    assert len(samples["d"].boxes) == 1


def test_the_card_reports_what_the_adapter_skipped_and_warned_about(tmp_path: Path) -> None:
    from sargeo.cli import main

    root = _damaged_coco(tmp_path / "data")
    assert main(["narrate", str(root), "-o", str(tmp_path / "out"), "-q"]) == 0
    card = json.loads((tmp_path / "out" / "card.json").read_text())
    assert card["skipped"].startswith("2 samples, 3 skipped (2 truncated image")
    problems = card["input_problems"]
    assert len(problems) == 4 and problems[-1].startswith("warning: instances.json: annotation 2")
    assert any(p.startswith("instances.json: image 2: truncated image b.jpg") for p in problems)
