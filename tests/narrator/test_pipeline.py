"""Narrating a dataset: the output files, their formats, splits, the card, the CLI, atomicity."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import rasterio
from affine import Affine

from sargeo.cli import main
from sargeo.datasets.writers import read_openclip_csv
from sargeo.errors import SargeoError
from sargeo.narrator.fusion import Narrator, NarratorConfig
from sargeo.narrator.pipeline import narrate
from sargeo.narrator.splits import SPLITS
from sargeo.records import Box

from .helpers import sample, ship, utm_tile


def _mask(path: Path, size: int = 64) -> Path:
    data = np.zeros((size, size), dtype=np.uint8)
    data[:, : size // 2] = 1
    profile = {"driver": "GTiff", "width": size, "height": size, "count": 1, "dtype": "uint8"}
    transform = Affine(10.0, 0.0, 500_000.0, 0.0, -10.0, 5_000_000.0)
    with rasterio.open(path, "w", crs="EPSG:32631", transform=transform, **profile) as dst:
        dst.write(data, 1)
    return path


def _samples(tmp_path: Path, n_scenes: int = 6) -> list:  # type: ignore[type-arg]
    mask = _mask(tmp_path / "mask.tif")
    out = []
    for i in range(n_scenes):
        for j in range(3):
            boxes = [ship(10 + 10 * k, 10, length=4, sid=f"{i}-{j}-{k}") for k in range(j + 1)]
            out.append(
                sample(
                    boxes,
                    size=64,
                    tile=utm_tile(64),
                    id=f"s{i}_{j}",
                    scene=f"scene{i}",
                    mask=str(mask),
                    mask_classes={0: "land", 1: "water"},
                    optical_caption="A white ship on a blue sea." if j == 0 else None,
                    metadata={"sensor": "Sentinel-1"},
                )
            )
    return out


def test_outputs_formats_and_card(tmp_path: Path) -> None:
    samples = _samples(tmp_path)
    result = narrate(samples, tmp_path / "out", with_qa=True, progress=False)
    out = tmp_path / "out"
    names = {p.name for p in out.iterdir()}
    assert {
        "captions.jsonl",
        "captions.csv",
        "qa.jsonl",
        "conversations.json",
        "card.json",
        "samples.jsonl",
    } <= names
    assert not any(p.name.startswith(".") for p in tmp_path.iterdir())
    records = [json.loads(line) for line in (out / "captions.jsonl").read_text().splitlines()]
    assert len(records) == 5 * len(samples)
    from sargeo.datasets.writers import samples_from_jsonl

    assert samples_from_jsonl(out / "samples.jsonl") == list(samples)  # the truth narrated
    first = records[0]
    assert {
        "image",
        "tile_id",
        "caption",
        "branch",
        "source_ids",
        "geometry",
        "lon",
        "lat",
        "split",
    } <= first.keys()
    assert first["geometry"].startswith("POLYGON") and first["crs"] == "EPSG:32631"
    rows = read_openclip_csv(out / "captions.csv")  # the one open_clip format of datasets.writers
    assert rows == [(r["image"], r["caption"]) for r in records]
    split_of = {}
    for r in records:
        assert split_of.setdefault(r["scene"], r["split"]) == r["split"], "a scene was cut"
    per_split = sum(len(read_openclip_csv(out / f"captions_{s}.csv")) for s in SPLITS)
    assert per_split == len(records)
    card = json.loads((out / "card.json").read_text())
    assert card == result.card
    assert card["images"] == len(samples) and card["captions_per_image"]["mean"] == 5
    assert set(card["branch_share"]) == {"a2c", "sa2c", "o2s", "geo"}
    assert sum(card["branch_share"].values()) == pytest.approx(1.0, abs=1e-3)
    assert card["class_coverage"]["ship"] == {"images": 18, "objects": 36}
    assert card["vocabulary_size"] > 20 and card["caption_length_words"]["std"] > 0
    dialogues = json.loads((out / "conversations.json").read_text())
    assert len(dialogues) == len(samples)
    qa = [json.loads(line) for line in (out / "qa.jsonl").read_text().splitlines()]
    counts = {
        q["sample_id"]: q["answer"] for q in qa if q["type"] == "count" and "ship" in q["question"]
    }
    assert counts["s0_2"] == "3"
    assert "images" in result.summary() and "branches" in result.summary()


def test_same_seed_same_output_and_branch_selection(tmp_path: Path) -> None:
    samples = _samples(tmp_path, 2)
    narrate(samples, tmp_path / "a", progress=False)
    narrate(samples, tmp_path / "b", progress=False)
    assert (tmp_path / "a" / "captions.jsonl").read_text() == (
        tmp_path / "b" / "captions.jsonl"
    ).read_text()
    assert not (tmp_path / "a" / "qa.jsonl").exists()
    only = narrate(
        samples, tmp_path / "c", NarratorConfig(branches=("sa2c",), per_image=2), progress=False
    )
    assert set(only.card["branch_share"]) == {"sa2c"}


def test_bad_mask_leaves_nothing_half_written(tmp_path: Path) -> None:
    samples = _samples(tmp_path, 2)
    samples[-1].mask = str(tmp_path / "missing.tif")
    with pytest.raises(SargeoError, match=r"missing\.tif"):
        narrate(samples, tmp_path / "out", progress=False)
    assert list(tmp_path.glob("*out*")) == []
    with pytest.raises(SargeoError):
        NarratorConfig(branches=("a2c", "nope"))
    with pytest.raises(SargeoError):
        narrate([], tmp_path / "empty", progress=False)


def test_captions_never_contradict_a_mixed_scene(tmp_path: Path) -> None:
    mask = np.zeros((64, 64), dtype=np.uint8)
    mask[:, :20] = 3
    s = sample(
        [ship(10, 10, length=4), Box("aircraft", (40, 40, 44, 44))],
        size=64,
        mask="m",
        mask_classes={0: "forest", 3: "sea", 20: "ship"},
    )
    result = Narrator(mask_reader=lambda _: mask).caption(s)
    text = " ".join(c.text for c in result.captions).lower()
    assert "forest" in text or "water" in text
    assert "ship" in text and "aircraft" in text and " 20" not in text


def test_cli_narrate_and_bad_input(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["narrate", str(tmp_path / "nothing"), "-o", str(tmp_path / "o")]) == 2
    assert "no such file" in capsys.readouterr().err


def test_the_card_lists_input_problems_up_to_a_limit(tmp_path: Path) -> None:
    from sargeo.narrator.card import listed

    assert listed(["a", "b", "c"], limit=2) == ["a", "b", "... and 1 more"]
    assert listed(["a", "b"], limit=2) == ["a", "b"]
    problems = [f"x.json: annotation {i}: duplicate annotation id {i}" for i in range(150)]
    card = narrate(
        [sample([ship(10, 10)], size=64)], tmp_path / "out", progress=False, input_problems=problems
    ).card
    assert card["input_problems"][:2] == problems[:2]
    assert len(card["input_problems"]) == 101 and card["input_problems"][-1] == "... and 50 more"
