"""Negatives only where the ground truth knows: a real dataset labels a few classes, so only those can
be absent ("Are there any buildings?" is unknown on a ships-only dataset, never "no"); the synthetic
world labels every class."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from sargeo.datasets.detect import load_dataset
from sargeo.datasets.segmentation import SEN1FLOODS11_CLASSES, load_segmentation
from sargeo.narrator import qa
from sargeo.narrator.facts import scene_facts
from sargeo.narrator.fusion import Narrator
from sargeo.narrator.pipeline import narrate
from sargeo.narrator.vocab import load_vocab
from sargeo.records import Sample
from tests.datasets.helpers import write_image, write_json, write_raster

from .helpers import named_labels

VOCAB = load_vocab()
_SHIP_XML = (
    "<object><name>ship</name><bndbox><xmin>10</xmin><ymin>10</ymin>"
    "<xmax>20</xmax><ymax>14</ymax></bndbox></object>"
)


def _coco(root: Path) -> Path:
    """A COCO dataset whose only category is 'ship': image a with a ship, b listed without one."""
    for name in ("a.png", "b.png"):
        write_image(root / "images" / name, 64, 64)
    write_json(
        root / "annotations" / "instances.json",
        {
            "images": [
                {"id": 1, "file_name": "a.png", "width": 64, "height": 64},
                {"id": 2, "file_name": "b.png", "width": 64, "height": 64},
            ],
            "categories": [{"id": 1, "name": "ship"}],
            "annotations": [{"id": 1, "image_id": 1, "category_id": 1, "bbox": [10, 10, 10, 4]}],
        },
    )
    return root


def _voc(root: Path) -> Path:
    """The same two images as Pascal VOC files (b's file lists no object)."""
    for name, objects in (("a", _SHIP_XML), ("b", "")):
        write_image(root / "JPEGImages" / f"{name}.png", 64, 64)
        xml = root / "Annotations" / f"{name}.xml"
        xml.parent.mkdir(parents=True, exist_ok=True)
        xml.write_text(
            f"<annotation><filename>{name}.png</filename><size><width>64</width>"
            f"<height>64</height></size>{objects}</annotation>"
        )
    return root


@pytest.mark.parametrize("make", [_coco, _voc])
def test_a_ships_only_dataset_names_nothing_but_ships(tmp_path: Path, make) -> None:  # type: ignore[no-untyped-def]
    samples = load_dataset(make(tmp_path / "data")).samples
    assert sorted(s.id for s in samples) == ["a", "b"]
    assert {s.labels for s in samples} == {("ship",)}
    out = narrate(samples, tmp_path / "out", with_qa=True, progress=False).output
    captions = [json.loads(line) for line in (out / "captions.jsonl").read_text().splitlines()]
    pairs = [json.loads(line) for line in (out / "qa.jsonl").read_text().splitlines()]
    for text in [c["caption"] for c in captions] + [
        p[k] for p in pairs for k in ("question", "answer")
    ]:
        assert named_labels(text) <= {"ship"}, text
    empty = [c["caption"] for c in captions if c["sample_id"] == "b"]
    assert empty and all("no ships" in text.lower() for text in empty), empty  # denied by name
    denied = [p for p in pairs if p["sample_id"] == "b" and p["answer"] in ("no", "0")]
    assert any(p["type"] == "presence" for p in denied)
    assert all(named_labels(p["question"]) == {"ship"} for p in denied), denied


def test_labels_decide_what_can_be_absent(tmp_path: Path) -> None:
    (empty,) = [s for s in load_dataset(_coco(tmp_path)).samples if not s.boxes]
    assert scene_facts(empty, VOCAB).absent == ("ship",)
    everything = scene_facts(replace(empty, labels=None), VOCAB)  # the synthetic world's rule
    assert everything.absent == tuple(sorted(VOCAB.classes["objects"]))
    assert scene_facts(replace(empty, labels=()), VOCAB).absent == ()
    assert Narrator().caption(replace(empty, labels=())).captions == []  # nothing it may deny


def _flood(tmp_path: Path, land_pixels: int) -> Sample:
    label = np.ones((1, 40, 40), dtype=np.int16)  # water
    label[0, 0, :land_pixels] = 0
    image = write_raster(tmp_path / "s1.tif", np.zeros((1, 40, 40), dtype=np.float32))
    mask = write_raster(tmp_path / "label.tif", label)
    (sample,) = load_segmentation(image, mask, SEN1FLOODS11_CLASSES).samples
    assert sample.labels == ("land", "water")
    return sample


@pytest.mark.parametrize(("land_pixels", "absent"), [(4, ()), (0, ("land",))])
def test_a_water_mask_can_deny_its_own_classes_only(
    tmp_path: Path, land_pixels: int, absent: tuple[str, ...]
) -> None:
    narrator = Narrator()
    result = narrator.caption(_flood(tmp_path, land_pixels))
    assert result.cover is not None and result.cover.absent == absent  # 4 pixels: few, yet there
    pairs = qa.sample_qa(result, narrator).pairs
    noes = [p for p in pairs if p.answer == "no"]
    assert [named_labels(p.question) for p in noes] == [{"land"}] * len(absent)
    for text in [c.text for c in result.captions] + [p.question for p in pairs]:
        assert named_labels(text) <= {"land", "water"}, text
